"""Default parameters, mirrored from the .NET core so signatures (and magicgui widgets) can show them without
starting .NET. tests/python/test_params.py checks them against the core's own defaults."""

from __future__ import annotations

__all__ = ["CLASSICAL_DEFAULTS", "MODE_CHOICES", "LEVEL_CHOICES", "MANUAL_THRESHOLD_START", "POSTPROCESS_PRESETS", "DEFAULT_PRESET", "UNET_DEFAULTS",
           "UNET_SKIP_THRESHOLD", "load_parameter_preset"]

#: ``EmMask.Core.Masking.ClassicalMaskOptions.Default``, in Python parameter names.
CLASSICAL_DEFAULTS = {
    "block_size": 9,
    "texture_sigma": 2.0,
    "edge_sigma": 1.0,
    "minimum_region_size": 1000,
    "dog_sigma_low": 1.0,
    "dog_sigma_high": 2.0,
    "isotropy": 0.06,
    "dense_threshold": 1.5,
    "mode": "auto",
    "level": "auto",
    "refine_boundary": True,
}

#: Choices of ``mode`` (``MaskingModes``) and ``level`` (``TexturePyramid``: 0..3 or automatic).
MODE_CHOICES = ("auto", "2d", "3d")
LEVEL_CHOICES = ("auto", 0, 1, 2, 3)

#: The threshold the core falls back to when the texture histogram has one mode; the widget's starting value
#: for a manual threshold (``ClassicalMasker.UnimodalThreshold``).
MANUAL_THRESHOLD_START = 2.0

#: ``EmMask.Core.PostProcessing.PostProcessPresets.All`` (name -> spec).
POSTPROCESS_PRESETS = {
    "none": "none",
    "reference": "open2d:3,largest:1,fill3d,grow:15",
    "clean": "open2d:2,fill",
    "tight": "open2d:3,largest:1,fill3d",
}

#: The preset the widgets select first (the core's proofreading default).
DEFAULT_PRESET = "clean"

#: U-Net inference defaults, as in ``emmask mask --method unet`` (--roi, --overlap, --scale, --device, --no-skip).
UNET_DEFAULTS = {"roi": 64, "overlap": 0.25, "scale": "auto", "device": "auto", "batch": 2, "skip_tiles": True,
                 "envelope_margin": 4.0, "tta": 4}

#: ``EmMask.Host.Bridge.NumpyBridge.DefaultSkipThreshold``: the local-std level below which ``skip_tiles`` skips a window.
UNET_SKIP_THRESHOLD = 0.02

_PRESET_KEYS = set(CLASSICAL_DEFAULTS) | {"threshold", "postprocess"} | set(UNET_DEFAULTS) | {"model", "method"}


def load_parameter_preset(path) -> dict:
    """Read a parameter preset: the JSON file ``emmask mask --preset`` takes (snake_case keys).

    Keys: ``block_size``, ``texture_sigma``, ``edge_sigma``, ``minimum_region_size``, ``dog_sigma_low``,
    ``dog_sigma_high``, ``isotropy``, ``dense_threshold``, ``mode``, ``level``, ``refine_boundary``, ``threshold`` (number or "auto"), ``postprocess`` (preset name or spec), and the U-Net's
    ``roi``, ``overlap``, ``scale``, ``device``, ``batch``, ``skip_tiles``, ``envelope_margin``, ``tta``, ``model``, ``method``.

    Raises
    ------
    ValueError
        For unreadable JSON, a non-object, or unknown keys (named), so typos do not pass silently.
    """
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read parameter preset {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"Parameter preset {path} must hold a JSON object of parameters.")
    unknown = sorted(set(data) - _PRESET_KEYS)
    if unknown:
        raise ValueError(f"Parameter preset {path} has unknown keys {unknown}; known: {sorted(_PRESET_KEYS)}.")
    return data
