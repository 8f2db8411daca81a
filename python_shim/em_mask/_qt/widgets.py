"""magicgui panels behind the dock widgets. Imported only when napari builds one (napari and magicgui present).

Threading: every long computation runs in napari's ``create_worker`` as a generator that yields progress dicts;
layers are only created or changed in the worker's ``yielded``/``returned`` handlers, which Qt runs on the GUI
thread. Errors never escape: they become napari notifications (``show_error``), and the viewer's layers are never
removed or replaced by a failed run.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import napari.layers
import napari.types  # noqa: F401 - registers napari's layer types with magicgui
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
    create_widget,
)
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info, show_warning

from .. import _api
from .._errors import CancelledError, EmMaskError
from .._jobs import CancelToken, staged_progress as _staged
from .._layers import (
    LayerInputError,
    apply_undoable,
    check_layer_input,
    mask_layer_kwargs,
    mask_layer_name,
    materialise,
    voxel_size_from_scale,
)
from .._params import (
    CLASSICAL_DEFAULTS,
    DEFAULT_PRESET,
    MANUAL_THRESHOLD_START,
    POSTPROCESS_PRESETS,
    UNET_DEFAULTS,
    load_parameter_preset,
)

__all__ = ["ClassicalMaskPanel", "UNetMaskPanel", "PostProcessPanel", "BatchMaskPanel"]

_CUSTOM = "custom"
_PROGRESS_MAX = 1000
# Layer metadata key marking layers this plugin made, so batch runs do not mask its own outputs.
_ROLE = "em_mask_role"

#: Working-scale choices in the U-Net panel ("auto": from the layer's voxel size).
SCALE_CHOICES = ["auto", 1, 2, 3, 4, 6, 8]


def _spatial_ndim(layer) -> int:
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return len(data.shape) - (1 if getattr(layer, "rgb", False) else 0)


def _find_layer(viewer, name: str, kind: type):
    for layer in viewer.layers:
        if layer.name == name and isinstance(layer, kind):
            return layer
    return None


def _put_mask(viewer, image_name: str, mask: np.ndarray, scale, translate) -> Any:
    """Create the ``<image> mask`` Labels layer, or update it in place when one of the same shape exists."""
    existing = _find_layer(viewer, mask_layer_name(image_name), napari.layers.Labels)
    kwargs = mask_layer_kwargs(image_name, scale, translate)
    if existing is not None and tuple(existing.data.shape) == tuple(mask.shape):
        existing.data = mask
        existing.scale = kwargs["scale"]
        existing.translate = kwargs["translate"]
        return existing
    layer = viewer.add_labels(mask, **kwargs)
    layer.metadata[_ROLE] = "mask"
    return layer


def _preset_widgets(label: str = "post-process", default: str = DEFAULT_PRESET) -> tuple[ComboBox, LineEdit]:
    """A preset picker plus the spec it stands for (editable: editing it switches the picker to 'custom')."""
    names = list(POSTPROCESS_PRESETS) + [_CUSTOM]
    preset = ComboBox(choices=names, value=default, label=label,
                      tooltip="Named post-processing pipeline from the core (" +
                      "; ".join(f"{k}: {v}" for k, v in POSTPROCESS_PRESETS.items()) + ")")
    spec = LineEdit(value=POSTPROCESS_PRESETS[default], label="steps",
                    tooltip="Comma-separated steps, e.g. open2d:3,largest:1,fill3d,grow:15")
    state = {"syncing": False}

    def on_preset(value):
        if value != _CUSTOM:
            state["syncing"] = True
            spec.value = POSTPROCESS_PRESETS[value]
            state["syncing"] = False

    def on_spec(value):
        if not state["syncing"] and POSTPROCESS_PRESETS.get(preset.value) != value:
            preset.value = _CUSTOM

    preset.changed.connect(on_preset)
    spec.changed.connect(on_spec)
    return preset, spec


class _RunPanel(Container):
    """A panel with Run / Cancel buttons, a progress bar and a status line; runs one worker at a time."""

    def __init__(self, viewer, widgets: list, run_text: str) -> None:
        self._viewer = viewer
        self._worker = None
        self._token: Optional[CancelToken] = None
        self._run = PushButton(text=run_text)
        self._cancel = PushButton(text="Cancel", enabled=False)
        self._progress = ProgressBar(value=0, min=0, max=_PROGRESS_MAX, label="progress")
        self._status = Label(value="")
        super().__init__(widgets=[*widgets, self._run, self._cancel, self._progress, self._status])
        self._run.changed.connect(self._on_run)
        self._cancel.changed.connect(self._on_cancel)

    # subclasses: return a generator function and its arguments, or None (after showing an error)
    def _prepare(self) -> Optional[tuple]:
        raise NotImplementedError

    def _on_result(self, result) -> None:
        raise NotImplementedError

    def _on_item(self, item: dict) -> None:
        """A non-progress item yielded by the job (e.g. one finished layer of a batch)."""

    def _on_run(self, *_args) -> None:
        if self._worker is not None:
            return
        try:
            prepared = self._prepare()
        except (LayerInputError, EmMaskError, ValueError) as exc:
            show_error(f"EM Mask: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - never raise into Qt's event loop
            show_error(f"EM Mask: {type(exc).__name__}: {exc}")
            return
        if prepared is None:
            return
        job, args = prepared
        self._token = CancelToken()
        worker = create_worker(job, *args, self._token, _ignore_errors=True)
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._run.enabled = False
        self._cancel.enabled = True
        self._progress.value = 0
        self._status.value = "starting..."
        worker.start()

    def _on_cancel(self, *_args) -> None:
        if self._token is not None:
            self._token.cancel()
            self._status.value = "cancelling..."

    def _on_yielded(self, item: dict) -> None:
        if "fraction" in item:
            self._progress.value = int(round(_PROGRESS_MAX * min(max(item["fraction"], 0.0), 1.0)))
            self._status.value = str(item.get("stage", ""))
        else:
            try:
                self._on_item(item)
            except Exception as exc:  # noqa: BLE001 - a GUI handler must not raise into Qt
                show_error(f"EM Mask: {type(exc).__name__}: {exc}")

    def _on_returned(self, result) -> None:
        self._progress.value = _PROGRESS_MAX
        try:
            self._on_result(result)
        except Exception as exc:  # noqa: BLE001
            show_error(f"EM Mask: {type(exc).__name__}: {exc}")

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            show_info("EM Mask: cancelled.")
            self._status.value = "cancelled"
        elif isinstance(exc, (EmMaskError, LayerInputError, ValueError)):
            show_error(f"EM Mask: {exc}")
            self._status.value = "failed"
        else:
            show_error(f"EM Mask: {type(exc).__name__}: {exc}")
            self._status.value = "failed"

    def _on_finished(self) -> None:
        self._worker = None
        self._token = None
        self._run.enabled = True
        self._cancel.enabled = False
        if self._status.value in ("starting...", "cancelling...") or not self._status.value:
            self._status.value = "done"


class _ImageMaskPanel(_RunPanel):
    """Shared parts of the classical and U-Net panels: the image picker and the mask layer output."""

    #: Post-processing preset selected at start (the U-Net panel starts at "none": "clean" fills the tracheae it found).
    default_preset = DEFAULT_PRESET

    def __init__(self, viewer, params: list, run_text: str) -> None:
        self._image = create_widget(annotation=napari.layers.Image, label="image")
        self._params_file = FileEdit(mode="r", filter="*.json", label="parameters file",
                                     tooltip="A JSON parameter preset (as for `emmask mask --preset`) to fill in below")
        self._preset, self._spec = _preset_widgets(default=self.default_preset)
        super().__init__(viewer, [self._image, self._params_file, *params, self._preset, self._spec], run_text)
        self._params_file.changed.connect(self._load_params_file)

    def _parameter_widgets(self) -> dict:
        """Parameter name (snake_case, as in the preset file) -> widget."""
        return {}

    def _load_params_file(self, *_args) -> None:
        path = str(self._params_file.value)
        if path in ("", "."):
            return
        try:
            values = load_parameter_preset(path)
        except ValueError as exc:
            show_error(f"EM Mask: {exc}")
            return
        widgets = self._parameter_widgets()
        for key, value in values.items():
            if key == "postprocess":
                if value in POSTPROCESS_PRESETS:
                    self._preset.value = value
                else:
                    self._spec.value = str(value)
            elif key in widgets:
                try:
                    widgets[key](value)
                except (TypeError, ValueError) as exc:
                    show_error(f"EM Mask: parameter {key}={value!r}: {exc}")
        show_info(f"EM Mask: loaded parameters from {path}")

    def _image_input(self):
        layer = self._image.value
        if layer is None:
            raise LayerInputError("Choose an Image layer first (open one, or File > Open Sample > EM Mask).")
        rgb = bool(getattr(layer, "rgb", False))
        multiscale = bool(getattr(layer, "multiscale", False))
        for note in check_layer_input(layer.data, rgb=rgb, multiscale=multiscale, name=layer.name):
            show_info(f"EM Mask: {note}")
        voxel_size = voxel_size_from_scale(layer.scale, _spatial_ndim(layer))
        return layer, rgb, multiscale, voxel_size

    def _on_result(self, result) -> None:
        mask, extra, name, scale, translate = result
        _put_mask(self._viewer, name, mask, scale, translate)
        if extra is not None:
            conf_name = f"{name} confidence"
            existing = _find_layer(self._viewer, conf_name, napari.layers.Image)
            if existing is not None and tuple(existing.data.shape) == tuple(extra.shape):
                existing.data = extra
            else:
                layer = self._viewer.add_image(extra, name=conf_name, scale=scale, translate=translate,
                                               colormap="magma", contrast_limits=(0.0, 1.0), visible=False)
                layer.metadata[_ROLE] = "confidence"
        self._status.value = f"done: {mask_layer_name(name)} ({int(mask.sum()):,} tissue voxels)"


class ClassicalMaskPanel(_ImageMaskPanel):
    """Classical (texture + edge) mask with the core's parameters."""

    def __init__(self, viewer) -> None:
        d = CLASSICAL_DEFAULTS
        self._block_size = SpinBox(value=d["block_size"], min=1, max=1024, label="block size",
                                   tooltip="Edge (voxels) of the block over which tissue votes are pooled; "
                                           "larger = smoother boundary, 1 = no pooling")
        self._texture_sigma = FloatSpinBox(value=d["texture_sigma"], min=0.1, max=100.0, step=0.25,
                                           label="texture sigma", tooltip="Gaussian sigma (voxels) of the texture measure")
        self._edge_sigma = FloatSpinBox(value=d["edge_sigma"], min=0.1, max=100.0, step=0.25, label="edge sigma",
                                        tooltip="Gaussian sigma (voxels) of the edge measure")
        self._dog_low = FloatSpinBox(value=d["dog_sigma_low"], min=0.1, max=100.0, step=0.25, label="DoG sigma low")
        self._dog_high = FloatSpinBox(value=d["dog_sigma_high"], min=0.1, max=200.0, step=0.5, label="DoG sigma high")
        self._min_region = SpinBox(value=d["minimum_region_size"], min=0, max=2**31 - 1, step=100,
                                   label="min region (voxels)", tooltip="Tissue regions smaller than this are dropped")
        self._isotropy = FloatSpinBox(value=d["isotropy"], min=0.0, max=0.95, step=0.01, label="isotropy",
                                      tooltip="Texture must vary about as much in every orientation (smallest/largest "
                                              "eigenvalue) to count fully; removes the halo of sharp edges; 0 = off")
        self._dense_threshold = FloatSpinBox(value=d["dense_threshold"], min=0.0, max=100.0, step=0.25,
                                             label="dense threshold",
                                             tooltip="Robust SDs beyond the tissue's intensity, away from resin, above "
                                                     "which a voxel is dense non-brain (tracheal cuticle); 0 = off")
        self._dense_gap = SpinBox(value=d["dense_gap"], min=0, max=4096, label="dense gap (voxels)",
                                  tooltip="Voxels enclosed by dense structure within this gap along two axes are "
                                          "non-brain (trachea lumen); 0 = off")
        self._auto = CheckBox(value=True, text="automatic threshold (Otsu)")
        self._threshold = FloatSpinBox(value=MANUAL_THRESHOLD_START, min=0.01, max=1000.0, step=0.1,
                                       label="threshold", enabled=False,
                                       tooltip="Texture-to-noise ratio above which a voxel votes tissue (noise ~ 1)")
        self._auto.changed.connect(lambda v: setattr(self._threshold, "enabled", not v))
        self._confidence = CheckBox(value=False, text="also add the confidence map")
        params = [self._block_size, self._texture_sigma, self._edge_sigma, self._dog_low, self._dog_high,
                  self._min_region, self._isotropy, self._dense_threshold, self._dense_gap, self._auto, self._threshold, self._confidence]
        super().__init__(viewer, params, "Mask")

    def _parameter_widgets(self) -> dict:
        def set_threshold(value):
            if value is None or str(value).lower() == "auto":
                self._auto.value = True
            else:
                self._auto.value = False
                self._threshold.value = float(value)

        def setter(widget, kind):
            return lambda value: setattr(widget, "value", kind(value))

        return {
            "block_size": setter(self._block_size, int),
            "texture_sigma": setter(self._texture_sigma, float),
            "edge_sigma": setter(self._edge_sigma, float),
            "minimum_region_size": setter(self._min_region, int),
            "dog_sigma_low": setter(self._dog_low, float),
            "dog_sigma_high": setter(self._dog_high, float),
            "isotropy": setter(self._isotropy, float),
            "dense_threshold": setter(self._dense_threshold, float),
            "dense_gap": setter(self._dense_gap, int),
            "threshold": set_threshold,
        }

    def _prepare(self):
        layer, rgb, multiscale, voxel_size = self._image_input()
        params = dict(
            block_size=self._block_size.value, texture_sigma=self._texture_sigma.value,
            edge_sigma=self._edge_sigma.value, minimum_region_size=self._min_region.value,
            dog_sigma_low=self._dog_low.value, dog_sigma_high=self._dog_high.value,
            isotropy=self._isotropy.value, dense_threshold=self._dense_threshold.value,
            dense_gap=self._dense_gap.value,
            threshold="auto" if self._auto.value else self._threshold.value, voxel_size=voxel_size,
        )
        meta = (layer.name, tuple(layer.scale), tuple(layer.translate))
        return _classical_job, (layer.data, rgb, multiscale, params, self._spec.value, self._confidence.value, meta)


def _classical_job(data, rgb, multiscale, params, spec, want_confidence, meta, token):
    name, scale, translate = meta
    yield {"stage": "reading image", "fraction": 0.0}
    image = materialise(data, rgb=rgb, multiscale=multiscale)
    post = spec.strip().lower() not in ("", "none")
    mask, confidence = yield from _staged(_api.classical_mask, 0.0, 0.8 if post else 1.0, image, cancel=token,
                                          **params)
    if post:
        yield from _staged(_api.postprocess, 0.8, 0.2, mask, spec, out=mask,
                           voxel_size=params["voxel_size"], cancel=token)
    return mask, (confidence if want_confidence else None), name, scale, translate


class UNetMaskPanel(_ImageMaskPanel):
    """U-Net mask through the EM Mask worker process (parameters as ``emmask mask --method unet``)."""

    default_preset = "none"

    def __init__(self, viewer) -> None:
        d = UNET_DEFAULTS
        self._model = FileEdit(mode="r", label="model",
                               tooltip="U-Net model file (.safetensors/.pt); empty = the shipped model "
                                       "(models/em-mask-unet-v1, or $EM_MASK_MODEL)")
        self._roi = SpinBox(value=d["roi"], min=16, max=1024, step=16, label="window (voxels)",
                            tooltip="Sliding-window edge in voxels (rounded up to a multiple of 16)")
        self._overlap = FloatSpinBox(value=d["overlap"], min=0.0, max=0.95, step=0.05, label="overlap",
                                     tooltip="Window overlap fraction (0..<1)")
        self._scale = ComboBox(choices=SCALE_CHOICES, value=d["scale"], label="working scale",
                               tooltip="Run on the volume downsampled by this integer factor; auto: from the layer's "
                                       "scale (voxel size), towards the 16 nm the model was trained at (8 nm -> 2)")
        self._device = ComboBox(choices=["auto", "cpu", "cuda"], value=d["device"], label="device")
        self._batch = SpinBox(value=d["batch"], min=1, max=64, label="batch", tooltip="Windows per model call")
        self._skip = CheckBox(value=d["skip_tiles"], text="skip pure-resin windows")
        self._gate = CheckBox(value=d["envelope_margin"] is not None,
                              text="decide only inside the tissue envelope",
                              tooltip="Outside the classical mask grown by the margin (holes filled) the answer is "
                                      "non-brain: removes false positives far out in resin")
        self._margin = FloatSpinBox(value=d["envelope_margin"] or 4.0, min=0.0, max=256.0, step=1.0,
                                    label="envelope margin (voxels)")
        self._tta = ComboBox(choices=[1, 4, 8], value=d["tta"], label="test-time flips",
                             tooltip="Also predict each window mirrored (4: along z, y, x; 8: all combinations) and "
                                     "average: smoother boundaries (default 4; 1 runs about 3× faster)")
        self._probability = CheckBox(value=False, text="also add the probability map")
        super().__init__(viewer, [self._model, self._roi, self._overlap, self._scale, self._device, self._batch,
                                  self._tta, self._skip, self._gate, self._margin, self._probability], "Mask (U-Net)")

    def _parameter_widgets(self) -> dict:
        def setter(widget, kind):
            return lambda value: setattr(widget, "value", kind(value))

        def integral(value):
            if float(value) != int(float(value)):
                raise ValueError("must be a whole number")
            return int(float(value))

        def scale_choice(value):
            value = "auto" if value == "auto" else integral(value)
            if value not in SCALE_CHOICES:
                raise ValueError(f"must be one of {SCALE_CHOICES}")
            return value

        return {"roi": setter(self._roi, int), "overlap": setter(self._overlap, float),
                "scale": setter(self._scale, scale_choice), "device": setter(self._device, str),
                "batch": setter(self._batch, int), "skip_tiles": setter(self._skip, bool),
                "envelope_margin": self._set_envelope, "model": setter(self._model, str),
                "tta": setter(self._tta, integral)}

    def _set_envelope(self, value) -> None:
        self._gate.value = value is not None
        if value is not None:
            margin = float(value)
            if not margin >= 0:
                raise ValueError("must be a number of voxels >= 0, or null")
            self._margin.value = margin

    def _prepare(self):
        layer, rgb, multiscale, voxel_size = self._image_input()
        model = str(self._model.value) if str(self._model.value) not in ("", ".") else None
        params = dict(roi=self._roi.value, overlap=self._overlap.value, scale=self._scale.value,
                      device=self._device.value, batch=self._batch.value, skip_tiles=self._skip.value,
                      envelope_margin=self._margin.value if self._gate.value else None, tta=self._tta.value,
                      voxel_size=voxel_size)
        meta = (layer.name, tuple(layer.scale), tuple(layer.translate))
        return _unet_job, (layer.data, rgb, multiscale, model, params, self._spec.value, self._probability.value,
                           meta)


def _unet_job(data, rgb, multiscale, model, params, spec, want_probability, meta, token):
    name, scale, translate = meta
    yield {"stage": "reading image", "fraction": 0.0}
    image = materialise(data, rgb=rgb, multiscale=multiscale)
    post = spec.strip().lower() not in ("", "none")
    mask, probability = yield from _staged(_api.unet_mask, 0.0, 0.8 if post else 1.0, image, model, cancel=token,
                                           **params)
    if post:
        yield from _staged(_api.postprocess, 0.8, 0.2, mask, spec, out=mask,
                           voxel_size=params["voxel_size"], cancel=token)
    return mask, (probability if want_probability else None), name, scale, translate


class PostProcessPanel(_RunPanel):
    """Post-process a Labels layer in place, as one undoable edit (Ctrl-Z restores it)."""

    def __init__(self, viewer) -> None:
        self._labels = create_widget(annotation=napari.layers.Labels, label="mask")
        self._preset, self._spec = _preset_widgets("preset")
        super().__init__(viewer, [self._labels, self._preset, self._spec], "Apply (undo: Ctrl-Z)")

    def _prepare(self):
        layer = self._labels.value
        if layer is None:
            raise LayerInputError("Choose a Labels layer (a mask) first.")
        if not isinstance(layer.data, np.ndarray) or getattr(layer, "multiscale", False):
            raise LayerInputError(
                f"'{layer.name}' is not an in-memory array ({type(layer.data).__name__}); in-place, undoable "
                "post-processing needs one. Copy it first: viewer.add_labels(np.asarray(layer.data))."
            )
        spec = self._spec.value.strip()
        if not spec:
            raise LayerInputError("Choose a preset or type post-processing steps.")
        voxel_size = voxel_size_from_scale(layer.scale, layer.data.ndim)
        self._target = layer
        return _postprocess_job, (layer.data, spec, voxel_size)

    def _on_result(self, result) -> None:
        snapshot, new = result
        layer = self._target
        if layer not in self._viewer.layers:
            show_warning("EM Mask: the mask layer was removed while post-processing; nothing written.")
            return
        if tuple(layer.data.shape) != tuple(new.shape):
            show_warning("EM Mask: the mask layer changed shape while post-processing; nothing written.")
            return
        changed = apply_undoable(layer, snapshot, new)
        self._status.value = f"done: {changed:,} voxels changed (Ctrl-Z to undo)"


def _postprocess_job(data, spec, voxel_size, token):
    yield {"stage": "copying mask", "fraction": 0.0}
    snapshot = np.array(data, copy=True)
    new = yield from _staged(_api.postprocess, 0.0, 1.0, snapshot, spec, voxel_size=voxel_size, cancel=token)
    return snapshot, new


class BatchMaskPanel(_RunPanel):
    """Mask every open Image layer; each gets (or updates) its ``<name> mask`` Labels layer."""

    def __init__(self, viewer) -> None:
        self._method = ComboBox(choices=["classical", "U-Net"], value="classical", label="method")
        self._preset, self._spec = _preset_widgets()
        self._summary = Label(value="")
        super().__init__(viewer, [self._method, self._preset, self._spec, self._summary], "Mask all open images")

    def _prepare(self):
        tasks = []
        for layer in list(self._viewer.layers):
            if not isinstance(layer, napari.layers.Image) or layer.metadata.get(_ROLE):
                continue
            rgb = bool(getattr(layer, "rgb", False))
            multiscale = bool(getattr(layer, "multiscale", False))
            try:
                notes = check_layer_input(layer.data, rgb=rgb, multiscale=multiscale, name=layer.name)
            except LayerInputError as exc:
                show_warning(f"EM Mask: skipped: {exc}")
                continue
            for note in notes:
                show_info(f"EM Mask: {note}")
            voxel_size = voxel_size_from_scale(layer.scale, _spatial_ndim(layer))
            tasks.append((layer.data, rgb, multiscale, voxel_size, layer.name, tuple(layer.scale),
                          tuple(layer.translate)))
        if not tasks:
            raise LayerInputError("No Image layer to mask: open images first.")
        self._done = 0
        self._summary.value = f"{len(tasks)} images"
        return _batch_job, (tasks, self._method.value, self._spec.value)

    def _on_item(self, item: dict) -> None:
        _put_mask(self._viewer, item["name"], item["mask"], item["scale"], item["translate"])
        self._done += 1
        self._summary.value = f"{self._done} masked; last: {item['name']}"

    def _on_result(self, result) -> None:
        self._status.value = f"done: {result} images masked"


def _batch_job(tasks, method, spec, token):
    n = len(tasks)
    post = spec.strip().lower() not in ("", "none")
    for i, (data, rgb, multiscale, voxel_size, name, scale, translate) in enumerate(tasks):
        base, span = i / n, 1 / n
        yield {"stage": f"{name}: reading", "fraction": base}
        image = materialise(data, rgb=rgb, multiscale=multiscale)
        if method == "classical":
            mask, _ = yield from _staged(_api.classical_mask, base, span * (0.8 if post else 1.0), image,
                                         voxel_size=voxel_size, cancel=token)
        else:
            mask, _ = yield from _staged(_api.unet_mask, base, span * (0.8 if post else 1.0), image,
                                         voxel_size=voxel_size, cancel=token)
        if post:
            yield from _staged(_api.postprocess, base + 0.8 * span, 0.2 * span, mask, spec, out=mask,
                               voxel_size=voxel_size, cancel=token)
        yield {"name": name, "mask": mask, "scale": scale, "translate": translate}
    return n
