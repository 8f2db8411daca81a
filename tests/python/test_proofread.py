"""Proofreading logic without napari: click-flip, slice/box regions and the review ranking, on tiny volumes."""

import numpy as np
import pytest

from em_mask._proofread import FlipRefused, box_slices, flip_at, parse_sections, region_edit, review_regions


def _body():
    m = np.zeros((6, 20, 20), np.uint8)
    m[1:5, 2:18, 2:18] = 1          # the tissue
    m[2:4, 8:11, 8:11] = 0          # a hole (3D: 2 x 3 x 3 = 18 voxels)
    m[0, 0:2, 0:2] = 1              # a false island (4 voxels)
    return m


def _apply(mask, edit):
    out = mask.copy()
    out[edit[0]] = edit[1]
    return out


def test_click_on_an_island_removes_it_and_only_it():
    m = _body()
    indices, values, what = flip_at(m, (0, 1, 1))
    assert "removed a tissue region of 4 voxels" == what
    out = _apply(m, (indices, values))
    assert out[0].sum() == 0 and np.array_equal(out[1:], m[1:])


def test_click_in_a_hole_fills_it_in_3d_or_in_the_slice():
    m = _body()
    indices, values, what = flip_at(m, (2.4, 9.2, 8.6))     # rounded to the nearest voxel
    assert what == "filled a hole of 18 voxels"
    assert _apply(m, (indices, values))[1:5, 2:18, 2:18].all()
    indices, values, what = flip_at(m, (3, 9, 9), scope="slice")
    assert what == "filled a hole of 9 voxels in slice z=3"
    out = _apply(m, (indices, values))
    assert out[3, 8:11, 8:11].all() and not out[2, 8:11, 8:11].any()


def test_clicks_on_the_outside_or_off_the_volume_are_refused():
    m = _body()
    with pytest.raises(FlipRefused, match="outer background"):
        flip_at(m, (2, 0, 10))
    with pytest.raises(FlipRefused, match="outside the mask"):
        flip_at(m, (2, 25, 1))
    with pytest.raises(ValueError, match="scope"):
        flip_at(m, (2, 9, 9), scope="4D")


def test_two_dimensional_masks_flip_too():
    m = _body()[2]
    indices, values, what = flip_at(m, (9, 9))
    assert what == "filled a hole of 9 voxels" and len(indices) == 2


def test_box_slices_clip_and_take_one_slice_or_all():
    corners = np.array([[3, -4.2, 5.0], [3, 7.4, 30.0]])
    assert box_slices((6, 20, 20), corners) == (slice(0, 6), slice(0, 8), slice(5, 20))
    assert box_slices((6, 20, 20), corners, z=3) == (slice(3, 4), slice(0, 8), slice(5, 20))
    with pytest.raises(ValueError, match="outside"):
        box_slices((6, 20, 20), np.array([[0, 30, 30], [0, 40, 40]]))


def test_region_edit_returns_whole_volume_indices():
    region = (slice(2, 3), slice(4, 8), slice(5, 9))
    before = np.zeros((1, 4, 4), np.uint8)
    after = before.copy()
    after[0, 1, 2] = 1
    indices, values = region_edit(region, before, after)
    assert [int(i[0]) for i in indices] == [2, 5, 7] and values.tolist() == [1]


def test_review_ranks_a_thick_disagreement_first_and_ignores_a_sharp_boundary():
    mask = np.zeros((16, 48, 48), np.uint8)
    mask[:, :, :24] = 1
    confidence = mask.astype(np.float32)                      # sure everywhere: nothing to review
    assert review_regions(mask, confidence) == []
    confidence[4:10, 10:20, 4:12] = 0.2                       # the map says non-tissue inside the mask: 480 voxels
    confidence[2:5, 36:40, 36:40] = 0.55                       # a weaker, smaller doubt outside it (48 voxels)
    regions = review_regions(mask, confidence)
    assert [r.rank for r in regions] == [1, 2]
    first, second = regions
    assert first.size == 480 and first.tissue_fraction == 1.0 and abs(first.certainty - 0.2) < 1e-6
    assert first.bbox == (slice(4, 10), slice(10, 20), slice(4, 12))
    assert second.tissue_fraction == 0.0 and first.doubt > second.doubt
    indices, values = first.flip_edit(mask)
    assert values.tolist() == [0] * 480 and not _apply(mask, (indices, values))[4:10, 10:20, 4:12].any()
    assert "certainty 0.20" in first.describe()


def test_review_cuts_long_regions_into_tiles_and_checks_its_input():
    mask = np.ones((4, 8, 100), np.uint8)
    confidence = np.full(mask.shape, 0.3, np.float32)
    regions = review_regions(mask, confidence, tile=32, min_size=1)
    assert len(regions) == 4 and sum(r.size for r in regions) == mask.size
    with pytest.raises(ValueError, match="differ in shape"):
        review_regions(mask, confidence[:2])
    with pytest.raises(ValueError, match="below"):
        review_regions(mask, confidence, below=0.4)


def test_the_proofread_sections_a_user_names():
    assert parse_sections("current", 10, 4) == [4] and parse_sections(" ", 10, 7) == [7]
    assert parse_sections("ALL", 10, 0) is None
    assert parse_sections("3, 5-7 9", 10, 0) == [3, 5, 6, 7, 9]
    assert parse_sections("2,2,1-2", 10, 0) == [1, 2]
    for bad in ("abc", "10", "5-3", "-1", "1.5"):
        with pytest.raises(ValueError, match="Proofread sections"):
            parse_sections(bad, 10, 0)
