"""Getting numpy arrays into the shapes and dtypes the .NET core accepts, copying only when unavoidable."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

__all__ = [
    "DtypeConversionWarning",
    "SUPPORTED_DTYPES",
    "as_core_image",
    "as_core_mask",
    "rgb_to_grey",
    "voxel_size_tuple",
]

#: dtypes that cross into .NET as they are (no copy).
SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


class DtypeConversionWarning(UserWarning):
    """An input was converted (copied) to a dtype the core accepts."""


def as_core_image(image, name: str = "image") -> np.ndarray:
    """Return ``image`` as an ndarray of a dtype the core reads, without a copy when it already is one.

    Parameters
    ----------
    image : array_like
        Any numeric array. uint8, uint16 and float32 pass unchanged (same buffer); bool becomes a uint8 *view*;
        other integer and float dtypes are converted to float32 (or uint8/uint16 for narrower unsigned integers)
        with a :class:`DtypeConversionWarning`; non-native byte order is swapped, also with a warning.
    name : str
        Parameter name used in messages.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        For complex, object, string or empty arrays.
    """
    arr = np.asarray(image)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    dt = arr.dtype
    if dt == np.bool_:
        return arr.view(np.uint8)
    if dt.kind not in "uif":
        raise ValueError(f"{name} has dtype {dt}; expected a numeric (integer or float) array.")
    native = dt.newbyteorder("=")
    if native in SUPPORTED_DTYPES:
        if dt.byteorder not in ("=", "|") and dt != native:
            warnings.warn(f"{name} is big-endian ({dt}); converted to native byte order (one copy).",
                          DtypeConversionWarning, stacklevel=3)
            return arr.astype(native)
        return arr
    if dt.kind == "u" and dt.itemsize == 1:
        target = np.dtype(np.uint8)
    else:
        target = np.dtype(np.float32)
    warnings.warn(f"{name} has dtype {dt}; converted to {target} for the core (one copy of "
                  f"{arr.nbytes / 2**20:.0f} MiB).", DtypeConversionWarning, stacklevel=3)
    return arr.astype(target)


def as_core_mask(mask, name: str = "mask") -> tuple[np.ndarray, bool]:
    """Return ``mask`` as a 0/1 uint8 array, and whether that array is ``mask``'s own memory.

    bool and 0/1 uint8 arrays are used as they are (a bool array is viewed as uint8); anything else is
    binarised (non-zero = 1) into a new array.
    """
    arr = np.asarray(mask)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if arr.dtype == np.bool_:
        return arr.view(np.uint8), True
    if arr.dtype == np.uint8 and arr.max(initial=0) <= 1:
        return arr, True
    if arr.dtype.kind not in "uifb":
        raise ValueError(f"{name} has dtype {arr.dtype}; expected a 0/1 mask.")
    return (arr != 0).astype(np.uint8), False


def rgb_to_grey(image: np.ndarray) -> np.ndarray:
    """Convert an RGB(A) image (channels last) to float32 grey with ITU-R BT.601 luma weights.

    Alpha is ignored. The result keeps the input's value range (0..255 for uint8 RGB).
    """
    arr = np.asarray(image)
    if arr.shape[-1] not in (3, 4):
        raise ValueError(f"Expected RGB(A) channels last, got shape {arr.shape}.")
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.tensordot(arr[..., :3].astype(np.float32, copy=False), weights, axes=([-1], [0])).astype(np.float32)


def voxel_size_tuple(voxel_size, ndim: int) -> tuple[float, float, float]:
    """Normalise ``voxel_size`` (None, a scalar, or 2/3 spacings in axis order) to a (z, y, x) tuple of floats.

    For a 2D image a 2-element spacing is (y, x) and z is 1.
    """
    if voxel_size is None:
        return (1.0, 1.0, 1.0)
    if np.isscalar(voxel_size):
        v = float(voxel_size)
        return (v, v, v)
    values: Sequence[float] = [float(v) for v in voxel_size]
    if len(values) == 3:
        z, y, x = values
    elif len(values) == 2:
        z, (y, x) = 1.0, values
    else:
        raise ValueError(f"voxel_size needs 2 (y, x) or 3 (z, y, x) values, got {len(values)}.")
    for v in (z, y, x):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"voxel_size must be finite and positive, got {tuple(values)}.")
    return (z, y, x)
