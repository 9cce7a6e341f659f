"""Verdicts decided before the main query: a histogram whose buckets cannot be trusted, and a refused query.

What a verdict carries besides its outcome: the query, window and threshold it was judged on, the series it
names, and the reason in words, for every outcome including backend errors and baselines that cannot be used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import RESOLVED, config, instant, judge, steps
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, plan
from verifier.domain.render import render_result
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, invalid, not_due
from verifier.errors import BackendUnavailable, QueryRejected
from verifier.services.measure import measure
from verifier.services.resolve import check_buckets

LATER = RESOLVED + timedelta(days=30)


def p(**fields: object) -> QueryPlan:
    fields.setdefault("metric", "http_server_request_duration_seconds")
    fields.setdefault("condition", "< 100ms p99")
    result = plan(config(**fields), RESOLVED, LATER, incident=IncidentFacts(actual_value=0.4, triggered_at=RESOLVED))
    assert isinstance(result, QueryPlan)
    return result


def test_held() -> None:
    v = judge(p(), instant(0.082))
    assert v.outcome is Outcome.VERIFIED and v.value == 0.082
    assert v.threshold is not None and v.threshold.value == pytest.approx(0.1)
    assert v.query == p().query and v.start == RESOLVED


def test_broke() -> None:
    assert judge(p(), instant(0.25)).outcome is Outcome.FAILED


def test_boundary_is_strict() -> None:
    assert judge(p(), instant(0.1)).outcome is Outcome.FAILED
    assert judge(p(condition="<= 100ms p99"), instant(0.1)).outcome is Outcome.VERIFIED


def test_no_data_and_nan_are_inconclusive() -> None:
    assert judge(p(), Measurement(())).outcome is Outcome.INCONCLUSIVE
    assert judge(p(), instant(math.nan)).outcome is Outcome.INCONCLUSIVE


def test_an_infinite_value_is_inconclusive_never_failed_or_verified() -> None:
    # +Inf under `<` used to be FAILED (a reopen on a division by zero), -Inf VERIFIED: neither is a measurement.
    for value, shown in ((math.inf, "+Inf"), (-math.inf, "-Inf")):
        v = judge(p(), instant(value))
        assert (v.outcome, v.reason) == (Outcome.INCONCLUSIVE, f"not a finite value: {shown} in the window")


def test_warnings_are_inconclusive_unless_accepted() -> None:
    m = Measurement(instant(0.05).series, warnings=("partial response: store A unavailable",))
    v = judge(p(), m)
    assert v.outcome is Outcome.INCONCLUSIVE and "partial response" in v.reason
    assert judge(p(), m, accept_warnings=True).outcome is Outcome.VERIFIED


def test_several_series_every_one_must_hold_and_worst_is_reported() -> None:
    v = judge(p(metric="queue_depth", condition="< 100"), instant(10, 150, 120))
    assert v.outcome is Outcome.FAILED and v.value == 150 and v.series == '{instance="1"}'
    v = judge(p(metric="availability_ratio", condition="> 99%"), instant(0.999, 0.995, 0.998))
    assert v.outcome is Outcome.VERIFIED and v.value == 0.995


def test_a_failing_series_beats_a_series_with_no_data() -> None:
    assert judge(p(metric="q", condition="< 1"), instant(5, math.nan)).outcome is Outcome.FAILED
    assert judge(p(metric="q", condition="< 1"), instant(0.5, math.nan)).outcome is Outcome.INCONCLUSIVE


def test_every_step_with_tolerance() -> None:
    plan_ = p(mode="every-step", tolerance="10%", window="50m")  # ten 5-minute steps
    ten_with_one_spike = steps(0.05, 0.05, 0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05)
    assert judge(plan_, ten_with_one_spike).outcome is Outcome.VERIFIED
    two_spikes = steps(0.05, 0.05, 0.5, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05)
    v = judge(plan_, two_spikes)
    assert v.outcome is Outcome.FAILED and v.value == 0.5 and "2 of 10 steps" in v.reason
    assert judge(p(mode="every-step", window="50m"), ten_with_one_spike).outcome is Outcome.FAILED


def test_every_step_reports_the_step_nearest_to_breaking_when_it_holds() -> None:
    v = judge(p(mode="every-step", window="15m"), steps(0.01, 0.09, 0.02))
    assert v.outcome is Outcome.VERIFIED and v.value == 0.09


def test_relative_to_recorded_value() -> None:
    plan_ = p(condition="< 50% of baseline p99")
    assert judge(plan_, instant(0.19)).outcome is Outcome.VERIFIED
    assert judge(plan_, instant(0.21)).outcome is Outcome.FAILED


def test_relative_to_measured_baseline() -> None:
    plan_ = p(condition="<= 0.5x baseline p99", baseline_window="1h")
    assert judge(plan_, instant(0.2), baseline=instant(0.4)).outcome is Outcome.VERIFIED
    v = judge(plan_, instant(0.3), baseline=instant(0.4))
    assert v.outcome is Outcome.FAILED and v.threshold is not None and v.threshold.value == pytest.approx(0.2)
    assert judge(plan_, instant(0.3), baseline=Measurement(())).outcome is Outcome.INCONCLUSIVE
    assert judge(plan_, instant(0.3)).outcome is Outcome.INCONCLUSIVE


_values = st.floats(allow_nan=True, allow_infinity=True)


@given(
    st.lists(st.lists(_values, min_size=0, max_size=5), max_size=5), st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
)
def test_verdict_is_total_and_never_claims_more_than_the_data(series: list[list[float]], op: str) -> None:
    m = Measurement(
        tuple(Series((("i", str(i)),), tuple((float(t), v) for t, v in enumerate(s))) for i, s in enumerate(series))
    )
    v = judge(p(metric="q", condition=f"{op} 1", mode="every-step"), m)
    assert v.outcome in (Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE)
    valid = [x for s in series for x in s if not math.isnan(x)]
    if v.outcome is Outcome.VERIFIED:
        assert all(s and any(not math.isnan(x) for x in s) for s in series) and valid
    if not valid:
        assert v.outcome is Outcome.INCONCLUSIVE


def test_tolerated_steps_are_named_in_a_verified_verdict() -> None:
    v = judge(
        p(mode="every-step", tolerance="10%", window="50m"),
        steps(0.05, 0.05, 0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05),
    )
    assert v.outcome is Outcome.VERIFIED
    assert "1 of 10 steps broke it, within the 10% tolerance" in v.reason
    assert v.value == 0.5


def test_measured_baseline_is_reported() -> None:
    v = judge(p(condition="<= 0.5x baseline p99", baseline_window="1h"), instant(0.1), baseline=instant(0.4))
    assert any(n.startswith("baseline 0.4 measured at") for n in v.notes)


def test_infos_are_notes_never_a_reason_for_no_verdict() -> None:
    info = "PromQL info: input to histogram_quantile needed to be fixed for monotonicity"
    answer = Measurement((Series((), ((0.0, 0.082),)),), infos=(info,))
    v = judge(p(), answer)
    assert v.outcome is Outcome.VERIFIED
    assert f"the backend noted: {info}" in v.notes
    warned = judge(p(), Measurement(answer.series, warnings=("partial response",), infos=(info,)))
    assert warned.outcome is Outcome.INCONCLUSIVE


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
