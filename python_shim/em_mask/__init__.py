"""EM Mask: label every voxel of a volume-EM stack as tissue (1) or not (0).

A napari plugin (see ``napari.yaml``) over a .NET core reached through pythonnet. Everything importable from
here works on plain numpy arrays without napari; importing this package starts neither .NET nor napari, Qt or
magicgui (.NET starts on the first call that needs it).
"""

from __future__ import annotations

from ._api import (
    classical_mask,
    finetune_unet,
    last_call_info,
    phantom,
    postprocess,
    postprocess_presets,
    unet_mask,
    unet_worker_pid,
)
from ._arrays import DtypeConversionWarning
from ._errors import CancelledError, DotnetUnavailableError, EmMaskError
from ._jobs import CancelToken


def __getattr__(name):
    # Dask helpers load dask (and zarr) only when asked for.
    if name in ("mask_dask", "mask_zarr", "classical_plan"):
        from . import _dask

        return getattr(_dask, name)
    raise AttributeError(f"module 'em_mask' has no attribute {name!r}")

from ._params import (
    CLASSICAL_DEFAULTS,
    DEFAULT_PRESET,
    POSTPROCESS_PRESETS,
    UNET_DEFAULTS,
    classical_schema,
    finetune_schema,
    unet_schema,
)

__version__ = "0.1.0"

__all__ = [
    "CLASSICAL_DEFAULTS",
    "DEFAULT_PRESET",
    "POSTPROCESS_PRESETS",
    "UNET_DEFAULTS",
    "CancelToken",
    "CancelledError",
    "classical_schema",
    "finetune_schema",
    "unet_schema",
    "DotnetUnavailableError",
    "DtypeConversionWarning",
    "EmMaskError",
    "classical_mask",
    "classical_plan",
    "finetune_unet",
    "mask_dask",
    "mask_zarr",
    "last_call_info",
    "phantom",
    "postprocess",
    "postprocess_presets",
    "unet_mask",
    "unet_worker_pid",
]
