#!/usr/bin/python3
"""Builds, at run time, overviews of real serial-section SEM montages on textured resin, masks them and reports the
share of each image called tissue. Nothing here is data, and there are no labels: the figures are a look (with the
overlays it writes), not a score.

Source: a bare git snapshot of ``HeracleBT/vEMstitch`` (CC0; e.g. the ``fetch`` tool's copy under ``/work/.mirror``),
commit cff396e, ``related_data/real_data/sample_{1,2,3}/S_R_C.bmp``: three samples of a mussel larva, each a 3 × 3 grid
of 1768 × 2048 tiles with about 10 % overlap, on orange-peel ("grainy") resin. The tiles are placed by normalised
cross-correlation of their overlaps (a coarse search on 4× averages, then ±4 px at full resolution), pasted with hard
seams (later tiles over earlier ones; exact-zero padding where no tile reaches) and averaged ``F``× per axis: at 4×
about 1250 × 1440, the size and kind of the issue's "a different organism, grainy resin with dirt and tile seams" case.

Usage::

    /usr/bin/python3 benchmarks/montage_overviews.py --git /work/.mirror/HeracleBT+vEMstitch/repo --out /tmp/montage
    /usr/bin/python3 benchmarks/montage_overviews.py --git ... --out ... --factors 4,8 --methods classical,unet

Looked at on 2026-12-06 (classical, share of the 4× overview called tissue; by eye the larva is about 14 / 33 / 40 %):
before the noise-like coherent route 29.6 / 90.9 / 79.4 %, with it 13.8 / 32.3 / 39.5 %; U-Net v2 13.2 / 32.1 / 38.4 %.
At 8× (``--factors 8``), since flat pixels leave level 0's statistics: 72.2 / 30.4 / 39.2 % (sample 3 before 70.6 %).
See docs/real-em-decisions.md, "A noise-like coherent lower class also separates" and "Amended: exactly flat pixels
leave the statistics at level 0 only".
"""
import argparse
import io
import os
import subprocess
import sys

import numpy as np

try:
    from PIL import Image
except ImportError:  # Debian: python3-pil
    sys.exit("montage_overviews.py needs Pillow (apt-get install python3-pil)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMIT = "cff396e"
GRID = 3
# Where a tile's neighbour may lie: overlap 3-22 % along the axis, at most 120 px across it (full resolution).
ALONG = {"x": (1600, 1990), "y": (1300, 1720)}
ACROSS = 120
COARSE = 4


def tile(git_dir, sample, row, col):
    path = f"related_data/real_data/sample_{sample}/{sample}_{row}_{col}.bmp"
    blob = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{COMMIT}:{path}"], check=True,
                          capture_output=True).stdout
    return np.asarray(Image.open(io.BytesIO(blob)).convert("L"), dtype=np.float32)


def average(image, factor):
    h, w = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def ncc(a, b, dy, dx):
    """Normalised cross-correlation of a and b where b's origin lies at (dy, dx) in a's frame."""
    h, w = a.shape
    y0, y1, x0, x1 = max(0, dy), min(h, h + dy), max(0, dx), min(w, w + dx)
    if y1 - y0 < 8 or x1 - x0 < 8:
        return -1.0
    p = a[y0:y1, x0:x1] - a[y0:y1, x0:x1].mean()
    q = b[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
    q = q - q.mean()
    return float((p * q).sum() / np.sqrt((p * p).sum() * (q * q).sum() + 1e-9))


def offset(a, b, axis):
    """(score, dy, dx) of b's origin in a's frame, b the right (axis "x") or lower (axis "y") neighbour."""
    lo, hi = ALONG[axis]
    small_a, small_b = average(a, COARSE), average(b, COARSE)
    best = (-2.0, 0, 0)
    for along in range(lo // COARSE, hi // COARSE):
        for across in range(-ACROSS // COARSE, ACROSS // COARSE + 1):
            dy, dx = (across, along) if axis == "x" else (along, across)
            best = max(best, (ncc(small_a, small_b, dy, dx), dy * COARSE, dx * COARSE))
    _, dy0, dx0 = best
    return max((ncc(a, b, dy, dx), dy, dx) for dy in range(dy0 - COARSE, dy0 + COARSE + 1)
               for dx in range(dx0 - COARSE, dx0 + COARSE + 1))


def montage(git_dir, sample):
    """The sample's tiles placed along the maximum spanning tree of their overlaps' correlations."""
    tiles = {(r, c): tile(git_dir, sample, r, c) for r in range(1, GRID + 1) for c in range(1, GRID + 1)}
    edges = []
    for (r, c) in tiles:
        if c < GRID:
            edges.append(((r, c), (r, c + 1)) + (offset(tiles[r, c], tiles[r, c + 1], "x"),))
        if r < GRID:
            edges.append(((r, c), (r + 1, c)) + (offset(tiles[r, c], tiles[r + 1, c], "y"),))
    edges.sort(key=lambda e: -e[2][0])
    position = {(1, 1): (0, 0)}
    while len(position) < len(tiles):
        for u, v, (_, dy, dx) in edges:
            if (u in position) != (v in position):
                if u in position:
                    position[v] = (position[u][0] + dy, position[u][1] + dx)
                else:
                    position[u] = (position[v][0] - dy, position[v][1] - dx)
                break
    y0 = min(p[0] for p in position.values())
    x0 = min(p[1] for p in position.values())
    h, w = tiles[1, 1].shape
    out = np.zeros((max(p[0] for p in position.values()) - y0 + h, max(p[1] for p in position.values()) - x0 + w),
                   np.float32)
    for key in sorted(tiles):
        y, x = position[key][0] - y0, position[key][1] - x0
        out[y:y + h, x:x + w] = tiles[key]
    return out


def overlay(image, mask, path):
    rgb = np.stack([image] * 3, axis=-1).astype(np.float32)
    rgb[mask == 1] = rgb[mask == 1] * 0.6 + np.array([0, 255, 0], np.float32) * 0.4
    Image.fromarray(rgb.astype(np.uint8)).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--git", required=True, help="bare git directory of a HeracleBT/vEMstitch snapshot")
    ap.add_argument("--out", required=True, help="folder for the overviews (.npy), masks and overlays (.png)")
    ap.add_argument("--factors", default="4", help="averaging factors, comma-separated (default 4)")
    ap.add_argument("--methods", default="classical", help="classical and/or unet, comma-separated")
    ap.add_argument("--samples", default="1,2,3")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    emmask = os.path.join(ROOT, "emmask")
    print("| sample | factor | shape | " + " | ".join(f"{m}: tissue share" for m in a.methods.split(",")) + " |")
    print("|---|---|---|" + "---|" * len(a.methods.split(",")))
    for sample in (int(s) for s in a.samples.split(",")):
        whole = montage(a.git, sample)
        for factor in (int(f) for f in a.factors.split(",")):
            image = np.round(average(whole, factor)).astype(np.uint8)
            name = os.path.join(a.out, f"sample{sample}_{factor}x")
            np.save(name + ".npy", image)
            shares = []
            for method in a.methods.split(","):
                out = f"{name}_{method}.npy"
                subprocess.run([emmask, "mask", name + ".npy", out, "--method", method, "--force", "--quiet"],
                               check=True)
                mask = np.load(out).reshape(image.shape)
                overlay(image, mask, f"{name}_{method}.png")
                shares.append(f"{100 * mask.mean():.1f} %")
            print(f"| {sample} | {factor}× | {image.shape[0]} × {image.shape[1]} | " + " | ".join(shares) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
