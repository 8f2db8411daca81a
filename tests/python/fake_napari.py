"""Minimal stand-ins for napari and magicgui, to drive the dock widgets' code paths where napari is not installed
(CI). test_real_napari.py drives the real libraries where they are.

They mimic only what em_mask._qt.widgets uses, with the same names and keyword arguments as the real libraries
(unknown keyword arguments raise, so a misspelt magicgui argument fails here too), and they copy the real
libraries' traps that once hid defects here:

* magicgui's ``Container.__init__`` sets private attributes of its own (``_labels``, ``_layout``, ``_list``...),
  overwriting a subclass's attribute of the same name (a picker kept in ``self._labels`` became ``True``);
* superqt's generator worker treats a ``RuntimeError`` raised by the job (every ``EmMaskError`` is one) as "thread
  aborted": a warning, and neither ``errored`` nor ``finished``.

The worker runs synchronously when started. This checks the widgets' logic, not Qt rendering.
"""

from __future__ import annotations

import contextlib
import sys
import types
import warnings
from collections import deque

import numpy as np


class Signal:
    def __init__(self):
        self._slots = []

    def connect(self, slot):
        self._slots.append(slot)

    def emit(self, *args):
        for slot in list(self._slots):
            slot(*args)


_WIDGET_KWARGS = {"value", "label", "tooltip", "enabled", "visible", "name", "min", "max", "step", "text",
                  "choices", "mode", "filter", "widgets", "layout", "labels", "scrollable", "options"}


class Widget:
    def __init__(self, **kwargs):
        unknown = set(kwargs) - _WIDGET_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}")
        self.changed = Signal()
        self._value = kwargs.get("value")
        self.enabled = kwargs.get("enabled", True)
        self.label = kwargs.get("label")
        self.choices = kwargs.get("choices")
        self.root_native_widget = None  # no Qt here

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        if v != self._value:
            self._value = v
            self.changed.emit(v)


class PushButton(Widget):
    def click(self):
        self.changed.emit(True)


class ComboBox(Widget):
    pass


class Select(Widget):
    """magicgui's list box: ``value`` is the list of selected choice values; choices may be (label, value) pairs or
    a callable returning them (called with the widget, again at each ``reset_choices``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._value = list(kwargs.get("value") or [])
        self._source = kwargs.get("choices") or []
        self.reset_choices()

    def reset_choices(self, *_):
        self.choices = tuple(self._source(self) if callable(self._source) else self._source)


CheckBox = FloatSpinBox = Label = LineEdit = ProgressBar = SpinBox = Widget


class FileEdit(Widget):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._value = kwargs.get("value", "")


class Container(Widget):
    def __init__(self, widgets=(), layout="vertical", scrollable=False, labels=True, **kwargs):
        super().__init__(**kwargs)
        # What magicgui 0.8's ContainerWidget/Widget __init__ set on the instance (overwriting a subclass's own).
        self._list = list(widgets)
        self._labels = labels
        self._layout = layout
        self._scrollable = scrollable
        self._widget = types.SimpleNamespace(backend="fake")
        self._label = kwargs.get("label")
        self._explicitly_hidden = False
        self._initialized = True
        self._visible = True

    def reset_choices(self, *_):
        pass


def create_widget(annotation=None, label=None, options=None, **kwargs):
    combo = ComboBox(label=label, **dict(options or {}), **kwargs)
    combo.annotation = annotation
    return combo


class _Layer:
    def __init__(self, data, name="layer", scale=None, translate=None, metadata=None, rgb=False, multiscale=False,
                 **kwargs):
        self.data = data
        self.name = name
        level = data[0] if multiscale else data
        nd = level.ndim - (1 if rgb else 0)
        self.scale = tuple(scale) if scale is not None else (1.0,) * nd
        self.translate = tuple(translate) if translate is not None else (0.0,) * nd
        self.metadata = dict(metadata or {})
        self.rgb = rgb
        self.multiscale = multiscale
        self.kwargs = kwargs
        self.mouse_drag_callbacks = []
        self.mode = "pan_zoom"
        self.visible = kwargs.get("visible", True)

    @property
    def ndim(self):
        level = self.data[0] if self.multiscale else self.data
        return len(level.shape) - (1 if self.rgb else 0)

    def world_to_data(self, position):
        position = np.asarray(position, dtype=float)[-self.ndim:]
        return tuple((position - np.asarray(self.translate)) / np.asarray(self.scale))

    def data_to_world(self, position):
        position = np.asarray(position, dtype=float)
        return tuple(position * np.asarray(self.scale)[-len(position):] + np.asarray(self.translate)[-len(position):])


class Image(_Layer):
    pass


class Shapes(_Layer):
    def __init__(self, data, shape_type="rectangle", **kwargs):
        self.data = [np.asarray(d, dtype=float) for d in data]
        nd = self.data[0].shape[1] if self.data else 2
        kwargs = {k: v for k, v in kwargs.items() if k in ("name", "scale", "translate", "metadata")}
        self.name = kwargs.get("name", "Shapes")
        self.scale = tuple(kwargs.get("scale") or (1.0,) * nd)
        self.translate = tuple(kwargs.get("translate") or (0.0,) * nd)
        self.metadata = dict(kwargs.get("metadata") or {})
        self.rgb = self.multiscale = False
        self.mouse_drag_callbacks = []

    @property
    def ndim(self):
        return len(self.scale)


class Labels(_Layer):
    """napari 0.4.19's data_setitem and undo history, minus rendering."""

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self._undo_history, self._redo_history = deque(), deque()

    def data_setitem(self, indices, value, refresh=True):
        changed = self.data[indices] != value
        indices = tuple(x[changed] for x in indices)
        value = self.data.dtype.type(value)
        if isinstance(value, np.ndarray):
            value = value[changed]
        if not indices or indices[0].size == 0:
            return
        self._redo_history.clear()
        self._undo_history.append([(indices, np.array(self.data[indices], copy=True), value)])
        self.data[indices] = value

    def undo(self):
        item = self._undo_history.pop()
        self._redo_history.append(list(reversed(item)))
        for indices, old, _ in reversed(item):
            self.data[indices] = old


class LayerList(list):
    def __init__(self):
        super().__init__()
        self.selection = types.SimpleNamespace(active=None)


class Dims:
    def __init__(self, viewer):
        self._viewer = viewer
        self._point = {}

    @property
    def ndim(self):
        return max([layer.ndim for layer in self._viewer.layers] or [2])

    @property
    def point(self):
        return tuple(self._point.get(axis, 0.0) for axis in range(self.ndim))

    def set_point(self, axis, value):
        self._point[axis] = float(value)


class Viewer:
    def __init__(self):
        self.layers = LayerList()
        self.dims = Dims(self)
        self.camera = types.SimpleNamespace(center=(0.0, 0.0), zoom=1.0)

    def add_shapes(self, data, **kwargs):
        layer = Shapes(data, **kwargs)
        self.layers.append(layer)
        return layer

    def add_image(self, data, **kwargs):
        layer = Image(data, **kwargs)
        self.layers.append(layer)
        return layer

    def add_labels(self, data, **kwargs):
        layer = Labels(data, **kwargs)
        self.layers.append(layer)
        return layer


class GeneratorWorker:
    def __init__(self, gen):
        self._gen = gen
        self.yielded, self.returned, self.errored, self.finished = Signal(), Signal(), Signal(), Signal()
        self.started = False

    def start(self):
        self.started = True
        try:
            while True:
                try:
                    item = next(self._gen)
                except StopIteration as stop:
                    self.returned.emit(stop.value)
                    break
                except RuntimeError as exc:
                    # superqt 0.6 (GeneratorWorker.work/WorkerBase.run): "the worker has probably been deleted";
                    # a warning, and no errored, returned or finished signal.
                    warnings.warn(f"RuntimeError in aborted thread: {exc}", RuntimeWarning, stacklevel=2)
                    return
                self.yielded.emit(item)
        except Exception as exc:  # noqa: BLE001 - like superqt: other errors go to the errored signal
            self.errored.emit(exc)
        self.finished.emit()


class Notifications:
    def __init__(self):
        self.messages = []

    def show_error(self, m):
        self.messages.append(("error", m))

    def show_info(self, m):
        self.messages.append(("info", m))

    def show_warning(self, m):
        self.messages.append(("warning", m))


@contextlib.contextmanager
def installed():
    """Put the stand-ins into sys.modules as napari/magicgui; restore everything afterwards."""
    notes = Notifications()
    workers = []

    def create_worker(func, *args, _start_thread=None, _connect=None, _progress=None, _worker_class=None,
                      _ignore_errors=False, **kwargs):
        worker = GeneratorWorker(func(*args, **kwargs))
        workers.append(worker)
        return worker

    mods = {
        "napari": types.ModuleType("napari"),
        "napari.layers": types.ModuleType("napari.layers"),
        "napari.types": types.ModuleType("napari.types"),
        "napari.qt": types.ModuleType("napari.qt"),
        "napari.qt.threading": types.ModuleType("napari.qt.threading"),
        "napari.utils": types.ModuleType("napari.utils"),
        "napari.utils.notifications": types.ModuleType("napari.utils.notifications"),
        "magicgui": types.ModuleType("magicgui"),
        "magicgui.widgets": types.ModuleType("magicgui.widgets"),
    }
    mods["napari.layers"].Image, mods["napari.layers"].Labels = Image, Labels
    mods["napari.layers"].Shapes = Shapes
    mods["napari"].layers = mods["napari.layers"]
    mods["napari"].types = mods["napari.types"]
    mods["napari.qt.threading"].create_worker = create_worker
    n = mods["napari.utils.notifications"]
    n.show_error, n.show_info, n.show_warning = notes.show_error, notes.show_info, notes.show_warning
    w = mods["magicgui.widgets"]
    w.CheckBox, w.ComboBox, w.Container, w.FileEdit, w.FloatSpinBox = CheckBox, ComboBox, Container, FileEdit, FloatSpinBox
    w.Label, w.LineEdit, w.ProgressBar, w.PushButton, w.SpinBox = Label, LineEdit, ProgressBar, PushButton, SpinBox
    w.Select = Select
    w.create_widget = create_widget
    saved = {k: sys.modules.get(k) for k in [*mods, "em_mask._qt.widgets"]}
    sys.modules.update(mods)
    sys.modules.pop("em_mask._qt.widgets", None)
    qt_pkg = sys.modules.get("em_mask._qt")
    if qt_pkg is not None and hasattr(qt_pkg, "widgets"):
        del qt_pkg.widgets  # else `from ._qt import widgets` finds the module built on an earlier fake
    try:
        yield types.SimpleNamespace(notes=notes, workers=workers, Viewer=Viewer)
    finally:
        qt_pkg = sys.modules.get("em_mask._qt")
        if qt_pkg is not None and hasattr(qt_pkg, "widgets"):
            del qt_pkg.widgets
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
