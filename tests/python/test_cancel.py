"""Cancelling: a running call stops within 1 s, a cancelled token refuses new calls, Ctrl-C-like interruption
of the waiting thread cancels the .NET work."""

import threading
import time

import numpy as np
import pytest

import em_mask

# About 6 s of morphology on this machine uncancelled: long enough that finishing early means cancellation worked.
_SHAPE = (128, 320, 320)
_SPEC = "open3d:3,close3d:3,open3d:3,close3d:3"


@pytest.fixture(scope="module")
def big_mask():
    return (np.random.default_rng(7).random(_SHAPE) > 0.5).astype(np.uint8)


def test_cancel_stops_a_running_call_within_one_second(dotnet_bridge, big_mask):
    token = em_mask.CancelToken()
    cancelled_at = []

    def cancel_soon():
        time.sleep(0.5)
        cancelled_at.append(time.perf_counter())
        token.cancel()

    threading.Thread(target=cancel_soon).start()
    start = time.perf_counter()
    with pytest.raises(em_mask.CancelledError):
        em_mask.postprocess(big_mask, _SPEC, cancel=token)
    stopped = time.perf_counter()
    assert cancelled_at, "the call ended before it could be cancelled: workload too small"
    assert stopped - cancelled_at[0] < 1.0, f"took {stopped - cancelled_at[0]:.2f} s to stop"
    assert stopped - start > 0.45


def test_a_cancelled_token_refuses_new_calls(dotnet_bridge):
    token = em_mask.CancelToken()
    token.cancel()
    assert token.cancelled
    start = time.perf_counter()
    with pytest.raises(em_mask.CancelledError):
        em_mask.postprocess(np.ones((4, 8, 8), np.uint8), "fill3d", cancel=token)
    assert time.perf_counter() - start < 0.5


def test_an_exception_in_the_progress_callback_cancels_the_dotnet_work(dotnet_bridge, big_mask):
    calls = []

    def progress(stage, fraction):
        calls.append(time.perf_counter())
        raise KeyboardInterrupt  # what Ctrl-C in the waiting thread looks like

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        em_mask.postprocess(big_mask, _SPEC, progress=progress)
    assert calls and time.perf_counter() - calls[0] < 1.0
    assert time.perf_counter() - start < 3.0
