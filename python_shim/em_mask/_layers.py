"""napari-free logic behind the widgets: what to do with a layer's data, names, scales and undo atoms.

Everything here takes plain arrays/sequences (or duck-typed layers) so pytest can check it without napari.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional, Sequence

import numpy as np

from ._arrays import DtypeConversionWarning, as_core_image, rgb_to_grey

__all__ = [
    "MAX_VOXELS_PER_VOLUME",
    "LayerInputError",
    "apply_undoable",
    "blockwise_source",
    "check_layer_input",
    "mask_layer_name",
    "mask_layer_kwargs",
    "materialise",
    "undo_atom",
    "voxel_size_from_scale",
]

#: The core holds one 3D volume in one buffer: at most 2**31 - 1 voxels per time point.
MAX_VOXELS_PER_VOLUME = 2**31 - 1


class LayerInputError(ValueError):
    """A layer the widgets refuse, with a message meant for the napari notification area."""


def _available_memory() -> int:
    """Bytes of memory available now (Linux MemAvailable), else total physical memory, else 8 GiB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _spatial_shape(shape: Sequence[int], rgb: bool) -> tuple:
    return tuple(shape[:-1]) if rgb else tuple(shape)


def blockwise_source(data: Any, *, rgb: bool = False, multiscale: bool = False) -> Any:
    """The array to mask block by block, or None: a lazily loaded (dask, zarr, ...) grey 3D layer, or the
    full-resolution level of such a pyramid, is never read whole by the classical masker."""
    level = data[0] if multiscale else data
    if rgb or isinstance(level, np.ndarray) or len(getattr(level, "shape", ())) != 3:
        return None
    return level


def check_layer_input(data: Any, *, rgb: bool = False, multiscale: bool = False, name: str = "image",
                      available_bytes: Optional[int] = None, blockwise: bool = False) -> list[str]:
    """Decide cheaply (no data read) whether a layer's data can be masked; return notes for the user.

    Parameters
    ----------
    data : array_like or list of array_like
        The layer's data: numpy, dask, zarr, or a multiscale list (the full-resolution level is used).
    rgb : bool
        The layer is RGB(A), channels last; it will be converted to grey.
    multiscale : bool
        ``data`` is a pyramid.
    available_bytes : int, optional
        Memory budget; default: the memory available now.
    blockwise : bool
        The caller masks lazy 3D layers block by block (:func:`blockwise_source`): no memory limit applies to them.

    Returns
    -------
    list of str
        Notes to show (conversions that will happen).

    Raises
    ------
    LayerInputError
        For layers that cannot be processed (too many dimensions, too large for memory or for the core).
    """
    notes: list[str] = []
    level = data[0] if multiscale else data
    shape = tuple(int(n) for n in level.shape)
    if blockwise and blockwise_source(data, rgb=rgb, multiscale=multiscale) is not None:
        if multiscale:
            notes.append(f"'{name}' is multiscale: the full-resolution level {shape} is masked.")
        notes.append(f"'{name}' is lazily loaded ({type(level).__module__.split('.')[0]}): masked block by block into a "
                     "Zarr store on disk, never read whole; the mask layer reads from that store.")
        return notes
    spatial = _spatial_shape(shape, rgb)
    if rgb:
        notes.append(f"'{name}' is RGB: converted to grey (luma) before masking.")
    if multiscale:
        notes.append(f"'{name}' is multiscale: the full-resolution level {shape} is masked.")
    if len(spatial) not in (2, 3, 4):
        raise LayerInputError(
            f"'{name}' has {len(spatial)} spatial/time dimensions {spatial}; EM Mask handles 2D, 3D and 4D "
            "(time, z, y, x) images. Split channels into separate layers first."
        )
    per_volume = int(np.prod(spatial[-3:]))
    if per_volume > MAX_VOXELS_PER_VOLUME:
        raise LayerInputError(
            f"'{name}' has {per_volume:,} voxels per volume; the core takes at most {MAX_VOXELS_PER_VOLUME:,}. "
            "Mask a crop or a downsampled copy."
        )
    dtype = np.dtype(getattr(level, "dtype", np.float32))
    item = dtype.itemsize if dtype in (np.uint8, np.uint16, np.float32) else 4
    # input (if converted or lazy) + uint8 mask + float32 confidence
    needed = int(np.prod(spatial)) * (item + 1 + 4)
    budget = _available_memory() if available_bytes is None else available_bytes
    lazy = not isinstance(level, np.ndarray)
    if lazy:
        notes.append(f"'{name}' is lazily loaded ({type(level).__module__.split('.')[0]}): it is read into memory "
                     f"({needed / 2**30:.1f} GiB with the outputs).")
    if needed > budget:
        raise LayerInputError(
            f"'{name}' needs about {needed / 2**30:.1f} GiB to mask but only {budget / 2**30:.1f} GiB is available. "
            "Mask a crop or a downsampled copy."
        )
    if dtype not in (np.uint8, np.uint16, np.float32, np.bool_):
        notes.append(f"'{name}' has dtype {dtype}: converted to float32 for the core.")
    return notes


def materialise(data: Any, *, rgb: bool = False, multiscale: bool = False) -> np.ndarray:
    """Read a layer's data into a numpy array the core accepts (run this on a worker thread).

    numpy input of a supported dtype is returned as is (no copy); dask/zarr arrays are computed; RGB becomes grey
    float32; other dtypes become float32. Conversion warnings are suppressed (the caller already has the notes from
    :func:`check_layer_input`).
    """
    level = data[0] if multiscale else data
    arr = np.asarray(level)
    if rgb:
        arr = rgb_to_grey(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtypeConversionWarning)
        return as_core_image(arr)


def voxel_size_from_scale(scale: Sequence[float], spatial_ndim: int) -> Optional[tuple]:
    """The core's voxel size from a layer's ``scale``: the last 3 (or 2) entries; a time axis is dropped."""
    values = [float(s) for s in scale]
    if spatial_ndim >= 3:
        return tuple(values[-3:])
    return tuple(values[-2:])


def mask_layer_name(image_name: str) -> str:
    """The name of the Labels layer holding ``image_name``'s mask."""
    return f"{image_name} mask"


def mask_layer_kwargs(image_name: str, scale: Sequence[float], translate: Sequence[float]) -> dict:
    """Keyword arguments for ``viewer.add_labels`` so the mask overlays its image exactly."""
    return {
        "name": mask_layer_name(image_name),
        "scale": tuple(float(s) for s in scale),
        "translate": tuple(float(t) for t in translate),
        "opacity": 0.5,
    }


def undo_atom(snapshot: np.ndarray, new: np.ndarray) -> tuple[tuple, np.ndarray]:
    """The voxels where ``new`` differs from ``snapshot``: (index arrays, new values), napari's history format."""
    snapshot = np.asarray(snapshot)
    new = np.asarray(new)
    if snapshot.shape != new.shape:
        raise ValueError(f"shapes differ: {snapshot.shape} vs {new.shape}")
    indices = np.nonzero(snapshot != new)
    return indices, new[indices]


def apply_undoable(layer: Any, snapshot: np.ndarray, new: np.ndarray) -> int:
    """Write ``new`` into a Labels ``layer`` in place as ONE undoable edit; return the number of voxels changed.

    Only voxels that differ between ``snapshot`` (the data the computation started from) and ``new`` are written,
    through ``layer.data_setitem`` (napari >= 0.4.19), which records (indices, old values, new values) as one
    history atom, so a single Ctrl-Z restores the layer, and edits the user made meanwhile elsewhere survive.
    Call it on the GUI thread.
    """
    indices, values = undo_atom(snapshot, new)
    if indices[0].size == 0:
        return 0
    layer.data_setitem(indices, values)
    return int(indices[0].size)
