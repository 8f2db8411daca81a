"""Default parameters, mirrored from the .NET core so signatures (and magicgui widgets) can show them without
starting .NET. tests/python/test_params.py checks them against the core's own defaults."""

from __future__ import annotations

__all__ = ["CLASSICAL_DEFAULTS", "MANUAL_THRESHOLD_START", "POSTPROCESS_PRESETS", "DEFAULT_PRESET"]

#: ``EmMask.Core.Masking.ClassicalMaskOptions.Default``, in Python parameter names.
CLASSICAL_DEFAULTS = {
    "block_size": 9,
    "texture_sigma": 3.0,
    "edge_sigma": 1.0,
    "minimum_region_size": 1000,
    "dog_sigma_low": 1.0,
    "dog_sigma_high": 2.0,
}

#: The threshold the core falls back to when the texture histogram has one mode; the widget's starting value
#: for a manual threshold (``ClassicalMasker.UnimodalThreshold``).
MANUAL_THRESHOLD_START = 2.0

#: ``EmMask.Core.PostProcessing.PostProcessPresets.All`` (name -> spec).
POSTPROCESS_PRESETS = {
    "none": "none",
    "reference": "open2d:3,largest:1,fill3d,grow:15",
    "clean": "open2d:2,largest:1,fill3d",
    "tight": "open2d:3,largest:1,fill3d",
}

#: The preset the widgets select first (the core's proofreading default).
DEFAULT_PRESET = "clean"
