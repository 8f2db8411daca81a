"""napari reader for HDF5 volumes (.h5/.hdf5): every image-like dataset becomes a layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

__all__ = ["napari_get_reader", "read_hdf5"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Dataset names that hold masks/labels rather than intensities (CREMI, ilastik, our writer).
_LABEL_HINTS = ("mask", "label", "truth", "seg", "gt")


def _is_hdf5(path: str) -> bool:
    # The superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... (HDF5 spec); check the common ones.
    try:
        with open(path, "rb") as f:
            for offset in (0, 512, 1024, 2048, 4096):
                f.seek(offset)
                if f.read(8) == _HDF5_SIGNATURE:
                    return True
    except OSError:
        return False
    return False


def napari_get_reader(path: Union[str, list]) -> Optional[Callable[[Any], list]]:
    """Return :func:`read_hdf5` when ``path`` is an HDF5 file this plugin can read, else None.

    Cheap: checks the extension and the HDF5 signature only. Returns None (never raises) for other files, for
    several paths, and when h5py is not installed.
    """
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    path = str(path)
    if not path.lower().endswith((".h5", ".hdf5")) or not Path(path).is_file():
        return None
    try:
        import h5py  # noqa: F401
    except ImportError:
        return None
    if not _is_hdf5(path):
        return None
    return read_hdf5


def _scale_translate(attrs, ndim: int) -> dict:
    meta: dict = {}
    for key in ("resolution", "element_size_um", "voxel_size", "scale"):
        if key in attrs:
            values = np.atleast_1d(np.asarray(attrs[key], dtype=float))
            if len(values) == ndim and np.all(values > 0):
                meta["scale"] = tuple(values)
                break
    for key in ("offset", "translate"):
        if key in attrs:
            values = np.atleast_1d(np.asarray(attrs[key], dtype=float))
            if len(values) == ndim:
                meta["translate"] = tuple(values)
                break
    return meta


def _text_attributes(attrs) -> dict:
    """The dataset's text attributes (as ``emmask`` writes them: method, parameters, ``unsplit_sections`` ...)."""
    text = {}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                continue
        if isinstance(value, str):
            text[key] = value
    return text


def read_hdf5(path: Union[str, list]) -> list:
    """Read every numeric dataset with 2 to 4 dimensions from an HDF5 file as napari layer data.

    Datasets whose name contains mask/label/truth/seg/gt and whose dtype is integer or bool become Labels layers;
    the rest become Image layers. ``resolution``/``element_size_um``/``voxel_size`` attributes set the layer scale,
    ``offset`` the translate. Text attributes (what ``emmask`` records beside a mask: method, parameters, the sections whose
    texture did not split as ``unsplit_sections``, re-masked sections) go into the layer's ``metadata``.

    Returns
    -------
    list of (data, metadata, layer_type)
    """
    import h5py

    if isinstance(path, (list, tuple)):
        path = path[0]
    path = str(path)
    stem = Path(path).stem
    layers: list = []
    with h5py.File(path, "r") as f:
        datasets: list = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and 2 <= obj.ndim <= 4 and obj.dtype.kind in "uifb":
                datasets.append(obj)

        f.visititems(visit)
        for ds in datasets:
            data = ds[()]
            leaf = ds.name.rsplit("/", 1)[-1].lower()
            is_labels = data.dtype.kind in "uib" and any(h in leaf for h in _LABEL_HINTS)
            meta = {"name": f"{stem}{ds.name}" if len(datasets) > 1 else stem}
            meta.update(_scale_translate(ds.attrs, data.ndim))
            text = _text_attributes(ds.attrs)
            if text:
                meta["metadata"] = text
            if is_labels and data.dtype == np.bool_:
                data = data.view(np.uint8)
            layers.append((data, meta, "labels" if is_labels else "image"))
    return layers
