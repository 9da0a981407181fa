"""Polling with backoff: quick to notice a fast completion, gentle on the API over a 40-minute apply."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Backoff:
    """Intervals initial, initial*factor, ... capped at `cap`; `reset()` after progress is seen.

    Starting small matters: in a rehearsal (or a no-op update) completion comes in seconds and the
    user should not wait a full 30 s interval to see it. The cap keeps a 40-minute apply at about
    two calls a minute.
    """

    initial: float = 0.5
    factor: float = 1.6
    cap: float = 30.0
    _next: float = 0.0

    def __post_init__(self) -> None:
        self._next = self.initial

    def reset(self) -> None:
        self._next = self.initial

    def intervals(self) -> Iterator[float]:
        while True:
            current = self._next
            self._next = min(self.cap, self._next * self.factor)
            yield current


def wait_for(probe: Callable[[], T | None], *, timeout: float, backoff: Backoff | None = None,
             sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> T | None:
    """Call `probe` until it returns a value (not None) or `timeout` passes; returns None on timeout."""
    backoff = backoff or Backoff()
    deadline = clock() + timeout
    for interval in backoff.intervals():
        result = probe()
        if result is not None:
            return result
        remaining = deadline - clock()
        if remaining <= 0:
            return None
        sleep(min(interval, remaining))
    return None  # pragma: no cover - the generator never ends
