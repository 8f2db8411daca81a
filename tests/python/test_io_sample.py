"""Reader/writer round trips and the phantom sample."""

import numpy as np
import pytest

import em_mask
from em_mask._reader import napari_get_reader
from em_mask._writer import write_labels

h5py = pytest.importorskip("h5py")


def _mask():
    m = np.zeros((6, 10, 12), np.uint8)
    m[1:5, 2:8, 3:9] = 1
    return m


@pytest.mark.parametrize("suffix", [".h5", ".hdf5"])
def test_hdf5_round_trip_keeps_data_scale_and_translate(tmp_path, suffix):
    path = str(tmp_path / f"m{suffix}")
    meta = {"name": "img mask", "scale": (40.0, 8.0, 8.0), "translate": (100.0, 0.0, -8.0)}
    assert write_labels(path, _mask(), meta) == [path]
    reader = napari_get_reader(path)
    assert reader is not None
    [(data, layer_meta, kind)] = reader(path)
    assert kind == "labels"
    np.testing.assert_array_equal(data, _mask())
    assert layer_meta["scale"] == meta["scale"]
    assert layer_meta["translate"] == meta["translate"]


def test_tiff_round_trip(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    labels = _mask().astype(np.int32) * 300  # needs uint16
    path = str(tmp_path / "m.tif")
    assert write_labels(path, labels, {"scale": (1, 1, 1)}) == [path]
    back = tifffile.imread(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, labels)


def test_writer_refuses_other_extensions(tmp_path):
    assert write_labels(str(tmp_path / "m.png"), _mask(), {}) == []


def test_reader_turns_every_dataset_into_a_layer(tmp_path):
    path = tmp_path / "cremi.h5"
    raw = (np.arange(4 * 8 * 8) % 255).astype(np.uint8).reshape(4, 8, 8)
    with h5py.File(path, "w") as f:
        f["volumes/raw"] = raw
        f["volumes/raw"].attrs["resolution"] = [40.0, 4.0, 4.0]
        f["volumes/labels/mask"] = _mask()[:4, :8, :8]
        f["volumes/scalar"] = np.float32(3)
        f["notes"] = np.array([1, 2, 3])  # 1D: not a layer
    layers = napari_get_reader(str(path))(str(path))
    by_name = {m["name"]: (d, m, k) for d, m, k in layers}
    assert set(by_name) == {"cremi/volumes/raw", "cremi/volumes/labels/mask"}
    assert by_name["cremi/volumes/raw"][2] == "image"
    assert by_name["cremi/volumes/raw"][1]["scale"] == (40.0, 4.0, 4.0)
    assert by_name["cremi/volumes/labels/mask"][2] == "labels"


def test_the_masks_record_goes_through_the_reader_and_the_writer(tmp_path):
    """emmask's text attributes (method, unsplit_sections ...) become the layer's metadata, and a proofread mask
    saved by the writer keeps them."""
    path = tmp_path / "mask.h5"
    with h5py.File(path, "w") as f:
        f["mask"] = _mask()
        f["mask"].attrs["method"] = "classical"
        f["mask"].attrs["unsplit_sections"] = "1,3-4"
        f["mask"].attrs["resolution"] = [40.0, 8.0, 8.0]
    [(data, meta, kind)] = napari_get_reader(str(path))(str(path))
    assert kind == "labels"
    assert meta["metadata"] == {"method": "classical", "unsplit_sections": "1,3-4"}

    again = str(tmp_path / "proofread.h5")
    assert write_labels(again, data, meta) == [again]
    [(_, back, _)] = napari_get_reader(again)(again)
    assert back["metadata"]["unsplit_sections"] == "1,3-4" and back["metadata"]["method"] == "classical"
    assert back["scale"] == (40.0, 8.0, 8.0)


def test_reader_returns_none_for_a_truncated_or_foreign_file(tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"\x00" * 100)
    assert napari_get_reader(str(bad)) is None


def test_phantom_is_deterministic_and_matches_the_core(dotnet_bridge):
    import System
    from EmMask.Core.Phantom import EmPhantom, PhantomOptions
    from EmMask.Core.Volumes import Shape3

    raw, truth = em_mask.phantom(5, (4, 24, 24))
    again, _ = em_mask.phantom(5, (4, 24, 24))
    np.testing.assert_array_equal(raw, again)
    options = PhantomOptions()
    options.Seed = 5  # init-only properties are settable through reflection from Python
    options.Shape = Shape3(4, 24, 24)
    direct = EmPhantom.Generate(options, getattr(System.Threading.CancellationToken, "None"))
    np.testing.assert_array_equal(raw.ravel(), np.array(list(direct.Raw.Memory.ToArray()), np.uint8))
    np.testing.assert_array_equal(truth.ravel(), np.array(list(direct.Truth.Memory.ToArray()), np.uint8))
    assert set(np.unique(truth)) <= {0, 1}


def test_phantom_rejects_bad_shapes():
    with pytest.raises(ValueError):
        em_mask.phantom(0, (0, 4, 4))
    with pytest.raises(ValueError):
        em_mask.phantom(0, (4, 4))


def test_sample_data_is_raw_image_plus_truth_labels(dotnet_bridge):
    from em_mask._sample_data import PHANTOM_SHAPE, make_em_phantom

    (raw, raw_meta, raw_kind), (truth, truth_meta, truth_kind) = make_em_phantom()
    assert (raw_kind, truth_kind) == ("image", "labels")
    assert raw.shape == truth.shape == PHANTOM_SHAPE
    assert raw.dtype == truth.dtype == np.uint8
    assert raw_meta["scale"] == truth_meta["scale"] and len(raw_meta["scale"]) == 3
    assert 0.05 < truth.mean() < 0.95


def test_mrc_opens_memory_mapped_with_its_voxel_size_in_nm(tmp_path):
    mrcfile = pytest.importorskip("mrcfile")
    volume = np.arange(3 * 10 * 12, dtype=np.int16).reshape(3, 10, 12) - 100
    path = str(tmp_path / "tomo.rec")
    with mrcfile.new(path) as m:
        m.set_data(volume)
        m.voxel_size = (8.0, 8.0, 40.0)  # x, y, z in Å
    reader = napari_get_reader(path)
    assert reader is not None
    [(data, meta, kind)] = reader(path)
    assert kind == "image" and meta["name"] == "tomo"
    assert isinstance(data, np.memmap)
    np.testing.assert_array_equal(data, volume)
    assert meta["scale"] == pytest.approx((4.0, 0.8, 0.8))


def test_mrc_mask_with_imods_unsigned_stamp_is_uint8_labels_with_its_record(tmp_path):
    mrcfile = pytest.importorskip("mrcfile")
    path = tmp_path / "cell_mask.mrc"
    with mrcfile.new(str(path)) as m:
        m.set_data(np.zeros((2, 4, 5), np.int8))
    raw = bytearray(path.read_bytes())
    raw[152:160] = np.array([1146047817, 0], "<i4").tobytes()  # IMOD: bytes unsigned, as emmask writes masks
    raw[1024] = 200
    path.write_bytes(bytes(raw))
    (tmp_path / "cell_mask.mrc.json").write_text('{"method": "classical", "element_size_um": [1, 1, 1]}')
    [(data, meta, kind)] = napari_get_reader(str(path))(str(path))
    assert kind == "labels" and data.dtype == np.uint8 and data[0, 0, 0] == 200
    assert meta["metadata"] == {"method": "classical"}
    assert "scale" not in meta  # a cell of 0: unknown


def test_reader_leaves_an_mrc_path_that_is_not_a_file_alone(tmp_path):
    assert napari_get_reader(str(tmp_path / "missing.mrc")) is None
