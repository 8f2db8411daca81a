"""The benchmark's scipy pipeline and the .NET classical masker are the same algorithm.

The speed ratio in the README is only meaningful if both sides compute the same thing: on the same phantom they must
pick the same threshold and agree on (nearly) every voxel.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def peer(repo_root):
    sys.path.insert(0, str(repo_root / "benchmarks"))
    import scipy_pipeline

    return scipy_pipeline


@pytest.mark.parametrize("seed,invert", [(1, False), (4, True)])
def test_scipy_peer_matches_dotnet_masker(peer, seed, invert):
    import em_mask

    raw, truth = em_mask.phantom(seed, (48, 96, 96), invert=invert)
    mask, confidence = em_mask.classical_mask(raw)
    info = em_mask.last_call_info()
    peer_mask, peer_confidence, peer_threshold = peer.classical_mask(raw)
    assert info["threshold"] == pytest.approx(peer_threshold, rel=1e-3)
    assert np.mean(mask != peer_mask) < 1e-3
    assert np.abs(confidence - peer_confidence).max() < 1e-2


def test_changing_a_parameter_changes_both(peer):
    import em_mask

    raw, _ = em_mask.phantom(2, (32, 64, 64))
    mask, _ = em_mask.classical_mask(raw, block_size=3, threshold=1.5)
    peer_mask, _, _ = peer.classical_mask(raw, block_size=3, threshold=1.5)
    assert np.mean(mask != peer_mask) < 1e-3
