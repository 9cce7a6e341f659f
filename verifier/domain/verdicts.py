"""Verdicts: what a measurement means for the ticket.

VERIFIED the fix held · FAILED it did not · INCONCLUSIVE no usable data (empty, NaN, backend warnings) ·
PENDING the window is not over · INVALID the config or its query is wrong · ERROR the backend failed.
Only FAILED may reopen a ticket; ERROR writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from verifier.domain.condition import Condition
from verifier.domain.config import canonical
from verifier.domain.evidence import Evidence
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import Pending, QueryPlan, relative_threshold
from verifier.domain.protocol import config_fingerprint
from verifier.domain.units import Threshold


class Outcome(StrEnum):
    VERIFIED = "VERIFIED"
    FAILED = "FAILED"
    INCONCLUSIVE = "INCONCLUSIVE"
    PENDING = "PENDING"
    INVALID = "INVALID"
    ERROR = "ERROR"


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
    config: str | None = None  # the judged config's fingerprint (protocol.config_fingerprint); None: none judged


def decide(
    plan: QueryPlan,
    measurement: Measurement,
    baseline: Measurement | None = None,
    *,
    accept_warnings: bool = False,
) -> Verdict:
    """Judge a measurement against the plan's condition. Every series must hold; the worst is reported."""
    threshold = plan.threshold
    notes: tuple[str, ...] = ()
    if threshold is None:
        found = _baseline_value(baseline)
        if isinstance(found, str):
            return _verdict(plan, Outcome.INCONCLUSIVE, found)
        threshold = relative_threshold(plan, found)
        assert plan.baseline_query is not None
        notes = (f"baseline {found:.6g} measured at {plan.baseline_query.at.isoformat()}: {plan.baseline_query.query}",)
    notes += tuple(f"the backend noted: {info}" for info in measurement.infos)
    if measurement.warnings and not accept_warnings:
        return _verdict(plan, Outcome.INCONCLUSIVE, "the backend warned: " + "; ".join(measurement.warnings))
    condition = plan.config.condition
    judged = [_judge(s, condition, threshold.value, plan.config.tolerance_percent) for s in measurement.series]
    with_data = [j for j in judged if j.value is not None]
    if not with_data:
        reason = "no data: the query returned no samples" if not judged else "no data: every sample is NaN"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, threshold=threshold, notes=notes)
    failing = [j for j in with_data if not j.held]
    pick = _worst(failing or with_data, condition.op)
    if failing:
        reason = (
            f"{len(failing)} of {len(judged)} series broke the condition" if len(judged) > 1 else "the condition broke"
        )
        if pick.violations:
            reason += f" ({pick.violations} of {pick.points} steps)"
        return _verdict(plan, Outcome.FAILED, reason, pick, threshold, notes)
    if len(with_data) < len(judged):
        missing = len(judged) - len(with_data)
        reason = f"{missing} of {len(judged)} series have no data"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason, pick, threshold, notes)
    reason = "the condition held" + (f" on all {len(judged)} series" if len(judged) > 1 else "")
    tolerated = max(with_data, key=lambda j: j.violations)
    if tolerated.violations:
        reason += (
            f"; {tolerated.violations} of {tolerated.points} steps broke it, within the "
            f"{plan.config.tolerance_percent:g}% tolerance (the worst such step is shown)"
        )
        pick = tolerated
    return _verdict(plan, Outcome.VERIFIED, reason, pick, threshold, notes)


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
    points: int
    violations: int


def _judge(series: Series, condition: Condition, threshold: float, tolerance_percent: float) -> _Judged:
    """One series: an instant value, or every step of a range (held while violations stay within tolerance)."""
    values = [v for _, v in series.points if not math.isnan(v)]
    if not values:
        return _Judged(series, None, held=False, points=0, violations=0)
    bad = [v for v in values if not condition.holds(v, threshold)]
    if len(values) == 1:
        return _Judged(series, values[0], held=not bad, points=1, violations=0)
    held = len(bad) * 100 <= tolerance_percent * len(values)
    return _Judged(series, _extreme(bad or values, condition.op), held, len(values), len(bad))


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
    )
