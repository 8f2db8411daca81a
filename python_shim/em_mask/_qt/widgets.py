"""magicgui panels behind the dock widgets. Imported only when napari builds one (napari and magicgui present).

Threading: every long computation runs in napari's ``create_worker`` as a generator that yields progress dicts;
layers are only created or changed in the worker's ``yielded``/``returned`` handlers, which Qt runs on the GUI
thread. Errors never escape: each job runs inside :func:`_guarded`, which hands any exception back as a
:class:`_Failed` *return value*. That matters because superqt's worker treats a ``RuntimeError`` (and
``EmMaskError``, so every core error and cancel, is one) as "the thread was aborted": it emits neither ``errored``
nor ``finished``, and a panel waiting for them would stay busy for good. Failures become a napari notification plus
the panel's status line, and the panel is idle again; a failed run never removes or replaces a layer.

Edits to an existing Labels layer (a re-run over a mask, post-processing, proofreading) go through the layer's
history (``Labels.data_setitem``), one undo step each, so one Ctrl-Z restores what the user had.

Attribute names: magicgui's ``Container.__init__`` sets private attributes of its own (``_labels``, ``_layout``,
``_list``, ``_scrollable``, ``_widget``...), so the panels' widgets must not use those names (a picker stored in
``self._labels`` was overwritten with ``True``); :data:`_MAGICGUI_RESERVED` lists them and a test checks.
"""

from __future__ import annotations

import os
from functools import partial
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
    Select,
    SpinBox,
    create_widget,
)
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info, show_warning

from .. import _api
from .._dotnet import core_problem
from .._errors import CancelledError, EmMaskError
from .._jobs import CancelToken, staged_progress as _staged
from .._layers import (
    LayerInputError,
    apply_undoable,
    blockwise_source,
    check_layer_input,
    mask_layer_kwargs,
    mask_layer_name,
    materialise,
    voxel_size_from_scale,
)
from .._params import (
    DEFAULT_PRESET,
    MANUAL_THRESHOLD_START,
    POSTPROCESS_PRESETS,
    classical_schema,
    unet_schema,
    load_parameter_preset,
)
from .._proofread import SCOPES, FlipRefused, box_slices, flip_at, region_edit, review_regions

__all__ = ["ClassicalMaskPanel", "UNetMaskPanel", "PostProcessPanel", "BatchMaskPanel", "ProofreadPanel"]

_CUSTOM = "custom"
_PROGRESS_MAX = 1000
# Layer metadata key marking layers this plugin made, so batch runs do not mask its own outputs.
_ROLE = "em_mask_role"

#: Private attributes that magicgui's Container/Widget set in their ``__init__`` (magicgui 0.7-0.10); a panel
#: attribute of the same name is silently overwritten.
_MAGICGUI_RESERVED = frozenset({
    "_annotation", "_bound_value", "_call_bound", "_explicitly_hidden", "_initialized", "_label", "_labels",
    "_layout", "_list", "_nullable", "_param_kind", "_scrollable", "_visible", "_widget", "_parent",
})

#: Where the mask panels mask: the whole image, or the section on screen alone (written in place, one undo step).
MASK_WHERE = ["whole image", "current section"]

#: Layer metadata key set while a mask panel writes a new mask into an existing mask layer: True for a whole new mask,
#: the section's index when one section is masked again alone.
REMASKING = "em_mask_remasking"
#: Label colours: the mask in green, as in the demo montage; the sample's ground truth in magenta.
MASK_COLOUR = "lime"
TRUTH_COLOUR = "magenta"

# The panels' minimum width, so that napari's dock titles and tabs are not cut to "U-N", "Pos", "Bat".
_PANEL_MIN_WIDTH = 330


def _spatial_ndim(layer) -> int:
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    return len(data.shape) - (1 if getattr(layer, "rgb", False) else 0)


def _find_layer(viewer, name: str, kind: type):
    for layer in viewer.layers:
        if layer.name == name and isinstance(layer, kind):
            return layer
    return None


def label_colormap(colour: str):
    """A napari label colormap drawing label 1 in ``colour`` (other non-zero labels too), or None without napari's
    DirectLabelColormap (napari < 0.4.19)."""
    try:
        from napari.utils.colormaps import DirectLabelColormap
    except ImportError:
        return None
    return DirectLabelColormap(color_dict={None: colour, 0: "transparent", 1: colour})


def _colour_labels(layer, colour: str) -> None:
    colormap = label_colormap(colour)
    if colormap is not None:
        try:
            layer.colormap = colormap
        except Exception:  # noqa: BLE001 - colour is cosmetic; an older napari keeps its default colours
            pass


def _select(viewer, layer) -> None:
    """Make ``layer`` the active one (keyboard shortcuts such as Ctrl-Z act on it)."""
    try:
        viewer.layers.selection.active = layer
    except Exception:  # noqa: BLE001 - selection is a convenience
        pass


def _put_mask(viewer, image_name: str, mask: np.ndarray, scale, translate,
              name: Optional[str] = None) -> tuple[Any, str]:
    """Write ``image_name``'s mask: into its existing ``<image> mask`` layer (or the layer ``name``) as ONE undoable
    edit (the edits the user painted there come back with one Ctrl-Z), or as a new layer. Returns the layer and a
    status sentence that says which happened."""
    kwargs = mask_layer_kwargs(image_name, scale, translate)
    if name is not None:
        kwargs["name"] = name
    existing = _find_layer(viewer, kwargs["name"], napari.layers.Labels)
    if (existing is not None and isinstance(existing.data, np.ndarray)
            and tuple(existing.data.shape) == tuple(mask.shape)):
        existing.metadata[REMASKING] = True  # a new mask, not a proofreader's edit (the Fine-tune panel's "edited")
        try:
            changed = apply_undoable(existing, existing.data, mask)
        finally:
            existing.metadata.pop(REMASKING, None)
        existing.scale = kwargs["scale"]
        existing.translate = kwargs["translate"]
        _select(viewer, existing)
        return existing, (f"updated '{existing.name}' in place: {changed:,} voxels changed "
                          "(Ctrl-Z on it restores the previous mask)")
    layer = viewer.add_labels(mask, **kwargs)
    layer.metadata[_ROLE] = "mask"
    _colour_labels(layer, MASK_COLOUR)
    _select(viewer, layer)
    if existing is not None:
        return layer, (f"added a new layer '{layer.name}' (the existing '{existing.name}' has another shape or is "
                       "not in memory, so it was left as it was)")
    return layer, f"added '{layer.name}'"


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


class _PreferredLayer:
    """Keeps a layer picker on the most useful layer until the user picks one: napari fills the picker with the
    first layer of the type, which after opening the sample is the ground truth, not the mask to edit.

    A pick counts as the user's only when Qt says so (``QComboBox.activated``); the check runs after every change
    of the picker (deferred to the event loop, so that ``activated``, which Qt emits after the change, is seen) and
    whenever napari's layer list changes (``reset_choices``).
    """

    def __init__(self, picker, prefer) -> None:
        self.picker = picker
        self._prefer = prefer
        self._touched = False
        self._setting = False
        native = getattr(picker, "native", None)
        self._qt = native is not None and hasattr(native, "activated")
        if self._qt:
            native.activated.connect(self._touch)
        picker.changed.connect(self._on_changed)

    def _touch(self, *_args) -> None:
        self._touched = True

    def _on_changed(self, *_args) -> None:
        if self._setting:
            return
        if self._qt:
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, self.refresh)
        else:
            self.refresh()

    def refresh(self, reset: bool = False) -> None:
        try:
            if self._touched and self.picker.value is not None:
                return
            if reset:
                self.picker.reset_choices()
            choices = [c for c in (self.picker.choices or ()) if c is not None]
        except RuntimeError:  # the Qt widget is gone (panel closed before a deferred refresh ran)
            return
        best = self._prefer(choices)
        if best is not None and best is not self.picker.value:
            self._setting = True
            try:
                self.picker.value = best
            finally:
                self._setting = False


def _role(layer) -> str:
    return str(getattr(layer, "metadata", {}).get(_ROLE, ""))


def _prefer_mask(layers):
    """The newest layer this plugin wrote as a mask, else the newest named '... mask', else None."""
    for test in (lambda l: _role(l) == "mask", lambda l: str(l.name).endswith(" mask")):
        found = [l for l in layers if test(l)]
        if found:
            return found[-1]
    return None


class _Failed:
    """A job's exception, carried to the GUI thread as the job's *return value* (see :func:`_guarded`)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _guarded(job, *args):
    """Run the generator ``job(*args)`` and return its value, or :class:`_Failed` with its exception.

    superqt swallows a ``RuntimeError`` raised in a worker (no ``errored``, no ``finished`` signal), and
    ``EmMaskError`` subclasses ``RuntimeError``, so no exception may leave the worker's generator.
    """
    try:
        return (yield from job(*args))
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the GUI thread
        return _Failed(exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (EmMaskError, LayerInputError, FlipRefused, ValueError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _fit_scroll_area(scroll) -> None:
    """Keep a panel's scroll area as wide as its content plus the scroll bar, at least :data:`_PANEL_MIN_WIDTH`.

    magicgui sizes it once, when a widget is inserted; the content widens later (layer names fill the pickers), and
    the vertical bar then covered the right edge of the panel. A filter on the content's layout requests refits it.
    """
    if scroll is None or not hasattr(scroll, "widget") or scroll.widget() is None:
        return
    from qtpy.QtCore import QEvent, QObject, Qt

    def fit() -> None:
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(_PANEL_MIN_WIDTH, scroll.widget().minimumSizeHint().width() + bar + 4))

    class _Refit(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.LayoutRequest:
                fit()
            return False

    layout = scroll.widget().layout()
    if layout is not None:
        layout.addStretch(1)  # rows keep their height and sit at the top when the dock is taller than the panel
    scroll.setFrameShape(0)  # QFrame.NoFrame
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
    refit = _Refit(scroll)
    scroll.widget().installEventFilter(refit)
    scroll._em_mask_refit = refit  # keep the filter alive with the scroll area
    fit()


def _wrap(label: Label) -> Label:
    native = getattr(label, "native", None)
    if native is not None and hasattr(native, "setWordWrap"):
        native.setWordWrap(True)
    return label


class _RunPanel(Container):
    """A panel with Run / Cancel buttons, a progress bar and a status line; runs one worker at a time.

    Cancel returns the panel to idle at once: the run's token is cancelled (the core stops within a fraction of a
    second, the U-Net worker after its current batch) and whatever the run still delivers is ignored.
    """

    def __init__(self, viewer, widgets: list, run_text: str, needs_worker: bool = False) -> None:
        self._viewer = viewer
        self._worker = None
        self._token: Optional[CancelToken] = None
        self._run_id = 0
        self._active: Optional[int] = None
        self._run = PushButton(text=run_text)
        self._cancel = PushButton(text="Cancel", enabled=False)
        self._progress = ProgressBar(value=0, min=0, max=_PROGRESS_MAX, label="progress")
        self._status = _wrap(Label(value="", label="status"))
        super().__init__(widgets=[*widgets, self._run, self._cancel, self._progress, self._status], scrollable=True)
        _fit_scroll_area(self.native)
        if self.native is not None:
            # Once napari has docked the panel (right after building it), its pickers can see the viewer's layers.
            from qtpy.QtCore import QTimer

            QTimer.singleShot(0, self._refresh_preferred)
        self._run.changed.connect(self._on_run)
        self._cancel.changed.connect(self._on_cancel)
        problem = core_problem(worker=needs_worker)
        if problem is not None:
            # A fresh clone without the .NET build: say once, here, which command fixes it.
            self._status.value = problem
            self._run.enabled = False
            show_error(f"EM Mask: {problem}")

    # subclasses: return a generator function and its arguments, or None (after showing an error)
    def _prepare(self) -> Optional[tuple]:
        raise NotImplementedError

    def _on_result(self, result) -> Optional[str]:
        """Apply a finished run's result (GUI thread); return the status line."""
        raise NotImplementedError

    def _on_item(self, item: dict) -> None:
        """A non-progress item yielded by the job (e.g. one finished layer of a batch)."""

    def _on_cancelled(self) -> str:
        """The status line after Cancel."""
        return "cancelled; nothing was changed"

    @property
    def native(self):
        """The panel's scroll area. napari (0.4.19) docks ``widget.native``, which for a scrollable magicgui Container
        is the widget inside the scroll area, so a tall panel would not scroll and the window would grow to fit all
        docked panels; the root widget is the scroll area itself."""
        return self.root_native_widget

    @property
    def busy(self) -> bool:
        """True while a run is in progress (Cancel enabled)."""
        return self._active is not None

    def reset_choices(self, *args) -> None:
        super().reset_choices(*args)
        for preferred in getattr(self, "_preferred", ()):
            preferred.refresh()

    def _refresh_preferred(self) -> None:
        for preferred in getattr(self, "_preferred", ()):
            preferred.refresh(reset=True)

    def _on_run(self, *_args) -> None:
        if self._active is not None:
            return
        try:
            prepared = self._prepare()
        except Exception as exc:  # noqa: BLE001 - never raise into Qt's event loop
            self._fail(exc)
            return
        if prepared is None:
            return
        job, args = prepared
        self._token = CancelToken()
        self._run_id += 1
        run_id = self._run_id
        worker = create_worker(_guarded, job, *args, self._token, _ignore_errors=True)
        worker.yielded.connect(partial(self._on_yielded, run_id))
        worker.returned.connect(partial(self._on_returned, run_id))
        worker.errored.connect(partial(self._on_errored, run_id))
        worker.finished.connect(partial(self._on_finished, run_id))
        self._worker = worker
        self._active = run_id
        self._run.enabled = False
        self._cancel.enabled = True
        self._progress.value = 0
        self._status.value = "starting..."
        worker.start()

    def _idle(self, status: Optional[str] = None) -> None:
        self._active = None
        self._worker = None
        self._token = None
        self._run.enabled = True
        self._cancel.enabled = False
        if status is not None:
            self._status.value = status

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            self._idle(self._on_cancelled())
            return
        message = _describe(exc)
        show_error(f"EM Mask: {message}")
        self._idle(f"failed: {message}")

    def _on_cancel(self, *_args) -> None:
        if self._active is None:
            return
        if self._token is not None:
            self._token.cancel()
        status = self._on_cancelled()
        self._idle(status)
        show_info(f"EM Mask: {status}.")

    def _on_yielded(self, run_id: int, item: dict) -> None:
        if run_id != self._active:
            return
        if "fraction" in item:
            self._progress.value = int(round(_PROGRESS_MAX * min(max(item["fraction"], 0.0), 1.0)))
            self._status.value = str(item.get("stage", ""))
            return
        try:
            self._on_item(item)
        except Exception as exc:  # noqa: BLE001 - a GUI handler must not raise into Qt
            show_error(f"EM Mask: {_describe(exc)}")

    def _on_returned(self, run_id: int, result) -> None:
        if run_id != self._active:
            return
        if isinstance(result, _Failed):
            self._fail(result.exc)
            return
        self._progress.value = _PROGRESS_MAX
        try:
            status = self._on_result(result)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        self._idle(status or "done")

    def _on_errored(self, run_id: int, exc: BaseException) -> None:
        # Not expected (_guarded returns every exception); kept so that nothing can leave the panel busy.
        if run_id == self._active:
            self._fail(exc)

    def _on_finished(self, run_id: int) -> None:
        if run_id == self._active:
            self._idle("stopped")


class _ImageMaskPanel(_RunPanel):
    """Shared parts of the classical and U-Net panels: the image picker and the mask layer output."""

    #: Post-processing preset selected at start (the U-Net panel starts at "none", as the CLI does for the U-Net).
    default_preset = DEFAULT_PRESET
    #: Name of the optional per-voxel map layer: "<image> <extra_name>".
    extra_name = "confidence"
    needs_worker = False
    blockwise = False  # lazy 3D layers are masked block by block (classical only)

    def __init__(self, viewer, params: list, run_text: str) -> None:
        self._image = create_widget(annotation=napari.layers.Image, label="image")
        self._preferred = [_PreferredLayer(self._image, _prefer_source_image)]
        self._params_file = FileEdit(mode="r", filter="*.json", label="parameters file",
                                     tooltip="A JSON parameter preset (as for `emmask mask --preset`) to fill in below")
        self._preset, self._spec = _preset_widgets(default=self.default_preset)
        self._where = ComboBox(choices=MASK_WHERE, value=MASK_WHERE[0], label="where",
                               tooltip="The whole image, or only the section on screen, masked as an image of its "
                                       "own: it replaces that section of '<image> mask' as one undoable edit "
                                       "(without that layer it goes to a one-section layer '<image> mask z=N'). "
                                       "Quick for trying parameters on a large stack or redoing one section; "
                                       "within the whole stack a section can come out otherwise (masked in 3D, or "
                                       "with the stack's level and threshold)")
        super().__init__(viewer, [self._image, self._where, self._params_file, *params, self._preset, self._spec],
                         run_text, needs_worker=self.needs_worker)
        self._params_file.changed.connect(self._load_params_file)

    def _parameter_widgets(self) -> dict:
        """Parameter name (snake_case, as in the preset file) -> function that sets its widget."""
        return {}

    def set_parameters(self, **values) -> None:
        """Sets parameter widgets by key, as a parameter file does (``panel.set_parameters(tta=1, roi=96)``)."""
        setters = self._parameter_widgets()
        unknown = sorted(set(values) - set(setters))
        if unknown:
            raise KeyError(f"unknown parameter(s) {unknown}; known: {sorted(setters)}")
        for key, value in values.items():
            setters[key](value)

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
        section = self._section(layer)
        data, multiscale = _one_section(layer.data, bool(getattr(layer, "multiscale", False)), section)
        for note in check_layer_input(data, rgb=rgb, multiscale=multiscale, name=layer.name,
                                      blockwise=self.blockwise and section is None):
            show_info(f"EM Mask: {note}")
        voxel_size = voxel_size_from_scale(layer.scale, _spatial_ndim(layer))
        return layer, data, rgb, multiscale, voxel_size, section

    def _empty_hint(self, info: dict) -> str:
        """Why a mask may have come out without tissue, and what to try."""
        return "check that the image holds tissue"

    def _section(self, layer) -> Optional[tuple]:
        """(z, depth) of the section to mask alone ('where': current section), or None for the whole image."""
        if self._where.value == MASK_WHERE[0]:
            return None
        ndim = _spatial_ndim(layer)
        if ndim != 3:
            raise LayerInputError(f"'{MASK_WHERE[1]}' needs a 3D image (z, y, x); '{layer.name}' has {ndim} spatial "
                                  "dimensions. Choose 'whole image'.")
        depth = int((layer.data[0] if getattr(layer, "multiscale", False) else layer.data).shape[0])
        z = int(round(float(_data_point(self._viewer, layer, self._viewer.dims.point)[-3])))
        if not 0 <= z < depth:
            raise LayerInputError(f"The current section z={z} lies outside '{layer.name}' (0..{depth - 1}).")
        return z, depth

    def _on_result(self, result) -> str:
        mask, extra, name, scale, translate, info, section = result
        for note in info.get("notes", []):  # what the CLI prints as info lines: level, threshold, unsplit sections...
            show_info(f"EM Mask: {note}")
        if section is not None:
            return self._put_section(mask, extra, name, scale, translate, section)
        if extra is not None:
            extra_name = f"{name} {self.extra_name}"
            existing = _find_layer(self._viewer, extra_name, napari.layers.Image)
            if existing is not None and tuple(existing.data.shape) == tuple(extra.shape):
                existing.data = extra  # a derived map, not an edit: replacing it needs no undo
            else:
                layer = self._viewer.add_image(extra, name=extra_name, scale=scale, translate=translate,
                                               colormap="magma", contrast_limits=(0.0, 1.0), visible=False)
                layer.metadata[_ROLE] = self.extra_name
        _layer, how = _put_mask(self._viewer, name, mask, scale, translate)  # last, so the mask is the active layer
        tissue = int(mask.sum().compute()) if hasattr(mask, "compute") else int(np.count_nonzero(mask))
        if tissue == 0:
            hint = f"The mask of '{name}' has 0 tissue voxels: {self._empty_hint(info)}."
            show_warning(f"EM Mask: {hint}")
            return f"done: {how}. {hint}"
        return f"done: {how}; {tissue:,} tissue voxels"

    def _put_section(self, mask, extra, name, scale, translate, section) -> str:
        """Write one section's mask (1, y, x) into section z of the image's in-memory mask layer as one undoable edit,
        or, without such a layer, into a one-section layer placed on that section. A map (confidence, probability)
        goes into section z of an existing map layer of the image's shape; none is added for one section."""
        z, depth = section
        full = (depth, *mask.shape[1:])
        existing = _find_layer(self._viewer, mask_layer_name(name), napari.layers.Labels)
        if extra is not None:
            extra_layer = _find_layer(self._viewer, f"{name} {self.extra_name}", napari.layers.Image)
            if (extra_layer is not None and isinstance(extra_layer.data, np.ndarray)
                    and tuple(extra_layer.data.shape) == full):
                extra_layer.data[z] = extra[0]
                extra_layer.refresh()
        if existing is not None and isinstance(existing.data, np.ndarray) and tuple(existing.data.shape) == full:
            region = (slice(z, z + 1), slice(0, full[1]), slice(0, full[2]))
            indices, values = region_edit(region, existing.data[region], mask)
            existing.metadata[REMASKING] = z  # recomputed, not proofread (the Fine-tune panel's "edited")
            try:
                if indices[0].size:
                    existing.data_setitem(indices, values)
            finally:
                existing.metadata.pop(REMASKING, None)
            _select(self._viewer, existing)
            return (f"done: section z={z} masked alone; updated it in '{existing.name}': {indices[0].size:,} voxels "
                    "changed (Ctrl-Z on it restores the section)")
        shifted = [float(t) for t in translate]
        shifted[-3] += z * float(scale[-3])  # the one-section layer lies on section z
        _layer, how = _put_mask(self._viewer, name, mask, scale, shifted, name=f"{mask_layer_name(name)} z={z}")
        reason = "not in memory or of another shape" if existing is not None else "not there yet"
        return f"done: section z={z} masked alone; {how} ('{mask_layer_name(name)}' is {reason})"


def _one_section(data, multiscale: bool, section):
    """(data, multiscale) to mask: the full-resolution level's section z alone (1, y, x[, c]) when ``section`` is
    (z, depth), else the layer's data as it is. A lazy (dask) layer stays lazy: only that section is read."""
    if section is None:
        return data, multiscale
    z = section[0]
    return (data[0] if multiscale else data)[z:z + 1], False


def _prefer_source_image(layers):
    """The newest Image layer that this plugin did not make (not a confidence or probability map)."""
    found = [l for l in layers if not _role(l)]
    return found[-1] if found else None


#: The choice beside shipped names that takes a file instead.
OTHER_FILE = "other file..."


def _default_label(name: str) -> str:
    return f"{name} (default)"


class _SchemaField:
    """The widget(s) for one parameter of the core's schema, with its value in the options' JSON form."""

    def __init__(self, entry: dict) -> None:
        self.key = entry["key"]
        kind, label, tip = entry["kind"], entry["label"], entry["help"]
        self._cast = {"float": float, "int": int, "bool": bool}.get(kind, str)
        default = entry["default"]
        # Whole numbers offered as a fixed set (test-time flips 1/4/8, a level 0-3) come back as numbers.
        self._whole = kind == "int" or (isinstance(default, int) and not isinstance(default, bool))
        rng = {k: entry[n] for k, n in (("min", "minimum"), ("max", "maximum"), ("step", "step")) if entry.get(n) is not None}
        self._auto = None
        self._file = None
        # What the value widget is, kept here rather than asked of the widget's class.
        if kind == "string" and entry.get("suggestions"):
            # Shipped names (e.g. models), the first being what an empty value means, or any file.
            self._names = list(entry["suggestions"])
            labels = [_default_label(self._names[0]), *self._names[1:], OTHER_FILE]
            self._what = "suggested"
            self._value = ComboBox(value=labels[0], choices=labels, label=label, tooltip=tip)
            self._file = FileEdit(mode="r", label=f"{label} file", tooltip=tip, enabled=False)
            self._value.changed.connect(lambda v: setattr(self._file, "enabled", v == OTHER_FILE))
        elif kind == "string":
            self._what, self._value = "text", LineEdit(value=default or "", label=label, tooltip=tip)
        elif entry["choices"]:
            self._what = "choice"
            self._value = ComboBox(value=str(default), choices=list(entry["choices"]), label=label, tooltip=tip)
        elif kind == "bool":
            self._what, self._value = "bool", CheckBox(value=bool(default), text=label, tooltip=tip)
        elif entry["auto"]:
            # A number or "auto": a checkbox for auto, and the number (enabled when auto is off).
            start = MANUAL_THRESHOLD_START if self.key == "threshold" else (entry.get("minimum") or 1)
            self._auto = CheckBox(value=default == "auto", text=f"automatic {label}", tooltip=tip)
            spin = FloatSpinBox if kind == "float" else SpinBox
            self._what = "number"
            self._value = spin(value=self._cast(start if default == "auto" else default), label=label,
                               tooltip=tip, enabled=default != "auto", **rng)
            self._auto.changed.connect(lambda v: setattr(self._value, "enabled", not v))
        else:
            spin = FloatSpinBox if kind == "float" else SpinBox
            self._what, self._value = "number", spin(value=self._cast(default), label=label, tooltip=tip, **rng)

    @property
    def widgets(self) -> list:
        if self._file is not None:
            return [self._value, self._file]
        return [self._auto, self._value] if self._auto is not None else [self._value]

    @property
    def value(self):
        if self._auto is not None and self._auto.value:
            return "auto"
        if self._what == "suggested":
            choice = str(self._value.value)
            if choice == OTHER_FILE:
                text = str(self._file.value)
                return None if text in ("", ".") else text
            return None if choice == _default_label(self._names[0]) else choice
        if self._what == "text":
            return self._value.value or None
        if self._what == "choice":
            text = str(self._value.value)
            return int(text) if self._whole and text != "auto" else text
        return self._value.value

    def set(self, value) -> None:
        if self._auto is not None:
            self._auto.value = value is None or str(value).lower() == "auto"
            if not self._auto.value:
                self._value.value = self._cast(value)
        elif self._what == "choice":
            text = str(value).lower()
            if text not in [str(c) for c in self._value.choices]:
                raise ValueError(f"must be one of {list(self._value.choices)}")
            self._value.value = text
        elif self._what == "suggested":
            text = "" if value is None else str(value)
            if text in ("", self._names[0]):
                self._value.value = _default_label(self._names[0])
            elif text in self._names:
                self._value.value = text
            else:
                self._value.value = OTHER_FILE
                self._file.value = text
            self._file.enabled = self._value.value == OTHER_FILE
        elif self._what == "text":
            self._value.value = "" if value is None else str(value)
        elif self._what == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {value!r}")
            self._value.value = value
        else:
            self._value.value = self._cast(value)


class ClassicalMaskPanel(_ImageMaskPanel):
    """Classical (texture) mask; its parameter widgets are built from the core's schema (:func:`classical_schema`).
    Lazy (dask, zarr) 3D layers, multiscale too, are masked block by block into a Zarr store on disk."""

    blockwise = True

    def __init__(self, viewer) -> None:
        schema = classical_schema() if core_problem() is None else []
        self._fields = [_SchemaField(e) for e in schema]
        self._confidence = CheckBox(value=False, text="also add the confidence map",
                                    tooltip="Adds '<image> confidence' (hidden); the Proofread panel's review list "
                                            "ranks the mask's regions by it")
        params = [w for f in self._fields for w in f.widgets] + [self._confidence]
        super().__init__(viewer, params, "Mask")

    def _empty_hint(self, info: dict) -> str:
        t = info.get("threshold")
        at = f" (it was {t:.2f})" if isinstance(t, (int, float)) else ""
        return (f"no voxel's texture rose above the threshold{at}. Untick 'automatic threshold' and lower it, "
                "or raise 'level'; an image without texture (blank, or smoothed) gives an empty mask")

    def _parameter_widgets(self) -> dict:
        return {f.key: f.set for f in self._fields}

    def parameters(self) -> dict:
        """The panel's parameter values, by key (the options' JSON form: "auto" for automatic values)."""
        return {f.key: f.value for f in self._fields}

    def _prepare(self):
        layer, data, rgb, multiscale, voxel_size, section = self._image_input()
        params = self.parameters()
        params["voxel_size"] = voxel_size
        meta = (layer.name, tuple(layer.scale), tuple(layer.translate), section)
        return _classical_job, (data, rgb, multiscale, params, self._spec.value, self._confidence.value, meta)


def _classical_job(data, rgb, multiscale, params, spec, want_confidence, meta, token):
    name, scale, translate, section = meta
    lazy = None if section is not None else blockwise_source(data, rgb=rgb, multiscale=multiscale)
    if lazy is not None:
        # Block by block into a Zarr store on disk: the layer is never read whole, and the mask layer reads the store.
        import tempfile

        from .. import _dask

        store = os.path.join(tempfile.mkdtemp(prefix="em-mask-"), f"{name} mask.zarr")
        voxel_size = params.pop("voxel_size", None)
        mask = yield from _staged(_dask.mask_to_store, 0.0, 1.0, lazy, store, voxel_size=voxel_size, cancel=token,
                                  **params)
        info = {"blockwise": True, "store": store,
                "notes": [f"masked block by block into {store}"] +
                         ([f"post-processing '{spec}' was not run on the lazy mask (run it on a copy in memory)"]
                          if spec.strip().lower() not in ("", "none") else []) +
                         (["no confidence map for a lazy layer"] if want_confidence else [])}
        return mask, None, name, scale, translate, info, None
    yield {"stage": "reading image", "fraction": 0.0}
    image = materialise(data, rgb=rgb, multiscale=multiscale)
    post = spec.strip().lower() not in ("", "none")
    mask, confidence = yield from _staged(_api.classical_mask, 0.0, 0.8 if post else 1.0, image, cancel=token,
                                          **params)
    info = _api.last_call_info()
    if post:
        yield from _staged(_api.postprocess, 0.8, 0.2, mask, spec, out=mask,
                           voxel_size=params["voxel_size"], cancel=token)
    return mask, (confidence if want_confidence else None), name, scale, translate, info, section


class UNetMaskPanel(_ImageMaskPanel):
    """U-Net mask through the EM Mask worker process; its widgets are built from the core's schema (:func:`unet_schema`)."""

    default_preset = "none"
    extra_name = "probability"
    needs_worker = True

    def __init__(self, viewer) -> None:
        schema = unet_schema() if core_problem(worker=True) is None else []
        self._fields = [_SchemaField(e) for e in schema]
        self._probability = CheckBox(value=False, text="also add the probability map",
                                     tooltip="Adds '<image> probability' (the network's tissue probability, hidden)")
        params = [w for f in self._fields for w in f.widgets] + [self._probability]
        super().__init__(viewer, params, "Mask (U-Net)")

    def _parameter_widgets(self) -> dict:
        widgets = {f.key: f.set for f in self._fields}
        if "envelope" in widgets:
            set_envelope, set_margin = widgets["envelope"], widgets.get("envelope_margin")

            def envelope_margin(value):  # a preset's envelope_margin: null means no envelope
                set_envelope(value is not None)
                if value is not None and set_margin is not None:
                    set_margin(value)

            widgets["envelope_margin"] = envelope_margin
        return widgets

    def parameters(self) -> dict:
        """The panel's parameter values, by key (the options' JSON form)."""
        return {f.key: f.value for f in self._fields}

    def _empty_hint(self, info: dict) -> str:
        if self.parameters().get("envelope", True):
            return ("the network decides only inside the tissue envelope (the classical mask, grown), and that was "
                    "empty: untick 'tissue envelope' for images without texture")
        return "the network found no tissue; check the model and the working scale"

    def _prepare(self):
        layer, data, rgb, multiscale, voxel_size, section = self._image_input()
        params = self.parameters()
        model = params.pop("model", None)
        params["voxel_size"] = voxel_size
        meta = (layer.name, tuple(layer.scale), tuple(layer.translate), section)
        return _unet_job, (data, rgb, multiscale, model, params, self._spec.value, self._probability.value, meta)


def _unet_job(data, rgb, multiscale, model, params, spec, want_probability, meta, token):
    name, scale, translate, section = meta
    yield {"stage": "reading image", "fraction": 0.0}
    image = materialise(data, rgb=rgb, multiscale=multiscale)
    post = spec.strip().lower() not in ("", "none")
    mask, probability = yield from _staged(_api.unet_mask, 0.0, 0.8 if post else 1.0, image, model, cancel=token,
                                           **params)
    info = _api.last_call_info()
    if post:
        yield from _staged(_api.postprocess, 0.8, 0.2, mask, spec, out=mask,
                           voxel_size=params["voxel_size"], cancel=token)
    return mask, (probability if want_probability else None), name, scale, translate, info, section


#: Where the Post-process panel works.
REGIONS = ["whole mask", "current slice", "drawn box (all slices)", "drawn box (current slice)"]


def _world_point(viewer, position) -> list:
    """A full world position: ``position`` on the last axes, the viewer's current point on the others."""
    point = [float(p) for p in viewer.dims.point]
    position = [float(p) for p in position]
    if len(position) >= len(point):
        return position
    point[len(point) - len(position):] = position
    return point


def _data_point(viewer, layer, world) -> np.ndarray:
    """``layer``'s data coordinates of a world position (the viewer's other axes filled in)."""
    full = _world_point(viewer, world)
    return np.asarray(layer.world_to_data(full[-layer.ndim:] if len(full) > layer.ndim else full), dtype=float)


def _current_slice(viewer, layer) -> int:
    """The z index of ``layer`` (its first of 3 axes) at the viewer's current position."""
    z = int(round(float(_data_point(viewer, layer, viewer.dims.point)[-3])))
    if not 0 <= z < layer.data.shape[-3]:
        raise LayerInputError(f"The current slice z={z} lies outside '{layer.name}' (0..{layer.data.shape[-3] - 1}).")
    return z


def _last_box(viewer, mask_layer, shapes_layer) -> np.ndarray:
    """The corners of the last shape drawn in ``shapes_layer``, in ``mask_layer``'s data coordinates."""
    if shapes_layer is None or len(shapes_layer.data) == 0:
        raise LayerInputError("Draw a rectangle in a Shapes layer first (Layers > New Shapes Layer, rectangle tool), "
                              "and choose that layer as 'box layer'.")
    vertices = np.asarray(shapes_layer.data[-1], dtype=float)
    return np.array([_data_point(viewer, mask_layer, shapes_layer.data_to_world(v)) for v in vertices])


class PostProcessPanel(_RunPanel):
    """Post-process a Labels layer in place, as one undoable edit (Ctrl-Z restores it): the whole mask, the current
    slice only, or only inside a drawn box."""

    def __init__(self, viewer) -> None:
        # Not `self._labels`: magicgui's Container.__init__ sets that attribute (to its `labels` flag).
        self._mask = create_widget(annotation=napari.layers.Labels, label="mask")
        self._preferred = [_PreferredLayer(self._mask, _prefer_mask)]
        self._preset, self._spec = _preset_widgets("preset")
        self._region = ComboBox(choices=REGIONS, value=REGIONS[0], label="where",
                                tooltip="Post-process the whole mask, only the slice on screen, or only inside the "
                                        "last rectangle of the box layer (through all slices, or in this slice)")
        self._box = create_widget(annotation=napari.layers.Shapes, label="box layer",
                                  options={"tooltip": "Shapes layer whose last rectangle bounds the edit"})
        super().__init__(viewer, [self._mask, self._preset, self._spec, self._region, self._box],
                         "Apply (undo: Ctrl-Z)")

    def _target_region(self, layer) -> tuple:
        shape = layer.data.shape
        where = self._region.value
        if where == REGIONS[0]:
            return tuple(slice(0, n) for n in shape), "the whole mask"
        if layer.data.ndim != 3:
            raise LayerInputError(f"'{where}' needs a 3D mask; '{layer.name}' has {layer.data.ndim} dimensions.")
        if where == REGIONS[1]:
            z = _current_slice(self._viewer, layer)
            return (slice(z, z + 1), slice(0, shape[1]), slice(0, shape[2])), f"slice z={z}"
        z = _current_slice(self._viewer, layer) if where == REGIONS[3] else None
        try:
            region = box_slices(shape, _last_box(self._viewer, layer, self._box.value), z)
        except ValueError as exc:
            raise LayerInputError(str(exc)) from exc
        span = ", ".join(f"{s.start}:{s.stop}" for s in region)
        return region, f"the box [{span}]"

    def _prepare(self):
        layer = self._mask.value
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
        region, where = self._target_region(layer)
        voxel_size = voxel_size_from_scale(layer.scale, layer.data.ndim)
        self._target = (layer, region, where)
        return _postprocess_job, (layer.data, region, spec, voxel_size)

    def _on_result(self, result) -> str:
        snapshot, new = result
        layer, region, where = self._target
        if layer not in self._viewer.layers:
            show_warning("EM Mask: the mask layer was removed while post-processing; nothing written.")
            return "nothing written: the mask layer was removed"
        indices, values = region_edit(region, snapshot, new)
        if any((s.stop or 0) > n for s, n in zip(region, layer.data.shape)):
            show_warning("EM Mask: the mask layer changed shape while post-processing; nothing written.")
            return "nothing written: the mask changed shape"
        changed = int(indices[0].size)
        if changed:
            layer.data_setitem(indices, values)
        _select(self._viewer, layer)
        return f"done: {changed:,} voxels changed in {where} of '{layer.name}' (Ctrl-Z on it undoes)"


def _postprocess_job(data, region, spec, voxel_size, token):
    yield {"stage": "copying mask", "fraction": 0.0}
    snapshot = np.array(data[region], copy=True)
    new = yield from _staged(_api.postprocess, 0.0, 1.0, snapshot, spec, voxel_size=voxel_size, cancel=token)
    return snapshot, new


class BatchMaskPanel(_RunPanel):
    """Mask every open Image layer; each gets (or updates, undoably) its ``<name> mask`` Labels layer."""

    def __init__(self, viewer) -> None:
        self._method = ComboBox(choices=["classical", "U-Net"], value="classical", label="method")
        self._preset, self._spec = _preset_widgets()
        self._summary = _wrap(Label(value=""))
        self._done = 0
        self._updated = 0
        self._unsplit: list = []
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
        if self._method.value != "classical":
            problem = core_problem(worker=True)
            if problem is not None:
                raise LayerInputError(problem)
        self._done = self._updated = 0
        self._unsplit = []
        self._summary.value = f"{len(tasks)} images"
        return _batch_job, (tasks, self._method.value, self._spec.value)

    def _on_item(self, item: dict) -> None:
        _layer, how = _put_mask(self._viewer, item["name"], item["mask"], item["scale"], item["translate"])
        self._done += 1
        self._updated += how.startswith("updated")
        unsplit = item.get("unsplit") or []
        depth = item["mask"].shape[0] if item["mask"].ndim == 3 else 1
        if 0 < len(unsplit) < depth:  # some sections split and these did not (all: an image of tissue only, likely)
            self._unsplit.append(f"'{item['name']}' (z = {', '.join(str(z) for z in unsplit)})")
        self._summary.value = f"{self._done} masked; last: {how}"

    def _on_cancelled(self) -> str:
        return f"cancelled; {self._done} images were masked before, and stay"

    def _on_result(self, result) -> str:
        new = result - self._updated
        check = (f". The texture did not split in some sections of {', '.join(self._unsplit)}: look at those first "
                 "(a mask panel's 'where: current section' redoes one)") if self._unsplit else ""
        return (f"done: {result} images masked ({new} new mask layers, {self._updated} updated in place; "
                f"Ctrl-Z on an updated one restores it){check}")


def _batch_job(tasks, method, spec, token):
    n = len(tasks)
    post = spec.strip().lower() not in ("", "none")
    for i, (data, rgb, multiscale, voxel_size, name, scale, translate) in enumerate(tasks):
        base, span = i / n, 1 / n
        yield {"stage": f"{name}: reading", "fraction": base}
        image = materialise(data, rgb=rgb, multiscale=multiscale)
        unsplit = None
        if method == "classical":
            mask, _ = yield from _staged(_api.classical_mask, base, span * (0.8 if post else 1.0), image,
                                         voxel_size=voxel_size, cancel=token)
            unsplit = _api.last_call_info().get("unsplit_sections")
        else:
            mask, _ = yield from _staged(_api.unet_mask, base, span * (0.8 if post else 1.0), image,
                                         voxel_size=voxel_size, cancel=token)
        if post:
            yield from _staged(_api.postprocess, base + 0.8 * span, 0.2 * span, mask, spec, out=mask,
                               voxel_size=voxel_size, cancel=token)
        yield {"name": name, "mask": mask, "scale": scale, "translate": translate, "unsplit": unsplit}
    return n


def _prefer_map(layers):
    """The newest confidence or probability map this plugin made, else None."""
    found = [l for l in layers if _role(l) in ("confidence", "probability")]
    return found[-1] if found else None


class ProofreadPanel(_RunPanel):
    """Proofreading: click a region to flip it, and a review list of the mask's least certain regions.

    Every edit (a click-flip, a flipped review region) is one undo step on the mask layer. The review list needs the
    confidence (classical) or probability (U-Net) map of the mask: tick "also add the ... map" before masking.
    """

    def __init__(self, viewer) -> None:
        self._mask = create_widget(annotation=napari.layers.Labels, label="mask")
        self._map = create_widget(annotation=napari.layers.Image, label="confidence map",
                                  options={"tooltip": "The classical confidence or the U-Net probability of this "
                                                      "mask (tick 'also add the ... map' when masking)"})
        self._preferred = [_PreferredLayer(self._mask, _prefer_mask), _PreferredLayer(self._map, _prefer_map)]
        self._click = CheckBox(value=False, text="click flips the region under the cursor",
                               tooltip="While on, a click (without dragging) on the mask removes the tissue region "
                                       "under the cursor, or fills the hole under it; one Ctrl-Z each")
        self._scope = ComboBox(choices=list(SCOPES), value="3D", label="flip in",
                               tooltip="3D: the whole connected region; slice: only its part in the slice on screen")
        self._below = FloatSpinBox(value=0.7, min=0.51, max=1.0, step=0.05, label="review below certainty",
                                   tooltip="A voxel is doubtful when the map gives its current label less than this "
                                           "probability (0.5 = a coin flip)")
        # Choices from a callable: napari resets every picker of the panel when a layer is added (the review box is
        # one), and a plain list would be reset to empty.
        self._regions = Select(choices=self._review_choices, label="least certain first")
        self._previous = PushButton(text="◀ previous")
        self._next = PushButton(text="next ▶")
        self._accept = PushButton(text="accept")
        self._flip = PushButton(text="flip (undo: Ctrl-Z)")
        self._review: list = []
        self._current: Optional[int] = None
        self._review_layer = None
        self._review_mask = None
        self._clicked_layer = None
        nav = Container(widgets=[self._previous, self._next], layout="horizontal", labels=False)
        act = Container(widgets=[self._accept, self._flip], layout="horizontal", labels=False)
        super().__init__(viewer, [self._mask, self._map, self._click, self._scope, self._below, self._regions, nav, act],
                         "Find doubtful regions")
        native = getattr(self._regions, "native", None)
        if native is not None and hasattr(native, "setSelectionMode"):
            native.setSelectionMode(native.SingleSelection)
        self._click.changed.connect(self._attach_click)
        self._mask.changed.connect(self._attach_click)
        self._regions.changed.connect(self._on_pick)
        self._previous.changed.connect(lambda *_: self._step(-1))
        self._next.changed.connect(lambda *_: self._step(+1))
        self._accept.changed.connect(self._on_accept)
        self._flip.changed.connect(self._on_flip)
        self._show_review()

    # --- click to flip -------------------------------------------------------------------------------------------
    def _attach_click(self, *_args) -> None:
        layer = self._mask.value if self._click.value else None
        if layer is self._clicked_layer:
            return
        if self._clicked_layer is not None and self._on_mouse in self._clicked_layer.mouse_drag_callbacks:
            self._clicked_layer.mouse_drag_callbacks.remove(self._on_mouse)
        self._clicked_layer = layer
        if layer is not None:
            layer.mouse_drag_callbacks.append(self._on_mouse)
            if getattr(layer, "mode", "pan_zoom") != "pan_zoom":
                layer.mode = "pan_zoom"  # a paint brush would paint where the user clicks to flip
            _select(self._viewer, layer)
            self._status.value = f"click on '{layer.name}' to flip a region ({self._scope.value})"

    def _on_mouse(self, layer, event):
        """napari mouse-drag callback: flip on a click, not on a drag (which pans)."""
        if getattr(event, "button", 1) != 1 or getattr(event, "modifiers", ()):
            return
        position = tuple(event.position)
        displayed = tuple(getattr(event, "dims_displayed", ()))
        yield
        moved = False
        while getattr(event, "type", "") == "mouse_move":
            moved = True
            yield
        if not moved:
            self.flip_at_world(layer, position, displayed)

    def flip_at_world(self, layer, world_position, dims_displayed=()) -> Optional[str]:
        """Flip the region of ``layer`` under ``world_position`` as one undo step; return the status (or None)."""
        if len(dims_displayed) == 3:
            self._status.value = "click-flip works in the 2D view (the 3D view has no single voxel under the cursor)"
            return None
        try:
            point = _data_point(self._viewer, layer, world_position)
            indices, values, what = flip_at(layer.data, point, self._scope.value)
        except (FlipRefused, ValueError) as exc:
            self._status.value = str(exc)
            show_info(f"EM Mask: {exc}")
            return None
        layer.data_setitem(indices, values)
        self._status.value = f"{what} in '{layer.name}' (Ctrl-Z undoes)"
        return self._status.value

    # --- review list ---------------------------------------------------------------------------------------------
    def _prepare(self):
        layer, confidence = self._mask.value, self._map.value
        if layer is None:
            raise LayerInputError("Choose a Labels layer (the mask to review) first.")
        if confidence is None:
            raise LayerInputError("The review list needs the mask's confidence map: tick 'also add the confidence "
                                  "map' (or probability map) in the masking panel, mask again, and choose it here.")
        if tuple(confidence.data.shape) != tuple(layer.data.shape):
            raise LayerInputError(f"'{confidence.name}' {tuple(confidence.data.shape)} and '{layer.name}' "
                                  f"{tuple(layer.data.shape)} differ in shape.")
        self._target = layer
        return _review_job, (np.asarray(layer.data), np.asarray(confidence.data), float(self._below.value))

    def _on_result(self, result) -> str:
        self._review = result
        self._review_mask = self._target
        self._current = None
        self._show_review()
        if not result:
            return "no doubtful region: every voxel's label has the certainty asked for"
        self._go(0)
        return f"{len(result)} doubtful regions, least certain first; {self._review[0].describe()}"

    def _review_choices(self, *_args) -> list:
        return [(r.describe(), i) for i, r in enumerate(getattr(self, "_review", ()))]

    def _show_review(self) -> None:
        self._regions.reset_choices()
        has = bool(self._review)
        for button in (self._previous, self._next, self._accept, self._flip):
            button.enabled = has

    def _on_pick(self, value) -> None:
        if value and value[0] != self._current:
            self._go(int(value[0]))

    def _step(self, delta: int) -> None:
        if not self._review:
            return
        start = -1 if self._current is None else self._current
        self._go((start + delta) % len(self._review))

    def _go(self, index: int) -> None:
        """Jump to region ``index``: its slice on screen, centred, with a box around it."""
        region = self._review[index]
        self._current = index
        layer = self._review_mask
        if self._regions.value != [index]:
            self._regions.value = [index]
        world = np.asarray(layer.data_to_world(region.centre), dtype=float)
        dims = self._viewer.dims
        offset = dims.ndim - len(world)
        for axis in range(len(world) - 2):
            dims.set_point(offset + axis, world[axis])
        self._viewer.camera.center = tuple(world[-2:])
        self._draw_box(layer, region)
        _select(self._viewer, layer)
        self._status.value = f"{region.describe()} ({index + 1}/{len(self._review)})"

    def _draw_box(self, layer, region) -> None:
        lo = [s.start - 0.5 for s in region.bbox[-2:]]
        hi = [s.stop - 0.5 for s in region.bbox[-2:]]
        rect = np.array([lo, [lo[0], hi[1]], hi, [hi[0], lo[1]]])
        if layer.data.ndim == 3:
            z = round(region.centre[0])
            rect = np.column_stack([np.full(4, z), rect])
        name = f"{layer.name} review"
        if self._review_layer is None or self._review_layer not in self._viewer.layers:
            self._review_layer = self._viewer.add_shapes(
                [rect], shape_type="rectangle", name=name, edge_color="yellow", face_color="transparent",
                edge_width=2, scale=layer.scale, translate=layer.translate)
            self._review_layer.metadata[_ROLE] = "review"
        else:
            self._review_layer.data = [rect]

    def _mark(self, state: str) -> None:
        self._review[self._current].state = state
        keep = self._current
        self._show_review()
        self._current = keep

    def _next_open(self) -> None:
        n = len(self._review)
        for k in range(1, n + 1):
            i = (self._current + k) % n
            if not self._review[i].state:
                self._go(i)
                return
        self._status.value = f"all {n} regions reviewed"

    def _on_accept(self, *_args) -> None:
        if self._current is None:
            return
        self._mark("accepted")
        self._next_open()

    def _on_flip(self, *_args) -> None:
        if self._current is None:
            return
        layer = self._review_mask
        if layer not in self._viewer.layers:
            self._status.value = "the reviewed mask layer was removed"
            return
        region = self._review[self._current]
        indices, values = region.flip_edit(layer.data)
        layer.data_setitem(indices, values)
        self._mark("flipped")
        done = f"flipped region #{region.rank} ({region.size:,} voxels; Ctrl-Z undoes)"
        self._next_open()
        self._status.value = f"{done}; now {self._status.value}"


def _review_job(mask, confidence, below, token):
    yield {"stage": "ranking doubtful regions", "fraction": 0.0}
    regions = review_regions(mask, confidence, below=below)
    if token.cancelled:
        raise CancelledError()
    return regions
