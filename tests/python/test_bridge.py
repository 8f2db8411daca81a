"""The pythonnet bridge: arrays cross without a copy, strides/dtypes are read right, errors come back as
EmMaskError, the GIL is free while .NET works, and a missing build gives the documented error."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import em_mask
from conftest import ROOT


def _inspect(b, arr):
    job = b.BridgeJob()
    result = b.NumpyBridge.Inspect(int(arr.ctypes.data), b.Int64Array(list(arr.shape)),
                                   b.Int64Array(list(arr.strides)), arr.dtype.str, job)
    return result, job


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_contiguous_input_is_read_in_place(dotnet_bridge, dtype):
    arr = (np.arange(5 * 6 * 7) % 251).astype(dtype).reshape(5, 6, 7)
    result, job = _inspect(dotnet_bridge, arr)
    assert result.Ok, result.Message
    assert result.Value == pytest.approx(float(arr.sum(dtype=np.float64)))
    assert job.InputAddress == arr.ctypes.data
    assert not job.InputCopied


def test_strided_and_reversed_views_are_read_correctly(dotnet_bridge):
    base = (np.arange(6 * 8 * 10) % 200).astype(np.uint16).reshape(6, 8, 10)
    for view in (base[:, ::-1, ::3], base.transpose(2, 0, 1), base[1::2, 2:, :5], base[0]):
        result, job = _inspect(dotnet_bridge, view)
        assert result.Ok, result.Message
        assert result.Value == float(view.sum(dtype=np.float64))
        assert job.InputCopied == (not view.flags.c_contiguous)


def test_unsupported_dtype_and_shape_fail_with_a_message(dotnet_bridge):
    result, _ = _inspect(dotnet_bridge, np.zeros((2, 3, 4), np.float64))
    assert not result.Ok and result.ErrorKind == "argument"
    assert "float" in result.Message.lower() or "<f8" in result.Message
    result, _ = _inspect(dotnet_bridge, np.zeros((2, 3, 4, 5), np.uint8))
    assert not result.Ok and result.ErrorKind == "argument"
    assert "4D" in result.Message


def test_postprocess_does_not_copy_its_input(dotnet_bridge):
    mask = np.zeros((8, 16, 16), np.uint8)
    mask[2:6, 4:12, 4:12] = 1
    em_mask.postprocess(mask, "fill3d")
    info = em_mask.last_call_info()
    assert info["input_address"] == mask.ctypes.data
    assert info["input_copied"] is False


def test_the_gil_is_released_while_dotnet_works(dotnet_bridge):
    mask = (np.random.default_rng(1).random((128, 256, 256)) > 0.5).astype(np.uint8)
    counts = []
    stop = threading.Event()

    def spin():
        n = 0
        while not stop.is_set():
            n += 1
        counts.append(n)

    spinner = threading.Thread(target=spin)
    spinner.start()
    start = time.perf_counter()
    em_mask.postprocess(mask, "open3d:3,close3d:3")
    elapsed = time.perf_counter() - start
    stop.set()
    spinner.join()
    # A held GIL would let the spinner run only in the 5 ms switch intervals of the polling thread.
    assert elapsed > 0.2, "workload too small to tell"
    assert counts[0] > 100_000 * elapsed


def test_missing_dotnet_build_gives_the_documented_error(tmp_path):
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import numpy as np, em_mask\n"
        "try:\n"
        "    em_mask.postprocess(np.zeros((2, 4, 4), np.uint8), 'fill3d')\n"
        "except em_mask.DotnetUnavailableError as e:\n"
        "    print('ERR', e.kind, e)\n"
    ) % str(ROOT / "python_shim")
    env = dict(os.environ, EM_MASK_DOTNET_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR unavailable")
    assert "dotnet build -c Release EmMaskPlugin.sln" in out.stdout
    assert str(tmp_path) in out.stdout
    assert "EM_MASK_DOTNET_DIR" in out.stdout


def test_core_dir_comes_from_the_environment(dotnet_bridge):
    wanted = os.environ.get("EM_MASK_DOTNET_DIR")
    if wanted:
        assert os.path.samefile(dotnet_bridge.core_dir, wanted)
    assert (dotnet_bridge.core_dir / "Python.Runtime.dll").is_file()
