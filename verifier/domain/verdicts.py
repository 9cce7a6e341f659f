"""Verdicts: what a measurement means for the ticket.

VERIFIED the fix held · FAILED it did not · INCONCLUSIVE no usable data (empty, NaN, backend warnings) ·
PENDING the window is not over · INVALID the config or its query is wrong · ERROR the backend failed.
Only FAILED may reopen a ticket; ERROR writes nothing.

Enough data: a verdict records what it stood on (`Support`: steps with data of the steps judged, and the events in
the window where the metric counts some). VERIFIED and FAILED both need the minimum (`MIN_COVERAGE_PERCENT` of the
steps with data in every-step mode, data at the window's end otherwise; `min_events` for quantiles), and no ±Inf
anywhere: on thin data a FAILED is as unfounded as a VERIFIED, and only FAILED reopens a ticket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime

from verifier import defaults
from verifier.domain.condition import Condition
from verifier.domain.config import canonical
from verifier.domain.evidence import Evidence
from verifier.domain.measurement import Aggregated, Measurement, Series
from verifier.domain.metric import Kind
from verifier.domain.outcomes import Outcome as Outcome  # re-exported: the verdict and its words, one import
from verifier.domain.planning import Pending, QueryPlan, relative_threshold
from verifier.domain.protocol import config_fingerprint
from verifier.domain.units import Threshold


@dataclass(frozen=True)
class Support:
    """What a verdict stood on: steps with finite data of the steps judged (the thinnest series'), and the events
    in the window (a histogram's observations, a counter's increase) with the minimum a quantile needs."""

    steps_with_data: int
    steps: int
    events: float | None = None
    events_needed: int | None = None  # set where a minimum applies (quantiles)
    events_name: str = "events"

    @property
    def coverage_percent(self) -> float:
        return 100.0 * self.steps_with_data / self.steps if self.steps else 0.0

    def as_json(self) -> dict[str, object]:
        """For `--json`: the figures, and the sentence the comment shows. A non-finite count is null."""
        events = self.events if self.events is not None and math.isfinite(self.events) else None
        return {
            "steps_with_data": self.steps_with_data,
            "steps": self.steps,
            "coverage_percent": round(self.coverage_percent, 2),
            "events": events,
            "events_needed": self.events_needed,
            "summary": self.describe(),
        }

    def describe(self) -> str:
        """`576 of 576 steps with data; 71,982 requests in the window`."""
        text = f"{self.steps_with_data} of {self.steps} step{'s' if self.steps != 1 else ''} with data"
        if self.events is not None:
            text += f"; {_count(self.events)} {self.events_name} in the window"
            if self.events_needed is not None:
                text += f" (needs {self.events_needed:,})"
        return text


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    value: float | None = None
    threshold: Threshold | None = None
    op: str | None = None
    query: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    series: str | None = None  # the series reported (the worst one)
    early: bool = False
    notes: tuple[str, ...] = field(default=())
    evidence: Evidence | None = None  # the graph link and sparkline, once gathered
    support: Support | None = None  # what the verdict stood on: coverage and events
    config: str | None = None  # the judged config's fingerprint (protocol.config_fingerprint); None: none judged
    recheck: bool = False  # a later re-check's verdict (`recheck.py`): written with its own marker
    parts: tuple[Verdict, ...] = ()  # a config of several conditions: each one's verdict (`conditions.combine`)
    condition: str | None = None  # which condition of several this verdict is about, as the comment names it


def decide(
    plan: QueryPlan,
    measurement: Measurement,
    baseline: Measurement | None = None,
    *,
    events: Measurement | None = None,
    accept_warnings: bool = False,
) -> Verdict:
    """Judge a measurement against the plan's condition. Every series must hold; the worst is reported.
    `events` answers the plan's `events_query`; without it a plan that has one is INCONCLUSIVE."""
    found = judged_threshold(plan, baseline)
    if isinstance(found, str):
        return _verdict(plan, Outcome.INCONCLUSIVE, found)
    threshold, notes = found
    notes += tuple(f"the backend noted: {info}" for info in measurement.infos)
    if measurement.warnings and not accept_warnings:
        return _verdict(plan, Outcome.INCONCLUSIVE, "the backend warned: " + "; ".join(measurement.warnings))
    condition = plan.config.condition
    judged = [_judge(s, condition, threshold.value, plan.config.tolerance_percent) for s in measurement.series]
    with_data = [j for j in judged if j.value is not None]
    support = _support(plan, judged, events)
    infinite = next((j for j in judged if j.infinite is not None), None)
    if infinite is not None and infinite.infinite is not None:
        reason = f"not a finite value: {_number(infinite.infinite)} in the window" + _in_series(infinite, judged)
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, threshold=threshold, notes=notes, support=support)
    if not with_data:
        reason = "no data: the query returned no samples" if not judged else "no data: every sample is NaN"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, threshold=threshold, notes=notes, support=support)
    failing = [j for j in with_data if not j.held]
    pick = _worst(failing or with_data, condition.op)
    thin = _not_enough(plan, judged, support)
    if thin is not None:
        return _verdict(plan, Outcome.INCONCLUSIVE, thin, pick, threshold, notes, support)
    if failing:
        reason = (
            f"{len(failing)} of {len(judged)} series broke the condition" if len(judged) > 1 else "the condition broke"
        )
        if pick.violations:
            reason += f" ({pick.violations} of {pick.points} steps)"
        return _verdict(plan, Outcome.FAILED, reason, pick, threshold, notes, support)
    if len(with_data) < len(judged):
        missing = len(judged) - len(with_data)
        reason = f"{missing} of {len(judged)} series have no data"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, pick, threshold, notes, support)
    reason = "the condition held" + (f" on all {len(judged)} series" if len(judged) > 1 else "")
    tolerated = max(with_data, key=lambda j: j.violations)
    if tolerated.violations:
        reason += (
            f"; {tolerated.violations} of {tolerated.points} steps broke it, within the "
            f"{plan.config.tolerance_percent:g}% tolerance (the worst such step is shown)"
        )
        pick = tolerated
    return _verdict(plan, Outcome.VERIFIED, reason, pick, threshold, notes, support)


def judged_threshold(plan: QueryPlan, baseline: Measurement | None) -> tuple[Threshold, tuple[str, ...]] | str:
    """The threshold to judge against and the note saying where a measured baseline came from, or why none."""
    if plan.threshold is not None:
        return plan.threshold, ()
    found = _baseline_value(baseline)
    if isinstance(found, str):
        return found
    assert plan.baseline_query is not None
    note = f"baseline {found:.6g} measured at {plan.baseline_query.at.isoformat()}: {plan.baseline_query.query}"
    return relative_threshold(plan, found), (note,)


def decide_aggregated(
    plan: QueryPlan,
    figures: Aggregated,
    baseline: Measurement | None = None,
    *,
    events: Measurement | None = None,
    accept_warnings: bool = False,
) -> Verdict:
    """Judge a window-mode answer asked by aggregation (too many series to read whole) as `decide` judges the
    whole answer: the same outcomes and counts, the worst series named; figures that do not add up are
    INCONCLUSIVE, never FAILED."""
    found = judged_threshold(plan, baseline)
    if isinstance(found, str):
        return _verdict(plan, Outcome.INCONCLUSIVE, found)
    threshold, notes = found
    notes += tuple(f"the backend noted: {info}" for info in figures.infos)
    if figures.warnings and not accept_warnings:
        return _verdict(plan, Outcome.INCONCLUSIVE, "the backend warned: " + "; ".join(figures.warnings))
    total, broken, nan, infinite = figures.total, figures.broken, figures.nan, figures.infinite
    counts = (total, broken, nan, infinite)
    if not all(math.isfinite(c) and c == int(c) and c >= 0 for c in counts) or broken + nan + infinite > total:
        reason = "the backend's counts of the series do not add up: " + ", ".join(_number_or(c) for c in counts)
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, threshold=threshold, notes=notes)
    many = int(total)
    notes += (f"{many:,} series: too many to read whole, so the backend counted them and sent the worst",)
    condition = plan.config.condition
    judged = [_judge(figures.worst, condition, threshold.value, 0.0)] if figures.worst else []
    support = _support(plan, judged, events)
    support = replace(support, steps_with_data=support.steps if total > nan + infinite else 0)
    if infinite:
        reason = f"not a finite value: ±Inf in {int(infinite):,} of {many:,} series"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, threshold=threshold, notes=notes, support=support)
    if nan == total:
        reason = "no data: the query returned no samples" if not total else "no data: every sample is NaN"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, threshold=threshold, notes=notes, support=support)
    pick = judged[0] if judged and judged[0].value is not None else None
    if pick is None or pick.held != (broken == 0):  # no worst series, or one that contradicts the count
        reason = "the backend's worst series does not agree with its count of the series that broke the condition"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, pick, threshold, notes, support)
    thin = _not_enough(plan, judged, support)
    if thin is not None:
        return _verdict(plan, Outcome.INCONCLUSIVE, thin, pick, threshold, notes, support)
    if broken:
        reason = f"{int(broken):,} of {many:,} series broke the condition" if total > 1 else "the condition broke"
        return _verdict(plan, Outcome.FAILED, reason, pick, threshold, notes, support)
    if nan:
        reason = f"{int(nan):,} of {many:,} series have no data"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, pick, threshold, notes, support)
    reason = "the condition held" + (f" on all {many:,} series" if total > 1 else "")
    return _verdict(plan, Outcome.VERIFIED, reason, pick, threshold, notes, support)


def _number_or(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else _number(value)


def not_due(pending: Pending) -> Verdict:
    return Verdict(Outcome.PENDING, pending.reason, end=pending.due_at)


def invalid(reason: str, plan: QueryPlan | None = None) -> Verdict:
    return _verdict(plan, Outcome.INVALID, reason) if plan else Verdict(Outcome.INVALID, reason)


def inconclusive(reason: str, plan: QueryPlan) -> Verdict:
    return _verdict(plan, Outcome.INCONCLUSIVE, reason)


def backend_error(reason: str, plan: QueryPlan) -> Verdict:
    return _verdict(plan, Outcome.ERROR, reason)


@dataclass(frozen=True)
class _Judged:
    series: Series
    value: float | None  # the worst valid value; None when the series has no data
    held: bool
    points: int  # steps with a finite value
    violations: int
    infinite: float | None = None  # the first ±Inf met: nothing can be judged on it


def _judge(series: Series, condition: Condition, threshold: float, tolerance_percent: float) -> _Judged:
    """One series: an instant value, or every step of a range (held while violations stay within tolerance).
    NaN is a step without data; ±Inf makes the series unusable."""
    infinite = next((v for _, v in series.points if math.isinf(v)), None)
    values = [v for _, v in series.points if math.isfinite(v)]
    if not values:
        return _Judged(series, None, held=False, points=0, violations=0, infinite=infinite)
    bad = [v for v in values if not condition.holds(v, threshold)]
    if len(values) == 1:
        return _Judged(series, values[0], held=not bad, points=1, violations=0, infinite=infinite)
    held = len(bad) * 100 <= tolerance_percent * len(values)
    return _Judged(series, _extreme(bad or values, condition.op), held, len(values), len(bad), infinite)


_EVENT_NAMES = {"seconds": "requests", "milliseconds": "requests", "microseconds": "requests"}


def _support(plan: QueryPlan, judged: list[_Judged], events: Measurement | None) -> Support:
    """Coverage of the thinnest series with data (a series without any is reported on its own), and the events."""
    steps = plan.steps
    with_data = [j.points for j in judged if j.points]
    covered = min(min(with_data, default=0), steps)
    needed = None
    if plan.metric.kind is not Kind.COUNTER:  # quantiles and ratios; a counter's increase is its own answer
        needed = plan.config.min_events if plan.config.min_events is not None else defaults.MIN_EVENTS
    name = "events"
    if plan.config.condition.quantile is not None and plan.metric.unit is not None:
        name = _EVENT_NAMES.get(plan.metric.unit.name, "observations")
    return Support(covered, steps, _event_count(events), needed if plan.events_query else None, name)


def _event_count(events: Measurement | None) -> float | None:
    """The events query's single value: None when it was not measured or answered nothing; NaN and ±Inf kept,
    to be refused by `_not_enough`."""
    if events is None:
        return None
    values = [v for s in events.series for _, v in s.points[-1:]]
    return sum(values) if values else 0.0


def _not_enough(plan: QueryPlan, judged: list[_Judged], support: Support) -> str | None:
    """Why the data is too thin to judge on, or None when it is enough."""
    if plan.step is not None:
        thinnest = min((j for j in judged if j.points), key=lambda j: j.points)
        if support.coverage_percent < defaults.MIN_COVERAGE_PERCENT:
            return (
                f"not enough data: {support.steps_with_data} of {support.steps} steps have data"
                f"{_in_series(thinnest, judged)} (needs {defaults.MIN_COVERAGE_PERCENT:g}%)"
            )
    if plan.events_query is None:
        return None
    if support.events is None:
        return "not enough data: the number of events in the window was not measured"
    if not math.isfinite(support.events):
        return f"not enough data: the number of events in the window is {_number(support.events)}"
    if support.events_needed is not None and support.events < support.events_needed:
        return (
            f"not enough data: {_count(support.events)} {support.events_name} in the window "
            f"(needs {support.events_needed:,})"
        )
    return None


def _in_series(one: _Judged, judged: list[_Judged]) -> str:
    return f" in series {one.series.describe()}" if len(judged) > 1 and one.series.labels else ""


def _count(events: float) -> str:
    """Whole events (`increase()` extrapolates: 36.9 requests are 37), with thousands separators."""
    return f"{round(events):,}" if math.isfinite(events) else _number(events)


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _extreme(values: list[float], op: str) -> float:
    """The value nearest to breaking (or furthest past) the condition: the largest under `<`, smallest under `>`."""
    if op in ("<", "<="):
        return max(values)
    if op in (">", ">="):
        return min(values)
    return values[0]


def _worst(judged: list[_Judged], op: str) -> _Judged:
    if op in ("<", "<="):
        return max(judged, key=lambda j: j.value if j.value is not None else -math.inf)
    if op in (">", ">="):
        return min(judged, key=lambda j: j.value if j.value is not None else math.inf)
    return judged[0]


def _baseline_value(baseline: Measurement | None) -> float | str:
    if baseline is None:
        return "the baseline was not measured"
    values = [v for s in baseline.series for _, v in s.points[-1:] if not math.isnan(v)]
    if not values:
        return "no baseline: the baseline query returned no data"
    if any(math.isinf(v) for v in values):
        return "no baseline: the baseline query returned an infinite value"
    if len(values) > 1:
        return "the baseline query returned several series; narrow it to one"
    return values[0]


def _verdict(
    plan: QueryPlan,
    outcome: Outcome,
    reason: str,
    judged: _Judged | None = None,
    threshold: Threshold | None = None,
    notes: tuple[str, ...] = (),
    support: Support | None = None,
) -> Verdict:
    return Verdict(
        outcome=outcome,
        reason=reason,
        value=judged.value if judged else None,
        threshold=threshold or plan.threshold,
        op=plan.config.condition.op,
        config=config_fingerprint(canonical(plan.config)),
        query=plan.query,
        start=plan.start,
        end=plan.end,
        series=judged.series.describe() if judged and judged.series.labels else None,
        early=plan.early,
        notes=plan.notes + notes,
        support=support,
    )
