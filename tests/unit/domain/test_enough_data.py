"""Enough data, said out loud (#21): what a verdict stood on (steps with data, events in the window), the minimum
VERIFIED and FAILED both need, non-finite values, and the settling delay before a window is judged."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import RESOLVED, config, instant
from verifier import defaults
from verifier.domain.config import render_config
from verifier.domain.formats import find_config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.metric import Kind
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, events_query, plan
from verifier.domain.ratios import denominator
from verifier.domain.render import render_result
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Support, decide
from verifier.errors import ConfigError

LATER = RESOLVED + timedelta(days=30)
P99 = "http_server_request_duration_seconds"


def planned(**fields: object) -> QueryPlan:
    fields.setdefault("metric", P99)
    fields.setdefault("condition", "< 100ms p99")
    result = plan(config(**fields), RESOLVED, LATER)
    assert isinstance(result, QueryPlan)
    return result


def ranged(values: list[float], step: int = 300) -> Measurement:
    return Measurement((Series((("job", "api"),), tuple((float(i * step), v) for i, v in enumerate(values))),))


def events(count: float) -> Measurement:
    return instant(count)


# ------------------------------------------------------------------------------------------------- coverage


def test_a_48_hour_every_step_window_has_576_steps_and_a_window_mode_one() -> None:
    assert planned(mode="every-step").steps == 576
    assert planned().steps == 1


def test_one_step_of_576_is_inconclusive_with_the_figures() -> None:
    verdict = decide(planned(mode="every-step"), ranged([0.05]), events=events(10_000))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == "not enough data: 1 of 576 steps have data (needs 90%)"
    assert verdict.support == Support(1, 576, 10_000, 100, "requests")


@given(st.integers(min_value=1, max_value=576), st.booleans())
def test_coverage_below_the_minimum_is_never_verified_nor_failed(with_data: int, breaks: bool) -> None:
    p = planned(mode="every-step")
    value = 0.5 if breaks else 0.05
    verdict = decide(p, ranged([value] * with_data), events=events(10_000))
    assert verdict.support is not None and verdict.support.steps_with_data == with_data
    if with_data * 100 < defaults.MIN_COVERAGE_PERCENT * 576:  # 518.4: 518 steps are too few, 519 enough
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.reason == f"not enough data: {with_data} of 576 steps have data (needs 90%)"
    else:
        assert verdict.outcome is (Outcome.FAILED if breaks else Outcome.VERIFIED)


def test_nan_steps_count_as_steps_without_data() -> None:
    values = [0.05] * 500 + [math.nan] * 76  # 500 of 576 finite: 86.8%
    verdict = decide(planned(mode="every-step"), ranged(values), events=events(10_000))
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INCONCLUSIVE,
        "not enough data: 500 of 576 steps have data (needs 90%)",
    )


def test_the_thinnest_of_several_series_decides_and_is_named() -> None:
    p = planned(metric="queue_depth", condition="< 100", mode="every-step")
    full = Series((("instance", "a"),), tuple((float(i), 10.0) for i in range(576)))
    thin = Series((("instance", "b"),), tuple((float(i), 10.0) for i in range(100)))
    verdict = decide(p, Measurement((full, thin)))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == 'not enough data: 100 of 576 steps have data in series {instance="b"} (needs 90%)'


# --------------------------------------------------------------------------------------------------- events


def test_five_requests_in_a_p99_window_are_inconclusive_even_when_the_value_breaks() -> None:
    for value in (0.05, 0.5):  # a FAILED on five requests would reopen a ticket on nothing
        verdict = decide(planned(), instant(value), events=events(5))
        assert (verdict.outcome, verdict.reason) == (
            Outcome.INCONCLUSIVE,
            "not enough data: 5 requests in the window (needs 100)",
        )
        assert verdict.value == value  # the value is still shown


def test_extrapolated_events_are_rounded_in_the_text_but_compared_as_measured() -> None:
    verdict = decide(planned(), instant(0.05), events=events(99.6))
    assert verdict.reason == "not enough data: 100 requests in the window (needs 100)"
    assert decide(planned(), instant(0.05), events=events(100.0)).outcome is Outcome.VERIFIED


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False), st.integers(min_value=1, max_value=5000))
def test_a_quantile_is_judged_only_on_at_least_min_events(count: float, needed: int) -> None:
    p = planned(min_events=needed)
    verdict = decide(p, instant(0.05), events=events(count))
    assert verdict.support is not None and verdict.support.events_needed == needed
    assert (verdict.outcome is Outcome.VERIFIED) == (count >= needed)


def test_the_default_minimum_is_100_events() -> None:
    assert defaults.MIN_EVENTS == 100
    assert decide(planned(), instant(0.05), events=events(99)).outcome is Outcome.INCONCLUSIVE


@pytest.mark.parametrize(("count", "shown"), [(math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf")])
def test_a_non_finite_event_count_is_inconclusive(count: float, shown: str) -> None:
    verdict = decide(planned(), instant(0.05), events=events(count))
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INCONCLUSIVE,
        f"not enough data: the number of events in the window is {shown}",
    )


def test_events_not_measured_are_inconclusive() -> None:
    verdict = decide(planned(), instant(0.05))
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INCONCLUSIVE,
        "not enough data: the number of events in the window was not measured",
    )


def test_an_events_query_answering_nothing_is_zero_events() -> None:
    verdict = decide(planned(), instant(0.05), events=Measurement(()))
    assert verdict.reason == "not enough data: 0 requests in the window (needs 100)"


def test_a_counter_records_its_increase_without_a_minimum() -> None:
    p = planned(metric="app_errors_total", condition="< 1")
    assert p.events_query == p.query == "sum(increase(app_errors_total[48h]))"
    verdict = decide(p, instant(0.0), events=instant(0.0))
    assert verdict.outcome is Outcome.VERIFIED  # no error in the window is the answer, not thin data
    assert verdict.support == Support(1, 1, 0.0, None, "events")


def test_a_gauge_and_an_expression_have_no_events_query() -> None:
    assert planned(metric="queue_depth", condition="< 100").events_query is None
    assert planned(metric="sum(rate(x_total[5m]))", condition="< 100").events_query is None
    assert decide(planned(metric="queue_depth", condition="< 100"), instant(3.0)).outcome is Outcome.VERIFIED


def test_events_queries_count_a_histograms_observations() -> None:
    labelled = planned(labels='{route: "/pay"}')
    assert labelled.events_query == 'sum(increase(http_server_request_duration_seconds_count{route="/pay"}[48h]))'
    native = replace(labelled.metric, kind=Kind.NATIVE_HISTOGRAM)
    assert (
        events_query(labelled.config, native, timedelta(hours=6))
        == 'sum(histogram_count(increase(http_server_request_duration_seconds{route="/pay"}[6h])))'
    )
    every_step = planned(mode="every-step")
    assert every_step.events_query == "sum(increase(http_server_request_duration_seconds_count[48h]))"  # whole window


# ------------------------------------------------------------------------------------------------ non-finite


@given(
    st.floats(min_value=0, max_value=1),
    st.sampled_from([math.inf, -math.inf]),
    st.integers(min_value=0, max_value=575),
)
def test_an_infinite_step_anywhere_is_inconclusive(value: float, infinite: float, at: int) -> None:
    values = [value] * 575
    values.insert(at, infinite)
    verdict = decide(planned(mode="every-step"), ranged(values), events=events(10_000))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == f"not a finite value: {'+Inf' if infinite > 0 else '-Inf'} in the window"


def test_minus_infinity_is_not_verified() -> None:
    verdict = decide(planned(metric="queue_depth", condition="< 100"), instant(-math.inf))
    assert (verdict.outcome, verdict.reason) == (Outcome.INCONCLUSIVE, "not a finite value: -Inf in the window")


def test_an_infinite_baseline_is_no_baseline() -> None:
    p = plan(
        config(metric=P99, condition="<= 0.5x baseline p99", baseline_window="1h"),
        RESOLVED,
        LATER,
        incident=IncidentFacts(triggered_at=RESOLVED - timedelta(days=1)),
    )
    assert isinstance(p, QueryPlan)
    verdict = decide(p, instant(0.05), instant(math.inf), events=events(10_000))
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INCONCLUSIVE,
        "no baseline: the baseline query returned an infinite value",
    )


# ------------------------------------------------------------------------------------- config and comment


def test_min_events_is_a_config_field_that_round_trips() -> None:
    c = config(metric=P99, condition="< 100ms p99", min_events=500)
    assert c.min_events == 500
    again = find_config(render_config(c, Flavour.MARKDOWN))
    assert again is not None and again.min_events == 500
    assert "min_events" not in render_config(config(metric=P99, condition="< 100ms p99"), Flavour.MARKDOWN)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "config field 'min_events': must be between 1 and 1,000,000,000"),
        ('"lots"', "config field 'min_events': 'lots' must be a whole number of events, such as 100"),
        ("1.5", "config field 'min_events': '1.5' must be a whole number of events, such as 100"),
        ("true", "config field 'min_events': 'True' must be a whole number of events, such as 100"),
    ],
)
def test_a_bad_min_events_is_one_clear_line(value: str, reason: str) -> None:
    text = f'```yaml\n# action-item-verifier: v1\nmetric: {P99}\ncondition: "< 100ms p99"\nmin_events: {value}\n```'
    with pytest.raises(ConfigError) as raised:
        find_config(text)
    assert str(raised.value) == reason


def test_min_events_without_a_quantile_is_refused() -> None:
    text = '```yaml\n# action-item-verifier: v1\nmetric: queue_depth\ncondition: "< 100"\nmin_events: 50\n```'
    with pytest.raises(ConfigError) as raised:
        find_config(text)
    assert str(raised.value) == (
        "config field 'min_events': applies only to a quantile ('< 300ms p99') or a ratio over the window "
        "('sum(increase(errors_total[$window])) / sum(increase(requests_total[$window]))')"
    )


@pytest.mark.parametrize("flavour", list(Flavour))
def test_the_comment_shows_what_the_verdict_stood_on(flavour: Flavour) -> None:
    verdict = decide(planned(), instant(0.05), events=events(71_982))
    text = render_result(verdict, RESOLVED, flavour)
    row = "1 of 1 step with data; 71,982 requests in the window (needs 100)"
    assert (f"||Data|{row}|" if flavour is Flavour.JIRA_WIKI else f"| Data | {row} |") in text
    thin = render_result(decide(planned(), instant(0.05), events=events(37)), RESOLVED, flavour)
    assert "Not enough data: 37 requests in the window (needs 100)." in thin


# --------------------------------------------------------------------------------------------- settling delay


def test_a_window_is_judged_only_once_its_end_is_older_than_the_settling_delay() -> None:
    c = config(metric=P99, condition="< 100ms p99")
    due = RESOLVED + timedelta(hours=48)
    settle = timedelta(minutes=5)
    waiting = plan(c, RESOLVED, due + timedelta(minutes=4, seconds=59), settle=settle)
    assert isinstance(waiting, Pending) and waiting.due_at == due
    assert waiting.reason == (
        f"the verification window ended at {due.isoformat()}; it is judged from "
        f"{(due + settle).isoformat()}, once late data has arrived (5 min settling delay)"
    )
    judged = plan(c, RESOLVED, due + settle, settle=settle)
    assert isinstance(judged, QueryPlan) and judged.end == due  # the window itself does not move


def test_an_early_judgement_stops_the_settling_delay_before_now() -> None:
    c = config(metric=P99, condition="< 100ms p99")
    now = RESOLVED + timedelta(hours=10)
    early = plan(c, RESOLVED, now, early=True, settle=timedelta(minutes=5))
    assert isinstance(early, QueryPlan) and early.end == now - timedelta(minutes=5)


# --------------------------------------------------------------------------------------------------- ratios

RATIO = "sum(increase(app_errors_total[$window])) / sum(increase(app_requests_total[$window]))"


@pytest.mark.parametrize(
    ("expression", "divisor"),
    [
        (RATIO, "app_requests_total"),
        ('sum(rate(e_total[$window])) / sum by (svc) (rate(r_total{code!~"5.."}[${window}]))', 'r_total{code!~"5.."}'),
        ('sum(increase(e_total[$window]))/sum(increase(r_total{a="/"}[$window]))', 'r_total{a="/"}'),
        ("sum(increase(e_total[$window])) / sum(increase(r_total[5m]))", None),  # not over the window
        ("sum(increase(e_total[$window])) / sum(increase(r_total[$window])) * 100", None),  # not the plain shape
        ("(a / b) / sum(increase(r_total[$window]))", "r_total"),  # the `/` inside brackets does not count
        ("a / b / sum(increase(r_total[$window]))", None),  # two top-level divisions
        ("sum(increase(e_total[$window])) / on(job) sum(increase(r_total[$window]))", None),
        ("avg_over_time(x[$window])", None),
        ("sum(increase(r_total[$window])) / (", None),  # brackets that do not close
    ],
)
def test_a_ratios_denominator_is_recognised_only_in_the_plain_shape(expression: str, divisor: str | None) -> None:
    assert denominator(expression) == divisor


def test_a_ratio_over_37_requests_is_inconclusive_and_says_so() -> None:
    p = planned(metric=RATIO, condition="< 1%")
    assert p.events_query == "sum(increase(app_requests_total[48h]))"
    verdict = decide(p, instant(0.0), events=events(37))
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INCONCLUSIVE,
        "not enough data: 37 events in the window (needs 100)",
    )
    assert decide(p, instant(0.0), events=events(100)).outcome is Outcome.VERIFIED
    assert decide(p, instant(0.5), events=events(100)).outcome is Outcome.FAILED
    assert decide(planned(metric=RATIO, condition="< 1%", min_events=20), instant(0.0), events=events(37)).outcome is (
        Outcome.VERIFIED
    )
