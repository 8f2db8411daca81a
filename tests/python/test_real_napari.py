"""The plugin in the real host: napari, magicgui and superqt, driven as a user drives them.

Each test opens a napari window, docks the plugin's panels through napari's plugin machinery (npe2), clicks their
buttons, waits for the thread workers the way the Qt event loop does, and checks the layers, the undo history, the
notifications and the panels' state.

Skips, with the reason, where napari (with magicgui, superqt and a Qt binding) is not importable or where there is
no display. To run it: put a napari >= 0.4.19 on the path and give it a display, e.g.

    EM_MASK_DOTNET_DIR=$PWD/dotnet/EmMask.Host/bin/Release/net10.0 PYTHONPATH=<napari site-packages> \\
        xvfb-run -a /usr/bin/python3 -m pytest tests/python/test_real_napari.py -v

EM_MASK_SCREENSHOTS=<folder> saves a PNG of each panel there (the README's pictures come from docs/napari).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT


def _skip_reason():
    try:
        import magicgui  # noqa: F401
        import napari  # noqa: F401
        import superqt  # noqa: F401
        from qtpy.QtWidgets import QApplication  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means: no real host here
        return f"napari, magicgui, superqt or a Qt binding is not importable ({type(exc).__name__}: {exc})"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        return "no display for Qt: run under xvfb-run (or set QT_QPA_PLATFORM)"
    return None


_REASON = _skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=str(_REASON))

PLUGIN = "napari-em-mask"
PANELS = ["Classical mask", "U-Net mask", "Post-process mask", "Batch: mask all open images", "Proofread mask",
          "Fine-tune U-Net"]


# --- driving Qt ----------------------------------------------------------------------------------------------------
def _app():
    from qtpy.QtWidgets import QApplication

    return QApplication.instance()


def _pump(seconds: float = 0.1) -> None:
    end = time.perf_counter() + seconds
    app = _app()
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(condition, timeout: float = 60.0, what: str = "condition") -> float:
    """Run the event loop until ``condition()``; return the seconds it took."""
    start = time.perf_counter()
    app = _app()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.01)
    return time.perf_counter() - start


def _click(button) -> None:
    """A real mouse click on a magicgui PushButton's Qt widget."""
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    assert button.enabled, f"'{button.text}' is disabled"
    QTest.mouseClick(button.native, Qt.LeftButton)


def _run(panel, timeout: float = 120.0) -> float:
    """Click a panel's run button and wait until it is idle again; return the seconds."""
    _click(panel._run)
    seconds = _wait(lambda: not panel.busy, timeout, f"'{panel._run.text}' to finish")
    _pump(0.05)
    return seconds


def _errors():
    from napari.utils.notifications import notification_manager

    return [str(n.message) for n in notification_manager.records if str(n.severity).lower().endswith("error")]


# --- fixtures ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plugin(dotnet_bridge):
    """The plugin registered with npe2: the installed one (pip install -e .), else the checkout's manifest."""
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    if PLUGIN not in pm._manifests:
        pm.register(npe2.PluginManifest.from_file(ROOT / "napari.yaml"))
    return pm.get_manifest(PLUGIN)


@pytest.fixture
def viewer(plugin):
    import napari

    v = napari.Viewer(show=True)
    v.window._qt_window.resize(1280, 860)
    _pump(0.2)
    yield v
    v.close()
    _pump(0.1)


@pytest.fixture
def sample(viewer):
    viewer.open_sample(PLUGIN, "em_phantom")
    return viewer.layers["EM phantom"], viewer.layers["EM phantom truth"]


def _dock(viewer, name):
    dock, panel = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    _pump(0.1)
    return dock, panel


def _shot(widget, name: str) -> None:
    """Save a PNG of ``widget`` (a panel: all of it, not only what its scroll area shows) when asked to."""
    folder = os.environ.get("EM_MASK_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    inner = widget.widget() if hasattr(widget, "widget") and callable(widget.widget) else None
    path = str(Path(folder) / f"{name}.png")
    (inner or widget).grab().save(path)
    from PIL import Image  # a napari dependency

    Image.open(path).convert("RGB").quantize(colors=96).save(path, optimize=True)  # small files for the README


# --- the tests -----------------------------------------------------------------------------------------------------
def test_every_panel_docks_with_its_full_title_and_the_window_fits(viewer, sample):
    docks = [_dock(viewer, name) for name in PANELS]
    _pump(0.3)
    for (dock, panel), name in zip(docks, PANELS):
        assert type(panel).__name__.endswith("Panel")
        assert dock.name.startswith(name)
        title = dock.title.title if hasattr(dock.title, "title") else None
        if title is not None:  # napari's title bar: the label's text fits its width (not cut to "U-N")
            assert title.fontMetrics().horizontalAdvance(title.text()) <= title.width() + 1, title.text()
        assert panel._run.enabled, panel._status.value
    window = viewer.window._qt_window
    assert window.minimumSizeHint().height() < 900, "the panels do not scroll: the window must grow to fit them"
    _shot(window, "all-panels")


def test_classical_mask_adds_a_green_mask_selected_over_the_magenta_truth(viewer, sample):
    raw, truth = sample
    _, panel = _dock(viewer, "Classical mask")
    assert panel._image.value is raw
    panel._confidence.value = True
    seconds = _run(panel)
    mask = viewer.layers["EM phantom mask"]
    assert panel._status.value.startswith("done: added 'EM phantom mask'"), panel._status.value
    assert tuple(mask.scale) == tuple(raw.scale) and tuple(mask.translate) == tuple(raw.translate)
    assert not viewer.layers["EM phantom confidence"].visible
    assert viewer.layers.selection.active is mask                      # not the hidden confidence layer
    assert not np.allclose(mask.get_color(1), truth.get_color(1))      # mask and truth differ in colour
    dice = 2 * np.sum((mask.data > 0) & (truth.data > 0)) / (np.sum(mask.data > 0) + np.sum(truth.data > 0))
    assert dice > 0.95, dice
    assert seconds < 30
    _shot(panel.native, "classical-mask")


def test_a_dask_backed_multiscale_layer_is_masked_block_by_block_into_a_lazy_labels_layer(viewer, monkeypatch):
    import dask.array as da

    import em_mask
    from em_mask._qt import widgets

    raw, truth = em_mask.phantom(seed=4, shape=(64, 192, 192))
    pyramid = [da.from_array(raw, chunks=64), da.from_array(raw[:, ::2, ::2], chunks=64)]
    layer = viewer.add_image(pyramid, multiscale=True, name="lazy EM")
    read_whole = []
    monkeypatch.setattr(widgets, "materialise", lambda *a, **k: read_whole.append(1))  # must not be called
    _, panel = _dock(viewer, "Classical mask")
    panel._image.value = layer
    _run(panel)
    assert not read_whole
    mask = viewer.layers["lazy EM mask"]
    assert panel._status.value.startswith("done: added 'lazy EM mask'"), panel._status.value
    assert not isinstance(mask.data, np.ndarray) and mask.data.shape == raw.shape   # lazy, read from the store
    expected = em_mask.mask_dask(raw, block=256).compute(scheduler="threads")
    np.testing.assert_array_equal(np.asarray(mask.data), expected)
    dice = 2 * np.sum((expected > 0) & (truth > 0)) / (np.sum(expected > 0) + np.sum(truth > 0))
    assert dice > 0.9, dice

    # One section alone: only that section is read (materialise sees a 1-section array), and since the lazy mask
    # cannot be edited in place, it goes to a one-section layer placed on that section.
    monkeypatch.undo()
    seen = []
    monkeypatch.setattr(widgets, "materialise", lambda data, **k: seen.append(data.shape) or np.asarray(data))
    viewer.dims.set_point(0, 30)
    panel._where.value = "current section"
    _run(panel)
    assert seen == [(1, 192, 192)], seen
    preview = viewer.layers["lazy EM mask z=30"]
    assert preview.data.shape == (1, 192, 192) and tuple(preview.translate)[0] == 30
    assert "not in memory" in panel._status.value, panel._status.value
    assert preview.data.any()


def test_cancel_returns_the_panel_to_idle_at_once_and_changes_nothing(viewer):
    rng = np.random.default_rng(7)
    layer = viewer.add_labels((rng.random((128, 320, 320)) > 0.5).astype(np.uint8), name="noise mask")
    before = layer.data.copy()
    _, panel = _dock(viewer, "Post-process mask")
    panel._mask.value = layer
    panel._spec.value = "open3d:3,close3d:3,open3d:3,close3d:3"   # about 6 s of work
    _click(panel._run)
    _wait(lambda: panel._progress.value > 0 or "open" in panel._status.value, 10, "the run to start")
    worker = panel._worker
    _pump(0.3)
    start = time.perf_counter()
    _click(panel._cancel)
    _wait(lambda: not panel.busy, 1.0, "the panel to be idle")
    assert time.perf_counter() - start < 1.0
    assert panel._status.value.startswith("cancelled"), panel._status.value
    assert panel._run.enabled and not panel._cancel.enabled
    _wait(lambda: not worker.is_running, 2.0, "the cancelled thread to stop")   # the core stops within a second
    np.testing.assert_array_equal(layer.data, before)
    assert not _errors()
    panel._spec.value = "fill3d"
    _run(panel)                                                       # usable again
    assert panel._status.value.startswith("done"), panel._status.value


def test_a_core_error_is_a_notification_and_the_status_not_a_frozen_panel(viewer, sample):
    _, panel = _dock(viewer, "Classical mask")
    panel._spec.value = "open2d:3,bogus:7"
    _run(panel, timeout=30)
    assert panel._status.value.startswith("failed:"), panel._status.value
    assert "bogus" in panel._status.value
    assert any("bogus" in m for m in _errors())
    assert panel._run.enabled and not panel._cancel.enabled
    assert [l.name for l in viewer.layers] == ["EM phantom", "EM phantom truth"]


def test_unet_with_a_file_that_is_not_a_model_reports_it(viewer, sample, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1")
    _, panel = _dock(viewer, "U-Net mask")
    panel.set_parameters(model=str(bad))
    _run(panel, timeout=120)
    assert panel._status.value.startswith("failed:"), panel._status.value
    assert "broken.safetensors" in panel._status.value
    assert panel._run.enabled


def test_the_phantom_only_model_is_a_choice_beside_a_file_and_runs(viewer, sample):
    import em_mask

    _, panel = _dock(viewer, "U-Net mask")
    field = next(f for f in panel._fields if f.key == "model")
    combo, file_edit = field.widgets
    assert list(combo.choices) == ["em-mask-unet-v2 (default)", "em-mask-unet-v1", "other file..."]
    assert combo.value == "em-mask-unet-v2 (default)" and not file_edit.enabled
    combo.value = "em-mask-unet-v1"                                   # as a user picks it
    assert not file_edit.enabled
    panel.set_parameters(tta=1)
    _run(panel, timeout=300)
    assert panel._status.value.startswith("done:"), panel._status.value
    assert em_mask.last_call_info()["model"].endswith("em-mask-unet-v1.safetensors")
    combo.value = "other file..."
    assert file_edit.enabled
    panel.set_parameters(model=None)                                  # a parameter file without a model: the default
    assert combo.value == "em-mask-unet-v2 (default)" and not file_edit.enabled


def test_rerun_over_an_edited_mask_is_one_undo_step(viewer, sample):
    _, panel = _dock(viewer, "Classical mask")
    _run(panel)
    mask = viewer.layers["EM phantom mask"]
    first = mask.data.copy()
    # The user paints 1000 voxels of resin as tissue (as the brush does: through data_setitem, one history item).
    resin = np.flatnonzero(first == 0)[:1000]
    mask.data_setitem(np.unravel_index(resin, first.shape), 1)
    edited = mask.data.copy()
    panel._preset.value = "tight"
    _run(panel)
    assert viewer.layers[-1] is mask and len([l for l in viewer.layers if l.name == mask.name]) == 1
    assert "updated 'EM phantom mask' in place" in panel._status.value and "Ctrl-Z" in panel._status.value
    assert int(mask.data.ravel()[resin].sum()) == 0                   # the new mask replaced the edits...
    assert viewer.layers.selection.active is mask
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, edited)                  # ...and one Ctrl-Z brings them back
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, first)


def _key_undo(viewer) -> None:
    """Ctrl-Z as a key press on the canvas (napari's Labels keybinding), on the active layer."""
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    _pump(0.1)


def test_one_section_masked_again_alone_in_place_with_either_method(viewer, sample):
    raw, _ = sample
    _, classical = _dock(viewer, "Classical mask")
    _run(classical)
    mask = viewer.layers["EM phantom mask"]
    first = mask.data.copy()
    z = 11
    viewer.dims.set_point(0, z * raw.scale[0])
    classical._where.value = "current section"
    classical.set_parameters(threshold=8.0)                              # much less tissue in that section
    _run(classical)
    assert f"section z={z}" in classical._status.value and "Ctrl-Z" in classical._status.value, classical._status.value
    changed = np.argwhere(mask.data != first)
    assert changed.size and set(changed[:, 0]) == {z}
    assert mask.data[z].sum() < first[z].sum()
    assert [l.name for l in viewer.layers].count("EM phantom mask") == 1
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, first)

    _, unet = _dock(viewer, "U-Net mask")
    unet.set_parameters(tta=1)
    unet._where.value = "current section"
    _run(unet, timeout=300)
    assert f"section z={z}" in unet._status.value, unet._status.value
    changed = np.argwhere(mask.data != first)
    assert changed.size == 0 or set(changed[:, 0]) == {z}
    assert mask.data[z].any()
    _shot(classical.native, "classical-mask-section")


def test_postprocess_the_whole_mask_a_slice_and_a_box_each_one_undo(viewer, sample):
    raw, truth = sample
    _, classical = _dock(viewer, "Classical mask")
    classical._preset.value = "none"
    _run(classical)
    mask = viewer.layers["EM phantom mask"]
    _, panel = _dock(viewer, "Post-process mask")
    assert panel._mask.value is mask                                   # not the ground truth
    original = mask.data.copy()
    panel._spec.value = "open2d:6,fill3d"
    _run(panel)
    assert "voxels changed in the whole mask" in panel._status.value, panel._status.value
    whole = mask.data.copy()
    assert not np.array_equal(whole, original)
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, original)

    z = 20
    viewer.dims.set_point(0, z * raw.scale[0])
    panel._region.value = "current slice"
    panel._spec.value = "open2d:6"
    _run(panel)
    assert f"slice z={z}" in panel._status.value, panel._status.value
    changed = np.argwhere(mask.data != original)
    assert changed.size and set(changed[:, 0]) == {z}
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, original)

    corners = np.array([[z, 40, 50], [z, 40, 150], [z, 120, 150], [z, 120, 50]]) * np.asarray(raw.scale)
    box = viewer.add_shapes([corners], shape_type="rectangle", name="box")  # drawn in world units
    _pump(0.1)
    panel._box.value = box
    panel._region.value = "drawn box (all slices)"
    viewer.layers.selection.active = mask
    _run(panel)
    changed = np.argwhere(mask.data != original)
    assert changed.size and changed[:, 1].min() >= 40 and changed[:, 1].max() < 121
    assert changed[:, 2].min() >= 50 and changed[:, 2].max() < 151 and len(set(changed[:, 0])) > 1
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, original)
    _shot(panel.native, "postprocess-mask")


def test_batch_masks_every_image_and_updates_an_existing_mask_undoably(viewer, sample):
    raw, _ = sample
    viewer.add_image(raw.data[:, :96, :128].copy(), name="crop", scale=raw.scale)
    _, panel = _dock(viewer, "Batch: mask all open images")
    _run(panel)
    assert panel._status.value.startswith("done: 2 images masked (2 new"), panel._status.value
    names = [l.name for l in viewer.layers]
    assert "EM phantom mask" in names and "crop mask" in names
    crop_mask = viewer.layers["crop mask"]
    crop_mask.data_setitem((np.array([0]), np.array([0]), np.array([0])), 1)
    edited = crop_mask.data.copy()
    _run(panel)
    assert "2 updated in place" in panel._status.value, panel._status.value
    crop_mask.undo()
    np.testing.assert_array_equal(crop_mask.data, edited)
    _shot(panel.native, "batch")


def test_unet_runs_then_cancel_keeps_the_worker_for_the_next_run(viewer, sample):
    import em_mask

    _, panel = _dock(viewer, "U-Net mask")
    panel.set_parameters(tta=1)
    panel._probability.value = True
    seconds = _run(panel, timeout=300)
    assert panel._status.value.startswith("done: added 'EM phantom mask'"), panel._status.value
    assert "EM phantom probability" in [l.name for l in viewer.layers]
    pid = em_mask.unet_worker_pid()
    assert pid
    panel.set_parameters(tta=8)  # long batches
    _click(panel._run)
    _wait(lambda: "window" in panel._status.value, 120, "the network to run")
    worker = panel._worker
    start = time.perf_counter()
    _click(panel._cancel)
    assert time.perf_counter() - start < 1.0 and not panel.busy
    assert panel._status.value.startswith("cancelled")
    _wait(lambda: not worker.is_running, 60, "the cancelled run's thread to end")
    assert em_mask.unet_worker_pid() == pid                           # not killed: no new start-up
    panel.set_parameters(tta=1)
    _run(panel, timeout=300)
    assert em_mask.last_call_info()["worker_pid"] == pid and not em_mask.last_call_info()["worker_started"]
    assert "updated 'EM phantom mask' in place" in panel._status.value
    print(f"U-Net run: {seconds:.1f} s")
    _shot(panel.native, "unet-mask")


def test_proofread_click_flip_and_the_review_list(viewer, sample):
    raw, _ = sample
    _, classical = _dock(viewer, "Classical mask")
    classical._confidence.value = True
    classical._preset.value = "none"
    _run(classical)
    mask = viewer.layers["EM phantom mask"]
    _, panel = _dock(viewer, "Proofread mask")
    assert panel._mask.value is mask and panel._map.value is viewer.layers["EM phantom confidence"]

    # Click-flip: a real mouse click on the canvas, at a hole punched into the tissue.
    z, y, x = 24, 60, 60
    hole = (slice(z - 2, z + 3), slice(y - 3, y + 4), slice(x - 3, x + 4))
    mask.data[hole] = 1
    mask.data[z - 1:z + 2, y - 1:y + 2, x - 1:x + 2] = 0
    mask.refresh()
    before = mask.data.copy()
    panel._click.value = True
    assert mask.mode == "pan_zoom"
    _click_voxel(viewer, mask, (z, y, x))
    assert "filled a hole of 27 voxels" in panel._status.value, panel._status.value
    assert mask.data[z, y, x] == 1 and int((mask.data != before).sum()) == 27
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, before)
    panel._scope.value = "slice"
    _click_voxel(viewer, mask, (z, y, x))
    assert "filled a hole of 9 voxels in slice z=24" in panel._status.value, panel._status.value
    _key_undo(viewer)
    panel._click.value = False

    # Review list: find, jump, accept, flip (one undo).
    _run(panel)
    assert panel._review, panel._status.value
    assert len(panel._regions.choices) == len(panel._review)
    first = panel._review[0]
    assert panel._current == 0 and viewer.layers[f"{mask.name} review"].nshapes == 1
    _click(panel._accept)
    assert first.state == "accepted" and panel._current == 1
    target = panel._review[1]
    before = mask.data.copy()
    _click(panel._flip)
    assert target.state == "flipped"
    flat = target.flat
    assert np.all(mask.data.ravel()[flat] == (0 if target.tissue_fraction >= 0.5 else 1))
    viewer.layers.selection.active = mask
    _key_undo(viewer)
    np.testing.assert_array_equal(mask.data, before)
    _click(panel._next)
    _pump(0.3)
    _shot(panel.native, "proofread-mask")
    _shot(viewer.window._qt_window, "proofread-window")


def test_fine_tune_from_a_proofread_section_then_mask_with_the_new_model(viewer, sample, tmp_path):
    image, truth = sample
    before = truth.data.copy()
    seen = len(_errors())
    _, panel = _dock(viewer, "Fine-tune U-Net")
    panel._image.value, panel._mask.value = image, truth        # the truth stands in for a proofread mask
    panel._sections.value = "abc"
    _run(panel)
    assert panel._status.value.startswith("failed:") and "abc" in panel._status.value
    assert list(tmp_path.iterdir()) == []
    panel._sections.value = "20, 40-41"
    panel.set_parameters(steps=3, patch=16)
    panel._out.value = str(tmp_path / "tuned.safetensors")
    _run(panel, timeout=300)
    status = panel._status.value
    assert status.startswith("done: model written to " + str(tmp_path / "tuned.safetensors")), status
    assert f" on {3 * image.data.shape[1] * image.data.shape[2]} proofread voxels" in status, status
    assert (tmp_path / "tuned.safetensors").exists()
    tuned = viewer.layers["EM phantom mask (fine-tuned)"]
    assert tuned.data.shape == image.data.shape and set(np.unique(tuned.data)) <= {0, 1}
    assert viewer.layers.selection.active is tuned
    np.testing.assert_array_equal(truth.data, before)               # the proofread mask is never overwritten
    _shot(panel.native, "fine-tune")
    assert [e for e in _errors()[seen:] if "abc" not in e] == []     # the one error was the bad section list


def test_fine_tune_on_the_sections_edited_since_the_panel_opened(viewer, sample, tmp_path):
    image, truth = sample
    _, classical = _dock(viewer, "Classical mask")
    _run(classical)
    mask = viewer.layers["EM phantom mask"]
    _, panel = _dock(viewer, "Fine-tune U-Net")
    panel._image.value, panel._mask.value = image, mask
    panel._sections.value = "edited"
    _run(panel)
    assert panel._status.value.startswith("failed:") and "No edit" in panel._status.value
    plane = mask.data.shape[1] * mask.data.shape[2]
    def flip(z, y, x):  # as the brush paints: one voxel to the other label, through the layer's history
        mask.data_setitem((np.array([z]), np.array([y]), np.array([x])), 1 - int(mask.data[z, y, x]))

    flip(5, 10, 10)
    flip(9, 3, 4)
    classical._preset.value = "tight"
    _run(classical)                                                 # a new mask is not a proofreader's edit...
    flip(7, 3, 4)                                                   # ...edits after it are
    flip(8, 3, 4)
    viewer.dims.set_point(0, 8 * image.scale[0])
    classical._where.value = "current section"
    _run(classical)                                                 # section 8 masked again alone: not proofread
    assert "section z=8" in classical._status.value, classical._status.value
    panel.set_parameters(steps=2, patch=16)
    panel._out.value = str(tmp_path / "edited.safetensors")
    panel._remask.value = False
    _run(panel, timeout=300)
    assert panel._status.value.startswith("done:"), panel._status.value
    assert f" on {plane} proofread voxels" in panel._status.value       # section 7 only (not 5, 9 or 8)


def _click_voxel(viewer, layer, voxel) -> None:
    """A real left click on the canvas over ``voxel`` of ``layer`` (2D view): centre the camera there, click."""
    from qtpy.QtCore import QPoint, Qt
    from qtpy.QtTest import QTest

    world = layer.data_to_world(voxel)
    viewer.dims.set_point(0, world[0])
    viewer.camera.center = tuple(world[-2:])
    viewer.camera.zoom = 3.0
    _pump(0.2)
    canvas = viewer.window._qt_viewer.canvas.native
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    QTest.mouseMove(canvas, centre)
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, centre)
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, centre)
    _pump(0.2)


def test_rgb_4d_and_5d_inputs_as_a_user_opens_them(viewer):
    import em_mask

    raw, _ = em_mask.phantom(2, (8, 64, 64))
    _, panel = _dock(viewer, "Classical mask")
    rgb = viewer.add_image(np.repeat(raw[4][..., None], 3, axis=-1), name="photo", rgb=True)
    panel._image.value = rgb
    _run(panel)
    assert viewer.layers["photo mask"].data.shape == (64, 64), panel._status.value
    movie = viewer.add_image(np.stack([raw, raw]), name="movie")
    panel._image.value = movie
    _run(panel)
    assert viewer.layers["movie mask"].data.shape == (2, 8, 64, 64), panel._status.value
    five = viewer.add_image(np.zeros((2, 2, 3, 8, 8), np.uint8), name="5d", rgb=False)
    panel._image.value = five
    _click(panel._run)
    _pump(0.2)
    assert not panel.busy and "5 spatial" in panel._status.value, panel._status.value
    assert any("5 spatial" in m for m in _errors())


def test_writer_and_reader_round_trip_through_the_plugin(viewer, sample, tmp_path):
    import napari

    raw, truth = sample
    truth.metadata["unsplit_sections"] = "2,5-6"  # the record emmask writes beside a mask goes along
    path = tmp_path / "mask.h5"
    written = napari.save_layers(str(path), [truth], plugin=PLUGIN)
    assert [Path(p).name for p in written] == ["mask.h5"]
    layers = viewer.open(str(path), plugin=PLUGIN)
    assert len(layers) == 1 and layers[0].__class__.__name__ == "Labels"
    np.testing.assert_array_equal(layers[0].data, truth.data)
    np.testing.assert_allclose(layers[0].scale, truth.scale)
    assert layers[0].metadata.get("unsplit_sections") == "2,5-6", layers[0].metadata


def test_an_mrc_volume_opens_through_the_plugin_and_is_masked_at_its_voxel_size(viewer, sample, tmp_path):
    mrcfile = pytest.importorskip("mrcfile")
    raw, truth = sample
    path = tmp_path / "phantom.mrc"
    with mrcfile.new(str(path)) as m:
        m.set_data(np.asarray(raw.data))
        m.voxel_size = (80.0, 80.0, 400.0)  # x, y, z in Å: 8 × 8 × 40 nm
    layers = viewer.open(str(path), plugin=PLUGIN)
    assert len(layers) == 1 and layers[0].__class__.__name__ == "Image"
    image = layers[0]
    np.testing.assert_allclose(image.scale, (40.0, 8.0, 8.0))
    np.testing.assert_array_equal(np.asarray(image.data), raw.data)
    _, panel = _dock(viewer, "Classical mask")
    panel._image.value = image
    _run(panel)
    mask = viewer.layers["phantom mask"]
    assert tuple(mask.scale) == tuple(image.scale)
    dice = 2 * np.sum((mask.data > 0) & (truth.data > 0)) / (np.sum(mask.data > 0) + np.sum(truth.data > 0))
    assert dice > 0.9, dice


def test_a_missing_build_disables_run_and_names_the_one_command(viewer, monkeypatch, tmp_path):
    from em_mask._qt import widgets

    monkeypatch.delenv("EM_MASK_DOTNET_DIR", raising=False)
    monkeypatch.setattr("em_mask._dotnet._repo_root", lambda: tmp_path)
    panel = widgets.ClassicalMaskPanel(viewer)
    assert not panel._run.enabled
    assert "dotnet build -c Release EmMaskPlugin.sln" in panel._status.value
    assert any("EmMaskPlugin.sln" in m for m in _errors())
