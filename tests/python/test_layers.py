"""The napari-free logic behind the widgets: input checks (RGB, 4D, dtype, dask, size), materialising,
names and scales, and the undoable in-place edit (against a Labels stand-in with napari 0.4.19's history code)."""

import warnings
from collections import deque

import numpy as np
import pytest

import em_mask
from em_mask._arrays import as_core_image, as_core_mask, rgb_to_grey, voxel_size_tuple
from em_mask._layers import (
    LayerInputError,
    apply_undoable,
    check_layer_input,
    mask_layer_kwargs,
    materialise,
    undo_atom,
    voxel_size_from_scale,
)


class LabelsStandIn:
    """napari 0.4.19 Labels' data_setitem / _save_history / undo / redo, minus rendering."""

    def __init__(self, data):
        self.data = data
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

    def _load_history(self, before, after, undoing):
        item = before.pop()
        after.append(list(reversed(item)))
        for indices, old, new in reversed(item):
            self.data[indices] = old if undoing else new

    def undo(self):
        self._load_history(self._undo_history, self._redo_history, True)

    def redo(self):
        self._load_history(self._redo_history, self._undo_history, False)


def test_in_place_edit_is_one_undo_step(dotnet_bridge):
    original = np.zeros((8, 16, 16), np.int32)
    original[1:7, 2:14, 2:14] = 1
    original[3:5, 6:9, 6:9] = 0          # a cavity
    original[0, 0, 0] = 1                # debris
    data = original.copy()
    layer = LabelsStandIn(data)
    snapshot = data.copy()
    new = em_mask.postprocess(snapshot, "largest:1,fill3d")
    changed = apply_undoable(layer, snapshot, new)
    assert layer.data is data                       # same array, edited in place
    assert changed == int((original != new).sum()) > 0
    np.testing.assert_array_equal(data, new)
    assert len(layer._undo_history) == 1
    layer.undo()
    np.testing.assert_array_equal(data, original)
    layer.redo()
    np.testing.assert_array_equal(data, new)


def test_in_place_edit_keeps_edits_made_meanwhile():
    snapshot = np.zeros((4, 4), np.uint8)
    new = snapshot.copy()
    new[0, 0] = 1
    data = snapshot.copy()
    data[3, 3] = 5                                   # the user painted while we computed
    layer = LabelsStandIn(data)
    assert apply_undoable(layer, snapshot, new) == 1
    assert data[0, 0] == 1 and data[3, 3] == 5


def test_no_change_writes_no_history():
    data = np.ones((3, 3), np.uint8)
    layer = LabelsStandIn(data)
    assert apply_undoable(layer, data.copy(), data.copy()) == 0
    assert not layer._undo_history


def test_undo_atom_format():
    old = np.array([[0, 1], [1, 0]])
    new = np.array([[1, 1], [0, 0]])
    indices, values = undo_atom(old, new)
    assert [list(i) for i in indices] == [[0, 1], [0, 0]]
    assert list(values) == [1, 0]


def test_rgb_is_converted_to_grey_with_a_note():
    rgb = np.zeros((2, 4, 5, 3), np.uint8)
    rgb[..., 0] = 100
    notes = check_layer_input(rgb, rgb=True, name="photo")
    assert any("RGB" in n for n in notes)
    grey = materialise(rgb, rgb=True)
    assert grey.shape == (2, 4, 5) and grey.dtype == np.float32
    np.testing.assert_allclose(grey, 29.9, rtol=1e-5)
    np.testing.assert_allclose(rgb_to_grey(np.full((1, 1, 4), 255, np.uint8)), 255, rtol=1e-5)


def test_float64_is_converted_with_a_note_and_a_warning():
    img = np.random.default_rng(0).random((3, 4, 5))
    assert any("float64" in n for n in check_layer_input(img, name="f"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = materialise(img)                       # the widget already showed the note: no warning
    assert out.dtype == np.float32
    with pytest.warns(em_mask.DtypeConversionWarning, match="float64"):
        as_core_image(img)


def test_supported_dtypes_pass_without_copy():
    for dtype in (np.uint8, np.uint16, np.float32):
        a = np.zeros((2, 3, 4), dtype)
        assert as_core_image(a) is a
        assert materialise(a) is a
    b = np.zeros((2, 3), bool)
    assert as_core_image(b).base is b
    m, shared = as_core_mask(b)
    assert shared and m.dtype == np.uint8


def test_big_endian_and_unsupported_kinds():
    with pytest.warns(em_mask.DtypeConversionWarning, match="big-endian"):
        out = as_core_image(np.zeros((2, 2), ">u2"))
    assert out.dtype == np.dtype("=u2")
    with pytest.raises(ValueError, match="numeric"):
        as_core_image(np.zeros((2, 2), complex))
    with pytest.raises(ValueError, match="empty"):
        as_core_image(np.zeros((0, 2), np.uint8))


def test_time_series_is_accepted_and_five_dimensions_refused():
    assert check_layer_input(np.zeros((3, 2, 4, 4), np.uint8), name="t") == []
    with pytest.raises(LayerInputError, match="5 spatial"):
        check_layer_input(np.zeros((2, 3, 2, 4, 4), np.uint8), name="c")


def test_lazy_data_is_size_checked_and_computed():
    da = pytest.importorskip("dask.array")
    lazy = da.ones((4, 8, 8), dtype=np.uint16, chunks=(1, 8, 8))
    notes = check_layer_input(lazy, name="lazy")
    assert any("lazily loaded" in n for n in notes)
    arr = materialise(lazy)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.uint16 and arr.sum() == 4 * 64
    huge = da.zeros((4096, 4096, 4096), dtype=np.uint8, chunks=(64, 512, 512))
    with pytest.raises(LayerInputError, match="voxels per volume"):
        check_layer_input(huge, name="huge")
    with pytest.raises(LayerInputError, match="GiB"):
        check_layer_input(da.zeros((64, 1024, 1024), dtype=np.uint8, chunks=64), name="big", available_bytes=2**20)


def test_multiscale_uses_the_full_resolution_level():
    levels = [np.ones((4, 8, 8), np.uint8), np.ones((2, 4, 4), np.uint8)]
    assert any("multiscale" in n for n in check_layer_input(levels, multiscale=True, name="pyr"))
    assert materialise(levels, multiscale=True).shape == (4, 8, 8)


def test_scales_and_names_for_the_mask_layer():
    assert voxel_size_from_scale((1.0, 40.0, 4.0, 4.0), 4) == (40.0, 4.0, 4.0)
    assert voxel_size_from_scale((4.0, 4.0), 2) == (4.0, 4.0)
    kw = mask_layer_kwargs("stack", (40, 4, 4), (10, 0, 0))
    assert kw["name"] == "stack mask" and kw["scale"] == (40.0, 4.0, 4.0) and kw["translate"] == (10.0, 0.0, 0.0)
    assert voxel_size_tuple(None, 3) == (1.0, 1.0, 1.0)
    assert voxel_size_tuple((2, 3), 2) == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError):
        voxel_size_tuple((0, 1, 1), 3)
