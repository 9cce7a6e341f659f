"""The plan again once the backend said which series really exists, the histogram bucket check, and the PromQL for
resources joined through `target_info`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.unit.helpers import RESOLVED, config
from verifier.domain.metric import Kind, Metric
from verifier.domain.planning import IncidentFacts, QueryPlan, bucket_check_query, build_query, plan, resolved, selector
from verifier.domain.units import MILLISECONDS, SECONDS

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
