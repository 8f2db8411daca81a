"""Out-of-core and distributed masking with Dask: the CLI's block-wise classical masker, one block per task.

The .NET core measures the plan once (on the sample the CLI uses), every task masks its block under it with the
same code as ``emmask mask --block`` (each worker process loads the .NET core once, on its first block), and the
global steps (3D hole filling, small-region removal) merge the blocks' connected components with the same union-find,
so the result equals the CLI's mask voxel for voxel.

Importing this module needs dask; zarr is needed for :func:`mask_zarr` only, dask.distributed only for a cluster.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence, Union

import numpy as np

from ._api import _describe
from ._arrays import voxel_size_tuple
from ._dotnet import bridge
from ._jobs import check_result, run_job

__all__ = ["classical_plan", "mask_dask", "mask_to_store", "mask_zarr"]

#: Core edge (voxels) of a block when none is given: 256 (a few hundred MB of working memory per task).
DEFAULT_BLOCK = 256


def _payload(voxel_size, options: dict) -> str:
    payload = {k: ("auto" if v is None else v.item() if isinstance(v, np.generic) else v) for k, v in options.items()}
    payload["voxel_size"] = list(voxel_size_tuple(voxel_size, 3))
    return json.dumps(payload)


def _i64(b, values):
    return b.Int64Array([int(v) for v in values])


def classical_plan(array, *, voxel_size: Union[float, Sequence[float], None] = None, **options) -> dict:
    """Measure the classical masker's plan of a 3D array (numpy, dask or zarr) on the CLI's sample of it.

    Only the sample's regions are read (the whole array up to 8 Mvoxels, else four 128³ cubes spread over it, or,
    for a stack masked section by section, as many whole sections as fit in 8 Mvoxels, spread over z).

    Returns
    -------
    dict
        ``plan`` (the plan as JSON, for :func:`mask_dask`), ``halo`` (context voxels a block needs on every side),
        ``alignment`` (block edges are multiples of it), ``level`` (the working level, 3D) and ``mode`` ("2d"/"3d").
    """
    shape = tuple(int(n) for n in array.shape)
    if len(shape) != 3:
        raise ValueError(f"mask_dask works on 3D (z, y, x) arrays; got shape {shape}.")
    b = bridge()
    payload = _payload(voxel_size, options)
    boxes = json.loads(str(check_result(b.NumpyBridge.ClassicalSampleBoxes(_i64(b, shape), payload)).Json))
    parts = [np.asarray(array[oz:oz + sz, oy:oy + sy, ox:ox + sx]) for oz, oy, ox, sz, sy, sx in boxes]
    sample = np.ascontiguousarray(np.concatenate(parts, axis=0))
    result, _ = run_job(b, lambda job: b.NumpyBridge.ClassicalPlan(*_describe(b, sample), _i64(b, shape), payload, job))
    return json.loads(str(result.Json))


def _offsets(chunks):
    return [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int) for c in chunks]


def _pre_block(block, *, plan, payload, shape, read, core, size):
    """One block's read region → its core's pre-mask (the CLI's ClassicalMasker.RunBlock)."""
    within = tuple(c - r for c, r in zip(core, read))
    block = np.ascontiguousarray(block)
    out = np.empty(size, np.uint8)
    b = bridge()
    run_job(b, lambda job: b.NumpyBridge.ClassicalBlock(
        *_describe(b, block), plan, payload, _i64(b, read), _i64(b, shape), _i64(b, within), _i64(b, size), int(out.ctypes.data), job))
    return out


def _tables(pre_chunks, numblocks, chunks, shape, minimum, largest=0, plan=None):
    """The global steps' tables: every pre-mask block in scan order, twice (holes, then regions), through one union-find
    (``largest`` ≥ 1: keep that many largest components instead, without filling; ``plan``: the classical masker's
    global steps, whose holes the plan decides, as the CLI's)."""
    b = bridge()
    block = [int(c[0]) for c in chunks]
    if plan is not None:
        session = b.NumpyBridge.ClassicalComponentsBegin(_i64(b, shape), _i64(b, block), int(minimum), str(plan))
    else:
        session = b.NumpyBridge.ComponentsBegin(_i64(b, shape), _i64(b, block), int(minimum), int(largest))
    try:
        indices = list(np.ndindex(*numblocks))
        for pass_ in (1, 2):
            for index, pre in zip(indices, pre_chunks):
                pre = np.ascontiguousarray(pre, dtype=np.uint8)
                run_job(b, lambda job: b.NumpyBridge.ComponentsAdd(session, pass_, _i64(b, index), *_describe(b, pre), job))
        return {index: json.loads(str(b.NumpyBridge.ComponentsTablesJson(session, _i64(b, index)))) for index in indices}
    finally:
        b.NumpyBridge.ComponentsEnd(session)


def _final_block(pre, tables, index):
    table = tables[index]
    pre = np.ascontiguousarray(pre, dtype=np.uint8)
    out = np.empty(pre.shape, np.uint8)
    b = bridge()
    run_job(b, lambda job: b.NumpyBridge.ComponentsFinal(*_describe(b, pre), table["holes"], table["keep"], int(out.ctypes.data), job))
    return out


def mask_dask(array, method: str = "classical", *, voxel_size: Union[float, Sequence[float], None] = None,
              block: Optional[int] = None, plan: Optional[dict] = None, postprocess: Optional[str] = None, **options):
    """Mask a 3D dask (or numpy/zarr) array block by block; returns a lazy uint8 dask array (1 tissue, 0 non-brain).

    Each block is masked from its core plus the halo the plan needs (:func:`classical_plan`; the overlap
    ``map_overlap(depth=halo, boundary="none")`` would give, cut to the CLI's read regions; blocks are cubes of
    ``block`` voxels, a multiple of the plan's alignment) under one plan measured up front on the CLI's sample (a
    global normalisation, noise model and threshold: per-block ones would show as seams). In 3D the global steps follow
    as one task that merges all blocks' components (it holds the pre-mask, 1 byte per voxel) and one task per block that
    finishes it. The result equals ``emmask mask IN OUT --block … --postprocess SAME`` and the in-memory masker voxel
    for voxel.

    Parameters
    ----------
    array : dask.array.Array, numpy.ndarray or zarr.Array
        (z, y, x) grey volume, uint8, uint16 or float32.
    method : str
        "classical" (the U-Net is not available block-wise yet).
    voxel_size : float or sequence of float, optional
        Physical spacing (z, y, x).
    block : int, optional
        Core edge of a block (default 256), rounded up to the plan's alignment.
    plan : dict, optional
        A plan from :func:`classical_plan` of this array with these options (measured here when left out).
    postprocess : str, optional
        A preset (``"clean"``, the CLI's default for the classical method) or steps, run over the blocks as the CLI's
        block-wise runs do (per-slice steps on whole sections, ``fill3d`` and ``largest`` through the union-find);
        default none.
    **options
        The classical masker's parameters, as for :func:`em_mask.classical_mask`.
    """
    import dask
    import dask.array as da

    if method != "classical":
        raise ValueError(f"mask_dask: method {method!r} is not available block-wise; use 'classical'.")
    arr = array if isinstance(array, da.Array) else da.from_array(array, chunks="auto")
    if arr.ndim != 3:
        raise ValueError(f"mask_dask works on 3D (z, y, x) arrays; got shape {arr.shape}.")
    shape = tuple(int(n) for n in arr.shape)
    info = plan or classical_plan(arr, voxel_size=voxel_size, **options)
    payload = _payload(voxel_size, options)
    edge = int(block or DEFAULT_BLOCK)
    if edge < 1:
        raise ValueError(f"block must be a positive number of voxels, got {edge}.")
    if info["mode"] == "2d":
        sections = max(1, min(shape[0], edge ** 3 // (shape[1] * shape[2])))
        arr = arr.rechunk((sections, shape[1], shape[2]))
        halo = 0
    else:
        a = int(info["alignment"])
        edge = -(-edge // a) * a
        halo = int(info["halo"])
        if edge < halo and edge < max(shape):
            raise ValueError(f"block {edge} is smaller than the halo of {halo} voxels this volume needs; use block={max(halo, 64)} or more.")
        arr = arr.rechunk((min(edge, shape[0]), min(edge, shape[1]), min(edge, shape[2])))
    chunks = arr.chunks
    pre = _overlap(arr, halo, info["plan"], payload, shape)
    mask = pre
    if info["mode"] != "2d" and info.get("level") is not None:
        mask = _global_step(pre, int(options.get("minimum_region_size", _default_minimum())), 0, plan=info["plan"])
    return _postprocess(mask, postprocess, voxel_size, chunks)


def _global_step(pre, minimum, largest, plan=None):
    """Hole filling and small-region removal (or keeping the largest components) over all blocks: one task merges the
    blocks' components through the core's union-find, one task per block finishes it."""
    import dask
    import dask.array as da

    chunks = pre.chunks
    shape = tuple(int(n) for n in pre.shape)
    delayed = pre.to_delayed()
    numblocks = delayed.shape
    tables = dask.delayed(_tables, pure=True)(list(delayed.ravel()), numblocks, chunks, shape, minimum, largest, plan)
    pieces = np.empty(numblocks, dtype=object)
    for index in np.ndindex(*numblocks):
        size = tuple(int(c[i]) for c, i in zip(chunks, index))
        pieces[index] = da.from_delayed(dask.delayed(_final_block, pure=True)(delayed[index], tables, index), shape=size, dtype=np.uint8)
    return da.block(pieces.tolist())


def _slices_block(block, spec, voxel_size):
    from ._api import postprocess

    out = np.ascontiguousarray(block, dtype=np.uint8).copy()
    postprocess(out, spec, out=out, voxel_size=voxel_size)
    return out


def _postprocess(mask, postprocess, voxel_size, chunks):
    """The CLI's post-processing over blocks, stage by stage as the core splits it (BlockPostProcessing.Stages)."""
    if postprocess is None or str(postprocess).strip().lower() in ("", "none"):
        return mask
    b = bridge()
    shape = tuple(int(n) for n in mask.shape)
    vz, vy, vx = voxel_size_tuple(voxel_size, 3)
    result = check_result(b.NumpyBridge.BlockPostProcessStagesJson(str(postprocess), _i64(b, shape), float(vz), float(vy), float(vx)))
    for stage in json.loads(str(result.Json)):
        if "slices" in stage:
            layers = mask.rechunk((chunks[0], shape[1], shape[2]))  # whole sections: per-slice steps are exact there
            mask = layers.map_blocks(_slices_block, stage["slices"], voxel_size, dtype=np.uint8).rechunk(chunks)
        else:
            mask = _global_step(mask, 0, int(stage.get("largest", 0)))
    return mask


def _overlap(arr, halo, plan, payload, shape):
    """Each block's core pre-mask from its read region: the core and ``halo`` voxels around it, clipped at the volume's
    faces (what ``map_overlap(depth=halo, boundary="none")`` hands a block, cut exactly to the CLI's read regions, which
    map_overlap cannot do where a last chunk is thinner than the halo)."""
    import dask
    import dask.array as da

    chunks = arr.chunks
    offsets = _offsets(chunks)
    numblocks = tuple(len(c) for c in chunks)
    pieces = np.empty(numblocks, dtype=object)
    for index in np.ndindex(*numblocks):
        core = tuple(int(o[i]) for o, i in zip(offsets, index))
        size = tuple(int(c[i]) for c, i in zip(chunks, index))
        read = tuple(max(0, c - halo) for c in core)
        end = tuple(min(n, c + s + halo) for n, c, s in zip(shape, core, size))
        region = arr[read[0]:end[0], read[1]:end[1], read[2]:end[2]]
        task = dask.delayed(_pre_block, pure=True)(region, plan=plan, payload=payload, shape=shape, read=read, core=core, size=size)
        pieces[index] = da.from_delayed(task, shape=size, dtype=np.uint8)
    return da.block(pieces.tolist())


def _default_minimum() -> int:
    from ._params import CLASSICAL_DEFAULTS

    return int(CLASSICAL_DEFAULTS["minimum_region_size"])


def mask_zarr(in_url: str, out_url: str, method: str = "classical", *, client=None,
              voxel_size: Union[float, Sequence[float], None] = None, block: Optional[int] = None,
              overwrite: bool = False, postprocess: Optional[str] = None, **options) -> dict:
    """Mask a Zarr v2 array (a path or URL to the array) into a new Zarr array, block by block.

    With ``client`` (a ``dask.distributed.Client``: a ``LocalCluster``, or a SLURM cluster through dask-jobqueue) the
    blocks run on its workers, each of which loads the .NET core once; without, on the local threaded scheduler. The
    output has the input's chunking along the block grid, uint8, 1 = tissue.

    Returns
    -------
    dict
        ``shape``, ``blocks`` (number of blocks), ``halo``, ``level`` and ``tissue_fraction``.
    """
    import zarr

    src = zarr.open(in_url, mode="r")
    if not hasattr(src, "shape"):
        raise ValueError(f"{in_url}: not a Zarr array (a group?); give the array's path, e.g. volume.zarr/raw.")
    if not overwrite:
        try:
            zarr.open(out_url, mode="r")
        except Exception:  # noqa: BLE001 - nothing there: fine
            pass
        else:
            raise FileExistsError(f"{out_url} exists; pass overwrite=True to replace it.")
    import dask.array as da

    arr = da.from_zarr(src)
    plan = classical_plan(src, voxel_size=voxel_size, **options)
    result = mask_dask(arr, method, voxel_size=voxel_size, block=block, plan=plan, postprocess=postprocess, **options)
    if client is not None:
        stored = result.to_zarr(out_url, overwrite=overwrite, compute=False)
        client.compute(stored).result()
    else:
        result.to_zarr(out_url, overwrite=overwrite)
    out = zarr.open(out_url, mode="r")
    tissue = float(da.from_zarr(out).mean().compute(scheduler="threads"))
    return {"shape": tuple(out.shape), "blocks": int(np.prod(result.numblocks)), "halo": plan["halo"],
            "level": plan["level"], "tissue_fraction": tissue}


def mask_to_store(data, store: str, *, voxel_size=None, block: Optional[int] = None, progress=None, cancel=None,
                  **options):
    """Mask a dask/zarr-backed volume block by block into a Zarr store on disk; returns the mask as a dask array read
    from that store (a lazy Labels layer in napari: nothing is held whole).

    ``progress(stage, fraction)`` hears of every finished block (the classical masker's blocks, then the global steps'
    blocks); cancelling ``cancel`` (a :class:`~em_mask.CancelToken`) stops the run between tasks with
    :class:`~em_mask.CancelledError` and leaves no store.
    """
    import shutil

    import dask.array as da
    from dask.callbacks import Callback

    from ._errors import CancelledError

    class _Blocks(Callback):
        def _start_state(self, dsk, state):
            self.total = sum(1 for k in dsk if _is_block_task(k))
            self.done = 0

        def _posttask(self, key, result, dsk, state, worker_id):
            if _is_block_task(key):
                self.done += 1
                if progress is not None:
                    progress(f"block {self.done}/{self.total}", self.done / max(1, self.total))
            if cancel is not None and cancel.cancelled:
                raise CancelledError()

    if progress is not None:
        progress("measuring the plan on a sample", 0.0)
    lazy = mask_dask(data if isinstance(data, da.Array) else da.from_array(data, chunks="auto"),
                     voxel_size=voxel_size, block=block, **options)
    try:
        with _Blocks():
            lazy.to_zarr(store, overwrite=True, compute=True)
    except BaseException:
        shutil.rmtree(store, ignore_errors=True)
        raise
    return da.from_zarr(store)


def _is_block_task(key) -> bool:
    # Graph optimisation fuses a block's task into others and names the result after all of them.
    name = str(key[0] if isinstance(key, tuple) else key)
    return "pre_block" in name or "final_block" in name
