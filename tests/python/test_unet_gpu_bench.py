"""benchmarks/unet_gpu.py runs end to end on the CPU: ours and the PyTorch peer in their own processes, one table."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "em-mask-unet-v2.safetensors"  # the shipped default

pytestmark = [
    # find_spec, not import: torch must not be loaded into this process.
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not importable (apt install python3-torch)"),
    pytest.mark.skipif(importlib.util.find_spec("h5py") is None, reason="h5py is not importable"),
    pytest.mark.skipif(not MODEL.is_file(), reason=f"the shipped model {MODEL.name} is absent"),
    pytest.mark.skipif(not (ROOT / ".emmask-build" / "cli" / "emmask").exists() and shutil.which("dotnet") is None,
                       reason="the emmask CLI is not built and dotnet is not on PATH to build it"),
]


def test_cpu_run_prints_ours_against_the_peer_with_equal_masks():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "unet_gpu.py"), "--device", "cpu", "--shape", "16", "64", "64"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in run.stdout.splitlines() if line.startswith("| ") and not line.startswith("| run")}
    ours = rows["ours fp32"]
    assert float(ours[0]) > 0 and ours[2].endswith("x")
    assert float(ours[3]) >= 0.99  # Dice of ours vs the peer's mask
    assert any(name.startswith("PyTorch") for name in rows)
