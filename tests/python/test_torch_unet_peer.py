"""The benchmark's PyTorch peer (benchmarks/torch_unet_peer.py) and `emmask mask --method unet` compute the same thing.

The speed ratio in the U-Net benchmark is only meaningful if both sides run the same network on the same windows with
the same normalisation and blending: their probability maps must agree to 1e-3 (a change of the blend sigma or clipping
the normalised input moves them by > 0.3) and their masks on (nearly) every voxel. The peer runs in its own process
(Debian python3-torch must never share a process with TorchSharp's libtorch), as does the CLI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / "benchmarks" / "torch_unet_peer.py"
MODEL = ROOT / "models" / "em-mask-unet-v2.safetensors"  # the shipped default
BUILT_CLI = ROOT / ".emmask-build" / "cli" / "emmask"

pytestmark = [
    # find_spec, not import: torch must not be loaded into this process (the bridge may share it with .NET).
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not importable (apt install python3-torch)"),
    pytest.mark.skipif(not MODEL.is_file(), reason=f"the shipped model {MODEL.name} is absent"),
    pytest.mark.skipif(not BUILT_CLI.exists() and shutil.which("dotnet") is None,
                       reason="the emmask CLI is not built and dotnet is not on PATH to build it"),
]


def _emmask(*args):
    run = subprocess.run(["bash", str(ROOT / "emmask"), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def _peer(*args):
    run = subprocess.run([sys.executable, str(PEER), *map(str, args)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": str(os.cpu_count())})
    assert run.returncode == 0, run.stderr
    return run


def _read(path, dataset):
    with h5py.File(path, "r") as f:
        return f[dataset][()]


@pytest.mark.parametrize("as_float", [False, True], ids=["uint8", "float32-affine-inverted"])
def test_peer_matches_the_cli(tmp_path, as_float):
    src = tmp_path / "phantom.h5"
    _emmask("phantom", src, "--seed", 2005, "--shape", 32, 96, 96, "-q", *(["--invert"] if as_float else []))
    if as_float:
        # Float input with a different range: the percentiles now interpolate between distinct ranks, and our CLI's
        # NaN-cleaning pre-normalisation is no longer the identity on integer levels.
        raw = _read(src, "/raw").astype(np.float32) * np.float32(-3.7) + np.float32(1234.5)
        with h5py.File(src, "a") as f:
            del f["raw"]
            f.create_dataset("raw", data=raw)

    ours, peer = tmp_path / "ours.h5", tmp_path / "peer.h5"
    _emmask("mask", src, ours, "--method", "unet", "--model", MODEL, "--no-skip", "--no-envelope", "--hysteresis", 0, "--tta", 1, "--postprocess", "none", "--device", "cpu",
            "--confidence", f"{ours}:/confidence")
    _peer(src, peer, "--model", MODEL, "--probability", f"{peer}:/confidence", "--json")

    p_ours, p_peer = _read(ours, "/confidence"), _read(peer, "/confidence")
    m_ours, m_peer = _read(ours, "/mask"), _read(peer, "/mask")
    assert p_ours.shape == p_peer.shape == m_ours.shape == m_peer.shape == (32, 96, 96)
    assert 0.05 < m_ours.mean() < 0.95, "degenerate phantom mask: the comparison would say nothing"
    assert np.abs(p_ours - p_peer).max() < 1e-3
    dice = 2 * np.logical_and(m_ours, m_peer).sum() / (m_ours.sum() + m_peer.sum())
    assert dice >= 0.999, f"Dice between ours and the peer {dice:.5f}"
    assert np.mean(m_ours != m_peer) <= 1e-4


def test_peer_runs_the_same_windows_as_the_cli(tmp_path):
    import json

    src, ours, peer = tmp_path / "p.h5", tmp_path / "ours.h5", tmp_path / "peer.h5"
    _emmask("phantom", src, "--seed", 3, "--shape", 20, 40, 70, "-q")
    run = _emmask("mask", src, ours, "--method", "unet", "--model", MODEL, "--no-skip", "--no-envelope", "--hysteresis", 0, "--tta", 1, "--postprocess", "none", "--device", "cpu",
                  "--roi", 32, "--overlap", 0.5, "--json")
    note = next(n for n in json.loads(run.stdout)["Notes"] if "windows" in n)
    summary = json.loads(_peer(src, peer, "--model", MODEL, "--roi", 32, "--overlap", 0.5, "--json").stdout)
    # z: the window shrinks to 32 (20 rounded up to 16s): 1 window; y: 40 with interval 16: starts 0, 8;
    # x: 70 with interval 16: starts 0, 16, 32, 38.
    assert summary["Windows"] == 1 * 2 * 4
    assert note.startswith(f"U-Net ran {summary['Windows']} of {summary['Windows']} windows")
    assert summary["Shape"] == [20, 40, 70] and summary["ComputeSeconds"] > 0
    assert summary["MvoxPerSecond"] == pytest.approx(20 * 40 * 70 / summary["ComputeSeconds"] / 1e6)
    assert np.mean(_read(peer, "/mask") != _read(ours, "/mask")) <= 1e-4


@pytest.mark.parametrize("region", [False, True], ids=["whole", "proofread-region"])
def test_training_steps_match_pytorch(tmp_path, region):
    """`emmask train` on one whole, unaugmented 32³ volume takes the same Adam steps as PyTorch
    (benchmarks/torch_train_peer.py): forward in train mode, DiceCE (weighted by --region), backward and Adam, step by
    step; the losses agree to 1e-4 relative (measured: 3e-7). A wrong loss term, gradient or optimiser setting moves
    them by far more after the first step."""
    src = tmp_path / "p.h5"
    _emmask("phantom", src, "--seed", 7, "--shape", 32, 32, 32, "-q")
    extra = []
    if region:  # a proofreader's correction of the first 12 sections only
        labelled = np.zeros((32, 32, 32), np.uint8)
        labelled[:12] = 1
        with h5py.File(src, "a") as f:
            f.create_dataset("labelled", data=labelled)
        extra = ["--region", "/labelled"]
    steps, lr = 5, 1e-3
    _emmask("train", "--data", src, "--out", tmp_path / "out", "--steps", steps, "--patch", 32, "--batch", 1, "--lr", lr,
            "--seed", 1, "--validate-every", 1, "--init", MODEL, "--threads", 1, "--augment", "none", "-q", *extra)
    import json
    ours = [e["mean_loss"] for e in json.loads((tmp_path / "out" / "training_log.json").read_text())]
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "torch_train_peer.py"), str(src), "--init", str(MODEL),
                          "--steps", str(steps), "--lr", str(lr), *extra], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    peer = json.loads(run.stdout)["losses"]
    assert len(ours) == steps and len(peer) == steps
    np.testing.assert_allclose(ours, peer, rtol=1e-4)
    assert abs(ours[-1] - ours[0]) > 1e-3  # the steps did train
