"""The plain-numpy API of EM Mask: every function here works without napari."""

from __future__ import annotations

import json
import os
import warnings
from typing import Optional, Sequence, Union

import numpy as np

from ._arrays import as_core_image, as_core_mask, voxel_size_tuple
from ._dotnet import bridge
from ._errors import EmMaskError
from ._jobs import CancelToken, ProgressCallback, run_job

__all__ = [
    "classical_mask",
    "unet_mask",
    "finetune_unet",
    "unet_worker_pid",
    "postprocess",
    "postprocess_presets",
    "phantom",
    "last_call_info",
]

_last_call: dict = {}


def last_call_info() -> dict:
    """Diagnostics of the most recent bridge call in this process.

    Returns
    -------
    dict
        ``input_address`` (address of the first voxel the core read), ``input_copied`` (True when the input was
        not C-contiguous and had to be gathered), ``core_seconds`` (time spent in the core's computation) and, after
        :func:`classical_mask`, ``threshold`` (the texture-to-noise threshold used), ``notes`` (mode, working level, noise),
        ``unsplit_sections`` (2D mode: the sections, in order, whose texture did not split into tissue and resin, masked
        at the unimodal threshold; None in 3D) and ``output_seconds`` (time to hand the results over). After :func:`unet_mask`: ``worker_pid`` (the worker process that ran it),
        ``worker_started`` (True when this call had to start it), ``windows`` and ``skipped`` (sliding windows
        planned / skipped as blank), ``model`` (the resolved model path) and ``output_seconds``; ``core_seconds``
        then includes starting the worker and loading the model.
    """
    return dict(_last_call)


def _record(job, **extra) -> None:
    _last_call.clear()
    _last_call.update(
        input_address=int(job.InputAddress),
        input_copied=bool(job.InputCopied),
        core_seconds=float(job.CoreSeconds),
        **extra,
    )


class _LentBuffer:
    """A .NET result array pinned and lent to numpy; released when the last numpy view of it is collected.

    ``np.asarray(lent)`` keeps this object as the array's ``base``, so its lifetime follows the data's.
    """

    def __init__(self, release, lent_id: int, address: int, shape: tuple, dtype: np.dtype) -> None:
        self._release = release
        self._id = lent_id
        self.__array_interface__ = {"version": 3, "data": (address, False), "shape": tuple(shape),
                                    "typestr": np.dtype(dtype).str}

    def __del__(self) -> None:
        try:
            self._release(self._id)
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to release into
            pass


def _borrow(b, lent, shape: tuple, dtype) -> np.ndarray:
    lent_id, address = (int(v) for v in lent)
    return np.asarray(_LentBuffer(b.LentBuffers.Release, lent_id, address, shape, dtype))


def _describe(b, arr: np.ndarray):
    """The four plain values that cross the bridge for an array: address, shape, byte strides, dtype string."""
    return (
        int(arr.ctypes.data),
        b.Int64Array([int(n) for n in arr.shape]),
        b.Int64Array([int(s) for s in arr.strides]),
        arr.dtype.str,
    )


def _scaled_progress(progress: Optional[ProgressCallback], start: float, span: float, prefix: str):
    if progress is None:
        return None
    return lambda stage, fraction: progress(f"{prefix}{stage}", start + span * fraction)


def classical_mask(
    image,
    *,
    voxel_size: Union[float, Sequence[float], None] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    """Label every voxel as tissue (1) or not (0) with the classical (texture) masker.

    Parameters
    ----------
    image : array_like
        2D (y, x), 3D (z, y, x) or 4D (t, z, y, x) grey image. uint8, uint16 and float32 are read in place (no
        copy); other dtypes are converted to float32 with a :class:`~em_mask.DtypeConversionWarning`. A 4D array
        is processed one time point at a time.
    voxel_size : float or sequence of float, optional
        Physical spacing (z, y, x), or (y, x) for 2D; stored on the core's volume. It decides ``mode="auto"``
        (anisotropic stacks are masked per section). Default: unknown (1).
    progress : callable, optional
        ``progress(stage, fraction)``, called on this thread while the core runs.
    cancel : CancelToken, optional
        Cancelling it stops the call within a fraction of a second with :class:`~em_mask.CancelledError`.
    **options
        The masker's parameters by key, as the core defines them (:func:`em_mask.classical_schema` lists each with
        its default, range and help; the same keys as ``emmask mask --preset``): ``mode`` ("auto", "2d", "3d"),
        ``level`` ("auto" or 0..3), ``threshold`` ("auto"/None or a number > 0), ``block_size``, ``texture_sigma``,
        ``edge_sigma``, ``dog_sigma_low``, ``dog_sigma_high``, ``isotropy``, ``dense_threshold``, ``stain_join``, ``trachea_gap``, ``resin_window``,
        ``minimum_region_size``, ``refine_boundary``. Left out: the core's default. An unknown key or a value out of
        range is an :class:`EmMaskError` naming it.

    Returns
    -------
    mask : numpy.ndarray of uint8
        0/1, same shape as ``image``.
    confidence : numpy.ndarray of float32
        Tissue confidence in 0..1, same shape (mask = confidence >= 0.5).

    Warns
    -----
    UserWarning
        The core's warnings (a constant volume, NaN voxels, padding), one per line.

    Raises
    ------
    EmMaskError
        With the core's message for a bad parameter (``kind == "argument"``); :class:`DotnetUnavailableError`
        when the .NET core is not built.
    """
    arr = as_core_image(image)
    if arr.ndim == 4:
        masks = np.empty(arr.shape, np.uint8)
        confidences = np.empty(arr.shape, np.float32)
        for t in range(arr.shape[0]):
            masks[t], confidences[t] = classical_mask(
                arr[t], voxel_size=voxel_size, cancel=cancel,
                progress=_scaled_progress(progress, t / arr.shape[0], 1 / arr.shape[0], f"t={t}: "), **options,
            )
        return masks, confidences
    if arr.ndim not in (2, 3):
        raise ValueError(f"image must be 2D (y, x), 3D (z, y, x) or 4D (t, z, y, x); got shape {arr.shape}.")
    # The core's options record in its JSON form (ClassicalMaskOptions.FromJson): snake_case, unknown keys refused,
    # missing keys keep the core's defaults; "auto" (or None) for automatic values.
    payload_options = {k: ("auto" if v is None else v.item() if isinstance(v, np.generic) else v) for k, v in options.items()}
    payload_options["voxel_size"] = list(voxel_size_tuple(voxel_size, arr.ndim))
    b = bridge()
    described = _describe(b, arr)
    # Outputs: the masker's own result arrays, lent without a copy (see _LentBuffer); 0, 0 = "lend them to me".
    result, job = run_job(
        b,
        lambda job: b.NumpyBridge.ClassicalMask(*described, 0, 0, json.dumps(payload_options), job),
        progress=progress,
        cancel=cancel,
    )
    payload = json.loads(str(result.Json))
    mask = _borrow(b, payload["mask"], arr.shape, np.uint8)
    confidence = _borrow(b, payload["confidence"], arr.shape, np.float32)
    _record(job, threshold=float(result.Value), output_seconds=float(job.OutputSeconds), notes=payload.get("notes", []),
            unsplit_sections=payload.get("unsplit_sections"))
    for message in payload.get("warnings", []):
        warnings.warn(f"EM Mask: {message}", UserWarning, stacklevel=2)
    return mask, confidence


def unet_mask(
    image,
    model: Union[str, os.PathLike, None] = None,
    *,
    voxel_size: Union[float, Sequence[float], None] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    """Label every voxel as tissue (1) or not (0) with the U-Net method, run whole in the EM Mask worker process.

    The method (``UNetMasker`` in the core: normalisation, working scale, tissue envelope, tile skipping, sliding
    window, gate) runs in a separate .NET process (EmMask.Worker, TorchSharp), so that its libtorch never meets a
    PyTorch loaded into this Python; the image travels there in its own dtype, so the worker's mask is the one
    ``emmask mask --method unet`` makes. The worker starts on the first call (about a second) and is reused, with the
    model kept loaded; if it dies, the pending call raises and the next call starts a new one.

    Parameters
    ----------
    image : array_like
        2D (y, x), 3D (z, y, x) or 4D (t, z, y, x, one time point at a time) grey image; uint8, uint16 and float32
        are shared as they are, other dtypes are converted with a warning.
    model : str or path, optional
        Model file (``.safetensors`` or ``.pt``), or a shipped model's name (``"em-mask-unet-v1"``, trained on
        phantoms only; see models/README.md). Default: ``$EM_MASK_MODEL``, else the shipped
        ``models/em-mask-unet-v2.safetensors`` (fine-tuned on real EM). The worker's built-in test models
        ``"builtin:identity"``, ``"builtin:threshold"`` and ``"builtin:slow"`` need no file.
    voxel_size : float or sequence of float, optional
        Physical spacing (z, y, x), or (y, x) for 2D; it decides ``scale="auto"`` and section-wise inference.
    progress : callable, optional
        ``progress(stage, fraction)``, called on this thread.
    cancel : CancelToken, optional
        Cancelling stops the worker between batches; the call raises :class:`~em_mask.CancelledError`.
    **options
        The method's parameters by key, as the core defines them (:func:`em_mask.unet_schema` lists each with its
        default, choices and help; the same keys as ``emmask mask --preset``): ``roi``, ``overlap``, ``scale``
        (int or "auto"), ``device``, ``precision`` ("fp32", "bf16", "fp16"), ``batch``, ``skip_tiles``,
        ``envelope``, ``envelope_margin``, ``stained_join``, ``core``, ``core_depth``, ``core_floor``, ``hysteresis``, ``anchor_confirm``, ``tta`` (1, 4, 8),
        ``stack`` ("auto", "volume",
        "sections"). Left out:
        the core's default. An unknown key or a bad value is an :class:`EmMaskError` naming it.
        (``envelope_margin=None`` is read as ``envelope=False``.)

    Returns
    -------
    mask : numpy.ndarray of uint8
        0/1 (probability >= 0.5), same shape as ``image``.
    probability : numpy.ndarray of float32
        Tissue probability in 0..1, same shape.

    Raises
    ------
    EmMaskError
        ``kind == "unavailable"``: the model file (named) or the worker is missing; ``"worker"``: the worker process
        died or hung (the next call starts a new one); ``"argument"``: a bad parameter.
        :class:`DotnetUnavailableError` when the .NET core is not built.
    """
    arr = as_core_image(image)
    if arr.ndim == 4:
        masks = np.empty(arr.shape, np.uint8)
        probabilities = np.empty(arr.shape, np.float32)
        for t in range(arr.shape[0]):
            masks[t], probabilities[t] = unet_mask(
                arr[t], model, voxel_size=voxel_size, cancel=cancel,
                progress=_scaled_progress(progress, t / arr.shape[0], 1 / arr.shape[0], f"t={t}: "), **options,
            )
        return masks, probabilities
    if arr.ndim not in (2, 3):
        raise ValueError(f"image must be 2D (y, x), 3D (z, y, x) or 4D (t, z, y, x); got shape {arr.shape}.")
    if "envelope_margin" in options and options["envelope_margin"] is None:
        options = {k: v for k, v in options.items() if k != "envelope_margin"}
        options["envelope"] = False
    # The core's options record in its JSON form (UNetMaskOptions.FromJson): snake_case, unknown keys refused.
    payload_options = {k: ("auto" if v is None else v.item() if isinstance(v, np.generic) else v) for k, v in options.items()}
    payload_options["voxel_size"] = list(voxel_size_tuple(voxel_size, arr.ndim))
    model_name = _model_argument(model)
    b = bridge()
    _register_worker_shutdown(b)
    described = _describe(b, arr)
    result, job = run_job(
        b,
        lambda job: b.NumpyBridge.UNetMask(*described, model_name, json.dumps(payload_options), job),
        progress=progress,
        cancel=cancel,
    )
    payload = json.loads(str(result.Json))
    mask = _borrow(b, payload["mask"], arr.shape, np.uint8)
    probability = _borrow(b, payload["probability"], arr.shape, np.float32)
    _record(job, output_seconds=float(job.OutputSeconds), worker_pid=int(payload["worker_pid"]),
            worker_started=bool(payload["worker_started"]), windows=int(payload["windows"]),
            skipped=int(payload["skipped"]), model=str(payload["model"]), scale=int(payload["scale"]),
            notes=list(payload.get("notes", [])))
    for message in payload.get("warnings", []):
        warnings.warn(f"EM Mask: {message}", UserWarning, stacklevel=2)
    return mask, probability


#: The label of a voxel nobody proofread (``FineTuneOptions.NotProofread`` in the core).
NOT_PROOFREAD = 255


def finetune_unet(
    image,
    mask,
    out: Union[str, os.PathLike],
    *,
    sections: Optional[Sequence[int]] = None,
    model: Union[str, os.PathLike, None] = None,
    voxel_size: Union[float, Sequence[float], None] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    **options,
) -> str:
    """Fine-tune the U-Net on the sections a proofreader corrected, and write the new model to ``out``.

    Runs whole in the EM Mask worker process (``ProofreadFineTuning`` in the core, the U-Net's process, so its
    libtorch never meets a PyTorch in this Python): the volume is trained at the working scale :func:`unet_mask`
    will use for it, the loss counts only the proofread sections, and ``out`` appears only when training has finished
    (a cancelled or failed run leaves an existing file as it was). Shown in the model card: one proofread section of
    a 32-section Platynereis volume lifted the non-brain IoU on the other 31 sections from 0.563 to 0.866 (1000
    steps). Then mask with ``unet_mask(image, model=path)``.

    Parameters
    ----------
    image : array_like
        2D (y, x) or 3D (z, y, x) grey image (as :func:`unet_mask` takes it).
    mask : array_like
        The proofread mask, same shape: non-zero = tissue, 0 = non-brain; in a uint8 mask 255 = not checked (as
        ``emmask eval`` and ``emmask finetune`` read it). Only ``sections`` count.
    out : str or path
        The model file to write (``.safetensors``); its folder must exist; an existing file is replaced.
    sections : sequence of int, optional
        The z indices the proofreader checked (negative indices count from the end). Default: every section (the
        whole mask is correct). Ignored for a 2D image.
    model : str or path, optional
        The model to start from: a file or a shipped model's name (``"em-mask-unet-v1"``); default the shipped one
        (``em-mask-unet-v2``).
    voxel_size : float or sequence of float, optional
        Physical spacing (z, y, x); it decides the working scale, as for :func:`unet_mask`.
    progress : callable, optional
        ``progress(stage, fraction)``, once per optimiser step.
    cancel : CancelToken, optional
        Cancelling stops training between steps; the call raises :class:`~em_mask.CancelledError` and writes nothing.
    **options
        The fine-tuning parameters by key (:func:`em_mask.finetune_schema` lists each with its default and help):
        ``steps`` (default 1000, about 80 s on a 2-core CPU), ``learning_rate``, ``patch``, ``batch``, ``seed``, ``augment``, ``scale`` (int or
        "auto"), ``device``. An unknown key or a bad value is an :class:`EmMaskError` naming it.

    Returns
    -------
    str
        The written model's absolute path.

    Raises
    ------
    EmMaskError
        ``kind == "argument"``: nothing proofread, a bad ``out`` or parameter; ``"unavailable"``: the starting model
        or the worker is missing; ``"worker"``: the worker died.
    ValueError
        ``mask`` and ``image`` differ in shape, or a section index is out of range.
    """
    arr = as_core_image(image)
    if arr.ndim not in (2, 3):
        raise ValueError(f"image must be 2D (y, x) or 3D (z, y, x); got shape {arr.shape}.")
    truth = np.asarray(mask)
    if truth.shape != arr.shape:
        raise ValueError(f"mask has shape {truth.shape}, image {arr.shape}; they must match.")
    labels = np.full(arr.shape, NOT_PROOFREAD, np.uint8)
    if arr.ndim == 2 or sections is None:
        chosen = slice(None)
    else:
        depth = arr.shape[0]
        chosen = sorted({int(z) + depth if int(z) < 0 else int(z) for z in sections})
        if not chosen:
            raise ValueError("sections is empty: name at least one proofread section.")
        if chosen[0] < 0 or chosen[-1] >= depth:
            raise ValueError(f"sections must lie in 0..{depth - 1} (or -{depth}..-1); got {list(sections)}.")
    labels[chosen] = truth[chosen] != 0
    if truth.dtype == np.uint8:
        labels[truth == NOT_PROOFREAD] = NOT_PROOFREAD
    payload_options = {k: ("auto" if v is None else v.item() if isinstance(v, np.generic) else v) for k, v in options.items()}
    if model is not None:
        payload_options["model"] = _model_argument(model)
    payload_options["voxel_size"] = list(voxel_size_tuple(voxel_size, arr.ndim))
    target = os.path.abspath(os.fspath(out))
    b = bridge()
    _register_worker_shutdown(b)
    described = _describe(b, arr)
    label_strides = b.Int64Array([int(s) for s in labels.strides])
    result, job = run_job(
        b,
        lambda job: b.NumpyBridge.UNetFineTune(*described, int(labels.ctypes.data), label_strides, target,
                                               json.dumps(payload_options), job),
        progress=progress,
        cancel=cancel,
    )
    payload = json.loads(str(result.Json))
    _record(job, worker_pid=int(payload["worker_pid"]), model=str(payload["model"]), scale=int(payload["scale"]),
            notes=list(payload.get("notes", [])))
    return str(payload["model"])


def unet_worker_pid() -> Optional[int]:
    """Process id of the running U-Net worker, or None when none runs (or .NET was never started)."""
    import sys

    if "clr" not in sys.modules:
        return None
    pid = int(bridge().NumpyBridge.UNetWorkerProcessId)
    return pid if pid > 0 else None


_shutdown_registered = False


def _register_worker_shutdown(b) -> None:
    # Stop the worker politely when Python exits (it would also exit on its own when its stdin closes).
    global _shutdown_registered
    if not _shutdown_registered:
        import atexit

        atexit.register(b.NumpyBridge.ShutdownUNetWorker)
        _shutdown_registered = True


def _model_argument(model) -> str:
    """'' for the default model, a built-in or shipped model's name as is, else an absolute path (from this cwd)."""
    if model is None:
        return ""
    text = os.fspath(model)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"model must be a file path, 'builtin:NAME' or None; got {model!r}.")
    if text.startswith("builtin:"):
        return text
    if os.sep not in text and not os.path.splitext(text)[1] and not os.path.exists(text):
        return text  # a shipped model's name ("em-mask-unet-v1"); the core's model locator resolves it
    return os.path.abspath(text)


def postprocess(
    mask,
    ops: str,
    out: Optional[np.ndarray] = None,
    *,
    voxel_size: Union[float, Sequence[float], None] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """Clean a 0/1 mask with a post-processing pipeline.

    Parameters
    ----------
    mask : array_like
        2D, 3D or 4D (processed per time point) mask; non-zero is tissue. bool and 0/1 uint8 arrays are read in
        place; other dtypes are binarised into a copy first.
    ops : str
        A preset name (see :func:`postprocess_presets`: ``"none"``, ``"reference"``, ``"clean"``, ``"tight"``) or a
        spec such as ``"open2d:3,largest:1,fill3d,grow:15"``.
    out : numpy.ndarray, optional
        Where to write the result. ``out is mask`` edits the caller's array **in place** (any integer or bool
        dtype; values become 0/1). Default: a new uint8 array.
    voxel_size : float or sequence of float, optional
        Spacing (z, y, x); ``grow``/``erode`` distances are in this unit. Default 1 (voxels).
    progress : callable, optional
        ``progress(stage, fraction)`` on this thread.
    cancel : CancelToken, optional
        Cancels the call; an in-place call that is cancelled may leave ``mask`` partly processed.

    Returns
    -------
    numpy.ndarray
        ``out`` (or the new array).
    """
    source = np.asarray(mask)
    if out is not None and not isinstance(out, np.ndarray):
        raise TypeError("out must be a numpy array (or None).")
    if out is not None and out.shape != source.shape:
        raise ValueError(f"out has shape {out.shape}, mask has shape {source.shape}.")
    if source.ndim == 4:
        target = out if out is not None else np.empty(source.shape, np.uint8)
        for t in range(source.shape[0]):
            postprocess(source[t], ops, out=target[t], voxel_size=voxel_size,
                        progress=_scaled_progress(progress, t / source.shape[0], 1 / source.shape[0], f"t={t}: "),
                        cancel=cancel)
        return target
    if source.ndim not in (2, 3):
        raise ValueError(f"mask must be 2D, 3D or 4D; got shape {source.shape}.")
    if not isinstance(ops, str):
        raise TypeError(f"ops must be a preset name or a spec string, got {type(ops).__name__}.")

    core_in, shares_memory = as_core_mask(source)
    # The core writes into a C-contiguous uint8 buffer: `out` itself when it is one, else a scratch copied back.
    if out is None:
        target = np.empty(source.shape, np.uint8)
    elif out.dtype in (np.uint8, np.bool_) and out.flags.c_contiguous:
        target = out.view(np.uint8)
    else:
        target = np.empty(source.shape, np.uint8)
    in_place = target.ctypes.data == core_in.ctypes.data and core_in.flags.c_contiguous
    b = bridge()
    vz, vy, vx = voxel_size_tuple(voxel_size, source.ndim)
    described = _describe(b, core_in)
    out_address = described[0] if in_place else int(target.ctypes.data)
    if not in_place and np.shares_memory(target, core_in):
        # e.g. `out is mask` for a non-contiguous mask: read from a private copy so the write cannot alias it.
        core_in = np.ascontiguousarray(core_in).copy()
        described = _describe(b, core_in)
    result, job = run_job(
        b,
        lambda job: b.NumpyBridge.PostProcess(*described, out_address, ops, vz, vy, vx, job),
        progress=progress,
        cancel=cancel,
    )
    _record(job)
    if out is not None and target is not out and target.base is not out:
        out[...] = target
        return out
    return out if out is not None else target


def postprocess_presets() -> dict:
    """The core's post-processing presets as ``{name: spec}``."""
    return dict(json.loads(str(bridge().NumpyBridge.PostProcessPresetsJson())))


def phantom(seed: int = 0, shape: Sequence[int] = (64, 128, 128), invert: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Generate a synthetic EM volume and its ground-truth tissue mask.

    Parameters
    ----------
    seed : int
        Random seed; the same seed and shape give the same volume.
    shape : sequence of int
        (z, y, x) size.
    invert : bool
        True for dark-on-bright contrast (inverted EM).

    Returns
    -------
    raw : numpy.ndarray of uint8
    truth : numpy.ndarray of uint8
        1 = tissue.
    """
    raw, truth, _ = phantom_with_voxel_size(seed, shape, invert)
    return raw, truth


def phantom_with_voxel_size(seed: int = 0, shape: Sequence[int] = (64, 128, 128), invert: bool = False):
    """:func:`phantom` plus the phantom's voxel size (z, y, x) in nm, for layer scales."""
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be 3 positive lengths (z, y, x); got {shape}.")
    b = bridge()
    raw = np.empty(shape, np.uint8)
    truth = np.empty(shape, np.uint8)
    result, job = run_job(
        b,
        lambda job: b.NumpyBridge.Phantom(int(seed), shape[0], shape[1], shape[2], bool(invert),
                                          int(raw.ctypes.data), int(truth.ctypes.data), job),
    )
    voxel_size = tuple(float(v) for v in json.loads(str(result.Json)))
    return raw, truth, voxel_size
