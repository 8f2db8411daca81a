"""classical_mask(): the same result as the core called directly (and as the CLI when it is built), no copy of
the input, dtype handling, 2D/4D, parameters and errors, cancellation."""

import json
import subprocess
import threading
import time
import warnings

import numpy as np
import pytest

import em_mask
from conftest import ROOT


@pytest.fixture(scope="module")
def raw(dotnet_bridge):
    image, _ = em_mask.phantom(3, (12, 64, 64))
    return image


def _direct(image, **options):
    """ClassicalMasker.Run called through pythonnet on a managed copy (none of the bridge's code)."""
    import System
    from EmMask.Core.Masking import ClassicalMasker, ClassicalMaskOptions
    from EmMask.Core.Volumes import Shape3, Volume, VoxelSize

    kinds = {np.dtype(np.uint8): System.Byte, np.dtype(np.uint16): System.UInt16, np.dtype(np.float32): System.Single}
    clr_type = kinds[image.dtype]
    shape = image.shape if image.ndim == 3 else (1, *image.shape)
    data = System.Array[clr_type](image.ravel().tolist())
    volume = Volume[clr_type](Shape3(*shape), data, VoxelSize(1.0, 1.0, 1.0))
    opts = ClassicalMaskOptions.FromJson(json.dumps(options))  # the options record's own JSON form
    result = ClassicalMasker.Run(volume, opts, None, getattr(System.Threading.CancellationToken, "None"))
    mask = np.array(list(result.Mask.Memory.ToArray()), np.uint8).reshape(image.shape)
    confidence = np.array(list(result.Confidence.Memory.ToArray()), np.float32).reshape(image.shape)
    return mask, confidence, result.Threshold


def test_defaults_mirror_the_core(dotnet_bridge):
    core = json.loads(str(dotnet_bridge.NumpyBridge.ClassicalDefaultsJson()))
    assert core.pop("threshold") == "auto"
    assert core == em_mask.CLASSICAL_DEFAULTS


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_matches_a_direct_core_call_without_copying(raw, dtype):
    image = raw.astype(dtype) * (3 if dtype == np.uint16 else 1)
    mask, confidence = em_mask.classical_mask(image)
    info = em_mask.last_call_info()
    assert info["input_address"] == image.ctypes.data and not info["input_copied"]
    expected_mask, expected_conf, threshold = _direct(image)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(confidence, expected_conf, rtol=0, atol=1e-6)
    assert info["threshold"] == pytest.approx(threshold)
    assert mask.dtype == np.uint8 and confidence.dtype == np.float32
    assert 0 < mask.mean() < 1


def test_parameters_reach_the_core(raw):
    params = dict(block_size=3, texture_sigma=2.0, edge_sigma=1.5, minimum_region_size=10, dog_sigma_low=0.8,
                  dog_sigma_high=3.0, isotropy=0.1, dense_threshold=1.0, mode="3d", level=0, refine_boundary=False,
                  threshold=1.7)
    mask, _ = em_mask.classical_mask(raw, **params)
    expected, _, threshold = _direct(raw, **params)
    np.testing.assert_array_equal(mask, expected)
    assert em_mask.last_call_info()["threshold"] == pytest.approx(1.7) == threshold
    assert not np.array_equal(mask, em_mask.classical_mask(raw)[0])


def test_mode_and_level_reach_the_core_and_bad_values_are_named(raw):
    twod, _ = em_mask.classical_mask(raw, mode="2d", level=0, threshold=2)
    threed, _ = em_mask.classical_mask(raw, mode="3d", level=0, threshold=2)
    assert not np.array_equal(twod, threed)
    with pytest.raises(em_mask.EmMaskError, match="level"):
        em_mask.classical_mask(raw, level=7)
    with pytest.raises(em_mask.EmMaskError, match="mode"):
        em_mask.classical_mask(raw, mode="4d")


def test_float64_is_converted_with_a_warning(raw):
    with pytest.warns(em_mask.DtypeConversionWarning, match="float64"):
        mask, _ = em_mask.classical_mask(raw.astype(np.float64))
    np.testing.assert_array_equal(mask, em_mask.classical_mask(raw.astype(np.float32))[0])


def test_2d_and_4d_inputs(raw):
    mask2d, conf2d = em_mask.classical_mask(raw[6])
    assert mask2d.shape == conf2d.shape == raw[6].shape
    np.testing.assert_array_equal(mask2d, _direct(raw[6])[0])
    series = np.stack([raw[:6], raw[6:]])
    masks, confidences = em_mask.classical_mask(series)
    assert masks.shape == confidences.shape == series.shape
    for t in range(2):
        np.testing.assert_array_equal(masks[t], em_mask.classical_mask(series[t])[0])


def test_bad_parameters_name_themselves(raw):
    with pytest.raises(em_mask.EmMaskError, match="block_size") as info:
        em_mask.classical_mask(raw, block_size=0)
    assert info.value.kind == "argument"
    with pytest.raises(em_mask.EmMaskError, match="dog_sigma_high"):
        em_mask.classical_mask(raw, dog_sigma_low=3.0, dog_sigma_high=2.0)
    with pytest.raises(em_mask.EmMaskError, match="threshold"):
        em_mask.classical_mask(raw, threshold="otsu")
    with pytest.raises(em_mask.EmMaskError, match="unknown key at 'bogus'"):
        em_mask.classical_mask(raw, bogus=1)
    with pytest.raises(ValueError, match="2D"):
        em_mask.classical_mask(np.zeros(8, np.uint8))


def test_core_warnings_become_python_warnings(dotnet_bridge):
    with pytest.warns(UserWarning, match="constant"):
        mask, _ = em_mask.classical_mask(np.full((4, 16, 16), 7, np.uint8))
    assert not mask.any()


def test_cancel_stops_the_masker_within_one_second(dotnet_bridge):
    # Large enough to outlast the cancel by far (the masker runs at ~30 Mvox/s on 2 cores): 256 x 256 x 768.
    tile, _ = em_mask.phantom(4, (64, 256, 256))
    big = np.ascontiguousarray(np.tile(tile, (4, 1, 3)))
    token = em_mask.CancelToken()
    cancelled_at = []

    def cancel_soon():
        time.sleep(0.25)
        cancelled_at.append(time.perf_counter())
        token.cancel()

    threading.Thread(target=cancel_soon).start()
    with pytest.raises(em_mask.CancelledError):
        em_mask.classical_mask(big, cancel=token)
    assert time.perf_counter() - cancelled_at[0] < 1.0


@pytest.mark.skipif(not (ROOT / "dotnet" / "EmMask.Cli" / "Commands" / "MaskCommand.cs").exists(),
                    reason="the CLI's mask command is not in this checkout")
def test_same_mask_as_the_cli(raw, tmp_path):
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, raw)
    run = subprocess.run(["bash", str(ROOT / "emmask"), "mask", str(src), str(dst), "--block-size", "5",
                          "--postprocess", "clean"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    mask, _ = em_mask.classical_mask(raw, block_size=5)
    em_mask.postprocess(mask, "clean", out=mask)
    np.testing.assert_array_equal(np.load(dst), mask)


def test_results_are_lent_without_a_copy_and_released_with_their_arrays(raw, dotnet_bridge):
    import gc

    gc.collect()
    before = dotnet_bridge.LentBuffers.Count
    mask, confidence = em_mask.classical_mask(raw)
    assert dotnet_bridge.LentBuffers.Count == before + 2
    assert mask.flags.writeable and mask.flags.c_contiguous
    view = mask[2:]
    del mask
    gc.collect()
    assert dotnet_bridge.LentBuffers.Count == before + 2      # a view keeps the data alive
    view[0, 0, 0] = 1                                        # and writable (napari paints into labels)
    del view, confidence
    gc.collect()
    assert dotnet_bridge.LentBuffers.Count == before


def test_the_sections_whose_texture_did_not_split_are_listed(dotnet_bridge):
    raw, _ = em_mask.phantom(2, (8, 64, 64))
    stack = raw.copy()
    stack[5] = np.random.default_rng(5).integers(90, 110, stack.shape[1:], dtype=np.uint8)  # noise: cannot split
    em_mask.classical_mask(stack, voxel_size=(40, 8, 8))
    unsplit = em_mask.last_call_info()["unsplit_sections"]
    assert 5 in unsplit and unsplit == sorted(unsplit) and len(unsplit) <= 8
    em_mask.classical_mask(stack, mode="3d")
    assert em_mask.last_call_info()["unsplit_sections"] is None
