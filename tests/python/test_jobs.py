"""The generator adapters used by the widgets' thread workers."""

import pytest

from em_mask._jobs import iter_progress, staged_progress


def _work(x, *, progress, scale=1):
    for i in range(4):
        progress("step", i / 4)
    return x * scale


def test_iter_progress_yields_reports_and_returns_the_result():
    gen = iter_progress(_work, 3, scale=2)
    items = []
    with pytest.raises(StopIteration) as stop:
        while True:
            items.append(next(gen))
    assert items == [("step", 0.0), ("step", 0.25), ("step", 0.5), ("step", 0.75)]
    assert stop.value.value == 6


def test_staged_progress_scales_fractions_and_passes_the_result_through():
    def job():
        result = yield from staged_progress(_work, 0.5, 0.5, 7)
        return result

    gen = job()
    fractions = []
    with pytest.raises(StopIteration) as stop:
        while True:
            fractions.append(next(gen)["fraction"])
    assert fractions == [0.5, 0.625, 0.75, 0.875]
    assert stop.value.value == 7


def test_errors_are_reraised_in_the_generator():
    def boom(*, progress):
        progress("a", 0.1)
        raise ValueError("bad input")

    gen = iter_progress(boom)
    assert next(gen) == ("a", 0.1)
    with pytest.raises(ValueError, match="bad input"):
        next(gen)


def test_unet_is_reported_unavailable():
    import em_mask

    with pytest.raises(em_mask.EmMaskError, match="U-Net worker unavailable") as info:
        em_mask.unet_mask([[1, 2], [3, 4]])
    assert info.value.kind == "unavailable"
