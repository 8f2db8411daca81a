"""em_mask.unet_mask through the bridge and the EmMask.Worker process.

The worker's built-in test models stand in for a trained network: ``builtin:threshold`` (probability = normalised
input > 0), ``builtin:identity`` and ``builtin:slow`` (identity, 200 ms per batch). Only the last test needs the
shipped model and is skipped without it.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest

import em_mask
from em_mask._api import _model_argument


def _pattern(shape=(12, 40, 48), seed=3):
    """A uint8 image that is 0 or 200 in blocks: the threshold model's mask must reproduce it exactly."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((shape[0], shape[1] // 8 + 1, shape[2] // 8 + 1)) > 0.5).astype(np.uint8)
    truth = truth.repeat(8, 1).repeat(8, 2)[:, : shape[1], : shape[2]]
    return (truth * 200).astype(np.uint8), truth


def test_threshold_model_gives_the_expected_mask_and_probability(dotnet_bridge):
    image, truth = _pattern()
    mask, probability = em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None, roi=16, overlap=0.25)
    assert mask.dtype == np.uint8 and probability.dtype == np.float32
    assert mask.shape == probability.shape == image.shape
    np.testing.assert_array_equal(mask, truth)
    # Gaussian blending of identical 0/1 window outputs gives the same 0/1 back (up to float rounding).
    np.testing.assert_allclose(probability, truth, atol=1e-5)
    info = em_mask.last_call_info()
    assert info["model"] == "builtin:threshold"
    assert info["windows"] > 1 and info["skipped"] == 0
    assert info["input_copied"] is False           # uint8 travels to the worker as uint8


def test_float32_input_is_read_in_place_and_2d_and_4d_work(dotnet_bridge):
    image, truth = _pattern()
    data = image.astype(np.float32)
    mask, _ = em_mask.unet_mask(data, "builtin:threshold", envelope_margin=None)
    info = em_mask.last_call_info()
    assert info["input_address"] == data.ctypes.data and info["input_copied"] is False
    np.testing.assert_array_equal(mask, truth)

    mask2d, probability2d = em_mask.unet_mask(image[3], "builtin:threshold", envelope_margin=None)
    assert mask2d.shape == image[3].shape
    np.testing.assert_array_equal(mask2d, truth[3])

    stack = np.stack([image, 200 - image])
    reports = []
    mask4d, _ = em_mask.unet_mask(stack, "builtin:threshold", envelope_margin=None, progress=lambda s, f: reports.append((s, f)))
    np.testing.assert_array_equal(mask4d[0], truth)
    np.testing.assert_array_equal(mask4d[1], 1 - truth)
    assert any(s.startswith("t=1: ") for s, _ in reports)
    assert reports[-1][1] == pytest.approx(1.0)


def test_skip_tiles_skips_windows_outside_the_envelope_without_changing_the_mask(dotnet_bridge):
    raw, _ = em_mask.phantom(2005, (24, 96, 96))
    kept, p_kept = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=3, roi=32, skip_tiles=False)
    assert em_mask.last_call_info()["skipped"] == 0
    skipped, p_skipped = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=3, roi=32, skip_tiles=True)
    info = em_mask.last_call_info()
    assert info["skipped"] > 0 and info["skipped"] < info["windows"]
    np.testing.assert_array_equal(skipped, kept)
    np.testing.assert_array_equal(p_skipped, p_kept)
    # Without the envelope nothing is skipped: skipping may never change a result.
    em_mask.unet_mask(raw, "builtin:identity", envelope=False, roi=32, skip_tiles=True)
    assert em_mask.last_call_info()["skipped"] == 0


def test_the_worker_process_is_reused_across_calls(dotnet_bridge):
    image, _ = _pattern((4, 16, 16))
    em_mask.unet_mask(image, "builtin:identity", envelope_margin=None)
    first = em_mask.last_call_info()
    em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None)
    second = em_mask.last_call_info()
    assert first["worker_pid"] > 0
    assert second["worker_pid"] == first["worker_pid"]
    assert second["worker_started"] is False
    assert em_mask.unet_worker_pid() == first["worker_pid"]


def _slow_call_in_thread(image, token=None, **kwargs):
    box, started = {}, threading.Event()

    def progress(stage, fraction):
        if fraction > 0:                           # the worker is running batches
            started.set()

    def target():
        try:
            box["result"] = em_mask.unet_mask(image, "builtin:slow", envelope_margin=None, roi=16, overlap=0, batch=1,
                                              progress=progress, cancel=token, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            box["error"] = exc
        finally:
            box["ended"] = time.perf_counter()
            started.set()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box, started


def test_cancel_stops_a_slow_model_within_two_seconds(dotnet_bridge):
    image = np.random.default_rng(0).integers(0, 255, (32, 64, 64), dtype=np.uint8)  # 64 windows x 0.2 s
    token = em_mask.CancelToken()
    thread, box, started = _slow_call_in_thread(image, token)
    assert started.wait(30), "the slow model never reported progress"
    assert "ended" not in box, f"ended before it could be cancelled: {box}"
    cancelled_at = time.perf_counter()
    token.cancel()
    thread.join(10)
    assert isinstance(box.get("error"), em_mask.CancelledError), box
    assert box["ended"] - cancelled_at < 2.0, f"took {box['ended'] - cancelled_at:.2f} s to stop"
    # The worker acknowledged the cancel and stays usable.
    mask, _ = em_mask.unet_mask(*_pattern((4, 16, 16))[:1], "builtin:threshold", envelope_margin=None)
    assert mask.shape == (4, 16, 16)


def test_killing_the_worker_fails_the_pending_call_and_the_next_call_works(dotnet_bridge):
    image, truth = _pattern((4, 16, 16))
    em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None)
    old_pid = em_mask.unet_worker_pid()
    slow = np.random.default_rng(1).integers(0, 255, (32, 64, 64), dtype=np.uint8)
    thread, box, started = _slow_call_in_thread(slow)
    assert started.wait(30) and "ended" not in box
    os.kill(em_mask.unet_worker_pid(), signal.SIGKILL)
    thread.join(10)
    error = box.get("error")
    assert isinstance(error, em_mask.EmMaskError) and error.kind == "worker", box
    assert "worker" in str(error) and "next call starts a new worker" in str(error)

    mask, _ = em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None)
    np.testing.assert_array_equal(mask, truth)
    info = em_mask.last_call_info()
    assert info["worker_started"] is True and info["worker_pid"] != old_pid


def test_killing_an_idle_worker_is_survived_by_the_call_after(dotnet_bridge):
    image, truth = _pattern((4, 16, 16))
    em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None)
    pid = em_mask.unet_worker_pid()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    try:
        em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None)    # may notice the death only when it sends the request
    except em_mask.EmMaskError as error:
        assert error.kind == "worker", error
    mask, _ = em_mask.unet_mask(image, "builtin:threshold", envelope_margin=None)
    np.testing.assert_array_equal(mask, truth)
    assert em_mask.last_call_info()["worker_pid"] != pid


def test_a_missing_model_file_is_named(dotnet_bridge, tmp_path):
    missing = tmp_path / "no-such-model.safetensors"
    with pytest.raises(em_mask.EmMaskError) as caught:
        em_mask.unet_mask(np.zeros((4, 16, 16), np.uint8), missing)
    assert caught.value.kind == "unavailable"
    assert str(missing) in str(caught.value)


def test_the_worker_reports_model_errors_as_em_mask_errors(dotnet_bridge):
    noise = np.random.default_rng(1).integers(0, 255, (4, 16, 16), dtype=np.uint8)  # not constant: the model runs
    with pytest.raises(em_mask.EmMaskError) as caught:
        em_mask.unet_mask(noise, "builtin:nonsense", envelope_margin=None)
    assert "builtin:nonsense" in str(caught.value) and caught.value.kind == "argument"
    with pytest.raises(em_mask.EmMaskError, match="always fails"):
        em_mask.unet_mask(noise, "builtin:fail", envelope_margin=None)


@pytest.mark.parametrize("kwargs, message", [
    (dict(roi=0), "roi"), (dict(roi=(16, 16)), "roi"), (dict(overlap=1.0), "overlap"),
    (dict(scale=1.5), "scale"), (dict(scale="fast"), "scale"), (dict(scale=0), "scale"), (dict(batch=0), "batch"),
    (dict(device="tpu"), "device"),
])
def test_bad_parameters_are_refused_before_the_worker_runs(kwargs, message):
    with pytest.raises(em_mask.EmMaskError, match=message):
        em_mask.unet_mask(np.zeros((4, 16, 16), np.uint8), "builtin:threshold", envelope_margin=None, **kwargs)


def test_model_argument_resolution(tmp_path):
    assert _model_argument(None) == ""
    assert _model_argument("builtin:slow") == "builtin:slow"
    assert _model_argument(tmp_path / "m.pt") == str(tmp_path / "m.pt")
    assert os.path.isabs(_model_argument("relative.pt"))
    assert _model_argument("em-mask-unet-v1") == "em-mask-unet-v1"  # a shipped model's name: the core resolves it
    with pytest.raises(ValueError):
        _model_argument("  ")


def _shipped_model(repo_root):
    if os.environ.get("EM_MASK_MODEL"):
        return os.environ["EM_MASK_MODEL"]
    for name in ("em-mask-unet-v2",):  # the default (v1 is chosen by name)
        for ext in (".safetensors", ".pt"):
            path = repo_root / "models" / f"{name}{ext}"
            if path.is_file():
                return str(path)
    return None


def test_default_model_is_the_shipped_one_or_a_clear_error(dotnet_bridge, repo_root):
    shipped = _shipped_model(repo_root)
    if shipped is not None:
        pytest.skip(f"the shipped model exists ({shipped}); covered by the Dice test")
    with pytest.raises(em_mask.EmMaskError) as caught:
        em_mask.unet_mask(np.zeros((4, 16, 16), np.uint8))
    assert caught.value.kind == "unavailable"
    assert "em-mask-unet-v2" in str(caught.value) and "missing" in str(caught.value)


def test_shipped_model_masks_a_phantom_with_dice_above_0_9(dotnet_bridge, repo_root):
    shipped = _shipped_model(repo_root)
    if shipped is None:
        pytest.skip("no shipped model: models/em-mask-unet-v2 .safetensors/.pt absent and EM_MASK_MODEL unset")
    raw, truth = em_mask.phantom(seed=11, shape=(32, 96, 96))
    mask, probability = em_mask.unet_mask(raw, device="cpu", tta=1)
    dice = 2 * np.logical_and(mask, truth).sum() / (mask.sum() + truth.sum())
    assert dice > 0.9, f"Dice {dice:.3f}"
    assert 0 <= probability.min() and probability.max() <= 1
    mask4, probability4 = em_mask.unet_mask(raw, device="cpu")  # the default: 4 flips
    dice4 = 2 * np.logical_and(mask4, truth).sum() / (mask4.sum() + truth.sum())
    assert dice4 > dice - 0.01, f"Dice {dice:.4f}, with 4 test-time flips {dice4:.4f}"
    assert 1e-5 < np.abs(probability4 - probability).mean() < 0.05


def test_auto_scale_follows_the_voxel_size(dotnet_bridge):
    image, _ = _pattern(shape=(32, 48, 48))  # every axis keeps >= 16 voxels at scale 2
    kw = dict(model="builtin:threshold", envelope_margin=None, roi=16, tta=1)

    def scale_used(**extra):
        mask, _ = em_mask.unet_mask(image, **kw, **extra)
        return em_mask.last_call_info()["scale"], mask

    assert scale_used()[0] == 1                                   # no voxel size: unknown, full resolution
    assert scale_used(voxel_size=(16, 16, 16))[0] == 1
    auto, auto_mask = scale_used(voxel_size=(8, 8, 8))
    assert auto == 2
    assert scale_used(voxel_size=(0.008, 0.008, 0.008))[0] == 2  # micrometres, as a layer scaled from element_size_um
    assert scale_used(voxel_size=(40, 4, 4))[0] == 3              # section by section: the 4 nm pixel counts, 48 px keep 16
    two, two_mask = scale_used(voxel_size=(8, 8, 8), scale=2)
    np.testing.assert_array_equal(auto_mask, two_mask)
    assert scale_used(voxel_size=(8, 8, 8), scale=1)[0] == 1


def test_test_time_flips_must_be_1_4_or_8(dotnet_bridge):
    with pytest.raises(em_mask.EmMaskError, match="flips"):
        em_mask.unet_mask(np.zeros((4, 16, 16), np.uint8), "builtin:threshold", envelope_margin=None, tta=3)
    with pytest.raises(em_mask.EmMaskError, match="tta"):
        em_mask.unet_mask(np.zeros((4, 16, 16), np.uint8), "builtin:threshold", envelope_margin=None, tta=0)


def test_envelope_margin_gates_the_network_outside_the_grown_classical_mask(dotnet_bridge):
    from scipy import ndimage as ndi

    raw, _ = em_mask.phantom(2005, (24, 96, 96))
    # Without the hysteresis, which comes after the gate and would make the comparison below a different one.
    _, everywhere = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, roi=32, hysteresis=0)
    _, gated = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=3, roi=32, skip_tiles=False, hysteresis=0)
    _, skipped = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=3, roi=32, skip_tiles=True, hysteresis=0)
    info = em_mask.last_call_info()
    # Skipping uses the envelope too, so it leaves out only windows the gate zeroes: the result cannot change.
    np.testing.assert_array_equal(skipped, gated)
    classical, _ = em_mask.classical_mask(raw)
    envelope = ndi.binary_fill_holes(ndi.distance_transform_edt(classical == 0) <= 3)
    assert 0 < envelope.mean() < 0.9
    assert info["skipped"] > 0, info
    np.testing.assert_array_equal(gated, np.where(envelope, everywhere, 0))
    with pytest.raises(em_mask.EmMaskError):
        em_mask.unet_mask(raw, "builtin:identity", envelope_margin=-1)


def test_python_worker_and_cli_give_bit_identical_masks(dotnet_bridge, repo_root, tmp_path):
    """One U-Net pipeline: the same input and options through Python (the worker) and the CLI (in process)."""
    import json
    import subprocess

    shipped = _shipped_model(repo_root)
    cli = repo_root / "dotnet" / "EmMask.Cli" / "bin" / "Release" / "net10.0" / "emmask"
    if shipped is None or not cli.exists():
        pytest.skip("needs the shipped model and the built CLI (dotnet build EmMaskPlugin.sln -c Release)")
    raw, _ = em_mask.phantom(seed=12, shape=(24, 64, 80))
    raw[:, :, :20] = 0  # exact-constant padding: envelope and tile skipping both matter
    options = dict(roi=32, tta=4, batch=3, scale=1)
    mask, probability = em_mask.unet_mask(raw, device="cpu", **options)
    np.save(tmp_path / "in.npy", raw)
    args = [str(cli), "mask", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--method", "unet", "--device", "cpu",
            "--postprocess", "none", "--confidence", str(tmp_path / "p.npy"), "--json", "-q"]
    for key, value in options.items():
        args += [f"--{key}", str(value)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["Method"] == "unet"
    cli_mask = np.load(tmp_path / "out.npy")
    cli_probability = np.load(tmp_path / "p.npy")
    assert cli_mask.shape == mask.shape
    assert np.array_equal(cli_mask, mask), f"{np.count_nonzero(cli_mask != mask)} voxels differ"
    assert np.array_equal(cli_probability, probability)
    assert 0 < mask.mean() < 1


def test_the_phantom_only_model_is_chosen_by_name(dotnet_bridge, repo_root):
    if not (repo_root / "models" / "em-mask-unet-v1.safetensors").is_file() or _shipped_model(repo_root) is None:
        pytest.skip("needs models/em-mask-unet-v2 and -v1")
    raw, truth = em_mask.phantom(seed=11, shape=(16, 64, 64))
    _, p1 = em_mask.unet_mask(raw, device="cpu", tta=1)
    mask2, p2 = em_mask.unet_mask(raw, model="em-mask-unet-v1", device="cpu", tta=1)
    assert mask2.shape == raw.shape
    assert not np.array_equal(p1, p2)  # another network
    dice = 2 * np.logical_and(mask2, truth).sum() / (mask2.sum() + truth.sum())
    assert dice > 0.85, f"Dice {dice:.3f}"
    with pytest.raises(em_mask.EmMaskError) as caught:
        em_mask.unet_mask(raw, model="em-mask-unet-v9")
    assert "em-mask-unet-v9" in str(caught.value)


def _anchored_reference(p, wide, low, confirm_below):
    """scipy's hysteresis on the non-brain call: label the non-brain (6-connected), keep labels holding an anchor."""
    from scipy import ndimage as ndi

    labels, n = ndi.label(p < 0.5)
    anchored = np.zeros(n + 1, bool)
    anchors = (p < low) if wide is None else (p < low) & (wide < confirm_below)
    anchored[np.unique(labels[anchors])] = True
    anchored[0] = False
    dropped = (labels > 0) & ~anchored[labels]
    return np.where((p >= 0.5) | dropped, 1, 0).astype(np.uint8), dropped


def test_hysteresis_keeps_only_non_brain_the_network_is_sure_of_somewhere(dotnet_bridge):
    """The hysteresis, through Python and the worker, against scipy, without and with the wider pass's confirmation."""
    raw, _ = em_mask.phantom(2005, (24, 96, 96))
    _, p = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, roi=32, hysteresis=0)
    _, wide = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, roi=32, hysteresis=0, scale=2)

    mask, _ = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, roi=32, anchor_confirm=0)
    expected, dropped = _anchored_reference(p, None, 0.01, 0)
    assert dropped.any(), "no region of doubt: nothing under test"
    np.testing.assert_array_equal(mask, expected)

    # The defaults (0.01, anchors confirmed under 0.2 at twice the scale), and a stricter confirmation.
    mask, _ = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, roi=32)
    np.testing.assert_array_equal(mask, _anchored_reference(p, wide, 0.01, 0.2)[0])
    strict, _ = em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, roi=32, anchor_confirm=0.02)
    expected_strict, _ = _anchored_reference(p, wide, 0.01, 0.02)
    assert (expected_strict != expected).any(), "the wider view confirms every anchor: nothing under test"
    np.testing.assert_array_equal(strict, expected_strict)
    with pytest.raises(em_mask.EmMaskError):
        em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, hysteresis=0.7)
    with pytest.raises(em_mask.EmMaskError):
        em_mask.unet_mask(raw, "builtin:identity", envelope_margin=None, anchor_confirm=0.6)
