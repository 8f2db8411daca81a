#!/usr/bin/python3
"""PyTorch peer of `emmask train` on one whole volume: the same steps in plain PyTorch, to check our training maths.

With ``emmask train --patch EDGE --batch 1 --augment none`` on a volume of exactly EDGE³ voxels, every step trains on
the whole volume, unaugmented, so both sides see the same batch. This script loads the start model into the reference
module tree of ``torch_unet_peer.py``, normalises the volume as our trainer does, and runs the same number of Adam
steps on the loss of ``DiceCELoss.cs`` (BCE on logits plus batch soft Dice, both weighted by the labelled region,
smoothing 1e-5). It prints the loss of every step as JSON (the loss before that step's update, as
``training_log.json``'s ``mean_loss`` with ``--validate-every 1``).

Usage: /usr/bin/python3 benchmarks/torch_train_peer.py VOLUME.h5 --init MODEL --steps N --lr LR [--region /labelled]

Runs in its own process: Debian's python3-torch must never share a process with TorchSharp's libtorch.
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_unet_peer  # noqa: E402  (the module tree, the safetensors reader and the normalisation)

SMOOTH = 1e-5  # DiceCELoss.Smooth


def dice_ce(logits, target, weight):
    """DiceCELoss.Compute: weighted BCE on logits (mean over weighted voxels) plus 1 − weighted batch soft Dice."""
    total = weight.sum().clamp_min(1.0)
    bce = (torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).sum() / total
    p = torch.sigmoid(logits) * weight
    dice = 1 - (2 * (p * target).sum() + SMOOTH) / (p.sum() + (target * weight).sum() + SMOOTH)
    return bce + dice


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("volume")
    ap.add_argument("--raw", default="/raw")
    ap.add_argument("--labels", default="/gt")
    ap.add_argument("--region", default=None)
    ap.add_argument("--init", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--lr", type=float, required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    with h5py.File(a.volume, "r") as f:
        raw = f[a.raw][()]
        labels = f[a.labels][()]
        region = f[a.region][()] if a.region else np.ones_like(labels)
    x = torch.from_numpy(torch_unet_peer.normalise(raw))[None, None]
    y = torch.from_numpy((labels != 0).astype(np.float32))[None, None]
    w = torch.from_numpy((region != 0).astype(np.float32))[None, None]
    net, _ = torch_unet_peer.load_model(a.init)
    net.train()
    optimiser = torch.optim.Adam(net.parameters(), lr=a.lr)
    losses = []
    for _ in range(a.steps):
        optimiser.zero_grad()
        loss = dice_ce(net(x), y, w)
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    print(json.dumps({"losses": losses}))


if __name__ == "__main__":
    main()
