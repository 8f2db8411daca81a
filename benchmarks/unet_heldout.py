#!/usr/bin/python3
"""Held-out Dice of `emmask mask --method unet` as users run it (sliding window, tissue envelope, skipping).

The model card's held-out phantoms: seeds 2001-2008 at 64x128x128, even seeds inverted, artefacts except on 2003 and
2006 (the recipe's validation pattern). Prints one Markdown row per seed and the mean, for the default settings, for
the network alone (--no-envelope --no-skip), and at working scale 2 (--scale 2). Usage: /usr/bin/python3 benchmarks/unet_heldout.py [--model PATH]
"""
import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMMASK = os.path.join(ROOT, "emmask")


def run(*args):
    return subprocess.run([EMMASK, *args], check=True, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="model file (default: the shipped one)")
    args = ap.parse_args()
    model = ["--model", args.model] if args.model else []
    modes = [("default (envelope + skip)", []), ("network alone", ["--no-envelope", "--no-skip"]),
             ("scale 2 (envelope + skip)", ["--scale", "2"])]
    print("| seed | contrast | artefacts | " + " | ".join(f"Dice, {name}" for name, _ in modes) + " |")
    print("|---|---|---|" + "---|" * len(modes))
    totals = [0.0] * len(modes)
    seeds = list(range(2001, 2009))
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(seeds):
            invert, artefacts = i % 2 == 1, i < 2 or i % 3 != 2
            p = os.path.join(tmp, f"p{seed}.h5")
            run("phantom", p, "--seed", str(seed), "--shape", "64", "128", "128", *(["--invert"] if invert else []),
                *([] if artefacts else ["--no-artefacts"]), "-q")
            dice = []
            for k, (name, extra) in enumerate(modes):
                out = os.path.join(tmp, f"m{seed}_{k}.h5")
                run("mask", p, out, "--method", "unet", "-q", *model, *extra)
                dice.append(json.loads(run("eval", out, p, "--json").stdout)["dice"])
                totals[k] += dice[-1]
            print(f"| {seed} | {'inverted' if invert else 'normal'} | {'yes' if artefacts else 'no'} | "
                  + " | ".join(f"{d:.4f}" for d in dice) + " |", flush=True)
    print("| mean | | | " + " | ".join(f"**{t / len(seeds):.4f}**" for t in totals) + " |")


if __name__ == "__main__":
    main()
