from __future__ import annotations

from itertools import islice

from eks_tfup.poll import Backoff, wait_for


def test_backoff_grows_to_the_cap_and_resets() -> None:
    b = Backoff(initial=0.5, factor=2.0, cap=4.0)
    assert list(islice(b.intervals(), 6)) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert next(b.intervals()) == 0.5


def test_wait_for_notices_completion_at_the_next_probe_and_times_out() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    calls = iter([None, None, None, "done"])
    assert wait_for(lambda: next(calls), timeout=100, backoff=Backoff(0.5, 2.0, 30), sleep=sleep,
                    clock=lambda: now[0]) == "done"
    assert slept == [0.5, 1.0, 2.0]  # three short waits, not one long one
    now[0] = 0.0
    slept.clear()
    assert wait_for(lambda: None, timeout=10, backoff=Backoff(1, 2, 30), sleep=sleep, clock=lambda: now[0]) is None
    assert sum(slept) == 10  # never sleeps past the deadline
