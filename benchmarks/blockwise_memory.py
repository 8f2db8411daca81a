#!/usr/bin/env python3
"""Peak memory and wall time of `emmask mask` in memory vs block by block (issue: out-of-core masking).

Builds test volumes by tiling phantoms (each tile an `emmask phantom` of its own seed, flipped at random) into chunked
(64^3, gzip 1) uint8 HDF5 files, then runs the classical masker

  * in memory (the default budget, so no block-wise run), when the volume fits in this machine's RAM, and
  * block by block with `--max-memory 1G`,

each under /usr/bin/time -v (peak RSS of the whole process, runtime included). Where both ran, the masks are compared
voxel for voxel. Prints a markdown table, writes a PNG plot (peak RSS and time against volume size) and, with
--readme, the table into README.md between <!-- blockwise table --> markers.

    /usr/bin/python3 benchmarks/blockwise_memory.py [--sizes 128,128,128 256,512,512 512,1024,1024] [--work DIR]
"""
import argparse
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMMASK = os.path.join(ROOT, "emmask")
TILE = (128, 256, 256)


def build(path, shape, work):
    if os.path.exists(path):
        return
    tiles = []
    for seed in range(4):
        tile = os.path.join(work, f"tile{seed}.h5")
        if not os.path.exists(tile):
            subprocess.run([EMMASK, "phantom", tile, "--seed", str(100 + seed), "--shape", *map(str, TILE), "-q"], check=True)
        with h5py.File(tile) as f:
            tiles.append(f["raw"][()])
    rng = np.random.default_rng(0)
    tmp = path + ".part"
    with h5py.File(tmp, "w") as f:
        d = f.create_dataset("raw", shape=shape, dtype="uint8", chunks=(64, 64, 64), compression="gzip", compression_opts=1)
        for z in range(0, shape[0], TILE[0]):
            for y in range(0, shape[1], TILE[1]):
                for x in range(0, shape[2], TILE[2]):
                    t = tiles[rng.integers(len(tiles))]
                    if rng.integers(2):
                        t = t[:, ::-1]
                    if rng.integers(2):
                        t = t[:, :, ::-1]
                    nz, ny, nx = min(TILE[0], shape[0] - z), min(TILE[1], shape[1] - y), min(TILE[2], shape[2] - x)
                    d[z:z + nz, y:y + ny, x:x + nx] = t[:nz, :ny, :nx]
    os.replace(tmp, path)


def timed(args):
    start = time.time()
    p = subprocess.run(["/usr/bin/time", "-v", EMMASK, *args], capture_output=True, text=True)
    wall = time.time() - start
    if p.returncode != 0:
        raise SystemExit(f"emmask {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    blocks = re.search(r"block-wise: (\d+) blocks of \(([^)]*)\) with a halo of (\d+)", p.stdout + p.stderr)
    level = re.search(r"working level (\d)", p.stdout + p.stderr)
    return wall, rss, (blocks.groups() if blocks else None), (int(level.group(1)) if level else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["128,128,128", "128,512,512", "256,512,512", "512,1024,1024"])
    ap.add_argument("--work", default="/tmp/emmask-blockwise-bench")
    ap.add_argument("--max-memory", default="1G")
    ap.add_argument("--in-memory-limit", type=float, default=300e6, help="largest volume (voxels) also run in memory")
    ap.add_argument("--readme", action="store_true")
    ap.add_argument("--plot", default=os.path.join(ROOT, "benchmarks", "results", "blockwise_memory.png"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([EMMASK, "--help"], capture_output=True)  # build once, outside the timings
    rows = []
    for text in a.sizes:
        shape = tuple(int(v) for v in text.split(","))
        n = int(np.prod(shape))
        src = os.path.join(a.work, f"vol_{'x'.join(map(str, shape))}.h5")
        build(src, shape, a.work)
        row = {"shape": shape, "voxels": n}
        if n <= a.in_memory_limit:
            out = os.path.join(a.work, "mem.h5")
            row["mem_wall"], row["mem_rss"], _, row["level"] = timed(["mask", src, out, "-f", "-q"])
        out_b = os.path.join(a.work, "blk.h5")
        row["blk_wall"], row["blk_rss"], row["blocks"], level = timed(["mask", src, out_b, "-f", "--max-memory", a.max_memory])
        row["level"] = row.get("level") or level
        if "mem_wall" in row:
            with h5py.File(os.path.join(a.work, "mem.h5")) as f, h5py.File(out_b) as g:
                row["differ"] = int((f["mask"][()] != g["mask"][()]).sum())
        rows.append(row)
        print(row, flush=True)

    def gb(b):
        return f"{b / 2**30:.2f} GB"

    lines = [f"| volume (z×y×x) | voxels | in memory: peak RSS, B/voxel, wall | block-wise `--max-memory {a.max_memory}`: peak RSS, wall | blocks (core, halo) | masks differ |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        mem = f"{gb(r['mem_rss'])}, {r['mem_rss'] / r['voxels']:.1f}, {r['mem_wall']:.1f} s" if "mem_wall" in r else "not run (too big for this machine)"
        blocks = f"{r['blocks'][0]} ({r['blocks'][1]}; {r['blocks'][2]})" if r["blocks"] else "1 (in memory)"
        lines.append(f"| {'×'.join(map(str, r['shape']))} | {r['voxels'] / 1e6:.0f} M | {mem} | {gb(r['blk_rss'])}, {r['blk_wall']:.1f} s | {blocks} | "
                     f"{r['differ'] if 'differ' in r else '–'} |")
    table = "\n".join(lines)
    print(table)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (m, t) = plt.subplots(1, 2, figsize=(10, 4))
        v = [r["voxels"] / 1e6 for r in rows]
        m.plot(v, [r["blk_rss"] / 2**30 for r in rows], "o-", label=f"block-wise --max-memory {a.max_memory}")
        mv = [r for r in rows if "mem_rss" in r]
        m.plot([r["voxels"] / 1e6 for r in mv], [r["mem_rss"] / 2**30 for r in mv], "s--", label="in memory")
        m.set_xlabel("volume (Mvoxels)"); m.set_ylabel("peak RSS (GB)"); m.legend(); m.grid(alpha=.3)
        t.plot(v, [r["blk_wall"] for r in rows], "o-", label="block-wise")
        t.plot([r["voxels"] / 1e6 for r in mv], [r["mem_wall"] for r in mv], "s--", label="in memory")
        t.set_xlabel("volume (Mvoxels)"); t.set_ylabel("wall time (s)"); t.legend(); t.grid(alpha=.3)
        fig.suptitle("emmask mask --method classical, 2 cores")
        fig.tight_layout()
        os.makedirs(os.path.dirname(a.plot), exist_ok=True)
        fig.savefig(a.plot, dpi=90)
        print("plot:", a.plot)
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
    if a.readme:
        path = os.path.join(ROOT, "README.md")
        text = open(path).read()
        start, end = "<!-- blockwise table -->", "<!-- /blockwise table -->"
        if start in text and end in text:
            text = text[:text.index(start) + len(start)] + "\n" + table + "\n" + text[text.index(end):]
            open(path, "w").write(text)
            print("README updated")


if __name__ == "__main__":
    main()
