"""The plan again once the backend said which series really exists, the histogram bucket check, and the PromQL for
resources joined through `target_info`.

Planning at its edges: when an early judgement may start, what a pending plan says, label values that need
escaping in every kind of query, and the threshold a relative condition gets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.unit.helpers import RESOLVED, config
from verifier.domain.metric import Kind, Metric
from verifier.domain.planning import (
    IncidentFacts,
    Pending,
    QueryPlan,
    bucket_check_query,
    build_query,
    plan,
    resolved,
    selector,
)
from verifier.domain.units import MILLISECONDS, SECONDS
from verifier.errors import ConfigError

DUE = RESOLVED + timedelta(hours=48)


def planned(cfg: object, **kwargs: object) -> QueryPlan:
    result = plan(cfg, RESOLVED, RESOLVED + timedelta(days=30), **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, QueryPlan)
    return result


def test_issue_example_histogram_p99() -> None:
    p = planned(config(metric="http_server_request_duration_seconds", condition="< 100ms p99"))
    assert p.query == (
        "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))"
    )
    assert p.threshold is not None and p.threshold.value == pytest.approx(0.1)
    assert p.threshold.unit is not None and p.threshold.unit.name == "seconds"
    assert (p.start, p.end) == (RESOLVED, DUE)


def test_counter_gauge_and_recording_rule() -> None:
    assert planned(config(metric="oom_kills_total", condition="< 1")).query == "sum(increase(oom_kills_total[48h]))"
    assert planned(config(metric="queue_depth", condition="< 100")).query == "avg_over_time(queue_depth[48h])"
    rule = planned(config(metric="job:http_errors:ratio_rate5m", condition="< 0.1%"))
    assert rule.query == "avg_over_time(job:http_errors:ratio_rate5m[48h])"
    assert rule.threshold is not None and rule.threshold.value == pytest.approx(0.001) and rule.threshold.assumed


def test_expression_with_window_placeholder_and_unit_from_names() -> None:
    p = planned(
        config(
            metric="sum(rate(rpc_duration_seconds_sum[$window])) / sum(rate(rpc_duration_seconds_count[${window}]))",
            condition="< 250ms",
            delay="24h",
        )
    )
    assert p.query == "sum(rate(rpc_duration_seconds_sum[24h])) / sum(rate(rpc_duration_seconds_count[24h]))"
    assert p.threshold is not None and p.threshold.value == pytest.approx(0.25) and not p.threshold.assumed


def test_error_ratio_percent_is_a_ratio() -> None:
    p = planned(
        config(
            metric='sum(rate(http_requests_total{code=~"5.."}[$window])) / sum(rate(http_requests_total[$window]))',
            condition="error_rate < 0.1%",
        )
    )
    assert p.threshold is not None and p.threshold.value == pytest.approx(0.001)
    assert any("assumed" in n for n in p.notes)


def test_labels_and_escaping() -> None:
    p = planned(config(metric="x_seconds", condition="< 1s p90", labels='{service: "pay\\"ments", env: prod}'))
    assert 'x_seconds_bucket{env="prod",service="pay\\"ments"}[48h]' in p.query


def test_otel_name_histogram_in_milliseconds() -> None:
    p = planned(config(metric="http.server.request.duration", unit="ms", condition="< 0.1s p95"))
    assert "increase(http_server_request_duration_milliseconds_bucket[48h])" in p.query
    assert p.threshold is not None and p.threshold.value == pytest.approx(100)
    assert any("http_server_request_duration_milliseconds" in n for n in p.notes)


def test_window_shorter_than_delay_ends_at_due_time() -> None:
    p = planned(config(metric="x_seconds", condition="< 1s p99", delay="72h", window="24h"))
    assert (p.start, p.end) == (RESOLVED + timedelta(hours=48), RESOLVED + timedelta(hours=72))
    assert "[24h]" in p.query


def test_pending_until_due() -> None:
    result = plan(config(metric="x", condition="< 1"), RESOLVED, DUE - timedelta(seconds=1))
    assert isinstance(result, Pending) and result.due_at == DUE


def test_early_judges_the_window_so_far() -> None:
    now = RESOLVED + timedelta(hours=6)
    p = plan(config(metric="x_seconds", condition="< 1s p99"), RESOLVED, now, early=True)
    assert isinstance(p, QueryPlan) and p.early and p.end == now and "[6h]" in p.query
    assert any("early" in n for n in p.notes)


def test_early_before_the_window_begins_is_pending() -> None:
    cfg = config(metric="x", condition="< 1", delay="48h", window="1h")
    assert isinstance(plan(cfg, RESOLVED, RESOLVED + timedelta(hours=2), early=True), Pending)


def test_every_step_keeps_points_under_the_limit() -> None:
    p = planned(config(metric="x_seconds", condition="< 1s p99", mode="every-step", tolerance="5%"))
    assert p.step == timedelta(minutes=5) and "[5m]" in p.query and p.range_start == RESOLVED + timedelta(minutes=5)
    long = plan(
        config(metric="x", condition="< 1", mode="every-step", delay="8760h"), RESOLVED, RESOLVED + timedelta(days=400)
    )
    assert isinstance(long, QueryPlan) and long.step is not None
    assert long.window / long.step <= 11_000


def test_relative_to_recorded_incident_value() -> None:
    p = planned(config(metric="x_seconds", condition="< 50% of baseline p99"), incident=IncidentFacts(actual_value=2.0))
    assert p.threshold is not None and p.threshold.value == pytest.approx(1.0)


def test_relative_with_baseline_window_plans_a_second_query() -> None:
    facts = IncidentFacts(triggered_at=RESOLVED - timedelta(days=3))
    p = planned(config(metric="x_seconds", condition="<= 0.5x baseline p99", baseline_window="1h"), incident=facts)
    assert p.threshold is None and p.baseline_query is not None
    assert p.baseline_query.at == facts.triggered_at + timedelta(hours=1)  # type: ignore[operator]
    assert "[1h]" in p.baseline_query.query


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        (lambda: config(metric="x_seconds", condition="< 50% of baseline p99"), "condition"),
        (
            lambda: config(metric="x_seconds", condition="< 50% of baseline p99", baseline_window="1h"),
            "baseline_window",
        ),
    ],
)
def test_relative_without_a_baseline_is_a_config_error(cfg: object, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        planned(cfg())  # type: ignore[operator]
    assert error.value.field == field


def test_early_every_step_waits_for_the_first_whole_step() -> None:
    """Regression: 2 minutes into an every-step window, the range query would end before its first step."""
    cfg = config(metric="x_seconds", condition="< 1s p99", mode="every-step", delay="6h")
    assert isinstance(plan(cfg, RESOLVED, RESOLVED + timedelta(minutes=2), early=True), Pending)
    ready = plan(cfg, RESOLVED, RESOLVED + timedelta(minutes=5), early=True)
    assert isinstance(ready, QueryPlan)
    assert ready.range_start <= ready.end


def test_otel_attribute_labels_before_resolution_use_the_promoted_label() -> None:
    """A backend that cannot list names (Prometheus 2 holds no dotted labels) is asked for `service_name`."""
    cfg = config(metric="app_orders_total", condition="< 5", labels={"service.name": "checkout", "route": "/pay"})
    assert planned(cfg).query == 'sum(increase(app_orders_total{route="/pay",service_name="checkout"}[48h]))'


LATER = RESOLVED + timedelta(days=30)
TRIGGERED = RESOLVED - timedelta(days=2)
#: What resolution found for `latency_seconds` with `labels: {service: api}`: another name, its labels as the series
#: carry them, and a resource attribute only `target_info` carries.
FOUND = Metric(
    Kind.HISTOGRAM,
    "http_latency_seconds",
    SECONDS,
    notes=("found as http_latency_seconds",),
    buckets="http_latency_seconds_bucket",
    matchers=(("service_name", "api"),),
    info_matchers=(("k8s_cluster", "prod"),),
)
JOINED_48H = (
    '(increase(http_latency_seconds_bucket{service_name="api"}[48h]) and on (job, instance) '
    'last_over_time(target_info{k8s_cluster="prod"}[48h]))'
)


def _plan(incident: IncidentFacts | None = None, **fields: object) -> QueryPlan:
    result = plan(config(**fields), RESOLVED, LATER, incident=incident)
    assert isinstance(result, QueryPlan)
    return result


def test_the_bucket_check_of_a_resolved_histogram_asks_for_the_series_found() -> None:
    planned = _plan(metric="latency_seconds", condition="< 100ms p99", labels='{service: "api"}')
    again = resolved(planned, FOUND)
    assert again.metric == FOUND
    assert bucket_check_query(again) == f"sum by (le) ({JOINED_48H})"
    assert again.query == f"histogram_quantile(0.99, sum by (le) ({JOINED_48H}))"


def test_only_a_classic_histogram_has_its_buckets_checked() -> None:
    assert bucket_check_query(_plan(metric="queue_depth", condition="< 100")) is None


def test_a_measured_baseline_is_asked_of_the_series_found_at_the_same_moment() -> None:
    incident = IncidentFacts(triggered_at=TRIGGERED)
    planned = _plan(incident, metric="latency_seconds", condition="< 50% of baseline p99", baseline_window="1h")
    assert planned.baseline_query is not None
    baseline = resolved(planned, FOUND).baseline_query
    assert baseline is not None
    assert baseline.query == (
        'histogram_quantile(0.99, sum by (le) ((increase(http_latency_seconds_bucket{service_name="api"}[1h]) '
        'and on (job, instance) last_over_time(target_info{k8s_cluster="prod"}[1h]))))'
    )
    assert (baseline.at, baseline.window) == (planned.baseline_query.at, timedelta(hours=1))


def test_a_baseline_threshold_keeps_its_value_and_takes_the_unit_of_the_series_found() -> None:
    planned = _plan(IncidentFacts(actual_value=0.8), metric="latency_seconds", condition="< 50% of baseline p99")
    threshold = resolved(planned, replace(FOUND, unit=MILLISECONDS)).threshold
    assert threshold is not None and threshold.describe() == "0.4 milliseconds"


def test_a_threshold_assumed_in_seconds_is_converted_for_a_series_found_in_seconds_and_the_note_goes() -> None:
    planned = _plan(metric="queue_latency", condition="< 100ms")
    assert planned.notes == ("the metric's unit is not known: seconds assumed",)
    again = resolved(planned, Metric(Kind.GAUGE, "queue_latency_seconds", SECONDS))
    assert again.threshold is not None and again.threshold.describe() == "0.1 seconds"
    assert again.notes == ()


def test_a_series_found_still_without_a_unit_keeps_one_assumed_unit_note_after_its_own_notes() -> None:
    planned = _plan(metric="queue_latency", condition="< 100ms")
    again = resolved(planned, Metric(Kind.GAUGE, "queue_latency", None, notes=("a gauge",)))
    assert again.notes == ("a gauge", "the metric's unit is not known: seconds assumed")
    assert again.threshold is not None
    assert again.threshold.describe() == "0.1 seconds (unit assumed: no unit on the metric)"


def test_resources_joined_through_target_info_are_read_over_the_same_range_for_every_kind() -> None:
    info = (("k8s_cluster", "prod"),)
    join = 'and on (job, instance) last_over_time(target_info{k8s_cluster="prod"}[2h])'
    gauge = config(metric="queue_depth", condition="< 100")
    assert build_query(gauge, replace(gauge.understood, info_matchers=info), timedelta(hours=2)) == (
        f"(avg_over_time(queue_depth[2h]) {join})"
    )
    p999 = config(metric="latency_seconds", condition="< 100ms p99.9")
    classic = replace(p999.understood, info_matchers=info)
    assert build_query(p999, classic, timedelta(hours=2)) == (
        f"histogram_quantile(0.999, sum by (le) ((increase(latency_seconds_bucket[2h]) {join})))"
    )
    native = replace(classic, kind=Kind.NATIVE_HISTOGRAM)
    assert build_query(p999, native, timedelta(hours=2)) == (
        f"histogram_quantile(0.999, sum((increase(latency_seconds[2h]) {join})))"
    )


def test_a_label_name_with_capitals_is_written_bare() -> None:
    assert selector("x", (("Service", "api"), ("k8s.pod", "a"))) == 'x{Service="api","k8s.pod"="a"}'


def test_an_early_plan_resolved_keeps_its_early_note_and_swaps_the_metrics_notes() -> None:
    otel = config(metric="http.server.request.duration", unit="s", condition="< 100ms p99")
    planned = plan(otel, RESOLVED, RESOLVED + timedelta(hours=24), early=True)
    assert isinstance(planned, QueryPlan)
    early = f"judged early, before the window ends at {planned.due_at.isoformat()}"
    assert planned.notes == (*otel.understood.notes, early)
    assert resolved(planned, FOUND).notes == ("found as http_latency_seconds", early)


DUE = RESOLVED + timedelta(hours=48)


def test_a_pending_plan_says_when_the_window_ends() -> None:
    pending = plan(config(metric="x", condition="< 1"), RESOLVED, DUE - timedelta(seconds=1))
    assert isinstance(pending, Pending)
    assert pending.reason == "the verification window ends at 2026-11-03T12:00:00+00:00"


def test_an_early_judgement_waits_for_a_minute_of_data() -> None:
    cfg = config(metric="x", condition="< 1", delay="48h", window="1h")
    start = DUE - timedelta(hours=1)
    not_yet = plan(cfg, RESOLVED, start + timedelta(seconds=59), early=True)
    assert isinstance(not_yet, Pending) and not_yet.due_at == DUE
    assert not_yet.reason == "the verification window has not begun (it starts 2026-11-03T11:00:00+00:00)"
    ready = plan(cfg, RESOLVED, start + timedelta(minutes=2), early=True)
    assert isinstance(ready, QueryPlan) and ready.end == start + timedelta(minutes=2)
    assert ready.query == "avg_over_time(x[2m])"


@pytest.mark.parametrize(
    ("metric", "query"),
    [
        ("jobs_total", 'sum(increase(jobs_total{path="C:\\\\tmp\\"a\\"\\nb"}[48h]))'),
        ("queue_depth", 'avg_over_time(queue_depth{path="C:\\\\tmp\\"a\\"\\nb"}[48h])'),
    ],
)
def test_label_values_are_escaped_in_every_kind_of_query(metric: str, query: str) -> None:
    cfg = config(metric=metric, condition="< 1", labels='{path: "C:\\\\tmp\\"a\\"\\nb"}')
    planned = plan(cfg, RESOLVED, RESOLVED + timedelta(days=30))
    assert isinstance(planned, QueryPlan) and planned.query == query


def test_a_relative_threshold_is_in_the_metrics_own_unit_and_not_assumed() -> None:
    cfg = config(metric="rpc_duration_milliseconds", condition="< 50% of baseline p99")
    planned = plan(cfg, RESOLVED, RESOLVED + timedelta(days=30), incident=IncidentFacts(actual_value=800.0))
    assert isinstance(planned, QueryPlan) and planned.threshold is not None
    assert planned.threshold.value == 400.0 and not planned.threshold.assumed
    assert planned.threshold.unit is not None and planned.threshold.unit.name == "milliseconds"


def test_a_measured_baseline_spans_its_own_window() -> None:
    cfg = config(metric="x_seconds", condition="<= 0.5x baseline p99", baseline_window="90m")
    facts = IncidentFacts(triggered_at=RESOLVED - timedelta(days=3))
    planned = plan(cfg, RESOLVED, RESOLVED + timedelta(days=30), incident=facts)
    assert isinstance(planned, QueryPlan) and planned.baseline_query is not None
    assert planned.baseline_query.window == timedelta(minutes=90)


def test_a_relative_condition_without_its_baseline_says_what_is_missing() -> None:
    with pytest.raises(ConfigError) as error:
        plan(config(metric="x_seconds", condition="< 50% of baseline"), RESOLVED, DUE)
    assert str(error.value).endswith(
        "is relative to a baseline, but the ticket records no incident value and no baseline_window is set"
    )
    with pytest.raises(ConfigError) as error:
        plan(config(metric="x_seconds", condition="< 50% of baseline", baseline_window="1h"), RESOLVED, DUE)
    assert str(error.value).endswith("needs the incident's trigger time, and the ticket's context records none")
