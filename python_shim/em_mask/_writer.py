"""napari writer for Labels layers (masks) to HDF5 (.h5/.hdf5) or TIFF (.tif/.tiff)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_labels"]


def _smallest_unsigned(data: np.ndarray) -> np.ndarray:
    if data.dtype == np.bool_:
        return data.astype(np.uint8)
    if data.dtype.kind not in "ui":
        return data
    lo, hi = (int(data.min()), int(data.max())) if data.size else (0, 0)
    if lo < 0:
        return data
    for dt in (np.uint8, np.uint16, np.uint32):
        if hi <= np.iinfo(dt).max:
            return data.astype(dt, copy=False)
    return data


def write_labels(path: str, data: Any, meta: dict) -> list:
    """Write one Labels layer; return the list of written paths (napari's single-layer writer contract).

    Parameters
    ----------
    path : str
        Destination ending in .h5/.hdf5 (dataset ``mask``, gzip, with ``resolution`` = the layer's scale and
        ``offset`` = its translate as attributes, read back by this plugin's reader, and the text entries of the
        layer's ``metadata``, such as the attributes ``emmask`` wrote beside a mask) or .tif/.tiff (one
        multi-page TIFF; the smallest unsigned dtype that holds the labels).
    data : array_like
        The layer data.
    meta : dict
        The layer's metadata (``scale``, ``translate``, ``name``...).

    Returns
    -------
    list of str
        ``[path]``, or ``[]`` for an extension this writer does not handle.
    """
    path = str(path)
    arr = _smallest_unsigned(np.asarray(data))
    suffix = Path(path).suffix.lower()
    scale = meta.get("scale")
    translate = meta.get("translate")
    if suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "w") as f:
            ds = f.create_dataset("mask", data=arr, compression="gzip", compression_opts=4,
                                  chunks=True if arr.size > 0 else None)
            if scale is not None:
                ds.attrs["resolution"] = np.asarray(scale, dtype=float)
            if translate is not None:
                ds.attrs["offset"] = np.asarray(translate, dtype=float)
            if meta.get("name"):
                ds.attrs["name"] = str(meta["name"])
            for key, value in (meta.get("metadata") or {}).items():
                if isinstance(value, str) and key not in ds.attrs:
                    ds.attrs[key] = value  # the mask's record (emmask's attributes, read in by the reader) goes along
        return [path]
    if suffix in (".tif", ".tiff"):
        import tifffile

        metadata = {"axes": "ZYX"[-arr.ndim:] if arr.ndim <= 3 else "TZYX"[-arr.ndim:]}
        tifffile.imwrite(path, arr, metadata=metadata)
        return [path]
    return []
