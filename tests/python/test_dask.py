"""Dask: mask_dask / mask_zarr give the CLI's mask voxel for voxel, also on a LocalCluster of 2 worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")

import em_mask  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _core_loaded() -> bool:
    module = sys.modules.get("em_mask._dotnet")
    return module is not None and module._bridge is not None


def _cli_mask(tmp_path, raw, *args, postprocess="none"):
    src, dst = tmp_path / "cli_in.npy", tmp_path / "cli_out.npy"
    np.save(src, raw)
    run = subprocess.run(["bash", str(ROOT / "emmask"), "mask", str(src), str(dst), "--postprocess", postprocess, "-q", "-f", *args],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return np.load(dst)


@pytest.fixture(scope="module")
def volume():
    raw, _ = em_mask.phantom(seed=11, shape=(80, 160, 160))
    return raw


def test_mask_dask_equals_the_cli_across_blocks(volume, tmp_path):
    # Without boundary refinement: its tiles of 128 voxels would set the block alignment, and this counts 64-voxel
    # blocks (the post-processing test below runs with it).
    options = dict(mode="3d", level=0, refine_boundary=False)
    lazy = em_mask.mask_dask(da.from_array(volume, chunks=(40, 80, 80)), block=64, **options)
    assert lazy.numblocks == (2, 3, 3), lazy.numblocks
    mask = lazy.compute(scheduler="threads")
    assert mask.dtype == np.uint8 and mask.shape == volume.shape
    np.testing.assert_array_equal(mask, _cli_mask(tmp_path, volume, "--mode", "3d", "--level", "0", "--no-refine"))


@pytest.mark.parametrize("postprocess", ["clean", "open2d:3,largest:1,fill3d"])
def test_mask_dask_post_processes_as_the_cli(volume, tmp_path, postprocess):
    lazy = em_mask.mask_dask(volume, block=64, mode="3d", level=0, postprocess=postprocess)
    expected = _cli_mask(tmp_path, volume, "--mode", "3d", "--level", "0", postprocess=postprocess)
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), expected)


def _section_with_holes(seed=31):
    """One section of 320²: resin (128, noise 6) in the left 64 columns and in a 60² hole, textured tissue 40 darker
    elsewhere, and a flat pale nucleus (tissue's intensity, no texture) inside it."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    raw = 128 + 6 * rng.standard_normal((320, 320))
    texture = ndimage.gaussian_filter(rng.standard_normal((320, 320)), 2)
    tissue = 128 + 6 * rng.standard_normal((320, 320)) + 20 * texture / texture.std() - 40
    inside = np.zeros((320, 320), bool)
    inside[:, 64:] = True
    inside[140:200, 140:200] = False  # the resin hole
    raw[inside] = tissue[inside]
    raw[40:90, 220:270] = 88 + 6 * rng.standard_normal((50, 50))  # the pale nucleus
    return np.clip(raw, 0, 255).astype(np.uint8)[None]


def test_mask_dask_masks_one_section_in_tiles_as_the_cli(tmp_path):
    # A volume of one section in 3D mode: tiles of the section, its holes filled as a section's (no z faces), the resin
    # hole left open (ClassicalBlockwise.HolesOf), exactly as the CLI's block-wise run.
    raw = _section_with_holes()
    mask = em_mask.mask_dask(raw, block=64, mode="3d").compute(scheduler="threads")
    expected = _cli_mask(tmp_path, raw, "--mode", "3d", "--block", "64")
    np.testing.assert_array_equal(mask, expected)
    assert mask[0, 160:180, 160:180].max() == 0, "the resin hole stays open"
    assert mask[0, 50:80, 230:260].min() == 1, "the pale nucleus is filled"


def test_post_processing_with_a_3d_reach_is_refused_up_front(volume):
    with pytest.raises(em_mask.EmMaskError, match="cannot run block-wise"):
        em_mask.mask_dask(volume, block=64, mode="3d", level=0, postprocess="grow:3")


def test_mask_dask_on_a_thin_stack_masks_whole_sections(tmp_path):
    raw, _ = em_mask.phantom(seed=12, shape=(12, 128, 128))
    lazy = em_mask.mask_dask(raw, block=32)
    assert lazy.chunks[1] == (128,) and lazy.numblocks[0] > 1, lazy.chunks
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), _cli_mask(tmp_path, raw))


def test_mask_dask_sections_take_the_stacks_threshold_from_the_plan(tmp_path):
    # 16 sections, 2 of which do not separate on their own and take the level and threshold the stack agrees on: a
    # task holding a few sections cannot measure that, so it must come with the plan.
    import json

    raw, _ = em_mask.phantom(seed=3, shape=(16, 128, 128))
    info = em_mask.classical_plan(raw)
    assert info["mode"] == "2d" and json.loads(info["plan"])["Consensus"] is not None
    lazy = em_mask.mask_dask(raw, block=24, plan=info)
    assert lazy.numblocks[0] > 2, lazy.chunks
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), _cli_mask(tmp_path, raw))


def test_block_smaller_than_the_halo_is_a_clear_error(volume):
    with pytest.raises(ValueError, match="smaller than the halo"):
        em_mask.mask_dask(volume, block=8, mode="3d", level=1, refine_boundary=False)
    with pytest.raises(ValueError, match="not available block-wise"):
        em_mask.mask_dask(volume, method="unet")


def test_mask_zarr_on_a_local_cluster_with_two_worker_processes(volume, tmp_path):
    distributed = pytest.importorskip("distributed")
    src = str(tmp_path / "in.zarr")
    zarr.save_array(src, volume, chunks=(64, 64, 64))
    out = str(tmp_path / "out.zarr")
    # The workers import em_mask and load the .NET core themselves: they need the package path and the core's folder.
    # distributed also sets thread variables (OMP_NUM_THREADS, ...) in this process's environment; they are put back
    # afterwards so that later tests' subprocesses run as they would alone.
    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python_shim"), os.environ.get("PYTHONPATH", "")])
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            summary = em_mask.mask_zarr(src, out, client=client, block=64, mode="3d", level=0, refine_boundary=False,
                                        postprocess="clean")
            pids = set(client.run(os.getpid).values())
            booted = client.run(_core_loaded)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(booted.values()), booted  # every worker loaded the .NET core (once) and masked blocks
    assert summary["blocks"] == 18 and summary["shape"] == volume.shape
    mask = zarr.open(out, mode="r")[:]
    np.testing.assert_array_equal(mask, _cli_mask(tmp_path, volume, "--mode", "3d", "--level", "0", "--no-refine",
                                                  postprocess="clean"))
    with pytest.raises(FileExistsError):
        em_mask.mask_zarr(src, out, block=64)
