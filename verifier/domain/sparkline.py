"""Sparklines: a window's values as a line of Unicode blocks, with where the threshold lies.

Pure and total: any floats in (NaN, infinities, nothing at all), a line or None out. Used for the result
comment's picture of the judged window and for the report's fix-hold trend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = " "  # a step without data
#: Points of a result comment's sparkline: enough to see a shape, few enough to read in a table cell.
MAX_POINTS = 48


@dataclass(frozen=True)
class Sparkline:
    line: str
    low: float  # the smallest finite value drawn (the lowest block)
    high: float  # the largest (the highest block)
    points: int  # points with data
    breaking: int  # points that break the condition
    threshold: float | None
    op: str | None
    unit: str = ""

    def threshold_place(self) -> str:
        """Where the threshold lies on the line: above it, below it, or at one of its blocks."""
        if self.threshold is None:
            return ""
        if self.threshold > self.high:
            return "above the whole line"
        if self.threshold < self.low:
            return "below the whole line"
        return f"at {level(self.threshold, self.low, self.high)}"

    def describe(self) -> str:
        """`▁▁▂▇█▃▁ 0.021 to 0.95 s; threshold < 0.3 s lies at ▃; 2 of 48 points break it`."""
        unit = f" {self.unit}" if self.unit else ""
        spread = f"{_number(self.low)} to {_number(self.high)}" if self.high > self.low else _number(self.low)
        text = f"{self.line} {spread}{unit}"
        if self.threshold is not None and self.op:
            text += f"; threshold {self.op} {_number(self.threshold)}{unit} lies {self.threshold_place()}"
            text += f"; {self.breaking} of {self.points} points break it"
        return text


def level(value: float, low: float, high: float) -> str:
    """The block for `value` on a scale from `low` (▁) to `high` (█); the middle block when the scale is flat."""
    if math.isnan(value):
        return GAP
    if not high > low:
        return BLOCKS[len(BLOCKS) // 2 - 1]
    # Halved first: the difference of two large floats of opposite signs would overflow to infinity.
    share = (min(max(value, low), high) / 2 - low / 2) / (high / 2 - low / 2)
    if math.isnan(share):
        return BLOCKS[len(BLOCKS) // 2 - 1]
    return BLOCKS[min(len(BLOCKS) - 1, int(share * len(BLOCKS)))]


def draw(
    values: Sequence[float],
    *,
    threshold: float | None = None,
    op: str | None = None,
    holds: Callable[[float], bool] | None = None,
    unit: str = "",
    scale: tuple[float, float] | None = None,
) -> Sparkline | None:
    """A sparkline of `values` (NaN draws a gap); None when no value is a number.

    The scale runs from the smallest to the largest finite value unless `scale` fixes it (the report's rates
    use 0 to 1, so lines of different services compare). Infinities are drawn at the ends of the scale.
    `holds` says whether a value meets the condition, to count the points that break it."""
    present = [v for v in values if not math.isnan(v)]
    if not present:
        return None
    finite = [v for v in present if math.isfinite(v)] or [0.0]
    low, high = scale if scale else (min(finite), max(finite))
    drawn = (low, high)
    if low == high and threshold is not None and math.isfinite(threshold) and not scale:
        drawn = (min(low, threshold), max(high, threshold))  # a flat line sits low under the threshold, high over it
    line = "".join(level(v, *drawn) for v in values)
    breaking = sum(1 for v in present if holds is not None and not holds(v))
    return Sparkline(line, low, high, len(present), breaking, threshold, op, unit)


def coarse_step(start: datetime, end: datetime, points: int = MAX_POINTS) -> tuple[datetime, int]:
    """The first instant and the step (whole seconds, at least one) of a range query that covers the window
    from `start` to `end` step by step in at most `points` points: the last point is at `end`, and the first
    step's own span begins at or after `start`, so no point reaches before the window."""
    span = max(1, int((end - start).total_seconds()))
    step = max(1, math.ceil(span / max(1, points)))
    count = max(1, span // step)
    return end - timedelta(seconds=step * (count - 1)), step


def downsample(
    points: Sequence[tuple[float, float]], start: float, end: float, worst: Callable[[list[float]], float], size: int
) -> list[float]:
    """`points` (unix seconds, value) from `start` to `end` in `size` equal buckets, each the `worst` of its
    values (so one bad step is not averaged away), NaN for a bucket without data."""
    size = max(1, size)
    buckets: list[list[float]] = [[] for _ in range(size)]
    span = end - start
    for at, value in points:
        if math.isnan(value) or not start <= at <= end:
            continue
        index = min(size - 1, int((at - start) / span * size)) if span > 0 else size - 1
        buckets[index].append(value)
    return [worst(bucket) if bucket else math.nan for bucket in buckets]


def worst_for(op: str | None) -> Callable[[list[float]], float]:
    """The value nearest to breaking a condition with `op`: the largest under `<`, the smallest under `>`."""
    if op in ("<", "<="):
        return max
    if op in (">", ">="):
        return min
    return lambda values: values[-1]


def _number(value: float) -> str:
    return f"{value:.3g}"
