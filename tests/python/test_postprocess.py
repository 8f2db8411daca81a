"""postprocess(): the same result as calling the .NET pipeline directly, in place when out is mask, every dtype."""

import numpy as np
import pytest

import em_mask


def _blobs(shape=(12, 24, 24)):
    mask = np.zeros(shape, np.uint8)
    mask[2:10, 4:20, 4:20] = 1     # big component with a cavity
    mask[5:7, 10:12, 10:12] = 0
    mask[0:2, 0:2, 0:2] = 1        # small debris
    return mask


def _direct_dotnet(mask, spec, voxel_size=(1.0, 1.0, 1.0)):
    """The same pipeline run by calling EmMask.Core through pythonnet on a managed array (no bridge code)."""
    import System
    from System.Threading import CancellationToken
    from EmMask.Core.PostProcessing import PostProcessPipeline, PostProcessPresets
    from EmMask.Core.Volumes import Shape3, Volume, VoxelSize

    data = System.Array[System.Byte]([int(v) for v in mask.ravel()])
    volume = Volume[System.Byte](Shape3(*mask.shape), data, VoxelSize(*voxel_size))
    presets = PostProcessPresets.All
    pipeline = presets[spec] if presets.ContainsKey(spec) else PostProcessPipeline.Parse(spec)
    pipeline.Apply(volume, None, getattr(CancellationToken, "None"))
    return np.array(list(data), np.uint8).reshape(mask.shape)


@pytest.mark.parametrize("spec", ["largest:1", "fill3d", "open2d:1,largest:1,fill3d,grow:2", "clean", "reference"])
def test_matches_a_direct_dotnet_call(dotnet_bridge, spec):
    mask = _blobs()
    expected = _direct_dotnet(mask, spec)
    got = em_mask.postprocess(mask, spec)
    assert got.dtype == np.uint8 and got.shape == mask.shape
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(mask, _blobs())  # input untouched when out is None


def test_anisotropic_voxel_size_reaches_the_core(dotnet_bridge):
    mask = _blobs()
    expected = _direct_dotnet(mask, "grow:3", (4.0, 1.0, 1.0))
    np.testing.assert_array_equal(em_mask.postprocess(mask, "grow:3", voxel_size=(4, 1, 1)), expected)
    assert not np.array_equal(expected, _direct_dotnet(mask, "grow:3"))


def test_in_place_changes_the_callers_array(dotnet_bridge):
    mask = _blobs()
    expected = _direct_dotnet(mask, "largest:1,fill3d")
    address = mask.ctypes.data
    result = em_mask.postprocess(mask, "largest:1,fill3d", out=mask)
    assert result is mask
    assert mask.ctypes.data == address
    np.testing.assert_array_equal(mask, expected)
    assert em_mask.last_call_info()["input_address"] == address


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.uint16])
def test_in_place_works_for_other_label_dtypes(dotnet_bridge, dtype):
    mask = _blobs().astype(dtype)
    if dtype != np.bool_:
        mask[mask == 1] = 3  # label value 3: treated as tissue, written back as 1
    expected = _direct_dotnet(_blobs(), "largest:1")
    result = em_mask.postprocess(mask, "largest:1", out=mask)
    assert result is mask and mask.dtype == dtype
    np.testing.assert_array_equal(mask.astype(np.uint8), expected)


def test_in_place_on_a_non_contiguous_view(dotnet_bridge):
    big = np.zeros((12, 24, 48), np.uint8)
    big[:, :, ::2] = _blobs()
    view = big[:, :, ::2]
    em_mask.postprocess(view, "largest:1", out=view)
    np.testing.assert_array_equal(big[:, :, ::2], _direct_dotnet(_blobs(), "largest:1"))
    assert not big[:, :, 1::2].any()


def test_separate_out_buffer(dotnet_bridge):
    mask = _blobs()
    out = np.full(mask.shape, 7, np.uint8)
    assert em_mask.postprocess(mask, "fill3d", out=out) is out
    np.testing.assert_array_equal(out, _direct_dotnet(mask, "fill3d"))


def test_4d_is_processed_per_time_point(dotnet_bridge):
    stack = np.stack([_blobs(), np.roll(_blobs(), 3, axis=2)])
    got = em_mask.postprocess(stack, "largest:1")
    for t in range(2):
        np.testing.assert_array_equal(got[t], _direct_dotnet(stack[t], "largest:1"))


def test_2d_mask(dotnet_bridge):
    mask = _blobs()[5]
    got = em_mask.postprocess(mask, "fill2d")
    assert got.shape == mask.shape
    np.testing.assert_array_equal(got, _direct_dotnet(mask[None], "fill2d")[0])


def test_bad_spec_raises_emmaskerror_with_the_core_message(dotnet_bridge):
    with pytest.raises(em_mask.EmMaskError) as info:
        em_mask.postprocess(_blobs(), "open2d:x")
    assert info.value.kind == "argument"
    assert "open2d:x" in str(info.value)
    assert "(Parameter" not in str(info.value)


def test_bad_arguments_fail_before_dotnet():
    with pytest.raises(ValueError, match="shape"):
        em_mask.postprocess(_blobs(), "fill3d", out=np.zeros((1, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="2D, 3D or 4D"):
        em_mask.postprocess(np.zeros(5, np.uint8), "fill3d")
    with pytest.raises(TypeError):
        em_mask.postprocess(_blobs(), ["fill3d"])


def test_presets_come_from_the_core(dotnet_bridge):
    assert em_mask.postprocess_presets() == em_mask.POSTPROCESS_PRESETS
    assert em_mask.DEFAULT_PRESET in em_mask.POSTPROCESS_PRESETS


def test_progress_is_reported_on_the_calling_thread(dotnet_bridge):
    import threading

    seen = []
    caller = threading.get_ident()
    em_mask.postprocess(_blobs(), "open2d:1,largest:1,fill3d",
                        progress=lambda stage, f: seen.append((stage, f, threading.get_ident())))
    assert seen and seen[-1][1] == 1.0
    assert all(t == caller for _, _, t in seen)
    fractions = [f for _, f, _ in seen]
    assert fractions == sorted(fractions)


_CLI_POSTPROCESS = __import__("conftest").ROOT / "dotnet" / "EmMask.Cli" / "Commands" / "PostprocessCommand.cs"


@pytest.mark.skipif(not _CLI_POSTPROCESS.exists(), reason="the CLI's postprocess command is not in this checkout")
def test_same_result_as_the_cli(tmp_path):
    import subprocess

    from conftest import ROOT

    mask = _blobs()
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, mask)
    run = subprocess.run(["bash", str(ROOT / "emmask"), "postprocess", str(src), str(dst), "largest:1", "fill3d"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    np.testing.assert_array_equal(np.load(dst), em_mask.postprocess(mask, "largest:1,fill3d"))
