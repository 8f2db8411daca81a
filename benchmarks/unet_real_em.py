#!/usr/bin/env python3
"""Scores the U-Net on the real-EM corpus (../shared/data/real-em), per source group, through `emmask mask`.

Metrics per item (labels: 1 tissue, 0 non-brain, 255 ignored):
- non-brain IoU: |label 0 and prediction 0| / |label 0 or prediction 0| over labelled voxels, where label 0 exists;
- tissue called non-brain: |label 1 and prediction 0| / |label 1| (the all-tissue items' failure).

Leave-one-source-out: with ``--loso DIR`` each item is scored by ``DIR/fold-<source_group>/<checkpoint>`` (a model that
never saw that source); otherwise every item by ``--model`` (default: the shipped model the CLI finds).

Modes: ``alone`` = the network alone (``--no-envelope --no-skip``), ``default`` = the CLI's defaults (the classical
tissue envelope gates the network). Each item is written as .npy with a .json sidecar holding its voxel size, so the
CLI's ``--scale auto`` sees what a user's file would give it.

Usage::

    /usr/bin/python3 benchmarks/unet_real_em.py [--model M | --loso DIR [--checkpoint best.safetensors]]
        [--modes alone,default] [--items a,b] [--json OUT.json] [--extra-args "--tta 1"]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real-em"))
MODES = {"alone": ["--no-envelope", "--no-skip"], "default": []}


def metrics(pred, labels):
    """Non-brain IoU (None without label-0 voxels) and the share of label-1 voxels predicted 0."""
    valid = labels != 255
    gt0 = (labels == 0) & valid
    gt1 = (labels == 1) & valid
    p0 = (pred == 0) & valid
    iou = None
    if gt0.any():
        iou = float((gt0 & p0).sum() / max(1, (gt0 | p0).sum()))
    miss = float((gt1 & p0).sum() / max(1, gt1.sum())) if gt1.any() else None
    return iou, miss


def run_item(item, data, tmp, model, mode, extra):
    name = item["file"][:-4]
    src = os.path.join(tmp, name + ".npy")
    if not os.path.exists(src):
        np.save(src, np.load(os.path.join(data, item["file"])))
        vs = item.get("voxel_size_zyx_nm")
        if vs:
            with open(src + ".json", "w") as f:
                json.dump({"element_size_um": [v / 1000 for v in vs]}, f)
    out = os.path.join(tmp, f"{name}_{mode}.npy")
    cmd = [os.path.join(ROOT, "emmask"), "mask", src, out, "--method", "unet", "--force", "--quiet"]
    if model:
        cmd += ["--model", model]
    cmd += MODES[mode] + extra
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    pred = np.load(out)
    labels = np.load(os.path.join(data, item["labels"]))
    if pred.shape != labels.shape:
        # An older CLI writes a (1, H, W) input's mask as (H, W); compare the voxels, and say so.
        print(f"  note: {name}: mask shape {pred.shape}, input shape {labels.shape}", file=sys.stderr)
        pred = pred.reshape(labels.shape)
    iou, miss = metrics(pred, labels)
    return iou, miss, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--model", default=None, help="model file for every item (default: the shipped model)")
    ap.add_argument("--loso", default=None, help="folder with fold-<source_group>/ subfolders (leave one source out)")
    ap.add_argument("--checkpoint", default="best.safetensors", help="file inside each fold folder")
    ap.add_argument("--modes", default="alone,default")
    ap.add_argument("--items", default=None, help="comma-separated item names (default: all)")
    ap.add_argument("--extra-args", default="", help="more `emmask mask` options, e.g. '--tta 1'")
    ap.add_argument("--json", default=None, help="write the results here")
    a = ap.parse_args()

    manifest = json.load(open(os.path.join(a.data, "manifest.json")))
    items = manifest["items"]
    if a.items:
        keep = set(a.items.split(","))
        items = [i for i in items if i["file"][:-4] in keep]
    modes = a.modes.split(",")
    extra = a.extra_args.split()
    results = []
    with tempfile.TemporaryDirectory(prefix="emmask-realem-") as tmp:
        for item in items:
            name, group = item["file"][:-4], item["source_group"]
            model = a.model
            if a.loso:
                model = os.path.join(a.loso, f"fold-{group}", a.checkpoint)
                if not os.path.exists(model):
                    print(f"{name}: no fold model {model}; skipped", file=sys.stderr)
                    continue
            row = {"item": name, "group": group, "model": model or "shipped"}
            for mode in modes:
                iou, miss, secs = run_item(item, a.data, tmp, model, mode, extra)
                row[mode] = {"nonbrain_iou": iou, "tissue_called_nonbrain": miss, "seconds": round(secs, 1)}
            results.append(row)
            cells = []
            for mode in modes:
                r = row[mode]
                iou = "-" if r["nonbrain_iou"] is None else f"{r['nonbrain_iou']:.3f}"
                cells.append(f"{mode}: IoU0 {iou}, tissue->0 {100 * r['tissue_called_nonbrain']:.2f}% ({r['seconds']:.0f}s)")
            print(f"{name:28s} {group:22s} " + " | ".join(cells), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
