#!/usr/bin/python3
"""U-Net inference modes on phantoms with ~20% and ~60% tissue: plain sliding window (network alone), the tissue envelope
gate (the default), envelope + tile skipping, envelope + skipping + scale 2, and the PyTorch peer (same network and weights, plain sliding window, benchmarks/torch_unet_peer.py) on the same input.

Runs `./emmask mask --method unet` (shipped model), the peer (Debian python3-torch, its own process) and `emmask eval`,
and prints a Markdown table (Mvox/s of the compute step, windows run, Dice vs ground truth), then how well the peer's
mask agrees with our plain one. Usage: /usr/bin/python3 benchmarks/unet_modes.py [--shape Z Y X] [--no-peer] [--repeats N] [--model PATH]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMMASK = os.path.join(ROOT, "emmask")
PEER = os.path.join(ROOT, "benchmarks", "torch_unet_peer.py")
# "plain" is the network alone on every window, without test-time flips; the envelope modes gate it with the grown
# classical mask. The comparison (skip + scale vs plain) is made without flips; the last three rows are the
# defaults (envelope + skip + 4 flips), the same without the wider pass that confirms the hysteresis's anchors, and at scale 2.
# "plain" has no hysteresis either (so no wider pass to confirm its anchors): the network alone, as the peer runs it.
MODES = [("plain", ["--no-skip", "--no-envelope", "--tta", "1", "--hysteresis", "0"]), ("envelope", ["--no-skip", "--tta", "1"]),
         ("envelope + skip", ["--tta", "1"]), ("envelope + skip + scale 2", ["--scale", "2", "--tta", "1"]),
         ("default: envelope + skip + 4 flips", []), ("default without the wider pass (--anchor-confirm 0)", ["--anchor-confirm", "0"]),
         ("default + scale 2", ["--scale", "2"])]


def run(*args):
    return subprocess.run([EMMASK, *args], check=True, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs=3, default=[64, 192, 192])
    ap.add_argument("--no-peer", action="store_true", help="skip the PyTorch peer rows")
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per mode; the fastest counts (default 1)")
    args = ap.parse_args()
    voxels = args.shape[0] * args.shape[1] * args.shape[2]
    agreement = []
    print("| tissue | mode | compute | Mvox/s | windows run | Dice | speed-up vs plain |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for fraction in (0.2, 0.6):
            p = os.path.join(tmp, f"p{fraction}.h5")
            run("phantom", p, "--seed", "2005", "--tissue-fraction", str(fraction), "--shape", *map(str, args.shape), "-q")
            plain = None
            for name, extra in MODES:
                out = os.path.join(tmp, f"m{fraction}{name}.h5")
                model = ["--model", args.model] if args.model else []
                summaries = [json.loads(run("mask", p, out, "--method", "unet", "--postprocess", "none", "--json", "--force", *model, *extra).stdout)
                             for _ in range(args.repeats)]
                summary = min(summaries, key=lambda s: s["ComputeSeconds"])
                dice = json.loads(run("eval", out, p, "--json").stdout)["dice"]
                seconds = summary["ComputeSeconds"]
                note = next((n for n in summary["Notes"] if "windows" in n), "")
                plain = plain or seconds
                print(f"| {fraction:.0%} | {name} | {seconds:.2f} s | {voxels / seconds / 1e6:.2f} | {note.split('(')[0].replace('U-Net ran ', '').strip()} "
                      f"| {dice:.4f} | {plain / seconds:.2f}× |", flush=True)
            if args.no_peer:
                continue
            # Same phantom file, plain sliding window, same ROI/overlap/batch (the CLI's defaults: 64, 0.25, 2).
            out = os.path.join(tmp, f"peer{fraction}.h5")
            res = subprocess.run([sys.executable, PEER, p, out, "--json", *model], check=True, capture_output=True, text=True)
            summary = json.loads(res.stdout)
            dice = json.loads(run("eval", out, p, "--json").stdout)["dice"]
            seconds = summary["ComputeSeconds"]
            print(f"| {fraction:.0%} | PyTorch peer (plain) | {seconds:.2f} s | {voxels / seconds / 1e6:.2f} "
                  f"| {summary['Windows']} of {summary['Windows']} windows | {dice:.4f} | {plain / seconds:.2f}× |", flush=True)
            ours_plain = os.path.join(tmp, f"m{fraction}plain.h5")
            same = json.loads(run("eval", ours_plain, f"{out}:/mask", "--json").stdout)["dice"]
            agreement.append(f"{fraction:.0%} tissue: Dice(our plain mask, peer mask) = {same:.5f}; peer torch "
                             f"{summary['Torch']}, {summary['Threads']} threads, model load {summary['LoadSeconds']:.2f} s "
                             f"(not in its compute; ours counts its model load in compute: with the load the ratio is "
                             f"{plain / (seconds + summary['LoadSeconds']):.1f}×)")
    if agreement:
        print()
        print("Last column for the peer: our plain compute time / the peer's (> 1× = the peer is faster).")
        for line in agreement:
            print(line)


if __name__ == "__main__":
    main()
