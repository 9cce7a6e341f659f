"""What a config's metric is (domain/metric.py): its kind, the name or expression queried, its unit, and the
metric names an expression reads."""

from __future__ import annotations

import pytest

from verifier.domain.metric import Kind, Metric, metric_names, understand
from verifier.domain.units import declared_unit
from verifier.errors import ConfigError

SECONDS, BYTES = declared_unit("s"), declared_unit("By")


def _refused(metric: str, *, quantile: float | None = None, unit: str | None = None) -> tuple[str, str]:
    with pytest.raises(ConfigError) as raised:
        understand(metric, quantile=quantile, unit=unit)
    return raised.value.field, raised.value.reason


def test_an_otel_name_is_queried_under_its_prometheus_name_with_a_note_saying_so() -> None:
    metric = understand("http.server.request.duration", quantile=0.99, unit="s")
    assert metric == Metric(
        Kind.HISTOGRAM,
        "http_server_request_duration_seconds",
        SECONDS,
        ("OpenTelemetry name 'http.server.request.duration' is queried as 'http_server_request_duration_seconds'",),
    )
    gauge = understand("process.memory.usage", quantile=None, unit="By")
    assert gauge == Metric(
        Kind.GAUGE,
        "process_memory_usage_bytes",
        BYTES,
        ("OpenTelemetry name 'process.memory.usage' is queried as 'process_memory_usage_bytes'",),
    )
    counter = understand("jobs.done_total", quantile=None, unit=None)
    assert counter == Metric(
        Kind.COUNTER, "jobs_done_total", None, ("OpenTelemetry name 'jobs.done_total' is queried as 'jobs_done_total'",)
    )


def test_an_otel_name_keeps_a_declared_unit_its_prometheus_name_does_not_show() -> None:
    metric = understand("http.server.active_requests", quantile=None, unit="{request}")
    assert (metric.promql, metric.unit) == ("http_server_active_requests", declared_unit("{request}"))


def test_a_prometheus_name_is_queried_as_written_without_a_note() -> None:
    assert understand("queue_wait_seconds", quantile=None, unit=None) == Metric(
        Kind.GAUGE, "queue_wait_seconds", SECONDS
    )
    assert understand("queue_wait", quantile=None, unit="s") == Metric(Kind.GAUGE, "queue_wait", SECONDS)
    assert understand("queue_wait", quantile=None, unit=None) == Metric(Kind.GAUGE, "queue_wait", None)


@pytest.mark.parametrize("name", ["jobs_total", "rpc_duration_seconds_count", "rpc_duration_seconds_sum"])
def test_total_count_and_sum_names_are_counters(name: str) -> None:
    assert understand(name, quantile=None, unit=None).kind is Kind.COUNTER


def test_a_counter_keeps_the_unit_of_its_name() -> None:
    assert understand("rpc_duration_seconds_sum", quantile=None, unit=None) == Metric(
        Kind.COUNTER, "rpc_duration_seconds_sum", SECONDS
    )


@pytest.mark.parametrize("name", ["jobs_created", "jobs_totals", "queue_depth", "total_jobs"])
def test_other_names_are_gauges(name: str) -> None:
    assert understand(name, quantile=None, unit=None).kind is Kind.GAUGE


def test_a_histogram_is_named_by_its_family_with_or_without_the_bucket_suffix() -> None:
    assert understand("rpc_duration_seconds", quantile=0.99, unit=None) == Metric(
        Kind.HISTOGRAM, "rpc_duration_seconds", SECONDS
    )
    assert understand("rpc_duration_seconds_bucket", quantile=0.5, unit=None) == Metric(
        Kind.HISTOGRAM, "rpc_duration_seconds", SECONDS
    )


@pytest.mark.parametrize("name", ["jobs_total", "rpc_seconds_count", "rpc_seconds_sum", "jobs_created"])
def test_a_quantile_of_a_series_that_is_not_a_histogram_is_refused(name: str) -> None:
    assert _refused(name, quantile=0.99) == ("condition", f"a quantile needs a histogram, but '{name}' is not one")


def test_buckets_without_a_quantile_are_refused() -> None:
    assert _refused("rpc_seconds_bucket") == (
        "condition",
        "'rpc_seconds_bucket' is a histogram: the condition needs a quantile such as p99",
    )


def test_a_declared_unit_that_contradicts_the_name_is_refused() -> None:
    assert _refused("heap_bytes", unit="s") == (
        "unit",
        "'seconds' contradicts the metric name 'heap_bytes', which is in bytes",
    )
    assert understand("heap_bytes", quantile=None, unit="By").unit == BYTES  # the same unit agrees


def test_a_quantile_on_an_expression_is_refused() -> None:
    assert _refused("sum(rate(rpc_seconds_bucket[5m])) by (le)", quantile=0.99) == (
        "condition",
        "a quantile (pNN) applies to a histogram metric name; with a PromQL expression, "
        "write histogram_quantile() in the expression and drop the quantile",
    )


def test_an_expression_takes_the_declared_unit_over_its_names() -> None:
    expr = "sum(a_seconds) / sum(b_bytes)"
    assert understand(expr, quantile=None, unit="ms") == Metric(Kind.EXPRESSION, expr, declared_unit("ms"))


def test_an_expression_takes_the_unit_its_names_agree_on() -> None:
    expr = "sum(rate(rpc_seconds_sum[5m])) / sum(rate(rpc_seconds_count[5m])) + queue_wait_seconds"
    assert understand(expr, quantile=None, unit=None) == Metric(Kind.EXPRESSION, expr, SECONDS)


def test_an_expression_whose_names_disagree_on_the_unit_has_none_and_says_so() -> None:
    two = "sum(a_seconds) / sum(b_bytes)"
    assert understand(two, quantile=None, unit=None) == Metric(
        Kind.EXPRESSION,
        two,
        None,
        ("the metric names in the expression disagree on the unit (bytes, seconds); declare 'unit'",),
    )
    expr = "sum(a_seconds) / sum(b_bytes) * c_milliseconds"
    assert understand(expr, quantile=None, unit=None) == Metric(
        Kind.EXPRESSION,
        expr,
        None,
        ("the metric names in the expression disagree on the unit (bytes, milliseconds, seconds); declare 'unit'",),
    )


def test_an_expression_whose_names_carry_no_unit_has_none() -> None:
    expr = "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))"
    assert understand(expr, quantile=None, unit=None) == Metric(Kind.EXPRESSION, expr, None)


def test_metric_names_are_read_from_functions_and_operators() -> None:
    assert metric_names("q_seconds") == ["q_seconds"]
    assert metric_names("rate(a_seconds_count[5m]) / b_total") == ["a_seconds_count", "b_total"]
    assert metric_names("sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))") == [
        "errors_total",
        "requests_total",
    ]


def test_range_and_subquery_brackets_end_a_name() -> None:
    assert metric_names("increase(a_seconds[5m])") == ["a_seconds"]
    assert metric_names("max_over_time(b_bytes[1h:5m])") == ["b_bytes"]


def test_the_window_placeholder_is_not_a_metric_name() -> None:
    assert metric_names("rate(a_seconds_count[$window]) offset $window") == ["a_seconds_count"]
    assert metric_names("rate(b_bytes[${window}]) offset ${window}") == ["b_bytes"]
    assert metric_names("${window}_bytes + w") == ["w"]


def test_strings_label_matchers_and_grouping_labels_are_not_metric_names() -> None:
    assert metric_names('label_replace(up, "dst", "foo_seconds", "src", ' + "'(.*)')") == ["up"]
    assert metric_names('count(`raw_bytes`) + x{le_seconds="1"}') == ["x"]
    assert metric_names("sum by (instance_seconds) (a_bytes) / on(job_seconds) group_left(pod_seconds) b_bytes") == [
        "a_bytes",
        "b_bytes",
    ]
    assert metric_names("sum without(pod) (a_bytes)") == ["a_bytes"]


def test_keywords_in_any_case_are_not_metric_names() -> None:
    assert metric_names("a_seconds > bool 1 AND b_seconds unless c_seconds offset 5m or Inf") == [
        "a_seconds",
        "b_seconds",
        "c_seconds",
    ]
    assert metric_names("topk(3, a_bytes) + NaN") == ["a_bytes"]


def test_parts_of_numbers_and_dotted_words_are_not_metric_names() -> None:
    assert metric_names("a_seconds * 1e3 + 0x1f - b.c_seconds + 2_bytes") == ["a_seconds", "b"]
    assert metric_names("2e3 / a_bytes") == ["a_bytes"]
