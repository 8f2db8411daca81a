"""napari dock widgets of EM Mask (the ``widgets`` contributions of napari.yaml).

Each contribution is a class whose ``__init__`` takes ``napari_viewer`` (so napari passes the viewer) and whose
construction builds the real widget, a magicgui ``Container`` from :mod:`em_mask._qt.widgets`. The GUI modules
are imported only then, so importing this module needs neither napari, magicgui nor Qt, and pytest can check the
signatures the manifest relies on.
"""

from __future__ import annotations

__all__ = ["ClassicalMaskWidget", "UNetMaskWidget", "PostProcessWidget", "BatchMaskWidget", "ProofreadWidget",
           "FineTuneWidget"]


class _DockWidget:
    """Base of the contributions: ``cls(napari_viewer)`` returns the built magicgui Container."""

    _builder = ""
    _module = "widgets"  # the module of em_mask._qt that defines the builder

    def __new__(cls, napari_viewer: "napari.viewer.Viewer"):  # noqa: F821 - string annotation, napari is lazy
        import importlib

        module = importlib.import_module(f"em_mask._qt.{cls._module}")
        return getattr(module, cls._builder)(napari_viewer)

    def __init__(self, napari_viewer: "napari.viewer.Viewer") -> None:  # noqa: F821
        # Never runs (``__new__`` returns another type); it exists because napari inspects ``__init__`` to decide
        # whether to pass the viewer.
        raise AssertionError("unreachable")  # pragma: no cover


class ClassicalMaskWidget(_DockWidget):
    """Classical mask of the chosen Image layer into a ``<name> mask`` Labels layer (parameters, preset, cancel)."""

    _builder = "ClassicalMaskPanel"


class UNetMaskWidget(_DockWidget):
    """U-Net mask of the chosen Image layer (through the EM Mask worker)."""

    _builder = "UNetMaskPanel"


class PostProcessWidget(_DockWidget):
    """Post-process the chosen Labels layer in place (whole, current slice or a drawn box); undoable with Ctrl-Z."""

    _builder = "PostProcessPanel"


class BatchMaskWidget(_DockWidget):
    """Mask every open Image layer into (new or updated) ``<name> mask`` Labels layers."""

    _builder = "BatchMaskPanel"


class ProofreadWidget(_DockWidget):
    """Proofread a mask: click a region to flip it, and review its least certain regions (each edit one undo)."""

    _builder = "ProofreadPanel"


class FineTuneWidget(_DockWidget):
    """Fine-tune the U-Net on the sections of a mask a proofreader corrected, then mask the image with the new model."""

    _builder = "FineTunePanel"
    _module = "finetune"
