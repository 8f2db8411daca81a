#!/usr/bin/python3
"""Held-out Dice of `emmask mask --method unet` as users run it (sliding window, tissue envelope, skipping).

The model card's held-out phantoms: seeds 2001-2008 at 64x128x128, even seeds inverted, artefacts except on 2003 and
2006 (the recipe's validation pattern). Prints one Markdown row per seed and the mean, for the default settings (4
test-time flips), for the network alone (--no-envelope --no-skip), and at working scale 2 (--scale 2); --modes also
offers tta1 (no flips), scale2tta1 and tta8. Means per contrast and overall.

``--method classical`` scores the classical masker's defaults instead (the checks of ``docs/real-em-decisions.md``):
held-out phantoms as above; thin stacks with ``--shape 16 128 128 --count 16`` and ``--shape 8 192 192 --count 16``;
small ones with ``--shape 4 64 64 --count 16``.

Usage: /usr/bin/python3 benchmarks/unet_heldout.py [--method unet|classical] [--model PATH] [--modes ...] [--shape Z Y X]
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


MODES = {
    "default": ("default (envelope + skip, 4 flips)", []),
    "tta1": ("no test-time flips", ["--tta", "1"]),
    "network": ("network alone, no flips", ["--no-envelope", "--no-skip", "--tta", "1"]),
    "scale2": ("scale 2 (envelope + skip)", ["--scale", "2"]),
    "scale2tta1": ("scale 2, no flips", ["--scale", "2", "--tta", "1"]),
    "tta8": ("8 test-time flips", ["--tta", "8"]),
    "core": ("defaults + classical core", ["--core"]),
    "corefloor": ("defaults + classical core where p >= 0.1", ["--core", "--core-floor", "0.1"]),
    "hysteresis": ("defaults + hysteresis 0.01", ["--hysteresis", "0.01"]),
    "nohysteresis": ("defaults without hysteresis", ["--hysteresis", "0"]),
    "noconfirm": ("defaults without the wider pass confirming anchors", ["--anchor-confirm", "0"]),
    "margin2": ("defaults, envelope margin 2", ["--envelope-margin", "2"]),
    "margin4": ("defaults, envelope margin 4", ["--envelope-margin", "4"]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--modes", default="default,network,scale2",
                    help=f"comma-separated, from {','.join(MODES)} (default: default,network,scale2)")
    ap.add_argument("--first-seed", type=int, default=2001,
                    help="first phantom seed (default 2001, the held-out set; 1001 gives the validation seeds)")
    ap.add_argument("--count", type=int, default=8, help="number of seeds (default 8)")
    ap.add_argument("--method", choices=["unet", "classical"], default="unet")
    ap.add_argument("--shape", type=int, nargs=3, default=[64, 128, 128], metavar=("Z", "Y", "X"))
    args = ap.parse_args()
    model = ["--model", args.model] if args.model else []
    modes = [MODES[m] for m in args.modes.split(",")] if args.method == "unet" else [("defaults", [])]
    print("| seed | contrast | artefacts | " + " | ".join(f"Dice, {name}" for name, _ in modes) + " |")
    print("|---|---|---|" + "---|" * len(modes))
    scores = {"normal": [], "inverted": []}
    seeds = list(range(args.first_seed, args.first_seed + args.count))
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(seeds):
            invert, artefacts = i % 2 == 1, i < 2 or i % 3 != 2
            p = os.path.join(tmp, f"p{seed}.h5")
            run("phantom", p, "--seed", str(seed), "--shape", *map(str, args.shape), *(["--invert"] if invert else []),
                *([] if artefacts else ["--no-artefacts"]), "-q")
            dice = []
            for k, (name, extra) in enumerate(modes):
                out = os.path.join(tmp, f"m{seed}_{k}.h5")
                run("mask", p, out, "--method", args.method, "-q", *(model if args.method == "unet" else []), *extra)
                dice.append(json.loads(run("eval", out, p, "--json").stdout)["dice"])
            scores["inverted" if invert else "normal"].append(dice)
            print(f"| {seed} | {'inverted' if invert else 'normal'} | {'yes' if artefacts else 'no'} | "
                  + " | ".join(f"{d:.4f}" for d in dice) + " |", flush=True)
    for contrast, rows in scores.items():
        means = [sum(col) / len(col) for col in zip(*rows)]
        print(f"| mean, {contrast} | | | " + " | ".join(f"{m:.4f}" for m in means) + " |")
    every = scores["normal"] + scores["inverted"]
    print("| mean | | | " + " | ".join(f"**{sum(col) / len(col):.4f}**" for col in zip(*every)) + " |")


if __name__ == "__main__":
    main()
