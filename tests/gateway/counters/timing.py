"""Timing checks that hold on a slow or loaded machine: each call is bracketed by local clock readings,
and an expectation about elapsed time is checked against the bounds those readings give."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
EPS = 0.005  # Redis expires at millisecond resolution; a little slack for float rounding


@dataclass(frozen=True)
class Span:
    """The call happened (on the server too) somewhere between ``start`` and ``end``."""

    start: float
    end: float


async def timed(awaitable: Awaitable[T]) -> tuple[T, Span]:
    start = time.monotonic()
    result = await awaitable
    return result, Span(start, time.monotonic())


def surely_before(origin: Span, seconds: float) -> bool:
    """Whether everything up to now surely happened less than ``seconds`` after ``origin``."""
    return time.monotonic() - origin.start < seconds - EPS


def surely_after(origin: Span, at: Span, seconds: float) -> bool:
    """Whether ``at`` surely happened at least ``seconds`` after ``origin``."""
    return at.start - origin.end >= seconds + EPS


def check_wait(wait: float, nominal: float, origin: Span, at: Span) -> None:
    """A bucket needing ``nominal`` seconds of refill at ``origin`` answered ``wait`` at ``at``."""
    low = nominal - (at.end - origin.start) - EPS
    high = nominal - (at.start - origin.end) + EPS
    if wait == 0.0:
        assert low <= 0, f"admitted although {low:.3f} s of refill were still missing"
    else:
        assert low <= wait <= high, f"wait {wait:.4f} s outside [{low:.4f}, {high:.4f}]"
