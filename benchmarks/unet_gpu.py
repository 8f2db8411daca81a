#!/usr/bin/python3
"""Ours against the PyTorch peer on the same device, in one run: `emmask mask --method unet` vs torch_unet_peer.py.

Ours:  ./emmask mask IN OUT --method unet --device DEV --tta 1 --no-skip --no-envelope --hysteresis 0 --scale 1 --batch B --json
       [--precision P]; the network stage (Stages.network of --json) gives Mvox/s, and the whole run is timed too.
Peer:  benchmarks/torch_unet_peer.py, the same network, weights, windows and Gaussian blending, with the volume,
       windows and accumulators on the device (fp32, or bf16 under autocast); its NetworkSeconds is the same stage.
Both run in their own processes (TorchSharp's libtorch and another libtorch in one process crash). The input comes
from `./emmask phantom`. On CUDA, ours runs with EMMASK_LIBTORCH=auto (the libtorch of the PyTorch the peer uses)
unless EMMASK_LIBTORCH is already set.

    /usr/bin/python3 benchmarks/unet_gpu.py [--device cpu|cuda] [--shape Z Y X] [--batch B] [--precision fp32,bf16]
                                             [--model PATH] [--seed S] [--keep DIR]

Prints a Markdown table: run, compute s (network stage), Mvox/s, ratio ours/peer (throughput), Dice of ours vs the
peer's mask, and the whole run's wall time.
"""
from __future__ import annotations

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
EMMASK = os.path.join(ROOT, "emmask")
PEER = os.path.join(ROOT, "benchmarks", "torch_unet_peer.py")
DEFAULT_MODEL = os.path.join(ROOT, "models", "em-mask-unet-v2.safetensors")  # the shipped default


def default_device(python):
    """cuda when the peer's torch sees a GPU (asked in a child process: torch stays out of this one)."""
    run = subprocess.run([python, "-c", "import torch; print(torch.cuda.is_available())"], capture_output=True, text=True)
    return "cuda" if run.returncode == 0 and run.stdout.strip() == "True" else "cpu"


def run(cmd, env=None, may_refuse=False):
    """(completed process, wall seconds); (None, message) for a refusal (exit code 2) when may_refuse."""
    clock = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - clock
    if done.returncode == 2 and may_refuse:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "refused"
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.strip()}")
    return done, wall


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no JSON line in:\n{text}")


def read_mask(path):
    import h5py

    with h5py.File(path, "r") as f:
        return f["/mask"][()].astype(bool)


def dice(a, b):
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else 2.0 * np.logical_and(a, b).sum() / total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", help="cpu or cuda (default: cuda when the peer's torch sees a GPU, else cpu)")
    ap.add_argument("--shape", type=int, nargs=3, default=[128, 512, 512], metavar=("Z", "Y", "X"))
    ap.add_argument("--batch", type=int, default=None, help="windows per forward pass, both sides (default 16 on cuda, 2 on cpu)")
    ap.add_argument("--precision", default="fp32", help="comma-separated: fp32,bf16 (bf16: CUDA for ours)")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--python", default=sys.executable, help="the interpreter with torch for the peer")
    ap.add_argument("--keep", help="keep the phantom and masks in this folder")
    ap.add_argument("--emmask", default=EMMASK,
                    help="our CLI launcher (default ./emmask; on a machine without .NET the bundle's run.sh, "
                         "../shared/tools/gpu/make-bundle.sh)")
    args = ap.parse_args(argv)
    device = args.device or default_device(args.python)
    batch = args.batch or (16 if device.startswith("cuda") else 2)
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    if importlib.util.find_spec("h5py") is None:
        raise SystemExit("error: h5py is needed (apt install python3-h5py)")

    work = args.keep or tempfile.mkdtemp(prefix="emmask-unet-gpu-")
    os.makedirs(work, exist_ok=True)
    phantom = os.path.join(work, "phantom.h5")
    z, y, x = args.shape
    voxels = z * y * x
    run(["bash", args.emmask, "phantom", phantom, "--seed", str(args.seed), "--shape", str(z), str(y), str(x), "--force", "-q"])

    env = dict(os.environ)
    if device.startswith("cuda") and not env.get("EMMASK_LIBTORCH"):
        env["EMMASK_LIBTORCH"] = "auto"
        env.setdefault("EMMASK_PYTHON", args.python)

    rows, notes = [], []
    for precision in precisions:
        ours_out = os.path.join(work, f"ours-{precision}.h5")
        cmd = ["bash", args.emmask, "mask", phantom, ours_out, "--method", "unet", "--device", device, "--tta", "1",
               "--no-skip", "--no-envelope", "--hysteresis", "0", "--scale", "1", "--batch", str(batch), "--model", args.model, "--json",
               "--force", "-q"]
        if precision != "fp32":
            cmd += ["--precision", precision]
        done, ours_wall = run(cmd, env, may_refuse=precision != "fp32")
        ours = last_json(done.stdout) if done else None

        peer_out = os.path.join(work, f"peer-{precision}.h5")
        done, peer_wall = run([args.python, PEER, phantom, peer_out, "--device", device, "--precision", precision,
                               "--batch", str(batch), "--model", args.model, "--json"])
        peer = last_json(done.stdout)
        peer_network = peer["NetworkSeconds"]

        if ours is None:
            notes.append(f"ours {precision}: {ours_wall}")
        else:
            ours_network = ours["Stages"]["network"]
            d = dice(read_mask(ours_out), read_mask(peer_out))
            if precision != "fp32" and os.path.exists(os.path.join(work, "ours-fp32.h5")):
                # The rule for reduced precision: Dice against our own fp32 mask >= 0.999.
                own = dice(read_mask(ours_out), read_mask(os.path.join(work, "ours-fp32.h5")))
                notes.append(f"ours {precision} vs ours fp32: Dice {own:.5f} ({'meets' if own >= 0.999 else 'misses'} >= 0.999)")
            ratio = (voxels / ours_network) / (voxels / peer_network)
            rows.append((f"ours {precision}", ours_network, voxels / ours_network / 1e6, ratio, d, ours_wall, ours["Stages"]))
        rows.append((f"PyTorch {peer['Torch']} {precision}", peer_network, voxels / peer_network / 1e6, None, None, peer_wall, None))

    print(f"\nU-Net on {device}, {z}x{y}x{x} ({voxels / 1e6:.1f} Mvox), batch {batch}, tta 1, no skip, no envelope, scale 1, "
          f"{os.cpu_count()} cores\n")
    print("| run | compute s (network) | Mvox/s | ratio ours/peer | Dice ours vs peer | whole run s |")
    print("|---|---|---|---|---|---|")
    for name, seconds, mvox, ratio, d, wall, _ in rows:
        r = "—" if ratio is None else f"{ratio:.2f}x"
        dd = "—" if d is None else f"{d:.5f}"
        print(f"| {name} | {seconds:.3f} | {mvox:.2f} | {r} | {dd} | {wall:.2f} |")
    for note in notes:
        print(f"\n{note}")
    for name, *_, stages in rows:
        if stages:
            print(f"\n{name} stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))
    if not args.keep:
        for name in os.listdir(work):
            os.remove(os.path.join(work, name))
        os.rmdir(work)
    return rows


if __name__ == "__main__":
    main()
