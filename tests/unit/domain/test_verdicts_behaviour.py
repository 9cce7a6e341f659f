"""Verdicts decided before the main query: a histogram whose buckets cannot be trusted, and a refused query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.unit.helpers import RESOLVED, config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.verdicts import Outcome, invalid
from verifier.services.resolve import check_buckets


@dataclass
class Buckets:
    """Answers every instant query with the same bucket increases."""

    answer: Measurement

    def instant(self, query: str, at: datetime) -> Measurement:
        return self.answer

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        return Measurement(())


def _planned() -> QueryPlan:
    result = plan(config(metric="latency_seconds", condition="< 100ms p99"), RESOLVED, RESOLVED + timedelta(days=30))
    assert isinstance(result, QueryPlan)
    return result


def test_a_histogram_whose_buckets_shrink_is_inconclusive_and_says_what_was_asked() -> None:
    shrinking = Measurement((Series((("le", "0.1"),), ((0.0, 50.0),)), Series((("le", "0.5"),), ((0.0, 20.0),))))
    p = _planned()
    verdict = check_buckets(p, Buckets(shrinking))
    assert verdict is not None
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason.startswith("the histogram's buckets are not cumulative (le=0.1 grew by 50, le=0.5 by 20)")
    assert (verdict.query, verdict.start, verdict.end, verdict.op) == (p.query, p.start, p.end, "<")
    assert verdict.threshold == p.threshold


def test_an_invalid_verdict_with_a_plan_shows_its_query_and_without_one_only_the_reason() -> None:
    p = _planned()
    with_plan = invalid("the backend refused the query: parse error", p)
    assert (with_plan.outcome, with_plan.query, with_plan.start, with_plan.end) == (
        Outcome.INVALID,
        p.query,
        p.start,
        p.end,
    )
    bare = invalid("metric: is required")
    assert (bare.outcome, bare.reason, bare.query, bare.start, bare.op) == (
        Outcome.INVALID,
        "metric: is required",
        None,
        None,
        None,
    )
