#!/usr/bin/env python3
"""Builds a blind set of two-section composites for checking a masking change on data it was not chosen on.

Each of the corpus's six all-tissue items gives real tissue (two sections, the top-left 256² crop (248² where the item is smaller), from section
``(z_start + z_step * item) mod 30``) pasted into a phantom-shaped mask (``emmask phantom``, seed
``seed_base + 100 * item + style``) with resin, grainy resin or dark resin outside (``tools/real_em_training_data.py``'s
generator), each at full size, and averaged in-plane 2× and 4× (128², 64² for a 256² crop; majority labels): 6 × 3 × 3 = 54 items.

Build a set **after** writing the rule it is to check, on seeds no earlier set used (``docs/real-em-decisions.md``
lists them: 7400, 7500, ... 7800 were used as ``blind2`` … ``blind6``), and score it with::

    /usr/bin/python3 benchmarks/blind_set.py OUT --seed-base 7900 --z-start 19 --z-step 9
    /usr/bin/python3 benchmarks/real_em.py --data OUT --no-composites --json OUT.json

The set is written in the corpus's format (``NAME.npy``, ``NAME_labels.npy``, ``manifest.json``) outside the
project: it is made from fetched data and is never committed.
"""
import argparse
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real-em"))
STYLES = ["resin", "grainy", "darkresin"]
SIZE = 256


def _training_data():
    spec = importlib.util.spec_from_file_location("real_em_training_data",
                                                  os.path.join(ROOT, "tools", "real_em_training_data.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def averaged(image, labels, factor):
    """In-plane cell means of ``factor``² pixels; labels by majority."""
    z, y, x = image.shape
    s = y // factor
    cells = lambda a: a[:, :s * factor, :s * factor].reshape(z, s, factor, s, factor).astype(np.float64).mean(axis=(2, 4))
    return np.round(cells(image)).astype(np.uint8), (cells(labels) >= 0.5).astype(np.uint8)


def build(out, seed_base, z_start, z_step, data=DATA):
    training_data = _training_data()
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    all_tissue = [i for i in manifest["items"] if not (np.load(os.path.join(data, i["labels"])) == 0).any()]
    os.makedirs(out, exist_ok=True)
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, item in enumerate(all_tissue):
            raw = np.load(os.path.join(data, item["file"]))
            z0 = min((z_start + z_step * n) % 30, raw.shape[0] - 2)
            size = min(SIZE, raw.shape[1], raw.shape[2]) // 4 * 4
            crop = raw[z0:z0 + 2, :size, :size]
            vs = item.get("voxel_size_zyx_nm")
            for k, style in enumerate(STYLES):
                seed = seed_base + 100 * n + k
                mask = training_data.phantom_mask((2, size, size), seed, tmp)
                rng = np.random.default_rng(seed)
                image = np.clip(training_data.composite(crop, mask, rng, style), 0, 255).astype(np.uint8)
                for factor in (1, 2, 4):
                    img, lab = (image, mask) if factor == 1 else averaged(image, mask, factor)
                    name = f"{item['file'][:-4]}_z{z0}_{style}_{size // factor}"
                    np.save(os.path.join(out, name + ".npy"), img)
                    np.save(os.path.join(out, name + "_labels.npy"), lab)
                    entries.append({"file": name + ".npy", "labels": name + "_labels.npy",
                                    "source_group": item["source_group"],
                                    "voxel_size_zyx_nm": [vs[0], vs[1] * factor, vs[2] * factor] if vs else None,
                                    "seed": seed, "first_section": z0, "style": style, "factor": factor})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"items": entries, "seed_base": seed_base, "z_start": z_start, "z_step": z_step}, f, indent=1)
    return entries


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed-base", type=int, required=True)
    ap.add_argument("--z-start", type=int, required=True)
    ap.add_argument("--z-step", type=int, required=True)
    ap.add_argument("--data", default=DATA)
    a = ap.parse_args(argv)
    entries = build(a.out, a.seed_base, a.z_start, a.z_step, a.data)
    print(f"{len(entries)} items in {a.out}")


if __name__ == "__main__":
    sys.exit(main())
