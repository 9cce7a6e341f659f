"""Candidate names per exporter and translation strategy, and choosing among what the backend holds.

The expected names follow the examples of Prometheus's OTLP documentation and its translator's tests, the
OpenTelemetry Python SDK's Prometheus exporter (with prometheus_client) and its remote-write exporter.
"""

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
    Found,
    Misfit,
    Shape,
    bucket_fault,
    choose,
    lookup,
    resolved_metric,
)

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
