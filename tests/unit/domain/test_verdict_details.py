"""What a verdict carries besides its outcome: the query, window and threshold it was judged on, the series it
names, and the reason in words, for every outcome including backend errors and baselines that cannot be used."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import RESOLVED, config, instant, judge, steps
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, plan
from verifier.domain.render import render_result
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, invalid, not_due
from verifier.errors import BackendUnavailable, QueryRejected
from verifier.services.measure import measure

LATER = RESOLVED + timedelta(days=30)


def planned(**fields: object) -> QueryPlan:
    fields.setdefault("metric", "latency_seconds")
    fields.setdefault("condition", "< 100ms p99")
    result = plan(config(**fields), RESOLVED, LATER, incident=IncidentFacts(triggered_at=RESOLVED))
    assert isinstance(result, QueryPlan)
    return result


def test_a_pending_verdict_says_when_it_is_due() -> None:
    pending = plan(config(metric="latency_seconds", condition="< 100ms p99"), RESOLVED, RESOLVED)
    assert isinstance(pending, Pending)
    verdict = not_due(pending)
    assert (verdict.outcome, verdict.reason, verdict.end, verdict.start) == (
        Outcome.PENDING,
        "the verification window ends at 2026-11-03T12:00:00+00:00",
        RESOLVED + timedelta(hours=48),
        None,
    )


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [
        (BackendUnavailable("HTTP 503"), Outcome.ERROR, "the metrics backend failed: HTTP 503"),
        (QueryRejected("parse error"), Outcome.INVALID, "the backend refused the query: parse error"),
    ],
)
def test_a_backend_failure_keeps_the_query_and_window_it_was_asked(
    error: Exception, outcome: Outcome, reason: str
) -> None:
    p = planned()
    verdict = measure(p, FakeMetrics({p.query: error}))  # type: ignore[dict-item]
    assert (verdict.outcome, verdict.reason) == (outcome, reason)
    assert (verdict.query, verdict.start, verdict.end, verdict.op) == (p.query, p.start, p.end, "<")
    assert verdict.threshold == p.threshold and verdict.value is None


def test_an_invalid_config_without_a_plan_carries_only_its_reason() -> None:
    verdict = invalid("config field 'condition': cannot read 'soon'")
    assert (verdict.outcome, verdict.reason, verdict.query, verdict.start) == (
        Outcome.INVALID,
        "config field 'condition': cannot read 'soon'",
        None,
        None,
    )


def test_equality_over_steps_reports_the_first_step_that_broke_it() -> None:
    verdict = judge(
        planned(metric="queue_depth", condition="== 100", mode="every-step", window="20m"), steps(100, 90, 80, 100)
    )
    assert (verdict.outcome, verdict.value, verdict.reason) == (
        Outcome.FAILED,
        90,
        "the condition broke (2 of 4 steps)",
    )


def test_inequality_across_series_reports_the_first_failing_series() -> None:
    verdict = judge(planned(metric="queue_depth", condition="!= 0"), instant(3, 0, 0))
    assert (verdict.value, verdict.series) == (0, '{instance="1"}')


@pytest.mark.parametrize(
    ("condition", "values", "worst", "series"),
    [
        ("> 10", (12, 5, 8), 5, '{instance="1"}'),
        (">= 10", (12, 5, 8), 5, '{instance="1"}'),
        ("< 10", (12, 5, 15), 15, '{instance="2"}'),
        ("<= 10", (12, 5, 15), 15, '{instance="2"}'),
    ],
)
def test_the_worst_failing_series_is_named(
    condition: str, values: tuple[float, ...], worst: float, series: str
) -> None:
    verdict = judge(planned(metric="queue_depth", condition=condition), instant(*values))
    assert (verdict.outcome, verdict.value, verdict.series) == (Outcome.FAILED, worst, series)
    assert verdict.reason == "2 of 3 series broke the condition"


def test_a_baseline_is_the_last_point_of_its_one_series() -> None:
    p = planned(condition="<= 0.5x baseline p99", baseline_window="1h")
    two_points = Measurement((Series((), ((0.0, 10.0), (60.0, 0.4))),))
    verdict = judge(p, instant(0.2), baseline=two_points)
    assert verdict.outcome is Outcome.VERIFIED and verdict.threshold is not None
    assert verdict.threshold.value == pytest.approx(0.2)
    assert verdict.threshold.unit is not None and verdict.threshold.unit.name == "seconds"
    assert not verdict.threshold.assumed
    assert "assumed" not in render_result(verdict, RESOLVED, Flavour.MARKDOWN)


@pytest.mark.parametrize(
    ("baseline", "reason"),
    [
        (None, "the baseline was not measured"),
        (Measurement(()), "no baseline: the baseline query returned no data"),
        (instant(float("nan")), "no baseline: the baseline query returned no data"),
        (instant(0.4, 0.5), "the baseline query returned several series; narrow it to one"),
    ],
)
def test_a_baseline_that_cannot_be_used_is_inconclusive_and_says_why(baseline: Measurement | None, reason: str) -> None:
    verdict = judge(planned(condition="<= 0.5x baseline p99", baseline_window="1h"), instant(0.2), baseline=baseline)
    assert (verdict.outcome, verdict.reason) == (Outcome.INCONCLUSIVE, reason)


def test_a_noformat_macro_in_a_query_cannot_close_the_jira_block_in_any_case() -> None:
    p = planned(metric='sum(rate(x{a="{NoFormat}"}[$window]))', unit="seconds", condition="< 100ms")
    text = render_result(judge(p, instant(0.05)), RESOLVED, Flavour.JIRA_WIKI)
    assert "{NoFormat}" not in text and '{a="{ noformat}"}' in text
