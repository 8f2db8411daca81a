"""napari readers: HDF5 volumes (.h5/.hdf5), every image-like dataset a layer; MRC volumes (.mrc, .rec, .st, .ali,
.map, .mrcs), memory-mapped through mrcfile."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

__all__ = ["napari_get_reader", "read_hdf5", "read_mrc"]

# The extensions EmMask.IO reads as MRC (MrcFormat.Extensions).
MRC_EXTENSIONS = (".mrc", ".mrcs", ".rec", ".st", ".ali", ".map")
# IMOD's stamp at byte 152; with it, flag bit 0 (byte 156) clear means mode-0 bytes are unsigned.
_IMOD_STAMP = 1146047817

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Dataset names that hold masks/labels rather than intensities (CREMI, ilastik, our writer).
_LABEL_HINTS = ("mask", "label", "truth", "seg", "gt")


def _one_path(path: Union[str, list]) -> str:
    """napari hands a reader a path or a list of paths; the readers here take one."""
    return str(path[0] if isinstance(path, (list, tuple)) else path)


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
    """Return :func:`read_hdf5` for an HDF5 file, :func:`read_mrc` for an MRC file, else None.

    Cheap: checks the extension and the HDF5 signature only. Returns None (never raises) for other files, for
    several paths, and when h5py (for HDF5) or mrcfile (for MRC) is not installed.
    """
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    path = str(path)
    if path.lower().endswith(MRC_EXTENSIONS) and Path(path).is_file():
        try:
            import mrcfile  # noqa: F401
        except ImportError:
            return None
        return read_mrc
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

    path = _one_path(path)
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


def read_mrc(path: Union[str, list]) -> list:
    """Read an MRC volume (IMOD, SerialEM, EMPIAR) as one layer, memory-mapped so that a large tomogram opens at once.

    The header is read by mrcfile (permissive: old files without a map stamp open too). The voxel size (Å in the
    header's cell) becomes the layer's scale in nm, as ``emmask`` reads it. Mode-0 bytes are int8, or uint8 where IMOD's
    stamp marks them unsigned (as ``emmask`` writes masks). An integer file whose name contains mask/label/seg/gt/truth
    is a Labels layer; the text attributes of ``emmask``'s ``.json`` sidecar go into the layer's ``metadata``.

    Returns
    -------
    list of (data, metadata, layer_type)
    """
    import mrcfile
    from mrcfile import utils

    path = _one_path(path)
    with mrcfile.open(path, header_only=True, permissive=True) as m:
        header = m.header.copy()
        voxel = m.voxel_size
    dtype = utils.data_dtype_from_header(header)
    if dtype.kind == "i" and dtype.itemsize == 1:
        stamp, flags = np.frombuffer(header.tobytes(), dtype=header["nx"].dtype, count=2, offset=152)
        if stamp == _IMOD_STAMP and not int(flags) & 1:
            dtype = np.dtype(np.uint8)
    shape = utils.data_shape_from_header(header)
    data = np.memmap(path, dtype=dtype, mode="r", offset=header.nbytes + int(header.nsymbt), shape=shape)

    stem = Path(path).stem
    meta: dict = {"name": stem}
    spacing = (float(voxel.z), float(voxel.y), float(voxel.x))[-data.ndim:]
    if all(v > 0 for v in spacing):
        meta["scale"] = tuple(v / 10 for v in spacing)  # Å to nm
    sidecar = Path(path + ".json")
    if sidecar.is_file():
        try:
            import json

            text = {k: v for k, v in json.loads(sidecar.read_text("utf-8")).items() if isinstance(v, str)}
        except (ValueError, OSError, AttributeError):
            text = {}
        if text:
            meta["metadata"] = text
    is_labels = data.dtype.kind in "ui" and any(h in stem.lower() for h in _LABEL_HINTS)
    return [(data, meta, "labels" if is_labels else "image")]
