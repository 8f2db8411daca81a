"""Minimal stand-ins for napari and magicgui (neither is installable here), to drive the dock widgets' code paths.

They mimic only what em_mask._qt.widgets uses, with the same names and keyword arguments as the real libraries
(unknown keyword arguments raise, so a misspelt magicgui argument fails here too). The worker runs synchronously
when started, emitting yielded/returned/errored/finished like napari's GeneratorWorker. This checks the widgets'
logic, not Qt rendering: the real check is in napari (see the report's list of what was not verified).
"""

from __future__ import annotations

import contextlib
import sys
import types
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
                  "choices", "mode", "filter", "widgets", "layout", "labels", "scrollable"}


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


CheckBox = FloatSpinBox = Label = LineEdit = ProgressBar = SpinBox = Widget


class FileEdit(Widget):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._value = kwargs.get("value", "")


class Container(Widget):
    def __init__(self, widgets=(), **kwargs):
        super().__init__(**kwargs)
        self._list = list(widgets)

    def reset_choices(self, *_):
        pass


def create_widget(annotation=None, label=None, **kwargs):
    combo = ComboBox(label=label, **kwargs)
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


class Image(_Layer):
    pass


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


class Viewer:
    def __init__(self):
        self.layers = []

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
                self.yielded.emit(item)
        except Exception as exc:  # noqa: BLE001 - like superqt: errors go to the errored signal
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
    mods["napari"].layers = mods["napari.layers"]
    mods["napari"].types = mods["napari.types"]
    mods["napari.qt.threading"].create_worker = create_worker
    n = mods["napari.utils.notifications"]
    n.show_error, n.show_info, n.show_warning = notes.show_error, notes.show_info, notes.show_warning
    w = mods["magicgui.widgets"]
    w.CheckBox, w.ComboBox, w.Container, w.FileEdit, w.FloatSpinBox = CheckBox, ComboBox, Container, FileEdit, FloatSpinBox
    w.Label, w.LineEdit, w.ProgressBar, w.PushButton, w.SpinBox = Label, LineEdit, ProgressBar, PushButton, SpinBox
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
