"""Parameters: both methods' and the post-processing presets come from the .NET core (read on first use)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CLASSICAL_DEFAULTS", "classical_schema", "unet_schema", "finetune_schema", "MANUAL_THRESHOLD_START", "POSTPROCESS_PRESETS",
           "DEFAULT_PRESET", "UNET_DEFAULTS", "load_parameter_preset"]


def classical_schema() -> list:
    """The classical masker's parameters as the core describes them (``ClassicalMaskOptions`` with its ``[Option]``s).

    One dict per parameter, in the panel's order: ``key``, ``kind`` ("int", "float", "bool", "string" or "choice"),
    ``auto`` (whether "auto" is allowed), ``default``, ``choices``, ``minimum``, ``maximum``, ``step``, ``label``,
    ``cli`` and ``help``. Loading it starts the .NET core (once per process); the CLI, this API and the napari panel
    are all built from it, so a parameter is added in one place.
    """
    return _schema("ClassicalSchemaJson")


def unet_schema() -> list:
    """The U-Net method's parameters as the core describes them (``UNetMaskOptions``); as :func:`classical_schema`."""
    return _schema("UNetSchemaJson")


def finetune_schema() -> list:
    """The fine-tuning parameters as the core describes them (``FineTuneOptions``); as :func:`classical_schema`."""
    return _schema("FineTuneSchemaJson")


_SCHEMAS: dict = {}


def _schema(method: str) -> list:
    if method not in _SCHEMAS:
        import json

        from ._dotnet import bridge

        _SCHEMAS[method] = json.loads(str(getattr(bridge().NumpyBridge, method)()))
    return _SCHEMAS[method]


class _CoreMapping(Mapping):
    """A mapping read from the core on first use (not at import); subclasses say what ``_values`` holds."""

    def _values(self) -> dict:
        raise NotImplementedError

    def __getitem__(self, key):
        return self._values()[key]

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def __repr__(self):
        return repr(self._values())


class _CoreDefaults(_CoreMapping):
    """``{key: default}`` of a schema."""

    def __init__(self, schema, leave_out=()) -> None:
        self._schema = schema
        self._leave_out = set(leave_out)

    def _values(self) -> dict:
        return {e["key"]: e["default"] for e in self._schema() if e["key"] not in self._leave_out}


class _CorePresets(_CoreMapping):
    """``{name: spec}`` of the core's post-processing presets."""

    def _values(self) -> dict:
        return _schema("PostProcessPresetsJson")


#: ``EmMask.Core.Masking.ClassicalMaskOptions.Default`` (without ``threshold``, whose default is "auto"), read from the
#: core on first use.
CLASSICAL_DEFAULTS = _CoreDefaults(classical_schema, leave_out=("threshold",))

#: ``EmMask.Core.Inference.UNetMaskOptions.Default`` (without ``model``: the shipped one), read from the core on first use.
UNET_DEFAULTS = _CoreDefaults(unet_schema, leave_out=("model",))

#: The threshold the core falls back to when the texture histogram has one mode; the widget's starting value
#: for a manual threshold (``ClassicalMasker.UnimodalThreshold``).
MANUAL_THRESHOLD_START = 2.0

#: ``EmMask.Core.PostProcessing.PostProcessPresets.All`` (name -> spec), read from the core on first use.
POSTPROCESS_PRESETS = _CorePresets()

#: The preset the widgets select first (the core's proofreading default).
DEFAULT_PRESET = "clean"

_OTHER_PRESET_KEYS = {"postprocess", "method"}


def load_parameter_preset(path) -> dict:
    """Read a parameter preset: the JSON file ``emmask mask --preset`` takes (snake_case keys).

    Keys: ``block_size``, ``texture_sigma``, ``edge_sigma``, ``minimum_region_size``, ``dog_sigma_low``,
    ``dog_sigma_high``, ``isotropy``, ``dense_threshold``, ``stain_join``, ``trachea_gap``, ``resin_window``, ``mode``, ``level``, ``refine_boundary``, ``threshold`` (number
    or "auto") -- the keys of :func:`classical_schema` --, ``postprocess`` (preset name or spec), and the U-Net's
    keys of :func:`unet_schema` (``roi``, ``overlap``, ``scale``, ``device``, ``precision``, ``batch``, ``skip_tiles``,
    ``envelope``, ``envelope_margin``, ``stained_join``, ``core``, ``core_depth``, ``core_floor``, ``hysteresis``, ``anchor_confirm``, ``tta``, ``stack``,
    ``model``), and ``method``.

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
    known = _OTHER_PRESET_KEYS | {e["key"] for e in classical_schema()} | {e["key"] for e in unet_schema()}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"Parameter preset {path} has unknown keys {unknown}; known: {sorted(known)}.")
    return data
