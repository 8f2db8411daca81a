"""pytest setup for the napari plugin's tests.

Prerequisite: the .NET core is built (`dotnet build -c Release EmMaskPlugin.sln` from the repository root).
Run: /usr/bin/python3 -m pytest tests/python -q
The package is imported from python_shim/ (no install needed); EM_MASK_DOTNET_DIR, when set, picks the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python_shim"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def dotnet_bridge():
    """The booted bridge (NumpyBridge, BridgeJob); fails the test with the build hint when the core is missing."""
    from em_mask._dotnet import bridge

    return bridge()
