"""The dock widgets' logic, driven through stand-ins for napari and magicgui (fake_napari.py)."""

import numpy as np
import pytest

import fake_napari


@pytest.fixture
def gui():
    with fake_napari.installed() as env:
        from em_mask import _widget

        env.widget = _widget
        yield env


def _blobs():
    m = np.zeros((8, 16, 16), np.int32)
    m[1:7, 2:14, 2:14] = 1
    m[3:5, 6:9, 6:9] = 0
    m[0, 0, 0] = 1
    return m


def _errors(env):
    return [m for kind, m in env.notes.messages if kind == "error"]


def test_postprocess_widget_edits_in_place_and_undoes(gui, dotnet_bridge):
    import em_mask

    viewer = gui.Viewer()
    data = _blobs()
    original = data.copy()
    layer = viewer.add_labels(data, name="m", scale=(4, 1, 1))
    panel = gui.widget.PostProcessWidget(napari_viewer=viewer)
    panel._mask.value = layer
    panel._preset.value = "custom"
    panel._spec.value = "largest:1,fill3d"
    panel._run.click()
    assert _errors(gui) == []
    assert layer.data is data
    expected = em_mask.postprocess(original, "largest:1,fill3d", voxel_size=(4, 1, 1))
    np.testing.assert_array_equal(data, expected)
    assert len(layer._undo_history) == 1
    assert "Ctrl-Z" in panel._status.value
    assert panel._run.enabled and not panel._cancel.enabled
    layer.undo()
    np.testing.assert_array_equal(data, original)


def test_preset_picker_fills_the_steps_and_editing_switches_to_custom(gui):
    import em_mask

    panel = gui.widget.PostProcessWidget(napari_viewer=gui.Viewer())
    assert panel._preset.value == em_mask.DEFAULT_PRESET
    panel._preset.value = "reference"
    assert panel._spec.value == em_mask.POSTPROCESS_PRESETS["reference"]
    panel._spec.value = "fill3d"
    assert panel._preset.value == "custom"


def test_postprocess_widget_refuses_lazy_labels_and_reports_bad_specs(gui, dotnet_bridge):
    viewer = gui.Viewer()
    panel = gui.widget.PostProcessWidget(napari_viewer=viewer)
    panel._run.click()
    assert "Labels layer" in _errors(gui)[-1]
    lazy = viewer.add_labels(_blobs(), name="lazy")
    lazy.data = [lazy.data]                      # not an ndarray (like dask/zarr)
    panel._mask.value = lazy
    panel._run.click()
    assert "in-memory" in _errors(gui)[-1]
    good = viewer.add_labels(_blobs(), name="good")
    before = good.data.copy()
    panel._mask.value = good
    panel._spec.value = "largest:x"
    panel._run.click()
    assert "largest:x" in _errors(gui)[-1]
    np.testing.assert_array_equal(good.data, before)     # nothing lost on failure
    assert panel._run.enabled


def test_unet_widget_adds_mask_and_probability_layers(gui, dotnet_bridge):
    viewer = gui.Viewer()
    data = np.zeros((4, 16, 32), np.uint8)
    data[:, :, 16:] = 200
    image = viewer.add_image(data, name="img", scale=(40, 8, 8))
    panel = gui.widget.UNetMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel.set_parameters(model="builtin:threshold", envelope=False)  # a noise-free step has no texture: no envelope
    panel._probability.value = True
    panel._preset.value = "none"
    panel._run.click()
    assert _errors(gui) == []
    mask_layer = next(layer for layer in viewer.layers if layer.name == "img mask")
    np.testing.assert_array_equal(mask_layer.data, (data > 0).astype(np.uint8))
    assert tuple(mask_layer.scale) == (40, 8, 8)
    probability = next(layer for layer in viewer.layers if layer.name == "img probability")
    np.testing.assert_allclose(probability.data, data > 0, atol=1e-5)
    assert panel._run.enabled and not panel._cancel.enabled


def test_unet_model_field_offers_the_shipped_models_and_any_file(gui, dotnet_bridge, tmp_path):
    viewer = gui.Viewer()
    panel = gui.widget.UNetMaskWidget(napari_viewer=viewer)
    field = next(f for f in panel._fields if f.key == "model")
    combo, file_edit = field.widgets
    assert field.value is None                                        # the default: the core picks the shipped model
    panel.set_parameters(model="em-mask-unet-v1")
    assert combo.value == "em-mask-unet-v1" and field.value == "em-mask-unet-v1" and not file_edit.enabled
    panel.set_parameters(model="em-mask-unet-v2")                     # the default's own name is the default
    assert field.value is None
    path = str(tmp_path / "mine.safetensors")
    panel.set_parameters(model=path)
    assert combo.value == "other file..." and file_edit.enabled and field.value == path
    combo.value = "other file..."
    file_edit.value = ""
    assert field.value is None                                        # no file chosen yet: the default


def test_unet_widget_reports_a_missing_model_and_keeps_layers(gui, dotnet_bridge, tmp_path):
    viewer = gui.Viewer()
    image = viewer.add_image(np.zeros((4, 8, 8), np.uint8), name="img")
    panel = gui.widget.UNetMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel.set_parameters(model=str(tmp_path / "gone.pt"))
    panel._run.click()
    assert any("gone.pt" in m for m in _errors(gui))
    assert viewer.layers == [image]
    assert panel._run.enabled


def test_unet_parameter_file_fills_the_widget(gui, tmp_path):
    import json

    path = tmp_path / "p.json"
    path.write_text(json.dumps({"roi": 32, "overlap": 0.5, "scale": 2, "batch": 4, "skip_tiles": False,
                                "device": "cpu"}))
    panel = gui.widget.UNetMaskWidget(napari_viewer=gui.Viewer())
    panel._params_file.value = str(path)
    values = panel.parameters()
    assert (values["roi"], values["overlap"], values["scale"], values["batch"]) == (32, 0.5, 2, 4)
    assert values["skip_tiles"] is False and values["device"] == "cpu" and values["tta"] == 4


def test_unet_panel_is_built_from_the_core_schema(gui):
    import em_mask

    panel = gui.widget.UNetMaskWidget(napari_viewer=gui.Viewer())
    schema = em_mask.unet_schema()
    assert list(panel.parameters()) == [e["key"] for e in schema]
    assert panel.parameters() == {e["key"]: e["default"] for e in schema}


def test_image_widgets_refuse_five_dimensional_layers(gui):
    viewer = gui.Viewer()
    image = viewer.add_image(np.zeros((2, 2, 3, 4, 4), np.uint8), name="5d")
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel._run.click()
    assert "5 spatial" in _errors(gui)[-1]
    assert not gui.workers                       # refused before any thread started


def test_classical_panel_is_built_from_the_core_schema(gui):
    import em_mask

    panel = gui.widget.ClassicalMaskWidget(napari_viewer=gui.Viewer())
    schema = em_mask.classical_schema()
    assert list(panel.parameters()) == [e["key"] for e in schema]
    assert panel.parameters() == {e["key"]: e["default"] for e in schema}


def test_parameter_file_fills_the_classical_widget(gui, tmp_path):
    import json

    path = tmp_path / "p.json"
    path.write_text(json.dumps({"block_size": 5, "texture_sigma": 2.5, "threshold": 3.0, "postprocess": "tight"}))
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=gui.Viewer())
    panel._params_file.value = str(path)
    values = panel.parameters()
    assert values["block_size"] == 5 and values["texture_sigma"] == 2.5 and values["threshold"] == 3.0
    assert values["mode"] == "auto" and values["level"] == "auto" and values["refine_boundary"] is True
    assert panel._preset.value == "tight"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"blok_size": 5}))
    panel._params_file.value = str(bad)
    assert "blok_size" in _errors(gui)[-1]
    assert panel.parameters()["block_size"] == 5


@pytest.fixture(scope="module")
def phantom_raw(dotnet_bridge):
    import em_mask

    raw, _ = em_mask.phantom(2, (8, 48, 48))
    return raw


def test_classical_widget_adds_then_updates_a_mask_layer_with_the_image_geometry(gui, phantom_raw):
    import em_mask

    viewer = gui.Viewer()
    image = viewer.add_image(phantom_raw, name="em", scale=(40, 8, 8), translate=(5, 0, -3))
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel._preset.value = "none"
    panel._confidence.value = True
    panel._run.click()
    assert _errors(gui) == []
    mask_layer = next(l for l in viewer.layers if l.name == "em mask")
    assert mask_layer.scale == (40.0, 8.0, 8.0) and mask_layer.translate == (5.0, 0.0, -3.0)
    expected, _ = em_mask.classical_mask(phantom_raw, voxel_size=(40, 8, 8))
    np.testing.assert_array_equal(mask_layer.data, expected)
    assert any(l.name == "em confidence" for l in viewer.layers)
    assert panel._progress.value == 1000
    panel._preset.value = "clean"
    panel._run.click()
    masks = [l for l in viewer.layers if l.name == "em mask"]
    assert len(masks) == 1 and masks[0] is mask_layer           # updated, not duplicated
    np.testing.assert_array_equal(mask_layer.data, em_mask.postprocess(expected, "clean", voxel_size=(40, 8, 8)))
    assert image in viewer.layers


def test_classical_widget_converts_rgb_with_a_note(gui, phantom_raw):
    viewer = gui.Viewer()
    rgb = np.repeat(phantom_raw[4][..., None], 3, axis=-1)
    image = viewer.add_image(rgb, name="photo", rgb=True)
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel._run.click()
    assert _errors(gui) == []
    assert any("RGB" in m for kind, m in gui.notes.messages if kind == "info")
    mask = next(l for l in viewer.layers if l.name == "photo mask")
    assert mask.data.shape == rgb.shape[:2]


def test_batch_masks_every_image_and_skips_its_own_outputs(gui, phantom_raw):
    viewer = gui.Viewer()
    a = viewer.add_image(phantom_raw, name="a", scale=(2, 1, 1))
    b = viewer.add_image(phantom_raw[:, :32, :40].copy(), name="b")
    viewer.add_labels(np.zeros_like(phantom_raw), name="a mask")  # existing mask of the same shape: updated
    conf = viewer.add_image(np.zeros((2, 4, 4), np.float32), name="a confidence")
    conf.metadata["em_mask_role"] = "confidence"
    panel = gui.widget.BatchMaskWidget(napari_viewer=viewer)
    panel._run.click()
    assert _errors(gui) == []
    names = [l.name for l in viewer.layers]
    assert names.count("a mask") == 1 and names.count("b mask") == 1
    assert "a confidence mask" not in names
    a_mask = next(l for l in viewer.layers if l.name == "a mask")
    assert a_mask.data.any() and a_mask.scale == (2.0, 1.0, 1.0)
    assert next(l for l in viewer.layers if l.name == "b mask").data.shape == b.data.shape
    assert "2 images" in panel._status.value


def test_panels_keep_clear_of_magicguis_own_attributes(gui):
    """magicgui's Container.__init__ overwrites _labels, _layout, ... (the stand-in does too): no panel may use them."""
    import ast
    from pathlib import Path

    from em_mask._qt import widgets

    source = Path(widgets.__file__).read_text()
    assigned = {node.attr for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name) and node.value.id == "self"}
    assert not assigned & widgets._MAGICGUI_RESERVED
    panel = gui.widget.PostProcessWidget(napari_viewer=gui.Viewer())
    assert panel._labels is True                # the stand-in clobbers as magicgui does...
    assert panel._mask.annotation is not None   # ...and the picker lives elsewhere


def test_a_core_error_in_a_job_reaches_the_user_under_superqts_rules(gui, phantom_raw):
    """superqt drops a RuntimeError raised in a worker (no errored, no finished); EmMaskError is one."""
    viewer = gui.Viewer()
    image = viewer.add_image(phantom_raw, name="em")
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel._spec.value = "open2d:3,bogus:7"
    panel._run.click()
    assert any("bogus" in m for m in _errors(gui))
    assert panel._status.value.startswith("failed:") and "bogus" in panel._status.value
    assert panel._run.enabled and not panel._cancel.enabled and not panel.busy
    assert viewer.layers == [image]


def test_rerun_over_an_edited_mask_is_one_undo_step_in_the_stand_in(gui, phantom_raw):
    viewer = gui.Viewer()
    image = viewer.add_image(phantom_raw, name="em")
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel._run.click()
    mask = next(l for l in viewer.layers if l.name == "em mask")
    assert viewer.layers.selection.active is mask
    resin = np.flatnonzero(mask.data == 0)[:100]
    mask.data_setitem(np.unravel_index(resin, mask.data.shape), 1)
    edited = mask.data.copy()
    panel._run.click()
    assert "updated 'em mask' in place" in panel._status.value
    assert mask.data.ravel()[resin].sum() == 0
    mask.undo()
    np.testing.assert_array_equal(mask.data, edited)


def test_an_empty_mask_comes_with_a_hint(gui):
    viewer = gui.Viewer()
    image = viewer.add_image(np.full((4, 32, 32), 7, np.uint8), name="flat")
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = image
    panel._run.click()
    assert "0 tissue voxels" in panel._status.value and "threshold" in panel._status.value
    assert any("0 tissue voxels" in m for kind, m in gui.notes.messages if kind == "warning")


def test_postprocess_only_in_the_current_slice(gui, dotnet_bridge):
    viewer = gui.Viewer()
    data = _blobs()
    original = data.copy()
    layer = viewer.add_labels(data, name="m mask")
    panel = gui.widget.PostProcessWidget(napari_viewer=viewer)
    panel._mask.value = layer
    panel._spec.value = "fill2d"
    panel._region.value = "current slice"
    viewer.dims.set_point(0, 3)
    panel._run.click()
    assert "slice z=3" in panel._status.value, panel._status.value
    changed = np.argwhere(data != original)
    assert changed.size and set(changed[:, 0]) == {3}
    layer.undo()
    np.testing.assert_array_equal(data, original)


def test_proofread_flip_and_review_in_the_stand_in(gui, dotnet_bridge):
    viewer = gui.Viewer()
    data = _blobs().astype(np.uint8)
    original = data.copy()
    layer = viewer.add_labels(data, name="m mask")
    confidence = np.where(data > 0, 0.9, 0.1).astype(np.float32)
    confidence[1:7, 2:8, 2:8] = 0.3                          # the map doubts a corner of the tissue
    conf_layer = viewer.add_image(confidence, name="m confidence")
    conf_layer.metadata["em_mask_role"] = "confidence"
    panel = gui.widget.ProofreadWidget(napari_viewer=viewer)
    panel._mask.value, panel._map.value = layer, conf_layer
    status = panel.flip_at_world(layer, (4, 7, 7))             # the enclosed cavity
    assert status.startswith("filled a hole of 18 voxels")
    layer.undo()
    np.testing.assert_array_equal(data, original)
    panel._run.click()
    assert panel._review and panel._current == 0, panel._status.value
    assert len(panel._regions.choices) == len(panel._review)
    region = panel._review[0]
    panel._flip.click()
    assert region.state == "flipped" and not data.ravel()[region.flat].any()
    layer.undo()
    np.testing.assert_array_equal(data, original)


def _classical_panel(gui, data, **image):
    """A viewer holding ``data`` as an Image layer (``image``: its name and add_image keywords) and a Classical mask
    panel set on it."""
    viewer = gui.Viewer()
    layer = viewer.add_image(data, **image)
    panel = gui.widget.ClassicalMaskWidget(napari_viewer=viewer)
    panel._image.value = layer
    return viewer, layer, panel


def test_current_section_is_masked_alone_into_its_section_as_one_undo_step(gui, phantom_raw):
    import em_mask

    viewer, _, panel = _classical_panel(gui, phantom_raw, name="em", scale=(40, 8, 8))
    panel._preset.value = "clean"
    panel._run.click()
    mask = next(l for l in viewer.layers if l.name == "em mask")
    mask.data_setitem((np.array([2, 5]), np.array([0, 0]), np.array([0, 0])), np.array([1, 1], np.uint8))
    edited = mask.data.copy()
    panel._where.value = "current section"
    panel._preset.value = "none"
    viewer.dims.set_point(0, 5 * 40)
    panel._run.click()
    assert _errors(gui) == []
    assert "section z=5" in panel._status.value and "Ctrl-Z" in panel._status.value, panel._status.value
    alone, _ = em_mask.classical_mask(phantom_raw[5:6], voxel_size=(40, 8, 8))
    np.testing.assert_array_equal(mask.data[5:6], alone)
    others = np.arange(phantom_raw.shape[0]) != 5
    np.testing.assert_array_equal(mask.data[others], edited[others])  # the hand edit in section 2 stays
    assert not (mask.data[5] == edited[5]).all()                     # the hand edit in section 5 is recomputed
    assert [l.name for l in viewer.layers].count("em mask") == 1
    mask.undo()
    np.testing.assert_array_equal(mask.data, edited)


def test_current_section_without_a_mask_layer_goes_to_a_one_section_layer_on_it(gui, phantom_raw):
    viewer, _, panel = _classical_panel(gui, phantom_raw, name="em", scale=(40, 8, 8), translate=(5, 0, -3))
    panel._where.value = "current section"
    viewer.dims.set_point(0, 5 + 3 * 40)
    panel._run.click()
    assert _errors(gui) == []
    assert not any(l.name == "em mask" for l in viewer.layers)
    preview = next(l for l in viewer.layers if l.name == "em mask z=3")
    assert preview.data.shape == (1,) + phantom_raw.shape[1:]
    assert preview.translate == (5.0 + 3 * 40, 0.0, -3.0) and preview.scale == (40.0, 8.0, 8.0)
    assert preview.data.any()


def test_current_section_needs_a_3d_image(gui, phantom_raw):
    viewer, image, panel = _classical_panel(gui, phantom_raw[4], name="flat")
    panel._where.value = "current section"
    panel._run.click()
    assert "needs a 3D image" in _errors(gui)[-1]
    assert panel._run.enabled and list(viewer.layers) == [image]


def test_current_section_of_an_rgb_stack(gui, phantom_raw):
    import em_mask

    rgb = np.repeat(phantom_raw[..., None], 3, axis=-1)
    viewer, _, panel = _classical_panel(gui, rgb, name="colour", rgb=True)
    panel._where.value = "current section"
    panel._preset.value = "none"
    viewer.dims.set_point(0, 2)
    panel._run.click()
    assert _errors(gui) == []
    preview = next(l for l in viewer.layers if l.name == "colour mask z=2")
    alone, _ = em_mask.classical_mask(phantom_raw[2:3])
    np.testing.assert_array_equal(preview.data, alone)


def test_the_cores_notes_reach_the_user_and_name_the_sections_that_did_not_split(gui, phantom_raw):
    stack = phantom_raw.copy()
    stack[3] = np.random.default_rng(3).integers(90, 110, stack.shape[1:], dtype=np.uint8)  # noise: no split
    _, _, panel = _classical_panel(gui, stack, name="em", scale=(40, 8, 8))
    panel._run.click()
    infos = [m for kind, m in gui.notes.messages if kind == "info"]
    assert any(m.startswith("EM Mask: classical: mode 2d") for m in infos), infos
    import re

    named = [re.search(r"\(z = ([0-9, ]+)\) the texture did not split", m) for m in infos]
    listed = [int(z) for found in named if found for z in found.group(1).split(",")]
    assert 3 in listed, infos                                         # the noise section is named


def test_batch_names_the_images_with_sections_that_did_not_split(gui, phantom_raw):
    viewer = gui.Viewer()
    stack = phantom_raw.copy()
    stack[3] = np.random.default_rng(3).integers(90, 110, stack.shape[1:], dtype=np.uint8)  # noise: no split
    viewer.add_image(stack, name="em", scale=(40, 8, 8))
    panel = gui.widget.BatchMaskWidget(napari_viewer=viewer)
    panel._run.click()
    assert _errors(gui) == []
    import re

    found = re.search(r"did not split in some sections of 'em' \(z = ([0-9, ]+)\)", panel._status.value)
    assert found and 3 in [int(z) for z in found.group(1).split(",")], panel._status.value
