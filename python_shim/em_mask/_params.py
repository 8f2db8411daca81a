"""Parameters: the classical masker's come from the .NET core's schema (read on first use); the U-Net's and the
post-processing presets are mirrored here, and tests check them against the core."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CLASSICAL_DEFAULTS", "classical_schema", "MANUAL_THRESHOLD_START", "POSTPROCESS_PRESETS", "DEFAULT_PRESET", "UNET_DEFAULTS",
           "UNET_SKIP_THRESHOLD", "load_parameter_preset"]


def classical_schema() -> list:
    """The classical masker's parameters as the core describes them (``ClassicalMaskOptions`` with its ``[Option]``s).

    One dict per parameter, in the panel's order: ``key``, ``kind`` ("int", "float", "bool" or "choice"), ``auto``
    (whether "auto" is allowed), ``default``, ``choices``, ``minimum``, ``maximum``, ``step``, ``label``, ``cli`` and
    ``help``. Loading it starts the .NET core (once per process); the CLI, this API and the napari panel are all built
    from it, so a parameter is added in one place.
    """
    global _SCHEMA
    if _SCHEMA is None:
        import json

        from ._dotnet import bridge

        _SCHEMA = json.loads(str(bridge().NumpyBridge.ClassicalSchemaJson()))
    return _SCHEMA


_SCHEMA = None


class _CoreDefaults(Mapping):
    """``{key: default}`` of :func:`classical_schema`, read from the core on first use (not at import)."""

    def _values(self) -> dict:
        return {e["key"]: e["default"] for e in classical_schema() if e["key"] != "threshold"}

    def __getitem__(self, key):
        return self._values()[key]

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def __repr__(self):
        return repr(self._values())


#: ``EmMask.Core.Masking.ClassicalMaskOptions.Default`` (without ``threshold``, whose default is "auto"), read from the
#: core on first use.
CLASSICAL_DEFAULTS = _CoreDefaults()

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

_OTHER_PRESET_KEYS = {"threshold", "postprocess", "model", "method"} | set(UNET_DEFAULTS)


def load_parameter_preset(path) -> dict:
    """Read a parameter preset: the JSON file ``emmask mask --preset`` takes (snake_case keys).

    Keys: ``block_size``, ``texture_sigma``, ``edge_sigma``, ``minimum_region_size``, ``dog_sigma_low``,
    ``dog_sigma_high``, ``isotropy``, ``dense_threshold``, ``mode``, ``level``, ``refine_boundary``, ``threshold`` (number
    or "auto") -- the keys of :func:`classical_schema` --, ``postprocess`` (preset name or spec), and the U-Net's
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
    known = _OTHER_PRESET_KEYS | {e["key"] for e in classical_schema()}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"Parameter preset {path} has unknown keys {unknown}; known: {sorted(known)}.")
    return data
