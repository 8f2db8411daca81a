"""em_mask.finetune_unet: fine-tuning from proofread sections, whole in the EmMask.Worker process.

A small MONAI UNet fixture (tests/EmMask.Learning.Tests/Fixtures/MonaiUNet/small_res2.pt) is the starting model, so a
few steps take a second.
"""

import os

import numpy as np
import pytest

import em_mask


@pytest.fixture
def small_model(repo_root):
    path = os.path.join(repo_root, "tests", "EmMask.Learning.Tests", "Fixtures", "MonaiUNet", "small_res2.pt")
    assert os.path.exists(path)
    return path


def _volume(shape=(16, 32, 32), seed=1):
    """Bright speckled tissue on the left half, dark flat resin on the right."""
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, np.uint8)
    truth[..., : shape[-1] // 2] = 1
    image = np.where(truth == 1, 150 + rng.integers(0, 100, shape), 40 + rng.integers(0, 10, shape)).astype(np.uint8)
    return image, truth


FAST = dict(steps=3, patch=16, learning_rate=1e-2, augment="none", scale=1)


def test_finetune_writes_a_model_that_unet_mask_then_uses(dotnet_bridge, small_model, tmp_path):
    image, truth = _volume()
    out = tmp_path / "tuned.safetensors"
    reports = []
    path = em_mask.finetune_unet(image, truth, out, sections=[8], model=small_model,
                                 progress=lambda s, f: reports.append((s, f)), **FAST)
    assert path == str(out) and out.exists()
    assert (tmp_path / "tuned.training_log.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned.safetensors", "tuned.training_log.json"]
    info = em_mask.last_call_info()
    assert info["model"] == str(out) and info["scale"] == 1
    assert any("1024 proofread voxels" in n for n in info["notes"])  # one 32x32 section counted, no more
    assert any(s.startswith("fine-tuning (step") for s, _ in reports)  # progress is polled: not every step is seen
    mask, _ = em_mask.unet_mask(image, path, envelope=False, roi=16, scale=1, tta=1)
    assert mask.shape == image.shape
    assert em_mask.last_call_info()["model"] == str(out)


def test_only_the_named_sections_count(dotnet_bridge, small_model, tmp_path):
    # Two runs whose masks differ outside section 8 only must write the same model; a different section must not.
    image, truth = _volume()
    other = truth.copy()
    other[:8] = 1 - other[:8]
    a = em_mask.finetune_unet(image, truth, tmp_path / "a.safetensors", sections=[8], model=small_model, seed=4, **FAST)
    b = em_mask.finetune_unet(image, other, tmp_path / "b.safetensors", sections=[-8], model=small_model, seed=4, **FAST)
    c = em_mask.finetune_unet(image, other, tmp_path / "c.safetensors", sections=[3], model=small_model, seed=4, **FAST)
    with open(a, "rb") as fa, open(b, "rb") as fb, open(c, "rb") as fc:
        da, db, dc = fa.read(), fb.read(), fc.read()
    assert da == db
    assert da != dc


def test_255_in_a_uint8_mask_is_not_checked(dotnet_bridge, small_model, tmp_path):
    image, truth = _volume()
    partial = truth.copy()
    partial[8, :, 20:] = 255
    em_mask.finetune_unet(image, partial, tmp_path / "p.safetensors", sections=[8], model=small_model, **FAST)
    assert any(f"on {32 * 20} proofread voxels" in n for n in em_mask.last_call_info()["notes"])


def test_2d_images_and_bad_input(dotnet_bridge, small_model, tmp_path):
    image, truth = _volume()
    out = tmp_path / "m.safetensors"
    path = em_mask.finetune_unet(image[5], truth[5], out, model=small_model, **FAST)
    assert os.path.exists(path)
    out.write_text("earlier model")
    with pytest.raises(ValueError, match="shape"):
        em_mask.finetune_unet(image, truth[:4], out, model=small_model, **FAST)
    with pytest.raises(ValueError, match="sections must lie"):
        em_mask.finetune_unet(image, truth, out, sections=[16], model=small_model, **FAST)
    with pytest.raises(ValueError, match="empty"):
        em_mask.finetune_unet(image, truth, out, sections=[], model=small_model, **FAST)
    with pytest.raises(em_mask.EmMaskError, match="steps"):
        em_mask.finetune_unet(image, truth, out, model=small_model, steps=0)
    with pytest.raises(em_mask.EmMaskError, match="nonsense"):
        em_mask.finetune_unet(image, truth, out, model=small_model, nonsense=1)
    with pytest.raises(em_mask.EmMaskError, match="safetensors"):
        em_mask.finetune_unet(image, truth, tmp_path / "m.pt", model=small_model, **FAST)
    with pytest.raises(em_mask.EmMaskError, match="no/such"):
        em_mask.finetune_unet(image, truth, out, model="/no/such/model.pt", **FAST)
    assert out.read_text() == "earlier model"


def test_cancel_writes_nothing(dotnet_bridge, small_model, tmp_path):
    image, truth = _volume()
    out = tmp_path / "m.safetensors"
    token = em_mask.CancelToken()

    def progress(stage, fraction):
        if stage.startswith("fine-tuning") and fraction > 0.01:
            token.cancel()

    with pytest.raises(em_mask.CancelledError):
        em_mask.finetune_unet(image, truth, out, sections=[8], model=small_model, progress=progress, cancel=token,
                              **dict(FAST, steps=2000))
    assert list(tmp_path.iterdir()) == []


def test_the_schema_lists_the_core_defaults(dotnet_bridge):
    schema = {e["key"]: e for e in em_mask.finetune_schema()}
    assert {"model", "steps", "learning_rate", "patch", "batch", "seed", "augment", "scale", "device"} <= set(schema)
    assert schema["steps"]["default"] == 1000 and schema["augment"]["choices"] == ["default", "real-em", "none"]


def test_the_shipped_model_fine_tunes_for_fifty_steps_in_the_worker(dotnet_bridge, repo_root, tmp_path):
    # A smoke test of the worker's training path: before TorchSharp's temporary scalars were held (Native.Scalars,
    # NoCollectionDuring) this run failed in the worker in 3 of 6 tries, within 20-40 steps ("Expected false to be true
    # ... toFloat" from ResidualUnit.forward); the race is timing-dependent, so the check that fails reliably without
    # the fix is tests/EmMask.Learning.Tests/Training/CollectorRaceTests.cs. Fifty steps a run (100 until 2026-12-07; the
    # suite's time) still pass the 20-40 steps within which it failed.
    if not os.path.exists(os.path.join(repo_root, "models", "em-mask-unet-v2.safetensors")):
        pytest.skip("the shipped model is not in this checkout")
    for seed in (1, 2):
        raw, truth = em_mask.phantom(seed=seed, shape=(64, 128, 128), invert=seed == 2)
        path = em_mask.finetune_unet(raw, truth, tmp_path / f"v1-{seed}.safetensors", sections=[10, 40], steps=50,
                                     seed=seed, augment="real-em" if seed == 2 else "default")
        assert os.path.getsize(path) > 1_000_000
