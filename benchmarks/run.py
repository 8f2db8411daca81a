#!/usr/bin/python3
"""Benchmarks EM Mask against its peers in one run and prints a Markdown table for the README.

1. Compute only: ClassicalMasker (C#, via EmMask.Benchmarks) vs the same pipeline in scipy (scipy_pipeline.py),
   on the same phantoms (128^3 and 256^3), best of N, with peak RSS of each process.
2. Whole CLI: `./emmask mask IN.h5 OUT.h5 --postprocess none` vs `python3 scipy_pipeline.py IN.h5 OUT.h5`
   (process start, HDF5 read, compute, compressed write).

Usage: /usr/bin/python3 benchmarks/run.py [--sizes 128 256] [--repeats 3]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import scipy_pipeline  # noqa: E402


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def scipy_compute(path, repeats):
    """Runs the peer in a fresh process so its peak RSS is its own."""
    code = f"""
import sys, time, json, resource, numpy as np
sys.path.insert(0, {HERE!r})
import scipy_pipeline as sp
v = np.load({path!r})
best = 1e9
for _ in range({repeats}):
    t = time.perf_counter(); m, c, thr = sp.classical_mask(v); best = min(best, time.perf_counter() - t)
print(json.dumps(dict(best_seconds=best, mvox_per_s=v.size / best / 1e6,
      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, tissue_voxels=int(m.sum()))))
"""
    return json.loads(sh(["/usr/bin/python3", "-c", code]).stdout)


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    emmask = os.path.join(ROOT, "emmask")
    subprocess.run([emmask, "--help"], check=True, capture_output=True)  # builds the CLI once
    bench_dir = os.path.join(ROOT, ".emmask-build", "bench")
    sh(["dotnet", "build", os.path.join(HERE, "EmMask.Benchmarks"), "-c", "Release", "-o", bench_dir, "-nologo", "-v", "q"])
    rows, cli_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            h5 = os.path.join(tmp, f"phantom{n}.h5")
            sh([emmask, "phantom", h5, "--seed", "5", "--shape", str(n), str(n), str(n), "-q"])
            import h5py
            with h5py.File(h5, "r") as f:
                raw, gt = f["raw"][...], f["gt"][...]
            npy = os.path.join(tmp, f"phantom{n}.npy")
            np.save(npy, raw)
            ours = json.loads(sh(["dotnet", os.path.join(bench_dir, "EmMask.Benchmarks.dll"), npy, str(args.repeats)]).stdout)
            peer = scipy_compute(npy, args.repeats)
            rows.append((n, ours, peer))
            t_ours = min(timed([emmask, "mask", h5, os.path.join(tmp, f"o{n}_{i}.h5"), "--postprocess", "none", "-q"]) for i in range(2))
            t_peer = min(timed(["/usr/bin/python3", os.path.join(HERE, "scipy_pipeline.py"), h5, os.path.join(tmp, f"p{n}_{i}.h5")]) for i in range(2))
            cli_rows.append((n, t_ours, t_peer))
    cpu = sh(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.strip()
    print(f"Machine: {os.cpu_count()} cores ({cpu}); numpy {np.__version__}, scipy {__import__('scipy').__version__}; best of {args.repeats}.\n")
    print("| volume | EM Mask compute | scipy pipeline | speed-up | EM Mask peak RSS | scipy peak RSS |")
    print("|---|---|---|---|---|---|")
    for n, o, p in rows:
        print(f"| {n}³ | {o['best_seconds']:.3f} s ({o['mvox_per_s']:.0f} Mvox/s) | {p['best_seconds']:.2f} s ({p['mvox_per_s']:.1f} Mvox/s) "
              f"| **{p['best_seconds'] / o['best_seconds']:.1f}×** | {o['peak_rss_mb']:.0f} MB | {p['peak_rss_mb']:.0f} MB |")
    print("\n| volume | `emmask mask` (whole run) | `scipy_pipeline.py` (whole run) | speed-up |")
    print("|---|---|---|---|")
    for n, o, p in cli_rows:
        print(f"| {n}³ | {o:.2f} s | {p:.2f} s | **{p / o:.1f}×** |")


if __name__ == "__main__":
    main()
