#!/usr/bin/env python3
"""Per-source quality of both methods on real EM: the corpus in ../shared/data/real-em and composites made from it.

Items:
- **real**: every corpus item as it is (voxel size from the manifest, in a ``.json`` sidecar as a user's file has it).
- **composite**: real tissue of each all-tissue item (a 32×256×256 crop) pasted into a phantom-shaped mask, with resin,
  grainy resin, dark resin or exact-constant padding outside (``tools/real_em_training_data.py``'s generator, on
  evaluation seeds 7000+ that training never uses), and a thin copy of the resin composite (its first two sections).
- **extra** (``--extra DIR``): local items in the corpus's format (``NAME.npy`` + ``NAME_labels.npy``, optional
  ``manifest.json``), e.g. real boundary images kept outside the project.

Metrics (labels 1 tissue, 0 non-brain, 255 ignored): the non-brain IoU where non-brain exists, and the share of
tissue called non-brain. Each item is masked with ``emmask mask IN OUT --method M`` and default settings.

Usage::

    /usr/bin/python3 benchmarks/real_em.py [--methods classical,unet] [--no-composites] [--extra DIR]
        [--readme] [--json OUT.json] [--args "--tta 1"]

``--readme`` writes the per-source table into README.md between the ``real-em table`` markers.

``--jpeg`` scores JPEG thumbnails instead: one section of each of 22 corpus items (``JPEG_ITEMS``) rotated onto
exact-constant padding, in 8 bits, JPEG compressed at quality 40-95, and each also without the JPEG step (the ringing's
halo into the padding is what the pair shows).

``--small 128,64`` scores small images instead (the checks of ``docs/real-em-decisions.md``): each composite's first two
sections averaged in-plane to each size (256 / size pixels per cell, majority labels), and two crops of each size (the
first two sections, top-left and centre) of every all-tissue item.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real-em"))
EMMASK = os.path.join(ROOT, "emmask")
STYLES = ["resin", "grainy", "darkresin", "padding"]
MARK_BEGIN, MARK_END = "<!-- real-em table: begin -->", "<!-- real-em table: end -->"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


training_data = _load("real_em_training_data", os.path.join(ROOT, "tools", "real_em_training_data.py"))


def metrics(pred, labels):
    """Non-brain IoU (None without label-0 voxels) and the share of label-1 voxels predicted 0 (None without them)."""
    valid = labels != 255
    gt0, gt1, p0 = (labels == 0) & valid, (labels == 1) & valid, (pred == 0) & valid
    iou = float((gt0 & p0).sum() / max(1, (gt0 | p0).sum())) if gt0.any() else None
    miss = float((gt1 & p0).sum() / max(1, gt1.sum())) if gt1.any() else None
    return iou, miss


def items(data, composites, extra, tmp):
    """Yields (name, group, kind, image, labels, voxel size or None)."""
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    for n, item in enumerate(manifest["items"]):
        name, group = item["file"][:-4], item["source_group"]
        raw = np.load(os.path.join(data, item["file"]))
        labels = np.load(os.path.join(data, item["labels"]))
        vs = item.get("voxel_size_zyx_nm")
        yield name, group, "real", raw, labels, vs
        if not composites or (labels == 0).any():
            continue
        crop = raw[:32, :256, :256]
        rng = np.random.default_rng(7000 + n)
        for k, style in enumerate(STYLES):
            mask = training_data.phantom_mask(crop.shape, 7000 + 100 * n + k, tmp)
            image = np.clip(training_data.composite(crop, mask, rng, style), 0, 255).astype(np.uint8)
            yield f"{name}+{style}", group, "composite", image, mask, vs
            if style == "resin":
                yield f"{name}+{style} (2 sections)", group, "composite, thin", image[:2], mask[:2], vs
    if extra:
        known = {}
        if os.path.exists(os.path.join(extra, "manifest.json")):
            for e in json.load(open(os.path.join(extra, "manifest.json"))).get("items", []):
                known[e["file"][:-4]] = e
        for f in sorted(os.listdir(extra)):
            if not f.endswith(".npy") or f.endswith("_labels.npy"):
                continue
            name = f[:-4]
            if not os.path.exists(os.path.join(extra, name + "_labels.npy")):
                continue
            e = known.get(name, {})
            yield (name, e.get("source_group", "extra"), "extra", np.load(os.path.join(extra, f)),
                   np.load(os.path.join(extra, name + "_labels.npy")), e.get("voxel_size_zyx_nm"))


def small_items(all_items, sizes):
    """Small variants of the items (see ``--small``)."""
    for name, group, kind, image, labels, vs in all_items:
        z = min(2, image.shape[0])
        for size in sizes:
            if kind == "composite":
                f = image.shape[1] // size
                cells = lambda a: a[:z, :size * f, :size * f].reshape(z, size, f, size, f).astype(np.float64).mean(axis=(2, 4))
                small_vs = [vs[0], vs[1] * f, vs[2] * f] if vs else None
                yield (f"{name} {size}²", group, f"composite, {size}²", np.round(cells(image)).astype(np.uint8),
                       (cells(labels) >= 0.5).astype(np.uint8), small_vs)
            elif kind == "real" and not (labels == 0).any() and min(image.shape[1:3]) >= 2 * size:
                y0, x0 = (image.shape[1] - size) // 2, (image.shape[2] - size) // 2
                for where, (y, x) in (("corner", (0, 0)), ("centre", (y0, x0))):
                    yield (f"{name} {size}² {where}", group, f"crop, {size}²", image[:z, y:y + size, x:x + size],
                           labels[:z, y:y + size, x:x + size], vs)


# JPEG thumbnails on exact-constant padding (--jpeg): (corpus item, section, rotation in degrees, JPEG quality,
# intensity transform, padding value). The first six chose nothing (the halo was measured on them), the next sixteen
# were two blind sets of 2026-12-06 (docs/real-em-decisions.md, "Lossy-compression ringing next to padding").
JPEG_ITEMS = [
    ("fibsem_flymedulla_a", 0, 12, 90, None, 0), ("fibsem_flymedulla_a", 5, -20, 75, None, 0),
    ("sstem_flybrain_cremi", 0, 8, 85, None, 0), ("atumsem_cortex_mitoem", 0, 30, 75, None, 0),
    ("sbfsem_platy_cells", 0, -15, 90, None, 0), ("fibsem_flymedulla_b", 0, 5, 60, None, 0),
    ("sem_tissue_resin_edge", 0, 10, 80, "clip0.1", 0), ("sbfsem_platy_nuclei_lowres", 3, 25, 70, None, 0),
    ("fibsem_flymedulla_b", 10, -8, 50, None, 0), ("sstem_flybrain_cremi", 20, -30, 95, None, 0),
    ("atumsem_cortex_mitoem", 15, 15, 85, None, 0), ("fibsem_flymedulla_a", 20, 7, 75, "invert", 0),
    ("sbfsem_platy_cells", 20, -25, 75, "x0.4", 0), ("sstem_flybrain_cremi", 10, 18, 80, None, 255),
    ("sem_tissue_resin_edge", 0, -12, 60, "clip1", 0), ("sem_tissue_resin_edge", 0, 33, 85, "clip0.5", 255),
    ("fibsem_flymedulla_a", 30, -40, 70, None, 0), ("sstem_flybrain_cremi", 5, 22, 60, "invert", 0),
    ("atumsem_cortex_mitoem", 25, -6, 90, "x0.5", 0), ("sbfsem_platy_cells", 8, 40, 55, None, 0),
    ("sbfsem_platy_nuclei_lowres", 28, -17, 80, None, 255), ("fibsem_flymedulla_b", 25, 12, 40, None, 0),
]


def jpeg_items(data):
    """One section of a corpus item on exact-constant padding (a canvas 1.6x its size), rotated, in 8 bits, then JPEG
    compressed, and the same without the JPEG step. Labels: the item's own inside the block, 0 on the padding, 255 on
    the block's resampled edge. Yields (name, group, kind, image, labels, None)."""
    import io
    try:
        from PIL import Image
    except ImportError:  # Debian: python3-pil
        sys.exit("real_em.py --jpeg needs Pillow (apt-get install python3-pil)")
    from scipy import ndimage as ndi
    manifest = {i["file"][:-4]: i for i in json.load(open(os.path.join(data, "manifest.json")))["items"]}
    for name, z, angle, quality, transform, pad in JPEG_ITEMS:
        a = np.load(os.path.join(data, name + ".npy"))[z].astype(np.float32)
        known = np.load(os.path.join(data, manifest[name]["labels"]))[z]
        if transform and transform.startswith("clip"):
            q = float(transform[4:])
            lo, hi = np.percentile(a, [q, 100 - q])
            a = np.clip((a - lo) / (hi - lo) * 255, 0, 255)
        elif transform == "invert":
            a = 255 - a
        elif transform and transform.startswith("x"):
            a = a * float(transform[1:])
        h, w = a.shape
        H, W = int(h * 1.6), int(w * 1.6)
        y0, x0 = (H - h) // 2, (W - w) // 2

        def placed(values):
            canvas = np.zeros((H, W), np.float32)
            canvas[y0:y0 + h, x0:x0 + w] = values
            return canvas

        canvas = ndi.rotate(placed(a), angle, reshape=False, order=1, mode="constant", cval=0)
        block = ndi.rotate(placed(np.ones_like(a)), angle, reshape=False, order=1, mode="constant", cval=0)
        tissue = ndi.rotate(placed(known == 1), angle, reshape=False, order=0, mode="constant", cval=0) > 0.5
        unknown = ndi.rotate(placed(known == 255), angle, reshape=False, order=0, mode="constant", cval=0) > 0.5
        inside, outside = block > 0.999, block < 0.001
        image = np.where(outside, pad, np.where(inside, canvas, canvas + (1 - block) * pad))
        labels = np.where(inside, np.where(unknown, 255, tissue.astype(np.uint8)), np.where(outside, 0, 255)).astype(np.uint8)
        raw = np.clip(np.round(image), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(raw).save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        jpeg = np.array(Image.open(buffer))
        tag = f"{name} z{z} {angle:+d}° on {pad}" + (f" {transform}" if transform else "")
        yield f"{tag} q{quality}", manifest[name]["source_group"], "jpeg", jpeg[None], labels[None], None
        yield f"{tag} (no JPEG)", manifest[name]["source_group"], "on padding", raw[None], labels[None], None


def run(method, image, voxel_size, tmp, name, extra_args):
    src = os.path.join(tmp, "in.npy")
    np.save(src, image)
    sidecar = src + ".json"
    if voxel_size:
        with open(sidecar, "w") as f:
            json.dump({"element_size_um": [v / 1000 for v in voxel_size]}, f)
    elif os.path.exists(sidecar):
        os.remove(sidecar)
    out = os.path.join(tmp, "out.npy")
    t0 = time.time()
    r = subprocess.run([EMMASK, "mask", src, out, "--method", method, "--force", "--quiet", *extra_args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{name}: emmask mask --method {method} failed ({r.returncode}): {r.stderr.strip()}")
    pred = np.load(out)
    if pred.shape != image.shape[:3] and pred.size == np.prod(image.shape[:3]):
        print(f"  note: {name}: mask shape {pred.shape}, input shape {image.shape}", file=sys.stderr)
        pred = pred.reshape(image.shape[:3])
    return pred, time.time() - t0


def cell(iou, miss):
    parts = []
    if iou is not None:
        parts.append(f"{iou:.3f}")
    if miss is not None:
        parts.append(f"{100 * miss:.1f}%")
    return " / ".join(parts)


def summary(rows, methods):
    """Per source group: the worst non-brain IoU over items with non-brain, and the worst tissue loss on all-tissue items."""
    lines = ["| source group | items | " + " | ".join(f"{m}: non-brain IoU, min / mean | {m}: max tissue→0 (all-tissue)" for m in methods) + " |",
             "|---|---|" + "---|---|" * len(methods)]

    def cells(rs):
        out = []
        for m in methods:
            ious = [r[m]["iou"] for r in rs if r[m]["iou"] is not None]
            misses = [r[m]["miss"] for r in rs if r[m]["iou"] is None and r[m]["miss"] is not None]
            out.append(f"{min(ious):.3f} / {np.mean(ious):.3f}" if ious else "–")
            out.append(f"{100 * max(misses):.1f}%" if misses else "–")
        return " | ".join(out)

    groups = list(dict.fromkeys(r["group"] for r in rows))
    for g in groups:
        rs = [r for r in rows if r["group"] == g]
        lines.append(f"| {g} | {len(rs)} | {cells(rs)} |")
    lines.append(f"| all | {len(rows)} | {cells(rows)} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--methods", default="classical,unet")
    ap.add_argument("--no-composites", action="store_true")
    ap.add_argument("--extra", default=None, help="folder of extra labelled items (not committed)")
    ap.add_argument("--args", default="", help="more `emmask mask` options for every run")
    ap.add_argument("--only", default=None, help="substring filter on item names")
    ap.add_argument("--readme", action="store_true", help="write the tables into README.md")
    ap.add_argument("--json", default=None)
    ap.add_argument("--small", default=None, help="comma-separated sizes: small composites and all-tissue crops instead")
    ap.add_argument("--jpeg", action="store_true", help="JPEG thumbnails on exact-constant padding instead (JPEG_ITEMS)")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.data, "manifest.json")):
        sys.exit(f"real_em.py: no corpus at {a.data}")
    methods = a.methods.split(",")
    extra_args = a.args.split()
    rows = []
    print("| item | source group | kind | non-brain | " + " | ".join(f"{m} (IoU / tissue→0)" for m in methods) + " |")
    print("|---|---|---|---|" + "---|" * len(methods))
    with tempfile.TemporaryDirectory(prefix="emmask-real-em-") as tmp:
        chosen = items(a.data, not a.no_composites, a.extra, tmp)
        if a.jpeg:
            chosen = jpeg_items(a.data)
        elif a.small:
            chosen = small_items(chosen, [int(v) for v in a.small.split(",")])
        for name, group, kind, image, labels, vs in chosen:
            if a.only and a.only not in name:
                continue
            row = {"item": name, "group": group, "kind": kind, "nonbrain": float(((labels == 0) & (labels != 255)).mean())}
            for m in methods:
                pred, secs = run(m, image, vs, tmp, name, extra_args)
                iou, miss = metrics(pred, labels)
                row[m] = {"iou": iou, "miss": miss, "seconds": round(secs, 1)}
            rows.append(row)
            print(f"| {name} | {group} | {kind} | {100 * row['nonbrain']:.0f}% | "
                  + " | ".join(cell(row[m]["iou"], row[m]["miss"]) for m in methods) + " |", flush=True)
    table = summary(rows, methods)
    print()
    print(table)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if a.readme:
        path = os.path.join(ROOT, "README.md")
        text = open(path).read()
        if MARK_BEGIN in text and MARK_END in text:
            head, rest = text.split(MARK_BEGIN, 1)
            _, tail = rest.split(MARK_END, 1)
            text = head + MARK_BEGIN + "\n" + table + "\n" + MARK_END + tail
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote the table into {path}")
        else:
            print("README.md has no real-em table markers; nothing written", file=sys.stderr)


if __name__ == "__main__":
    main()
