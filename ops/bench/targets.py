"""How a figure is summarised and held against its target: percentiles, ratios, verdicts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value that at least `fraction` (0 < f <= 1) of
    `values` are at most (p95: fraction 0.95). Raises ValueError if `values` is empty."""
    if not values:
        raise ValueError("no values")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction {fraction} is not in (0, 1]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Timing:
    """Median and p95 of a set of durations (ms)."""

    median: float
    p95: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Timing:
        return cls(statistics.median(values), percentile(values, 0.95))


@dataclass(frozen=True)
class Verdict:
    """One target: what was measured, what was wanted, and whether it holds."""

    measured: float
    limit: float
    met: bool

    @classmethod
    def at_most(cls, measured: float, limit: float) -> Verdict:
        return cls(measured, limit, measured <= limit)

    def __str__(self) -> str:
        return "met" if self.met else "MISSED"


def ratio(measured: float, baseline: float) -> float:
    """`measured / baseline`; infinity when the baseline is 0 (nothing can be compared to it)."""
    return measured / baseline if baseline > 0 else math.inf


def requests_verdict(own: int, expected: int, rest: int, allowed_rest: int) -> bool:
    """Issue 12's request budget for an invocation: exactly the operation's own requests
    (`expected`: create 1, get 1, a page 1, a change 2) and at most `allowed_rest` others (1,
    for rate limiting)."""
    return own == expected and rest <= allowed_rest
