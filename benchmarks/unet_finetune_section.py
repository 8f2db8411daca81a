#!/usr/bin/env python3
"""Fine-tuning from one proofread section: the U-Net's IoU on the other sections before and after.

A proofreader corrects one section of a volume; `emmask train --init MODEL --region /labelled` fine-tunes on that
section only, and the question is whether the rest of the volume gets better. Here the "correction" is the ground
truth of that section (a perfect proofreader), and the volume is a composite (real tissue texture from the corpus in
a phantom-shaped mask, resin outside; `tools/real_em_training_data.py`), because the corpus's only real boundary
image is a single section and has no other sections to score.

Steps: build the composite (mask seed, tissue item and style given) -> score MODEL on every section but the
proofread one -> fine-tune with /labelled = that section -> score the fine-tuned model the same way. Scores: non-brain
IoU (label 0 vs mask 0) and tissue Dice, over the other sections, through `emmask mask --method unet` (defaults or
the network alone).

    /usr/bin/python3 benchmarks/unet_finetune_section.py --model models/em-mask-unet-v2.safetensors \\
        [--item sbfsem_platy_cells] [--style resin] [--mask-seed 7001] [--section 16] [--steps 200] [--lr 1e-4]
        [--via cli|api]

``--via api`` fine-tunes as the napari panel does, through ``em_mask.finetune_unet`` (the core's
``ProofreadFineTuning`` in the worker: the volume's working scale, all threads) instead of ``emmask train``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import real_em_training_data as red  # noqa: E402

EMMASK = os.path.join(ROOT, "emmask")


def scores(pred, gt, keep):
    p, g = pred[keep], gt[keep]
    p0, g0 = p == 0, g == 0
    iou0 = float((p0 & g0).sum() / max(1, (p0 | g0).sum()))
    dice = float(2 * ((p == 1) & (g == 1)).sum() / max(1, (p == 1).sum() + (g == 1).sum()))
    return iou0, dice


def mask(model, h5, out, extra):
    cmd = [EMMASK, "mask", f"{h5}:/raw", f"{out}:/mask", "--method", "unet", "--model", model, "--force", "--quiet"] + extra
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with h5py.File(out, "r") as f:
        m = f["mask"][:]
    return m.reshape((-1,) + m.shape[-2:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default=red.DEFAULT_DATA)
    ap.add_argument("--item", default="sbfsem_platy_cells")
    ap.add_argument("--style", default="resin", choices=red.STYLES)
    ap.add_argument("--mask-seed", type=int, default=7001)
    ap.add_argument("--section", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="alone,default")
    ap.add_argument("--keep", default=None, help="keep the work folder here")
    ap.add_argument("--json", default=None)
    ap.add_argument("--via", default="cli", choices=["cli", "api"],
                    help="cli: emmask train --region (default); api: em_mask.finetune_unet, the napari panel's path")
    a = ap.parse_args()

    manifest = json.load(open(os.path.join(a.data, "manifest.json")))
    item = next(i for i in manifest["items"] if i["file"][:-4] == a.item)
    work = a.keep or tempfile.mkdtemp(prefix="emmask-ft-")
    os.makedirs(work, exist_ok=True)
    raw = np.load(os.path.join(a.data, item["file"]))
    labels = np.load(os.path.join(a.data, item["labels"]))
    fz, f = red.factors(item)
    raw, _ = red.downsample(raw, labels, fz, f)
    raw = raw[:, :256, :256]
    mask_gt = red.phantom_mask(raw.shape, a.mask_seed, work)
    img = red.composite(raw, mask_gt, np.random.default_rng(a.mask_seed), a.style)
    vol = os.path.join(work, "volume.h5")
    vs = item.get("voxel_size_zyx_nm")
    with h5py.File(vol, "w") as h:
        d = h.create_dataset("raw", data=img)
        if vs:
            d.attrs["element_size_um"] = [vs[0] * fz / 1000, vs[1] * f / 1000, vs[2] * f / 1000]
        h.create_dataset("gt", data=mask_gt)
        region = np.zeros_like(mask_gt)
        region[a.section] = 1
        h.create_dataset("labelled", data=region)
    keep = np.ones(mask_gt.shape, bool)
    keep[a.section] = False
    modes = {"alone": ["--no-envelope", "--no-skip"], "default": []}
    result = {"item": a.item, "style": a.style, "mask_seed": a.mask_seed, "shape": list(img.shape), "section": a.section,
              "tissue_fraction": float(mask_gt.mean()), "model": a.model, "steps": a.steps, "lr": a.lr}
    for mode in a.modes.split(","):
        pred = mask(a.model, vol, os.path.join(work, f"before_{mode}.h5"), modes[mode])
        result[f"before_{mode}"] = scores(pred, mask_gt, keep)
        print(f"before ({mode}): non-brain IoU {result[f'before_{mode}'][0]:.3f}, Dice {result[f'before_{mode}'][1]:.3f}", flush=True)
    out = os.path.join(work, "finetune")
    t0 = time.time()
    if a.via == "api":
        sys.path.insert(0, os.path.join(ROOT, "python_shim"))
        os.environ.setdefault("EM_MASK_DOTNET_DIR", os.path.join(ROOT, "dotnet", "EmMask.Host", "bin", "Release", "net10.0"))
        import em_mask

        voxel = [v * k / 1000 for v, k in zip(vs, (fz, f, f))] if vs else None
        tuned = em_mask.finetune_unet(img, mask_gt, os.path.join(work, "finetuned.safetensors"), sections=[a.section],
                                      model=a.model, voxel_size=voxel, steps=a.steps, learning_rate=a.lr, seed=a.seed)
        result["notes"] = em_mask.last_call_info().get("notes", [])
    else:
        subprocess.run([EMMASK, "train", "--data", vol, "--region", "/labelled", "--init", a.model, "--out", out,
                        "--steps", str(a.steps), "--lr", str(a.lr), "--patch", "48", "--batch", "2", "--seed", str(a.seed),
                        "--validate-every", str(a.steps), "--threads", str(a.threads), "--augment", "default", "--quiet"],
                       check=True, capture_output=True, text=True)
        tuned = os.path.join(out, "last.safetensors")
    result["train_seconds"] = round(time.time() - t0, 1)
    result["via"] = a.via
    for mode in a.modes.split(","):
        pred = mask(tuned, vol, os.path.join(work, f"after_{mode}.h5"), modes[mode])
        result[f"after_{mode}"] = scores(pred, mask_gt, keep)
        print(f"after  ({mode}): non-brain IoU {result[f'after_{mode}'][0]:.3f}, Dice {result[f'after_{mode}'][1]:.3f}", flush=True)
    print(f"fine-tuning: {a.steps} steps in {result['train_seconds']:.0f} s; work folder {work}")
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
