"""Both methods on real EM (../shared/data/real-em, or $EM_MASK_REAL_EM): a regression guard on the figures in the README.

Each item is masked with the defaults and its voxel size. All-tissue items must lose at most 2% of their tissue; the
one real tissue-resin boundary (the N2V SEM image) must keep a non-brain IoU of at least 0.85 (0.982 measured on 2026-12-05). The
corpus lives beside the project, not in it; without it these tests skip. The default U-Net and 3D mode have their own
cases below.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import em_mask
from conftest import ROOT


def _corpus():
    """$EM_MASK_REAL_EM, else ../shared/data/real-em beside the checkout, else the workplace's /work/shared copy (a
    clean clone elsewhere, as CI makes one, still finds it)."""
    for candidate in (os.environ.get("EM_MASK_REAL_EM"), ROOT.parent / "shared" / "data" / "real-em",
                      Path("/work/shared/data/real-em")):
        if candidate and (Path(candidate) / "manifest.json").exists():
            return Path(candidate)
    return ROOT.parent / "shared" / "data" / "real-em"


DATA = _corpus()
pytestmark = pytest.mark.skipif(not (DATA / "manifest.json").exists(), reason=f"no real-EM corpus at {DATA}")


def _items():
    if not (DATA / "manifest.json").exists():
        return []
    return json.loads((DATA / "manifest.json").read_text())["items"]


def _cases(all_tissue):
    """Items as pytest params named after their file; one skipped placeholder without the corpus (a clean clone)."""
    chosen = [i for i in _items() if (i["label_fractions"]["0"] == 0) == all_tissue]
    if not chosen:
        return [pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=f"no real-EM corpus at {DATA}"))]
    return [pytest.param(i, id=i["file"][:-4]) for i in chosen]


def _scores(item, method=em_mask.classical_mask, **options):
    """(non-brain IoU or None, share of tissue called non-brain) of ``method`` with its defaults and the item's voxel size."""
    image = np.load(DATA / item["file"])
    labels = np.load(DATA / item["labels"])
    voxel = item.get("voxel_size_zyx_nm")
    mask, _ = method(image, voxel_size=tuple(v / 1000 for v in voxel) if voxel else None, **options)
    assert mask.shape == image.shape
    valid = labels != 255
    gt0, gt1, p0 = (labels == 0) & valid, (labels == 1) & valid, (mask == 0) & valid
    iou = (gt0 & p0).sum() / max(1, (gt0 | p0).sum()) if gt0.any() else None
    loss = (gt1 & p0).sum() / max(1, gt1.sum())
    return iou, loss


@pytest.mark.parametrize("item", _cases(all_tissue=True))
def test_all_tissue_items_keep_their_tissue(dotnet_bridge, item):
    _, loss = _scores(item)
    assert loss <= 0.02, f"{item['file']}: {100 * loss:.2f}% of the tissue called non-brain"


@pytest.mark.parametrize("item", _cases(all_tissue=False))
def test_tissue_resin_boundary(dotnet_bridge, item):
    iou, loss = _scores(item)
    assert iou >= 0.85, f"{item['file']}: non-brain IoU {iou:.3f}"
    assert loss <= 0.05, f"{item['file']}: {100 * loss:.2f}% of the tissue called non-brain"


# The default U-Net (em-mask-unet-v2) was trained on these items, so this is a regression guard on the model and its
# pipeline (sliding window, envelope, flips, section-wise stacks), not validation; the model card has the
# leave-one-source-out figures. The phantom-only model v1 fails it (CREMI 13.6 % lost, SEM edge 0.710).
UNET_ITEMS = {  # item: (largest tissue loss, smallest non-brain IoU); measured 2026-12-05: 0.0 %, 0.5 %, 1.1 %, 0.941
    "sstem_flybrain_cremi": (0.02, None),
    "atumsem_cortex_mitoem": (0.02, None),
    "sbfsem_platy_nuclei_lowres": (0.02, None),
    "sem_tissue_resin_edge": (0.05, 0.90),
}


@pytest.mark.parametrize("name", sorted(UNET_ITEMS))
def test_default_unet_on_real_em(dotnet_bridge, name):
    item = next((i for i in _items() if i["file"][:-4] == name), None)
    if item is None:
        pytest.skip(f"{name} not in the corpus")
    iou, loss = _scores(item, em_mask.unet_mask, device="cpu")
    most_lost, least_iou = UNET_ITEMS[name]
    assert loss <= most_lost, f"{name}: {100 * loss:.2f}% of the tissue called non-brain"
    if least_iou is not None:
        assert iou >= least_iou, f"{name}: non-brain IoU {iou:.3f}"


# 64 isotropic sections go to 3D mode (docs/real-em-decisions.md); each volume is a corpus item mirrored in z to 64
# sections at 10 nm, all tissue. Fly medulla a (a 256² crop): no level separates, and at the finest textured level
# (level 1) it lost 5.1 %; now the coarsest level is used. Fly medulla b: level 0 "separates" flat cytoplasm from
# membranes and it lost 27.6 %; its sections do not separate, so it now counts as one material. 2D mode: 0.0 %, 0.1 %.
ISOTROPIC_3D = {
    "fibsem_flymedulla_a": np.s_[:, 128:384, 128:384],
    "fibsem_flymedulla_b": np.s_[:, :, :],
}


@pytest.mark.parametrize("name", sorted(ISOTROPIC_3D))
def test_isotropic_all_tissue_volume_masked_in_3d_keeps_its_tissue(dotnet_bridge, name):
    item = next((i for i in _items() if i["file"][:-4] == name), None)
    if item is None:
        pytest.skip(f"{name} not in the corpus")
    stack = np.load(DATA / item["file"])[ISOTROPIC_3D[name]]
    mask, _ = em_mask.classical_mask(np.concatenate([stack, stack[::-1]]), voxel_size=(0.01, 0.01, 0.01))
    assert "3d" in str(em_mask.last_call_info()).lower(), em_mask.last_call_info()
    loss = 1 - mask.mean()
    assert loss <= 0.01, f"{name}: {100 * loss:.2f}% of the tissue called non-brain"


def _sem_edge_variants():
    """The SEM edge as 8-bit data (16-bit ÷ 256, floored) in two sections, the second shifted 1 px in x; the same
    averaged 4×4 in-plane (150², labels kept only where a cell is all one class); and that image's 128² centre crop
    (11 % resin): proxies for the issue's 2-section ssTEM cases at full and at 64 nm resolution. Built at run time from
    the corpus; nothing of it is committed."""
    item = next((i for i in _items() if i["file"][:-4] == "sem_tissue_resin_edge"), None)
    if item is None:
        pytest.skip("sem_tissue_resin_edge not in the corpus")
    raw = np.load(DATA / item["file"]).astype(np.float64)
    labels = np.load(DATA / item["labels"])
    stack = np.concatenate([raw, np.roll(raw, 1, axis=2)])
    truth = np.concatenate([labels, np.roll(labels, 1, axis=2)])
    z, h, w = stack.shape
    coarse = np.floor(stack.reshape(z, h // 4, 4, w // 4, 4).mean(axis=(2, 4)) / 256).astype(np.uint8)
    cells = truth.reshape(z, h // 4, 4, w // 4, 4)
    coarse_truth = np.where((cells == 0).all(axis=(2, 4)), 0, np.where((cells == 1).all(axis=(2, 4)), 1, 255))
    coarse_truth = coarse_truth.astype(np.uint8)
    centre = np.s_[:, 11:139, 11:139]
    return {"8-bit": (np.floor(stack / 256).astype(np.uint8), truth), "4x": (coarse, coarse_truth),
            "4x centre": (coarse[centre], coarse_truth[centre])}


def _non_brain_iou(mask, labels):
    valid = labels != 255
    gt0, p0 = (labels == 0) & valid, (mask == 0) & valid
    return (gt0 & p0).sum() / max(1, (gt0 | p0).sum())


# Measured 2026-12-06 through this API (at 2fa207e, before the day's changes, each fails): classical 8-bit 0.983 (0.942:
# clipped dark staining counted as padding), 4x 0.899 (0.738: no resin reference in the mixed lower class);
# U-Net v2 at 4x 0.848 (0.814); classical on the 4x centre crop 0.649 (0.294: the rules' references were
# measured on the per-voxel texture classes only). Later the same day (at 240209b; at 33c6a4f each U-Net bar fails):
# U-Net v2 at 4x 0.887 (0.848) and on the 4x centre crop 0.928 (0.869), the envelope growing the sections whose resin
# the classical masker knows by half the margin. Since the refinement takes only resin-like material beside the mask as
# resin on sections of at least 128² (2026-12-06, at 2a80cc4 each 4x bar fails): classical 4x 0.993 (0.899), U-Net
# 4x 0.966 (0.887); the smooth stained edge at 64 nm is no longer cut off. (U-Net centre crop 0.913, from 0.928.)
SEM_EDGE_BARS = {("classical", "8-bit"): 0.95, ("classical", "4x"): 0.97, ("unet", "4x"): 0.94,
                 ("classical", "4x centre"): 0.55, ("unet", "4x centre"): 0.90}


@pytest.mark.parametrize("method,variant", sorted(SEM_EDGE_BARS))
def test_sem_edge_in_8_bits_and_at_4x(dotnet_bridge, method, variant):
    image, labels = _sem_edge_variants()[variant]
    options = {"device": "cpu"} if method == "unet" else {}
    mask, _ = getattr(em_mask, f"{method}_mask")(image, **options)
    assert mask.shape == image.shape
    iou = _non_brain_iou(mask, labels)
    assert iou >= SEM_EDGE_BARS[method, variant], f"{method}, SEM edge {variant}: non-brain IoU {iou:.3f}"


def _on_padding():
    """Fly medulla b (32 sections, 10 nm, all tissue; a 192² crop) on exact-constant padding (value 70, darker than
    the tissue) beyond a wavy boundary, as an acquisition's block edge: labels 1 tissue, 0 padding. Built at run time."""
    item = next((i for i in _items() if i["file"][:-4] == "fibsem_flymedulla_b"), None)
    if item is None:
        pytest.skip("fibsem_flymedulla_b not in the corpus")
    raw = np.load(DATA / item["file"])[:32, :192, :192]
    y, x = np.mgrid[:192, :192]
    edge = 120 + 12 * np.sin(y / 17.0) + 8 * np.sin(y / 5.3 + 1)
    labels = np.broadcast_to(x < edge, raw.shape).astype(np.uint8)
    image = np.where(labels == 1, raw, np.uint8(70)).astype(np.uint8)
    return image, labels, tuple(v / 1000 for v in item["voxel_size_zyx_nm"])


# U-Net v2 next to padding (docs/real-em-decisions.md, 2026-12-06): the network erodes tissue beside a constant; the
# classical call stands within 16 voxels of padding, and padding leaves the envelope. Measured through this API:
# 0.0 % lost, non-brain IoU 1.000; before the rule (21713d7) 1.6 %, 0.962 (fails); classical 0.3 %, 0.996.
def test_default_unet_keeps_the_tissue_next_to_padding(dotnet_bridge):
    image, labels, voxel = _on_padding()
    mask, _ = em_mask.unet_mask(image, voxel_size=voxel, device="cpu")
    loss = ((labels == 1) & (mask == 0)).sum() / (labels == 1).sum()
    iou = _non_brain_iou(mask, labels)
    assert loss <= 0.02 and iou >= 0.97, f"tissue called non-brain {100 * loss:.1f} %, non-brain IoU {iou:.3f}"


def _jpeg_thumbnails():
    """``benchmarks/real_em.py --jpeg``'s items by name: corpus sections rotated onto exact-constant padding, JPEG
    compressed, and each without the JPEG step (built at run time from the corpus)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("real_em_benchmark", ROOT / "benchmarks" / "real_em.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: (image, labels) for name, _, _, image, labels, _ in module.jpeg_items(str(DATA))}


# JPEG thumbnails on padding (docs/real-em-decisions.md, 2026-12-06: the ringing leaves a halo of 1-3 px into the
# padding; the SEM edge on exact padding loses tissue at the block's corners to the refinement). Measured at 4fbf2dc,
# non-brain IoU / tissue called non-brain: MitoEM q75 0.984 / 0.0 % (U-Net 0.978), fly medulla b q40 0.960 / 0.0 %,
# the SEM edge clipped at 1 % q60 0.973 / 4.3 %, the same without JPEG 0.956 / 9.5 %.
JPEG_BARS = {
    ("classical", "atumsem_cortex_mitoem z0 +30° on 0 q75"): (0.97, 0.01),
    ("unet", "atumsem_cortex_mitoem z0 +30° on 0 q75"): (0.96, 0.01),
    ("classical", "fibsem_flymedulla_b z25 +12° on 0 q40"): (0.94, 0.01),
    ("classical", "sem_tissue_resin_edge z0 -12° on 0 clip1 q60"): (0.95, 0.06),
    ("classical", "sem_tissue_resin_edge z0 -12° on 0 clip1 (no JPEG)"): (0.93, 0.12),
}


@pytest.mark.parametrize("method,name", sorted(JPEG_BARS))
def test_jpeg_thumbnails_on_padding(dotnet_bridge, method, name):
    pytest.importorskip("PIL")
    image, labels = _jpeg_thumbnails()[name]
    options = {"device": "cpu"} if method == "unet" else {}
    mask, _ = getattr(em_mask, f"{method}_mask")(image, **options)
    assert mask.shape == image.shape
    iou = _non_brain_iou(mask, labels)
    loss = ((labels == 1) & (mask == 0)).sum() / max(1, (labels == 1).sum())
    bar, most = JPEG_BARS[method, name]
    assert iou >= bar and loss <= most, f"{method}, {name}: non-brain IoU {iou:.3f}, tissue called non-brain {100 * loss:.1f} %"


def _platy_cells_on_dark_resin():
    """Platynereis cells (a 32×256² crop of the corpus item, all tissue) on dark, streaky synthetic resin beyond a phantom
    mask (``em_mask.phantom`` seed 7702), by the composite generator of ``tools/real_em_training_data.py`` (rng seed 7702),
    sections 3–4: one item of the first blind two-section set of 2026-12-06 (docs/real-em-decisions.md), now development
    data. Labels 1 tissue, 0 resin. Built at run time."""
    import importlib.util

    pytest.importorskip("scipy")
    pytest.importorskip("h5py")  # the generator's module imports it
    if not (DATA / "sbfsem_platy_cells.npy").exists():
        pytest.skip("sbfsem_platy_cells not in the corpus")
    spec = importlib.util.spec_from_file_location("real_em_training_data", ROOT / "tools" / "real_em_training_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    crop = np.load(DATA / "sbfsem_platy_cells.npy")[:32, :256, :256]
    _, truth = em_mask.phantom(seed=7702, shape=crop.shape)
    mask = (truth > 0).astype(np.uint8)
    image = module.composite(crop, mask, np.random.default_rng(7702), "darkresin")[3:5]
    return np.clip(np.round(image), 0, 255).astype(np.uint8), mask[3:5]


# Pale tissue on dark, streaky resin: no texture level separates either section (η 0.54-0.68), so both fell back to the
# unimodal threshold and were called all tissue (non-brain IoU 0.000 for both methods at 2e40dc3). Since the intensity
# classes give the rules their references where the texture classes show no resin (2026-12-06): classical 0.932, U-Net
# v2 0.904, tissue called non-brain 1.5 % / 0.0 %.
@pytest.mark.parametrize("method", ["classical", "unet"])
def test_pale_tissue_on_dark_streaky_resin(dotnet_bridge, method):
    image, labels = _platy_cells_on_dark_resin()
    options = {"device": "cpu"} if method == "unet" else {}
    mask, _ = getattr(em_mask, f"{method}_mask")(image, **options)
    assert mask.shape == image.shape
    iou = _non_brain_iou(mask, labels)
    loss = ((labels == 1) & (mask == 0)).sum() / (labels == 1).sum()
    assert iou >= 0.85 and loss <= 0.05, f"{method}: non-brain IoU {iou:.3f}, tissue called non-brain {100 * loss:.1f} %"
