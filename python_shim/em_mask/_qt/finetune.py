"""The Fine-tune panel: teach the U-Net the sections a proofreader corrected, then mask with the new model.

A proofreader fixes a few sections of ``<image> mask`` (Proofread / Post-process panels, or the brush), names them
here, and fine-tunes: :func:`em_mask.finetune_unet` trains in the worker process on those sections only and writes a
model file; the panel then masks the image with it into ``<image> mask (fine-tuned)``, so the corrected mask is never
overwritten and both can be compared. The parameter widgets come from the core's schema (:func:`finetune_schema`).
"""

from __future__ import annotations

import os
import re

import napari.layers
import numpy as np
from magicgui.widgets import CheckBox, FileEdit, LineEdit, create_widget
from napari.utils.notifications import show_info

from .. import _api
from .._dotnet import core_problem
from .._jobs import staged_progress as _staged
from .._layers import (
    LayerInputError,
    apply_undoable,
    check_layer_input,
    mask_layer_kwargs,
    materialise,
    voxel_size_from_scale,
)
from .._params import finetune_schema
from .._proofread import parse_sections
from .widgets import (
    MASK_COLOUR,
    REMASKING,
    _colour_labels,
    _current_slice,
    _find_layer,
    _prefer_mask,
    _prefer_source_image,
    _PreferredLayer,
    _RunPanel,
    _SchemaField,
    _select,
    _spatial_ndim,
)

#: Suffix of the layer the new model's mask goes to.
FINE_TUNED = " (fine-tuned)"

#: Where a model goes when no file is given (created on first use).
DEFAULT_FOLDER = os.path.join(os.path.expanduser("~"), ".em_mask", "models")


class EditedSections:
    """The sections of a Labels layer edited while it is watched: every paint event (the brush, fill, the Proofread
    panel's flips, post-processing) adds the sections it touched; a new mask written by the Classical, U-Net or Batch
    panel starts the record afresh, and one section masked again leaves it (those were recomputed, not proofread)."""

    def __init__(self) -> None:
        self.layer = None
        self.sections: set = set()

    def watch(self, layer) -> None:
        if layer is self.layer:
            return
        if self.layer is not None:
            try:
                self.layer.events.paint.disconnect(self._on_paint)
            except Exception:  # noqa: BLE001 - the old layer may be gone
                pass
        self.layer, self.sections = layer, set()
        if layer is not None and hasattr(layer.events, "paint"):
            layer.events.paint.connect(self._on_paint)

    def _on_paint(self, event) -> None:
        layer = self.layer
        if layer is None or layer.data.ndim != 3:
            return
        remasked = layer.metadata.get(REMASKING)
        if remasked is True:
            self.sections.clear()
            return
        if remasked is not None:  # one section masked again (the mask panels' "current section")
            self.sections.discard(int(remasked))
            return
        for atom in event.value:
            self.sections.update(int(z) for z in np.unique(np.asarray(atom[0][0])))


class FineTunePanel(_RunPanel):
    """Fine-tune the U-Net on proofread sections of a mask, and mask the image with the new model."""

    def __init__(self, viewer) -> None:
        self._image = create_widget(annotation=napari.layers.Image, label="image")
        self._mask = create_widget(annotation=napari.layers.Labels, label="proofread mask")
        self._preferred = [_PreferredLayer(self._image, _prefer_source_image), _PreferredLayer(self._mask, _prefer_mask)]
        self._sections = LineEdit(value="current", label="proofread sections",
                                  tooltip="The sections you corrected: 'current' (the viewer's slice), 'edited' (those "
                                          "you changed in the mask since this panel was opened), 'all', or numbers "
                                          "and ranges such as '3, 5-7'. Only these sections are learnt from.")
        self._edited = EditedSections()
        self._mask.changed.connect(self._edited.watch)
        schema = finetune_schema() if core_problem(worker=True) is None else []
        self._fields = [_SchemaField(e) for e in schema]
        self._out = FileEdit(mode="w", filter="*.safetensors", label="save model as",
                             tooltip=f"The fine-tuned model file; empty: {DEFAULT_FOLDER}/<image>-fine-tuned.safetensors")
        self._remask = CheckBox(value=True, text="then mask the image with it",
                                tooltip=f"Adds (or updates) '<image> mask{FINE_TUNED}'; your corrected mask is left as it is")
        params = [w for f in self._fields for w in f.widgets]
        super().__init__(viewer, [self._image, self._mask, self._sections, *params, self._out, self._remask],
                         "Fine-tune", needs_worker=True)
        self._edited.watch(self._mask.value)

    def parameters(self) -> dict:
        """The panel's parameter values, by key (the options' JSON form)."""
        return {f.key: f.value for f in self._fields}

    def set_parameters(self, **values) -> None:
        """Sets parameter widgets by key (``panel.set_parameters(steps=50)``)."""
        fields = {f.key: f for f in self._fields}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise KeyError(f"unknown parameter(s) {unknown}; known: {sorted(fields)}")
        for key, value in values.items():
            fields[key].set(value)

    def _prepare(self):
        image, mask = self._image.value, self._mask.value
        if image is None or mask is None:
            raise LayerInputError("Choose the Image layer and the Labels layer you proofread.")
        if getattr(image, "rgb", False) or getattr(image, "multiscale", False):
            raise LayerInputError("Fine-tuning takes a single-scale grey image.")
        if tuple(mask.data.shape) != tuple(image.data.shape):
            raise LayerInputError(f"'{mask.name}' has shape {tuple(mask.data.shape)}, '{image.name}' "
                                  f"{tuple(image.data.shape)}: choose the mask of that image.")
        ndim = _spatial_ndim(image)
        if ndim not in (2, 3) or image.data.ndim != ndim:
            raise LayerInputError("Fine-tuning takes a 2D or 3D grey image.")
        for note in check_layer_input(image.data, name=image.name):  # refuses what does not fit in memory
            show_info(f"EM Mask: {note}")
        sections = None
        if ndim == 3 and self._sections.value.strip().lower() == "edited":
            self._edited.watch(mask)
            sections = sorted(self._edited.sections)
            if not sections:
                raise LayerInputError(f"No edit of '{mask.name}' was seen since this panel was opened: name the "
                                      "sections you corrected (e.g. '3, 5-7').")
        elif ndim == 3:
            sections = parse_sections(self._sections.value, image.data.shape[0], _current_slice(self._viewer, image))
        out = str(self._out.value)
        if out in ("", "."):
            os.makedirs(DEFAULT_FOLDER, exist_ok=True)
            out = os.path.join(DEFAULT_FOLDER, f"{re.sub(r'[^A-Za-z0-9._-]+', '_', image.name)}-fine-tuned.safetensors")
        params = self.parameters()
        model = params.pop("model", None)
        voxel_size = voxel_size_from_scale(image.scale, ndim)
        meta = (image.name, tuple(image.scale), tuple(image.translate))
        return _finetune_job, (image.data, mask.data, sections, out, model, params, voxel_size, self._remask.value, meta)

    def _on_result(self, result) -> str:
        path, remasked, name, scale, translate, note = result
        status = f"done: model written to {path}"
        if remasked is not None:
            layer_name = f"{name} mask{FINE_TUNED}"
            existing = _find_layer(self._viewer, layer_name, napari.layers.Labels)
            if existing is not None and tuple(existing.data.shape) == tuple(remasked.shape):
                apply_undoable(existing, existing.data, remasked)  # one Ctrl-Z brings the previous run's mask back
                layer = existing
            else:
                kwargs = mask_layer_kwargs(name, scale, translate)
                kwargs["name"] = layer_name
                layer = self._viewer.add_labels(remasked, **kwargs)
                _colour_labels(layer, MASK_COLOUR)
            _select(self._viewer, layer)
            status += f"; masked into '{layer_name}'"
        note = f" {note.rstrip('.')}." if note else ""
        return f"{status}.{note} Use the model in the U-Net panel ('other file...') or em_mask.unet_mask(model=...)."


def _finetune_job(image_data, mask_data, sections, out, model, params, voxel_size, remask, meta, token):
    name, scale, translate = meta
    yield {"stage": "reading image", "fraction": 0.0}
    image = materialise(image_data, rgb=False, multiscale=False)
    mask = materialise(mask_data, rgb=False, multiscale=False)
    span = 0.85 if remask else 1.0
    path = yield from _staged(_api.finetune_unet, 0.0, span, image, mask, out, sections=sections, model=model,
                              voxel_size=voxel_size, cancel=token, **params)
    notes = _api.last_call_info().get("notes", [])
    remasked = None
    if remask:
        remasked, _ = yield from _staged(_api.unet_mask, span, 1.0 - span, image, path, voxel_size=voxel_size,
                                         cancel=token)
    return path, remasked, name, scale, translate, " ".join(notes)
