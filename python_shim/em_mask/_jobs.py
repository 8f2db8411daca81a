"""Running one .NET call with progress reports and cancellation, without holding the GIL."""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from ._errors import CancelledError, EmMaskError

__all__ = ["CancelToken", "ProgressCallback", "iter_progress", "run_job", "staged_progress"]

#: ``progress(stage, fraction)``: called on the calling thread with the core's stage name and 0..1.
ProgressCallback = Callable[[str, float], Any]

# How often the calling thread looks at the .NET job; bounds progress latency, not cancel latency
# (cancel() reaches .NET directly from whichever thread calls it).
_POLL_SECONDS = 0.05


class CancelToken:
    """A cancel handle for one or more running calls; :meth:`cancel` may be called from any thread.

    Examples
    --------
    >>> token = CancelToken()
    >>> # worker thread: classical_mask(image, cancel=token)  -> raises em_mask.CancelledError
    >>> token.cancel()  # from the GUI thread
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._jobs: list = []

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancelled

    def cancel(self) -> None:
        """Stop every call using this token; calls started later fail at once with :class:`CancelledError`."""
        with self._lock:
            self._cancelled = True
            jobs = list(self._jobs)
        for job in jobs:
            job.Cancel()

    def _attach(self, job) -> None:
        with self._lock:
            if self._cancelled:
                raise CancelledError()
            self._jobs.append(job)

    def _detach(self, job) -> None:
        with self._lock:
            if job in self._jobs:
                self._jobs.remove(job)


def run_job(bridge, call: Callable[[Any], Any], *, progress: Optional[ProgressCallback] = None,
            cancel: Optional[CancelToken] = None):
    """Run ``call(job)`` (a .NET bridge call) on a helper thread and wait for it here.

    pythonnet releases the GIL for the duration of a .NET method, so the helper thread runs the core while this
    thread polls the job's progress (calling ``progress`` here, on the caller's thread) and stays interruptible:
    Ctrl-C or an exception from ``progress`` cancels the .NET work, waits for it to stop and re-raises.

    Returns
    -------
    (result, job)
        The ``BridgeResult`` (already checked: failures raise) and the ``BridgeJob`` (diagnostics).

    Raises
    ------
    CancelledError
        When the token was cancelled.
    EmMaskError
        With the core's message when the call failed.
    """
    job = bridge.BridgeJob()
    if cancel is not None:
        cancel._attach(job)
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["result"] = call(job)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="em_mask-dotnet", daemon=True)
    last = None
    try:
        worker.start()
        while worker.is_alive():
            worker.join(_POLL_SECONDS)
            if progress is not None:
                report = (str(job.Stage), float(job.Fraction))
                if report != last and report[0] != "queued":
                    last = report
                    progress(*report)
    except BaseException:
        job.Cancel()
        worker.join()
        raise
    finally:
        if cancel is not None:
            cancel._detach(job)

    if "error" in outcome:
        raise EmMaskError(f"The .NET bridge failed: {outcome['error']}") from outcome["error"]
    result = check_result(outcome["result"])
    if progress is not None and (last is None or last[1] < 1.0):
        progress(last[0] if last else "done", 1.0)
    return result, job


def check_result(result):
    """``result`` (a bridge result) when it succeeded; else its error as :class:`EmMaskError` (or :class:`CancelledError`)."""
    if not result.Ok:
        kind = str(result.ErrorKind)
        if kind == "cancelled":
            raise CancelledError()
        raise EmMaskError(str(result.Message), kind, str(result.Details))
    return result


def iter_progress(fn: Callable[..., Any], *args, **kwargs):
    """Run ``fn(*args, progress=..., **kwargs)`` on a helper thread, yielding its ``(stage, fraction)`` reports.

    A generator for napari's ``thread_worker``: each report is *yielded* (so the GUI thread can move a progress
    bar), and the generator's return value (``StopIteration.value``, napari's ``returned`` signal) is ``fn``'s
    result; ``fn``'s exception is re-raised here. Closing the generator early does not stop ``fn``: cancel it
    through its :class:`CancelToken`.
    """
    import queue

    reports: "queue.SimpleQueue" = queue.SimpleQueue()
    box: dict = {}
    done = object()

    def target() -> None:
        try:
            box["result"] = fn(*args, progress=lambda stage, fraction: reports.put((stage, fraction)), **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the generator's thread
            box["error"] = exc
        finally:
            reports.put(done)

    thread = threading.Thread(target=target, name="em_mask-progress", daemon=True)
    thread.start()
    while True:
        item = reports.get()
        if item is done:
            break
        yield item
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def staged_progress(fn: Callable[..., Any], start: float, span: float, *args, **kwargs):
    """Like :func:`iter_progress`, yielding ``{"stage", "fraction"}`` dicts with the fraction mapped into
    ``[start, start + span]`` (one stage of a longer job); returns ``fn``'s result."""
    gen = iter_progress(fn, *args, **kwargs)
    while True:
        try:
            stage, fraction = next(gen)
        except StopIteration as stop:
            return stop.value
        yield {"stage": stage, "fraction": start + span * fraction}
