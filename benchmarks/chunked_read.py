#!/usr/bin/python3
"""How fast EM Mask reads chunked arrays (Zarr v2, N5, MRC), against zarr-python / mrcfile in the same run.

Each format holds the same two uint8 masks (a smooth random mask and a shifted copy). The whole-process time of
``emmask eval A B --json`` (start, read both, Dice / IoU and per-section figures) is compared with a Python process
doing the same with the reference library and numpy (import, read both, the Dice counts). The npy row is the
baseline: what ``emmask eval`` costs where reading is a plain copy, so each format's read cost is its time minus it. Best of ``--repeats``; the VM's speed drifts, so only
ratios of one run compare.

Usage: /usr/bin/python3 benchmarks/chunked_read.py [--shape 64 1024 1024] [--repeats 3]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PEER = r"""
import sys, json, numpy as np
kind, a, b = sys.argv[1:4]
if kind == 'mrc':
    import mrcfile
    read = lambda p: mrcfile.read(p)
elif kind == 'npy':
    read = np.load
else:
    import zarr
    from zarr.n5 import N5Store
    import os
    read = (lambda p: zarr.open(p, mode='r')[...]) if kind == 'zarr' else (lambda p: zarr.open(N5Store(os.path.dirname(p)), mode='r')['m'][...])
x, y = read(a) > 0, read(b) > 0
both = int(np.count_nonzero(x & y)); nx = int(np.count_nonzero(x)); ny = int(np.count_nonzero(y))
print(json.dumps({'dice': 2 * both / (nx + ny)}))
"""


def make(folder, shape):
    import mrcfile
    import numcodecs
    import zarr
    from zarr.n5 import N5Store

    rng = np.random.default_rng(0)
    coarse = rng.random((shape[0] // 8 + 1, shape[1] // 64 + 1, shape[2] // 64 + 1)) > 0.5
    mask = np.repeat(np.repeat(np.repeat(coarse, 8, 0), 64, 1), 64, 2)[: shape[0], : shape[1], : shape[2]].astype("u1")
    masks = {"a": mask, "b": np.roll(mask, 5, axis=2)}
    paths = {}
    for name, m in masks.items():
        z = zarr.open(f"{folder}/{name}.zarr", mode="w", shape=m.shape, chunks=(16, 256, 256), dtype="u1")  # Blosc LZ4
        z[...] = m
        n5 = zarr.open_group(N5Store(f"{folder}/{name}.n5"), mode="w")
        n5.create_dataset("m", data=m, chunks=(16, 256, 256), compressor=numcodecs.GZip(1))
        with mrcfile.new(f"{folder}/{name}.mrc") as f:
            f.set_data(m.astype("i1"))
        np.save(f"{folder}/{name}.npy", m)
        paths[name] = {"zarr": f"{folder}/{name}.zarr", "n5": f"{folder}/{name}.n5/m", "mrc": f"{folder}/{name}.mrc", "npy": f"{folder}/{name}.npy"}
    return paths, mask.size


def best(cmd, repeats):
    seconds = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        seconds.append(time.perf_counter() - t)
    return min(seconds), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs=3, default=[64, 1024, 1024])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    emmask = os.path.join(ROOT, "emmask")
    subprocess.run([emmask, "--help"], check=True, capture_output=True)  # builds the CLI once
    with tempfile.TemporaryDirectory() as folder:
        paths, voxels = make(folder, args.shape)
        print(f"two uint8 masks of {args.shape[0]}×{args.shape[1]}×{args.shape[2]} ({voxels / 1e6:.0f} Mvoxels each); "
              f"best of {args.repeats}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
        print("| format | `emmask eval` (read both, Dice) | reference library + numpy | ratio | same Dice |")
        print("|---|---|---|---|---|")
        for kind, peer in (("npy", "numpy"), ("zarr", "zarr-python"), ("n5", "zarr-python N5Store"), ("mrc", "mrcfile")):
            ours, out = best([emmask, "eval", paths["a"][kind], paths["b"][kind], "--json", "-q"], args.repeats)
            theirs, peer_out = best(["/usr/bin/python3", "-c", PEER, kind, paths["a"][kind], paths["b"][kind]], args.repeats)
            same = abs(json.loads(out)["dice"] - json.loads(peer_out)["dice"]) < 1e-6
            codec = {"npy": "raw, the baseline", "zarr": "Blosc LZ4", "n5": "gzip", "mrc": "mode 0"}[kind]
            print(f"| {kind} ({codec}) | {ours:.2f} s | "
                  f"{theirs:.2f} s ({peer}) | {theirs / ours:.2f}× | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    sys.exit(main())
