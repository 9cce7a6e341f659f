"""Candidate names per exporter and translation strategy, and choosing among what the backend holds.

The expected names follow the examples of Prometheus's OTLP documentation and its translator's tests, the
OpenTelemetry Python SDK's Prometheus exporter (with prometheus_client) and its remote-write exporter.

Which series a config's metric resolves to (domain/resolution.py): the candidates and their sources, the choice
among what the backend holds, a bare series' type, the metric then queried, and the bucket check.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.helpers import config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.metric import Kind
from verifier.domain.otel import (
    Instrument,
    Strategy,
    otlp_name,
    python_exporter_name,
    sdk_remote_write_name,
)
from verifier.domain.planning import QueryPlan, plan, resolved, selector
from verifier.domain.resolution import (
    Candidate,
    Found,
    Lookup,
    Misfit,
    Shape,
    bucket_fault,
    choose,
    lookup,
    resolved_metric,
)
from verifier.domain.units import declared_unit

H, C, G = Instrument.HISTOGRAM, Instrument.COUNTER, Instrument.GAUGE
WITH, WITHOUT = Strategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES, Strategy.UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES
UTF8, NONE = Strategy.NO_UTF8_ESCAPING_WITH_SUFFIXES, Strategy.NO_TRANSLATION


@pytest.mark.parametrize(
    ("name", "unit", "kind", "strategy", "expected"),
    [
        # UnderscoreEscapingWithSuffixes (Prometheus's default)
        ("http.server.request.duration", "s", H, WITH, "http_server_request_duration_seconds"),
        ("requests.count", "1", C, WITH, "requests_count_total"),
        ("memory.usage", "By", G, WITH, "memory_usage_bytes"),
        ("system.cpu.utilization", "1", G, WITH, "system_cpu_utilization_ratio"),
        ("test.histogram", "By", H, WITH, "test_histogram_bytes"),
        ("this.one.there(where)", "By", C, WITH, "this_one_there_where_bytes_total"),
        ("system.network.io", "By/s", G, WITH, "system_network_io_bytes_per_second"),
        ("http.server.active_requests", "{request}", G, WITH, "http_server_active_requests"),
        ("queue.total.size", "1", C, WITH, "queue_size_total"),
        # UnderscoreEscapingWithoutSuffixes: escaped, no unit, no _total
        ("test.counter", "1", C, WITHOUT, "test_counter"),
        ("this.one.there(where)", "By", C, WITHOUT, "this_one_there_where"),
        ("http.server.request.duration", "s", H, WITHOUT, "http_server_request_duration"),
        # NoUTF8EscapingWithSuffixes: dots kept, suffixes added
        ("http.server.request.duration", "s", H, UTF8, "http.server.request.duration_seconds"),
        ("requests.count", "1", C, UTF8, "requests.count_total"),
        ("system.cpu.utilization", "1", G, UTF8, "system.cpu.utilization_ratio"),
        ("db.client.io", "By/s", G, UTF8, "db.client.io_bytes_per_second"),
        # NoTranslation: the name as the SDK recorded it
        ("http.server.request.duration", "s", H, NONE, "http.server.request.duration"),
        ("requests.count", "1", C, NONE, "requests.count"),
    ],
)
def test_otlp_translation_strategies(name: str, unit: str, kind: Instrument, strategy: Strategy, expected: str) -> None:
    assert otlp_name(name, unit, kind, strategy) == expected


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        ("http.server.request.duration", "s", H, "http_server_request_duration_seconds"),
        ("app.orders", "{order}", C, "app_orders_total"),
        ("system.cpu.utilization", "1", G, "system_cpu_utilization"),  # no _ratio from the Python exporter
        ("process.memory", "By", G, "process_memory_bytes"),
        ("net.io", "By/s", C, "net_io_bytes_per_second_total"),
        ("queue.latency_seconds", "s", G, "queue_latency_seconds"),
    ],
)
def test_python_sdk_prometheus_exporter(name: str, unit: str, kind: Instrument, expected: str) -> None:
    assert python_exporter_name(name, unit, kind) == expected


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("http.server.request.duration", "s", "http_server_request_duration_s"),
        ("process.memory", "By", "process_memory_By"),
        ("http.server.active_requests", "{request}", "http_server_active_requests__request_"),
        ("system.cpu.utilization", "1", "system_cpu_utilization_1"),
        ("app.orders", None, "app_orders"),
    ],
)
def test_python_sdk_remote_write_exporter(name: str, unit: str | None, expected: str) -> None:
    assert sdk_remote_write_name(name, unit) == expected


def test_candidates_in_the_documented_order_and_one_matcher() -> None:
    found = lookup(config(metric="http.server.request.duration", unit="s", condition="< 100ms p99"))
    assert found is not None
    assert [c.name for c in found.candidates] == [
        "http_server_request_duration_seconds",
        "http_server_request_duration",
        "http.server.request.duration_seconds",
        "http.server.request.duration",
        "http_dot_server_dot_request_dot_duration__seconds",
        "http_dot_server_dot_request_dot_duration",
        "U__http_2e_server_2e_request_2e_duration__seconds",
        "U__http_2e_server_2e_request_2e_duration",
        "http_server_request_duration_s",
    ]
    assert found.matcher.startswith('{__name__=~"(?:http_server_request_duration_seconds|')
    assert found.matcher.endswith(')(?:_bucket|_count)?"}')
    assert "http\\\\.server" in found.matcher  # a regex dot, escaped once more inside the PromQL string


def test_counter_and_gauge_candidates_for_a_name_without_a_quantile() -> None:
    found = lookup(config(metric="system.cpu.utilization", unit="1", condition="< 90%"))
    assert found is not None
    names = [c.name for c in found.candidates]
    assert names[:3] == ["system_cpu_utilization_total", "system_cpu_utilization_ratio", "system_cpu_utilization"]
    assert names[-1] == "system_cpu_utilization_1"


def test_a_prometheus_name_is_tried_as_written_then_as_a_counter() -> None:
    found = lookup(config(metric="http_requests", condition="< 5"))
    assert found is not None and [c.name for c in found.candidates] == ["http_requests", "http_requests_total"]
    assert lookup(config(metric="sum(rate(x[5m]))", condition="< 5")) is None


def _found(metric: str, names: set[str], quantile: bool, unit: str | None = None) -> Found | str:
    cond = "< 100ms p99" if quantile else "< 5"
    wanted = lookup(config(metric=metric, unit=unit, condition=cond))
    assert wanted is not None
    return choose(wanted, frozenset(names), histogram=quantile)


def test_choose_by_what_exists() -> None:
    d = "http.server.request.duration"
    classic = _found(d, {"http_server_request_duration_seconds_bucket"}, True, "s")
    native = _found(d, {"http_server_request_duration_seconds"}, True, "s")
    in_name = _found(d, {"http_server_request_duration_s", "http_server_request_duration_s_count"}, True, "s")
    assert isinstance(classic, Found) and classic.shape is Shape.CLASSIC
    assert isinstance(native, Found) and native.shape is Shape.NATIVE
    assert isinstance(in_name, Found) and in_name.shape is Shape.BUCKETS_IN_NAME
    counter = _found("app.orders", {"app_orders_total", "app_orders"}, False, "{order}")
    assert isinstance(counter, Found) and (counter.candidate.name, counter.shape) == ("app_orders_total", Shape.COUNTER)
    bare = _found("app.orders", {"app_orders__order_"}, False, "{order}")
    assert isinstance(bare, Found) and bare.shape is Shape.BARE
    missing = _found("app.orders", {"other_total"}, False, "{order}")
    assert missing == (
        "no data: no series in the window under any candidate name: tried app_orders_total, app_orders, "
        "app.orders_total, app.orders, app_dot_orders__total, app_dot_orders, U__app_2e_orders__total, "
        "U__app_2e_orders, app_orders__order_"
    )


NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _plan(**fields: object) -> QueryPlan:
    p = plan(config(**fields), NOW - timedelta(days=3), NOW)
    assert isinstance(p, QueryPlan)
    return p


@pytest.mark.parametrize(
    ("shape", "name", "kind", "query"),
    [
        (Shape.COUNTER, "app_orders_total", Kind.COUNTER, "sum(increase(app_orders_total[48h]))"),
        (Shape.GAUGE, "app_orders", Kind.GAUGE, "avg_over_time(app_orders[48h])"),
        (
            Shape.CLASSIC,
            "d_seconds",
            Kind.HISTOGRAM,
            "histogram_quantile(0.99, sum by (le) (increase(d_seconds_bucket[48h])))",
        ),
        (Shape.NATIVE, "d_seconds", Kind.NATIVE_HISTOGRAM, "histogram_quantile(0.99, sum(increase(d_seconds[48h])))"),
        (Shape.BUCKETS_IN_NAME, "d_s", Kind.HISTOGRAM, "histogram_quantile(0.99, sum by (le) (increase(d_s[48h])))"),
        (
            Shape.NATIVE,
            "d.seconds",
            Kind.NATIVE_HISTOGRAM,
            'histogram_quantile(0.99, sum(increase({"d.seconds"}[48h])))',
        ),
    ],
)
def test_queries_by_the_real_type(shape: Shape, name: str, kind: Kind, query: str) -> None:
    quantile = shape in (Shape.CLASSIC, Shape.NATIVE, Shape.BUCKETS_IN_NAME)
    p = _plan(metric="some.metric", unit="s" if quantile else "{order}", condition="< 100ms p99" if quantile else "< 5")
    candidate = lookup(p.config).candidates[0]  # type: ignore[union-attr]
    metric = resolved_metric(p.config, Found(type(candidate)(name, "test"), shape), None)
    again = resolved(p, metric)
    assert (metric.kind, again.query) == (kind, query)
    assert again.notes[0].startswith(f"metric resolved to '{name}' ({shape.value}")


def test_otel_attribute_labels_match_the_promoted_label_or_target_info() -> None:
    p = _plan(
        metric="app.orders", unit="{order}", condition="< 5", labels={"service.name": "checkout", "route": "/pay"}
    )
    candidate = type(lookup(p.config).candidates[0])  # type: ignore[union-attr]
    found = Found(candidate("app_orders_total", "test"), Shape.COUNTER)
    promoted = resolved(p, resolved_metric(p.config, found, frozenset({"service_name", "route"})))
    assert promoted.query == 'sum(increase(app_orders_total{route="/pay",service_name="checkout"}[48h]))'
    utf8 = resolved(p, resolved_metric(p.config, found, frozenset({"service.name", "route"})))
    assert utf8.query == 'sum(increase(app_orders_total{route="/pay","service.name"="checkout"}[48h]))'
    joined = resolved(p, resolved_metric(p.config, found, frozenset({"route", "job", "instance"})))
    assert joined.query == (
        'sum((increase(app_orders_total{route="/pay"}[48h]) and on (job, instance) '
        'last_over_time(target_info{service_name="checkout"}[48h])))'
    )
    assert "service_name matched through target_info" in joined.notes[0]


def test_resolution_changes_the_threshold_unit_with_the_series() -> None:
    p = _plan(metric="http.server.request.duration", unit="ms", condition="< 250ms p99")
    candidate = type(lookup(p.config).candidates[0])  # type: ignore[union-attr]
    metric = resolved_metric(p.config, Found(candidate("x_ms", "test"), Shape.BUCKETS_IN_NAME), None)
    assert resolved(p, metric).threshold.value == pytest.approx(250)  # type: ignore[union-attr]


def _buckets(*pairs: tuple[str, float]) -> Measurement:
    return Measurement(tuple(Series((("le", le),), ((0.0, v),)) for le, v in pairs))


def test_buckets_must_be_cumulative() -> None:
    assert bucket_fault(_buckets(("0.1", 5), ("0.5", 9), ("+Inf", 10))) is None
    fault = bucket_fault(_buckets(("0.1", 5), ("0.5", 4), ("+Inf", 1)))
    assert fault is not None and fault.startswith("the histogram's buckets are not cumulative (le=0.1 grew by 5")
    assert bucket_fault(_buckets(("x", 1))) == "a bucket has the bound le='x', which is not a number"
    assert bucket_fault(Measurement(())) is None


def test_a_histogram_without_a_quantile_is_a_misfit_not_missing() -> None:
    wanted = lookup(config(metric="http.server.request.duration", unit="s", condition="< 100ms"))
    assert wanted is not None
    found = choose(wanted, frozenset({"http_server_request_duration_seconds_bucket"}), histogram=False)
    assert isinstance(found, Misfit)
    assert found == "'http_server_request_duration_seconds' is a histogram: the condition needs a quantile such as p99"


def test_the_utf8_examples_of_prometheus_docs() -> None:
    """Prometheus's UTF-8 guide: dotted names keep their dots under NoUTF8EscapingWithSuffixes and are quoted."""
    assert otlp_name("myapp.orders.processed", None, C, UTF8) == "myapp.orders.processed_total"
    assert otlp_name("http.server.request.duration", "s", H, UTF8) + "_bucket" == (
        "http.server.request.duration_seconds_bucket"
    )
    assert selector("my_metric", ()) == "my_metric"
    assert selector("my.metric", ()) == '{"my.metric"}'
    assert selector("metric.name", (("my.label.name", "bar"),)) == '{"metric.name","my.label.name"="bar"}'


DEFAULT = "OTLP UnderscoreEscapingWithSuffixes (Prometheus default, Collector prometheusremotewrite)"
REMOTE_WRITE = "OTel Python SDK remote-write exporter"


def _lookup(**fields: object) -> Lookup:
    found = lookup(config(**fields))
    assert found is not None
    return found


def test_each_histogram_candidate_names_its_source_and_whether_it_holds_counters_and_gauges_alike() -> None:
    found = _lookup(metric="http.server.request.duration", unit="s", condition="< 100ms p99")
    assert [(c.name, c.source, c.shared) for c in found.candidates] == [
        ("http_server_request_duration_seconds", DEFAULT, False),
        ("http_server_request_duration", "OTLP UnderscoreEscapingWithoutSuffixes", True),
        ("http.server.request.duration_seconds", "OTLP NoUTF8EscapingWithSuffixes", False),
        ("http.server.request.duration", "OTLP NoTranslation", True),
        ("http_dot_server_dot_request_dot_duration__seconds", "scrape escaping dots", False),
        ("http_dot_server_dot_request_dot_duration", "scrape escaping dots, no suffixes", True),
        ("U__http_2e_server_2e_request_2e_duration__seconds", "scrape escaping values", False),
        ("U__http_2e_server_2e_request_2e_duration", "scrape escaping values, no suffixes", True),
        ("http_server_request_duration_s", REMOTE_WRITE, True),
    ]


def test_each_counter_or_gauge_candidate_names_its_source_and_whether_it_holds_counters_and_gauges_alike() -> None:
    found = _lookup(metric="system.cpu.utilization", unit="1", condition="< 90%")
    assert [(c.name, c.source, c.shared) for c in found.candidates] == [
        ("system_cpu_utilization_total", DEFAULT, False),
        ("system_cpu_utilization_ratio", DEFAULT, False),
        ("system_cpu_utilization", "OTel Python SDK Prometheus exporter", False),
        ("system.cpu.utilization_total", "OTLP NoUTF8EscapingWithSuffixes", False),
        ("system.cpu.utilization_ratio", "OTLP NoUTF8EscapingWithSuffixes", False),
        ("system.cpu.utilization", "OTLP NoTranslation", True),
        ("system_dot_cpu_dot_utilization__total", "scrape escaping dots", False),
        ("system_dot_cpu_dot_utilization__ratio", "scrape escaping dots", False),
        ("system_dot_cpu_dot_utilization", "scrape escaping dots, no suffixes", True),
        ("U__system_2e_cpu_2e_utilization__total", "scrape escaping values", False),
        ("U__system_2e_cpu_2e_utilization__ratio", "scrape escaping values", False),
        ("U__system_2e_cpu_2e_utilization", "scrape escaping values, no suffixes", True),
        ("system_cpu_utilization_1", REMOTE_WRITE, True),
    ]


def test_a_prometheus_name_is_looked_up_as_written_and_with_the_counter_suffix() -> None:
    found = _lookup(metric="queue_depth", condition="< 5")
    assert [(c.name, c.source, c.shared) for c in found.candidates] == [
        ("queue_depth", "as written", False),
        ("queue_depth_total", "as written, with the counter suffix", False),
    ]
    assert found.matcher == '{__name__=~"(?:queue_depth|queue_depth_total)(?:_bucket|_count)?"}'
    counter = _lookup(metric="jobs_done_total", condition="< 5")
    assert [c.name for c in counter.candidates] == ["jobs_done_total"]  # already a counter: no `_total_total`


def test_the_matcher_escapes_regex_characters_once_for_the_regex_and_once_for_the_promql_string() -> None:
    found = _lookup(metric="app.queue-wait", unit="s", condition="< 5s")
    assert found.matcher == (
        '{__name__=~"(?:app_queue_wait_seconds_total|app_queue_wait_seconds|app_queue_wait|'
        "app\\\\.queue\\\\-wait_seconds_total|app\\\\.queue\\\\-wait_seconds|app\\\\.queue\\\\-wait|"
        "app_dot_queue_wait__seconds__total|app_dot_queue_wait__seconds|app_dot_queue_wait|"
        "U__app_2e_queue_2d_wait__seconds__total|U__app_2e_queue_2d_wait__seconds|U__app_2e_queue_2d_wait|"
        'app_queue_wait_s)(?:_bucket|_count)?"}'
    )


def test_a_promql_expression_has_nothing_to_look_up() -> None:
    assert lookup(config(metric="sum(rate(errors_total[5m]))", condition="< 5")) is None


def _choose(names: set[str], *, histogram: bool = False) -> Found | str:
    if histogram:
        wanted = _lookup(metric="http.server.request.duration", unit="s", condition="< 100ms p99")
    else:
        wanted = _lookup(metric="app.orders", unit="{order}", condition="< 5")
    return choose(wanted, frozenset(names), histogram=histogram)


def _shape(found: Found | str) -> tuple[str, Shape]:
    assert isinstance(found, Found), found
    return found.candidate.name, found.shape


def test_the_first_candidate_that_exists_wins() -> None:
    found = _choose({"app_orders__order_", "app.orders", "app_orders"})
    assert _shape(found) == ("app_orders", Shape.BARE)
    histogram = _choose({"http_server_request_duration_s", "http_server_request_duration_bucket"}, histogram=True)
    assert _shape(histogram) == ("http_server_request_duration", Shape.CLASSIC)


def test_a_histogram_candidate_is_classic_by_its_buckets_before_anything_under_its_own_name() -> None:
    d = "http_server_request_duration_seconds"
    assert _shape(_choose({d, d + "_count", d + "_bucket"}, histogram=True)) == (d, Shape.CLASSIC)
    assert _shape(_choose({d, d + "_count"}, histogram=True)) == (d, Shape.BUCKETS_IN_NAME)
    assert _shape(_choose({d}, histogram=True)) == (d, Shape.NATIVE)


def test_a_histogram_candidate_with_only_a_count_is_not_a_histogram() -> None:
    found = _choose({"http_server_request_duration_seconds_count"}, histogram=True)
    assert isinstance(found, str) and found.startswith("no data: no series in the window under any candidate name")
    assert found.endswith(" (found only http_server_request_duration_seconds_count)")


def test_a_counter_or_gauge_candidate_is_a_counter_only_by_its_total_suffix() -> None:
    assert _shape(_choose({"app_orders_total"})) == ("app_orders_total", Shape.COUNTER)
    assert _shape(_choose({"app.orders"})) == ("app.orders", Shape.BARE)


def test_buckets_under_a_counter_or_gauge_candidate_are_a_misfit_of_the_config() -> None:
    found = _choose({"app_orders_bucket", "app.orders"})
    assert isinstance(found, Misfit)
    assert found == "'app_orders' is a histogram: the condition needs a quantile such as p99"


def test_when_nothing_fits_the_reason_lists_what_exists_under_the_candidate_names_in_order() -> None:
    found = _choose({"zeta", "app_orders_created", "app.orders_count", "app_orders__order__sum", "other_total"})
    assert found == (
        "no data: no series in the window under any candidate name: tried app_orders_total, app_orders, "
        "app.orders_total, app.orders, app_dot_orders__total, app_dot_orders, U__app_2e_orders__total, "
        "U__app_2e_orders, app_orders__order_ "
        "(found only app.orders_count, app_orders__order__sum, app_orders_created)"
    )
    assert not isinstance(found, Misfit)  # INCONCLUSIVE, not INVALID
    nothing = _choose(set())
    assert isinstance(nothing, str) and nothing.endswith("app_orders__order_")


def _bare(source: str = "test", *, shared: bool = False) -> Found:
    return Found(Candidate("app_orders", source, shared), Shape.BARE)


@pytest.mark.parametrize(
    ("shape", "kind", "buckets"),
    [
        (Shape.COUNTER, Kind.COUNTER, "x_seconds_bucket"),
        (Shape.GAUGE, Kind.GAUGE, "x_seconds_bucket"),
        (Shape.NATIVE, Kind.NATIVE_HISTOGRAM, "x_seconds_bucket"),
        (Shape.CLASSIC, Kind.HISTOGRAM, "x_seconds_bucket"),
        (Shape.BUCKETS_IN_NAME, Kind.HISTOGRAM, "x_seconds"),
    ],
)
def test_the_resolved_metric_takes_its_kind_and_bucket_series_from_the_shape(
    shape: Shape, kind: Kind, buckets: str
) -> None:
    metric = resolved_metric(
        config(metric="some.metric", condition="< 5"), Found(Candidate("x_seconds", "src"), shape), None
    )
    assert (metric.kind, metric.promql, metric.bucket_series) == (kind, "x_seconds", buckets)
    assert metric.notes == (f"metric resolved to 'x_seconds' ({shape.value}; stored as by src)",)
    assert (metric.matchers, metric.info_matchers) == ((), ())


def test_the_resolved_unit_is_the_declared_one_then_the_found_name_s_then_the_config_name_s() -> None:
    found = Found(Candidate("queue_wait_milliseconds", "src"), Shape.GAUGE)
    declared = resolved_metric(config(metric="queue.wait", unit="s", condition="< 5s"), found, None)
    assert declared.unit == declared_unit("s")
    by_name = resolved_metric(config(metric="queue.wait", condition="< 5s"), found, None)
    assert by_name.unit == declared_unit("ms")
    plain = Found(Candidate("queue_wait", "src"), Shape.GAUGE)
    by_config = resolved_metric(config(metric="queue.wait_seconds", condition="< 5s"), plain, None)
    assert by_config.unit == declared_unit("s")
    unknown = resolved_metric(config(metric="queue.wait", condition="< 5"), plain, None)
    assert unknown.unit is None


def test_labels_match_as_the_series_carry_them_else_through_target_info() -> None:
    cfg = config(
        metric="app.orders",
        condition="< 5",
        labels={"deployment.environment": "prod", "service.name": "checkout", "host.name": "h1", "route": "/pay"},
    )
    found = Found(Candidate("app_orders_total", "src"), Shape.COUNTER)
    metric = resolved_metric(cfg, found, frozenset({"deployment.environment", "service_name"}))
    assert metric.matchers == (
        ("deployment.environment", "prod"),
        ("route", "/pay"),
        ("service_name", "checkout"),
    )
    assert metric.info_matchers == (("host_name", "h1"),)
    assert metric.notes[0].endswith("(counter; stored as by src); host_name matched through target_info")
    several = resolved_metric(cfg, found, frozenset())
    assert several.matchers == (("route", "/pay"),)
    assert several.info_matchers == (
        ("deployment_environment", "prod"),
        ("host_name", "h1"),
        ("service_name", "checkout"),
    )
    assert several.notes[0].endswith("; deployment_environment, host_name, service_name matched through target_info")


def test_labels_are_kept_as_written_when_the_label_names_were_not_asked() -> None:
    cfg = config(metric="app.orders", condition="< 5", labels={"service.name": "checkout", "route": "/pay"})
    metric = resolved_metric(cfg, Found(Candidate("app_orders_total", "src"), Shape.COUNTER), None)
    assert metric.matchers == (("route", "/pay"), ("service.name", "checkout"))
    assert metric.info_matchers == ()


def _buckets_behaviour(*series: tuple[tuple[tuple[str, str], ...], tuple[float, ...]]) -> Measurement:
    return Measurement(
        tuple(Series(labels, tuple((float(i), v) for i, v in enumerate(values))) for labels, values in series)
    )


def _le(bound: str, *values: float) -> tuple[tuple[tuple[str, str], ...], tuple[float, ...]]:
    return (("le", bound),), values


def test_buckets_are_compared_by_their_numeric_bound_not_as_text() -> None:
    assert bucket_fault(_buckets_behaviour(_le("+Inf", 30), _le("10", 20), _le("9", 10))) is None
    fault = bucket_fault(_buckets_behaviour(_le("+Inf", 30), _le("10", 5), _le("9", 10)))
    assert fault == (
        "the histogram's buckets are not cumulative (le=9 grew by 10, le=10 by 5): a known exporter fault, "
        "so no quantile can be trusted"
    )


def test_each_bucket_is_judged_by_its_last_valid_value() -> None:
    nan = math.nan
    assert bucket_fault(_buckets_behaviour(_le("0.1", 50, 5), _le("0.5", 9))) is None
    assert bucket_fault(_buckets_behaviour(_le("0.1", 5, nan), _le("0.5", 9, nan))) is None
    fault = bucket_fault(_buckets_behaviour(_le("0.1", 1, 5), _le("0.5", 4, 3)))
    assert fault is not None and "(le=0.1 grew by 5, le=0.5 by 3)" in fault


def test_series_without_a_bound_or_without_a_valid_value_are_left_out_of_the_bucket_check() -> None:
    nan = math.nan
    assert bucket_fault(_buckets_behaviour(_le("0.1", 5), ((("job", "api"),), (1.0,)), _le("0.5", 9))) is None
    after_a_skipped_one = bucket_fault(
        _buckets_behaviour(_le("0.1", 5), _le("0.2"), ((("job", "api"),), (1.0,)), _le("0.5", 4))
    )
    assert after_a_skipped_one is not None and "(le=0.1 grew by 5, le=0.5 by 4)" in after_a_skipped_one
    assert bucket_fault(_buckets_behaviour(_le("0.1", 5), _le("0.2", nan), _le("0.3"), _le("0.5", 9))) is None


def test_equal_buckets_and_floating_point_noise_are_cumulative() -> None:
    assert bucket_fault(_buckets_behaviour(_le("0.1", 5), _le("0.5", 5))) is None
    assert bucket_fault(_buckets_behaviour(_le("0.1", 0.30000000000000004), _le("0.5", 0.3))) is None
    assert bucket_fault(_buckets_behaviour(_le("0.1", 1e-9), _le("0.5", 0.0))) is None  # a billionth is noise
    assert bucket_fault(_buckets_behaviour(_le("0.1", 5), _le("0.5", 4.999))) is not None


def test_a_bucket_bound_that_is_not_a_number_makes_the_buckets_untrusted() -> None:
    fault = bucket_fault(_buckets_behaviour(_le("0.1", 5), _le("fast", 9)))
    assert fault == "a bucket has the bound le='fast', which is not a number"


def test_a_prometheus_name_the_config_reads_as_a_counter_is_found_as_a_counter() -> None:
    for name in ("rpc_duration_seconds_count", "rpc_duration_seconds_sum", "jobs_done_total"):
        found = choose(_lookup(metric=name, condition="< 5"), frozenset({name}), histogram=False)
        assert _shape(found) == (name, Shape.COUNTER)
    gauge = choose(_lookup(metric="queue_depth", condition="< 5"), frozenset({"queue_depth"}), histogram=False)
    assert _shape(gauge) == ("queue_depth", Shape.BARE)  # its type is settled next


def test_the_python_exporter_s_counter_is_found_when_the_unit_word_is_already_inside_the_name() -> None:
    """Prometheus adds no `seconds` to `queue.seconds.wait`; the Python SDK's exporter appends it all the same."""
    wanted = _lookup(metric="queue.seconds.wait", unit="s", condition="< 5s")
    python = [(c.name, c.shared) for c in wanted.candidates if c.source == "OTel Python SDK Prometheus exporter"]
    assert python == [("queue_seconds_wait_seconds_total", False), ("queue_seconds_wait_seconds", False)]
    found = choose(wanted, frozenset({"queue_seconds_wait_seconds_total"}), histogram=False)
    assert _shape(found) == ("queue_seconds_wait_seconds_total", Shape.COUNTER)
