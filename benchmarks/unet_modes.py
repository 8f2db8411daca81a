#!/usr/bin/python3
"""U-Net inference modes on phantoms with ~20% and ~60% tissue: plain sliding window, tile skipping, skipping + scale 2.

Runs `./emmask mask --method unet` (shipped model) and `emmask eval`, and prints a Markdown table (Mvox/s of the compute
step, windows run, Dice). Usage: /usr/bin/python3 benchmarks/unet_modes.py [--shape Z Y X]
"""
import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMMASK = os.path.join(ROOT, "emmask")
MODES = [("plain", ["--no-skip"]), ("skip", []), ("skip + scale 2", ["--scale", "2"])]


def run(*args):
    return subprocess.run([EMMASK, *args], check=True, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs=3, default=[64, 192, 192])
    args = ap.parse_args()
    print("| tissue | mode | compute | Mvox/s | windows run | Dice | speed-up vs plain |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for fraction in (0.2, 0.6):
            p = os.path.join(tmp, f"p{fraction}.h5")
            run("phantom", p, "--seed", "2005", "--tissue-fraction", str(fraction), "--shape", *map(str, args.shape), "-q")
            plain = None
            for name, extra in MODES:
                out = os.path.join(tmp, f"m{fraction}{name}.h5")
                res = run("mask", p, out, "--method", "unet", "--postprocess", "none", "--json", *extra)
                summary = json.loads(res.stdout)
                dice = json.loads(run("eval", out, p, "--json").stdout)["dice"]
                seconds = summary["ComputeSeconds"]
                voxels = args.shape[0] * args.shape[1] * args.shape[2]
                note = next((n for n in summary["Notes"] if "windows" in n), "")
                plain = plain or seconds
                print(f"| {fraction:.0%} | {name} | {seconds:.1f} s | {voxels / seconds / 1e6:.2f} | {note.split('(')[0].replace('U-Net ran ', '').strip()} "
                      f"| {dice:.4f} | {plain / seconds:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
