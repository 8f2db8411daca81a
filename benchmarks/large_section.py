#!/usr/bin/env python3
"""One real-EM section larger than the memory budget, and a stack of two: in memory vs in tiles (out-of-core masking).

Builds a montage from the corpus's SEM tissue edge (``../shared/data/real-em/sem_tissue_resin_edge``, 600² uint16):
``--tiles`` × ``--tiles`` copies, each flipped at random (seed 26), so that resin pockets lie inside the tissue, with
their labels; nothing is written outside ``--work``. Then runs the classical masker under /usr/bin/time -v (peak RSS
of the whole process, runtime included):

  * one section in memory (the default budget), and with ``--stain-join 0`` (the one step tiles leave out);
  * one section with ``--max-memory 2G`` and ``1G`` (tiled: ``ClassicalBlockwise.Plan``);
  * the stack of two sections in memory and with ``--max-memory 1G`` (each section tiled: ``TiledSectionStack``).

Prints a markdown table: peak RSS, wall time, non-brain IoU against the labels (255 ignored) and the share of voxels
that differ from the in-memory mask.

    /usr/bin/python3 benchmarks/large_section.py [--tiles 10] [--work /tmp/large-section]
"""
import argparse
import importlib.util
import os
import subprocess

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMMASK = os.path.join(ROOT, "emmask")
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real-em"))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The same timing as the block-wise memory benchmark: /usr/bin/time -v around emmask, peak RSS of the whole process.
timed = _load("blockwise_memory", os.path.join(ROOT, "benchmarks", "blockwise_memory.py")).timed


def build(work, tiles):
    """The montage: two sections of tiles × tiles flipped copies of the SEM edge, and its labels."""
    stack, labels = os.path.join(work, "stack.npy"), os.path.join(work, "stack_labels.npy")
    if not os.path.exists(stack):
        v = np.load(os.path.join(DATA, "sem_tissue_resin_edge.npy"))[0]
        lab = np.load(os.path.join(DATA, "sem_tissue_resin_edge_labels.npy"))[0].astype(np.uint8)
        rng = np.random.default_rng(26)
        h, w = v.shape
        V = np.zeros((2, h * tiles, w * tiles), v.dtype)
        L = np.zeros(V.shape, np.uint8)
        for z in range(2):
            for i in range(tiles):
                for j in range(tiles):
                    a, b = v, lab
                    if rng.random() < 0.5:
                        a, b = a[::-1], b[::-1]
                    if rng.random() < 0.5:
                        a, b = a[:, ::-1], b[:, ::-1]
                    V[z, i * h:(i + 1) * h, j * w:(j + 1) * w] = a
                    L[z, i * h:(i + 1) * h, j * w:(j + 1) * w] = b
        np.save(stack, V)
        np.save(labels, L)
        np.save(os.path.join(work, "section.npy"), V[:1])
        np.save(os.path.join(work, "section_labels.npy"), L[:1])
    return stack, labels


def iou(mask, labels):
    valid = labels != 255
    nb, truth = (mask == 0) & valid, labels == 0
    return (nb & truth).sum() / max(1, (nb | truth).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, default=10, help="copies of the 600² image along each axis (10: 6000²)")
    parser.add_argument("--work", default="/tmp/large-section")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    build(args.work, args.tiles)
    subprocess.run([EMMASK, "--help"], capture_output=True)  # build the CLI first, outside the timings
    w = args.work
    runs = [
        ("section", "in memory (2D)", []),
        ("section", "in memory, `--stain-join 0`", ["--stain-join", "0"]),
        ("section", "`--max-memory 2G` (tiled)", ["--max-memory", "2G"]),
        ("section", "`--max-memory 1G` (tiled)", ["--max-memory", "1G"]),
        ("stack", "stack of 2, in memory (2D)", []),
        ("stack", "stack of 2, `--max-memory 1G` (each section tiled)", ["--max-memory", "1G"]),
    ]
    print("| run | peak RSS | wall | non-brain IoU | voxels differing from in memory |")
    print("|---|---|---|---|---|")
    reference = {}
    for k, (item, name, extra) in enumerate(runs):
        out = os.path.join(w, f"out{k}.npy")
        wall, peak, _, _ = timed(["mask", os.path.join(w, f"{item}.npy"), out, "-q", "-f", *extra])
        labels = np.load(os.path.join(w, f"{item}_labels.npy"))
        mask = np.load(out).reshape(labels.shape)
        first = reference.setdefault(item, mask)
        differ = "–" if first is mask else f"{100 * (mask != first).mean():.2f} %"
        print(f"| {name} | {peak / 1e9:.2f} GB | {wall:.1f} s | {iou(mask, labels):.3f} | {differ} |", flush=True)


if __name__ == "__main__":
    main()
