"""Block-wise CLI runs on HDF5 inputs with awkward chunking give the in-memory mask (and the store is cleaned up)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import em_mask  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _emmask(*args):
    run = subprocess.run(["bash", str(ROOT / "emmask"), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(scope="module")
def volume():
    raw, _ = em_mask.phantom(seed=21, shape=(72, 144, 144))
    return raw


@pytest.mark.parametrize("chunks", [(1, 144, 144), (72, 144, 144), (7, 13, 144), None],
                         ids=["sections", "one-huge-chunk", "odd", "contiguous"])
def test_awkward_chunks_give_the_in_memory_mask(volume, tmp_path, chunks):
    src = tmp_path / "in.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("raw", data=volume, chunks=chunks, compression="gzip" if chunks else None)
    # Blocks of 48 at level 0 test the reads; the trachea rule's reach (halo 55) would need 64, so it is off here.
    level0 = ("--mode", "3d", "--level", "0", "--trachea-gap", "0", "-q")
    _emmask("mask", src, tmp_path / "mem.h5", *level0)
    _emmask("mask", src, tmp_path / "blk.h5", *level0, "--block", "48")
    with h5py.File(tmp_path / "mem.h5") as a, h5py.File(tmp_path / "blk.h5") as b:
        np.testing.assert_array_equal(a["mask"][()], b["mask"][()])
        flag = b["mask"].attrs["blockwise"]
        assert (flag.decode() if isinstance(flag, bytes) else str(flag)) == "true"
    assert not (tmp_path / ".blk.h5.blocks").exists()
