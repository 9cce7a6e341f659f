"""Resolving a config's metric on the backend (services/resolve.py): what is asked of the backend, and what the plan
or verdict then says; and what `check-config --resolve` shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.metric import DELTA_NOTE, Kind
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.resolution import lookup
from verifier.domain.series_types import history_query
from verifier.domain.units import declared_unit
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import ConfigError, MetricsError
from verifier.ports import MetricCatalog
from verifier.services.resolve import check_buckets, resolution_report, resolve

NOW = datetime(2026, 6, 1, tzinfo=UTC)
WINDOW_START, WINDOW_END = NOW - timedelta(days=3), NOW - timedelta(days=1)  # the default 48h delay and window


@dataclass
class CatalogMetrics(FakeMetrics):
    """The fake metrics port that also says what it holds (`MetricCatalog`), and records what it was asked."""

    names: frozenset[str] | None = frozenset()
    types: dict[str, str] = field(default_factory=dict)
    labels: frozenset[str] = frozenset()
    info_labels: frozenset[str] | None = None  # target_info's label names, when they differ from `labels`
    values: dict[str, frozenset[str]] = field(default_factory=dict)  # `__type__`/`__unit__` label values
    units: dict[str, str] = field(default_factory=dict)
    catalog: list[tuple[object, ...]] = field(default_factory=list)

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        self.catalog.append(("names", selector, start, end))
        return self.names

    def metric_type(self, name: str) -> str | None:
        self.catalog.append(("type", name))
        return self.types.get(name)

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        self.catalog.append(("labels", selector, start, end))
        if selector == "target_info" and self.info_labels is not None:
            return self.info_labels
        return self.labels

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        self.catalog.append(("values", label, selector))
        return self.values.get(label, frozenset())

    def metric_unit(self, name: str) -> str | None:
        self.catalog.append(("unit", name))
        return self.units.get(name)


def _plan(**fields: object) -> QueryPlan:
    planned = plan(config(**fields), NOW - timedelta(days=3), NOW)
    assert isinstance(planned, QueryPlan)
    return planned


def _orders(**fields: object) -> QueryPlan:
    return _plan(metric="app.orders", unit="{order}", condition="< 5", **fields)


def _latency() -> QueryPlan:
    return _plan(metric="http.server.request.duration", unit="s", condition="< 100ms p99")


def _resolved(planned: QueryPlan, metrics: CatalogMetrics) -> QueryPlan:
    found = resolve(planned, metrics)
    assert isinstance(found, QueryPlan), found
    return found


def _verdict(planned: QueryPlan, metrics: CatalogMetrics) -> Verdict:
    found = resolve(planned, metrics)
    assert isinstance(found, Verdict), found
    return found


def test_the_fake_is_a_metric_catalog() -> None:
    assert isinstance(CatalogMetrics(), MetricCatalog)


def test_a_promql_expression_is_sent_as_written_without_asking_the_backend() -> None:
    planned = _plan(metric="sum(rate(http_requests_total[5m]))", condition="< 5")
    metrics = CatalogMetrics(names=frozenset({"http_requests_total"}))
    assert resolve(planned, metrics) is planned
    assert metrics.catalog == [] and metrics.asked == []


def test_a_backend_without_a_catalog_is_queried_as_planned() -> None:
    planned = _orders()
    metrics = FakeMetrics()
    assert resolve(planned, metrics) is planned
    assert metrics.asked == []


def test_a_backend_that_cannot_list_names_is_queried_as_planned() -> None:
    planned = _orders()
    metrics = CatalogMetrics(names=None)
    assert resolve(planned, metrics) is planned
    assert [c[0] for c in metrics.catalog] == ["names"]


def test_the_names_are_asked_for_every_candidate_within_the_judged_window() -> None:
    planned = _orders()
    metrics = CatalogMetrics(names=frozenset({"app_orders_total"}))
    _resolved(planned, metrics)
    wanted = lookup(planned.config)
    assert wanted is not None
    assert metrics.catalog[0] == ("names", wanted.matcher, WINDOW_START, WINDOW_END)


def test_a_counter_found_by_its_name_is_queried_as_a_counter_without_a_history_query() -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders_total", "app_orders"}))
    found = _resolved(_orders(), metrics)
    assert found.metric.kind is Kind.COUNTER
    assert found.query == "sum(increase(app_orders_total[48h]))"
    assert [c[0] for c in metrics.catalog] == ["names", "labels", "unit", "type"] and metrics.asked == []


def test_no_candidate_in_the_window_is_inconclusive_and_names_what_was_tried() -> None:
    planned = _orders()
    verdict = _verdict(planned, CatalogMetrics(names=frozenset({"app_orders_created"})))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == (
        "no data: no series in the window under any candidate name: tried app_orders_total, app_orders, "
        "app.orders_total, app.orders, app_dot_orders__total, app_dot_orders, U__app_2e_orders__total, "
        "U__app_2e_orders, app_orders__order_ (found only app_orders_created)"
    )
    assert (verdict.query, verdict.start, verdict.end) == (planned.query, WINDOW_START, WINDOW_END)


def test_a_histogram_judged_without_a_quantile_is_invalid_not_inconclusive() -> None:
    planned = _plan(metric="http.server.request.duration", unit="s", condition="< 100ms")
    verdict = _verdict(planned, CatalogMetrics(names=frozenset({"http_server_request_duration_seconds_bucket"})))
    assert verdict.outcome is Outcome.INVALID
    assert verdict.reason == (
        "'http_server_request_duration_seconds' is a histogram: the condition needs a quantile such as p99"
    )
    assert verdict.query == planned.query


@pytest.mark.parametrize(
    ("metadata", "kind", "query"),
    [
        ("counter", Kind.COUNTER, "sum(increase(app_orders__order_[48h]))"),
        ("gauge", Kind.GAUGE, "avg_over_time(app_orders__order_[48h])"),
    ],
)
def test_a_bare_series_takes_the_type_the_metadata_api_gives(metadata: str, kind: Kind, query: str) -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders__order_"}), types={"app_orders__order_": metadata})
    found = _resolved(_orders(), metrics)
    assert (found.metric.kind, found.query) == (kind, query)
    assert [c[0] for c in metrics.catalog[1:]] == ["labels", "unit", "type"]
    assert metrics.asked == []  # the metadata told: no history query
    assert found.notes[0].endswith("; type from the metadata API)")


@pytest.mark.parametrize("metadata", ["histogram", "gaugehistogram", "summary"])
def test_a_bare_series_the_metadata_calls_a_histogram_is_invalid_without_a_quantile(metadata: str) -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders__order_"}), types={"app_orders__order_": metadata})
    planned = _orders()
    verdict = _verdict(planned, metrics)
    assert verdict.outcome is Outcome.INVALID
    assert verdict.reason == f"'app_orders__order_' is a {metadata}: the condition needs a quantile such as p99"
    assert verdict.query == planned.query


HISTORY = (history_query("app_orders__order_", "192h"), WINDOW_END)  # four 48h windows


def _history(changes: float | None, resets: float | None) -> Measurement:
    figures = [("changes", changes), ("resets", resets)]
    return Measurement(tuple(Series((("fact", k),), ((0.0, v),)) for k, v in figures if v is not None))


@pytest.mark.parametrize(
    ("changes", "resets", "kind", "how"),
    [
        (3, 0, Kind.COUNTER, "type inferred: no type metadata, and it only rose over the last 192h"),
        (40, 2, Kind.COUNTER, "type inferred: no type metadata, and it rose over the last 192h but for 2 resets"),
        (10, 2, Kind.GAUGE, "type inferred: no type metadata, and it fell 2 times over the last 192h"),
        (1, None, Kind.COUNTER, "type inferred: no type metadata, and it only rose over the last 192h"),
    ],
)
def test_without_metadata_the_history_over_four_windows_tells_a_counter_from_a_gauge(
    changes: float, resets: float | None, kind: Kind, how: str
) -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders__order_"}), answers={HISTORY[0]: _history(changes, resets)})
    found = _resolved(_orders(), metrics)
    assert metrics.asked == [HISTORY]
    assert found.metric.kind is kind
    assert found.notes[0].endswith(f"; {how})"), found.notes


@pytest.mark.parametrize(
    "answer",
    [Measurement(()), _history(0, 0), _history(None, 0), Measurement((Series((("fact", "changes"),), ()),))],
    ids=["no series", "never moved", "no changes figure", "a series without points"],
)
def test_without_metadata_a_series_that_never_moved_is_inconclusive_never_averaged(answer: Measurement) -> None:
    """A remote-written counter that did not move would otherwise be averaged: its running total judged."""
    metrics = CatalogMetrics(names=frozenset({"app_orders__order_"}), answers={HISTORY[0]: answer})
    verdict = _verdict(_orders(), metrics)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == (
        "cannot tell whether 'app_orders__order_' is a counter or a gauge: no type label, no metadata, no type: in "
        "the config, and it did not change over the last 192h; declare type: counter or type: gauge"
    )


@pytest.mark.parametrize(("declared", "kind"), [("counter", Kind.COUNTER), ("gauge", Kind.GAUGE)])
def test_the_config_type_decides_when_the_backend_cannot_and_no_history_is_asked(declared: str, kind: Kind) -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders__order_"}))
    found = _resolved(_orders(type=declared), metrics)
    assert metrics.asked == [] and found.metric.kind is kind
    assert found.notes[0].endswith("; type from the config's type:)")


def test_metadata_unknown_on_a_counter_name_is_a_delta_counter_summed_over_time() -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders_total"}), types={"app_orders_total": "unknown"})
    found = _resolved(_orders(), metrics)
    assert found.query == "sum(sum_over_time(app_orders_total[48h]))"
    assert found.metric.delta and DELTA_NOTE in found.notes
    assert "a counter with delta temporality (the metadata API says 'unknown')" in found.notes[0]


def test_the_type_and_unit_labels_decide_before_the_metadata_api() -> None:
    metrics = CatalogMetrics(
        names=frozenset({"queue_wait"}),
        labels=frozenset({"__name__", "__type__", "__unit__"}),
        values={"__type__": frozenset({"counter"}), "__unit__": frozenset({"milliseconds"})},
        types={"queue_wait": "gauge"},
    )
    found = _resolved(_plan(metric="queue.wait", condition="< 5"), metrics)
    assert found.metric.kind is Kind.COUNTER and found.metric.unit == declared_unit("ms")
    assert ("type", "queue_wait") not in metrics.catalog and ("unit", "queue_wait") not in metrics.catalog
    assert found.notes[0].endswith("; type from its __type__ label; unit from its __unit__ label)")


def test_series_split_by_unit_are_chosen_by_the_declared_unit_or_inconclusive() -> None:
    def catalog() -> CatalogMetrics:
        return CatalogMetrics(
            names=frozenset({"queue_wait"}),
            labels=frozenset({"__type__", "__unit__"}),
            values={"__type__": frozenset({"gauge"}), "__unit__": frozenset({"milliseconds", "seconds"})},
        )

    found = _resolved(_plan(metric="queue.wait", unit="ms", condition="< 5ms"), catalog())
    assert found.query == 'avg_over_time(queue_wait{__unit__="milliseconds"}[48h])'
    verdict = _verdict(_plan(metric="queue.wait", condition="< 5ms"), catalog())
    assert (verdict.outcome, verdict.reason) == (
        Outcome.INCONCLUSIVE,
        "the series of 'queue_wait' differ in unit (milliseconds, seconds): declare which one in unit:",
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "gauge"}, "the config's type: says gauge, but the metadata API says 'queue_wait' is a counter"),
        ({"unit": "s"}, "the config's unit: says seconds, but the metadata API says 'queue_wait' is in milliseconds"),
    ],
)
def test_a_config_that_contradicts_the_backend_is_invalid(fields: dict[str, object], reason: str) -> None:
    metrics = CatalogMetrics(
        names=frozenset({"queue_wait"}), types={"queue_wait": "counter"}, units={"queue_wait": "milliseconds"}
    )
    verdict = _verdict(_plan(metric="queue.wait", condition="< 5", **fields), metrics)
    assert (verdict.outcome, verdict.reason) == (Outcome.INVALID, reason)


def test_without_metadata_a_name_whose_source_writes_counters_with_total_is_a_gauge_without_asking_growth() -> None:
    """NoUTF8EscapingWithSuffixes would have written a counter as `app.orders_total`."""
    metrics = CatalogMetrics(names=frozenset({"app.orders"}))
    found = _resolved(_orders(), metrics)
    assert [c[0] for c in metrics.catalog[1:]] == ["labels", "unit", "type"] and metrics.asked == []
    assert (found.metric.kind, found.query) == (Kind.GAUGE, 'avg_over_time({"app.orders"}[48h])')
    assert "a gauge: no `_total`" in found.notes[0]


def test_otel_attribute_labels_are_matched_as_the_found_series_carry_them() -> None:
    planned = _orders(labels={"service.name": "checkout"})
    metrics = CatalogMetrics(names=frozenset({"app_orders_total"}), labels=frozenset({"service_name"}))
    found = _resolved(planned, metrics)
    assert metrics.catalog[1] == ("labels", "app_orders_total", WINDOW_START, WINDOW_END)
    assert found.query == 'sum(increase(app_orders_total{service_name="checkout"}[48h]))'


def test_plain_labels_need_no_target_info_request() -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders_total"}))
    found = _resolved(_orders(labels={"route": "/pay"}), metrics)
    assert [c[0] for c in metrics.catalog] == ["names", "labels", "unit", "type"]
    assert found.query == 'sum(increase(app_orders_total{route="/pay"}[48h]))'


BUCKETS = "sum by (le) (increase(http_server_request_duration_seconds_bucket[48h]))"


def _buckets(*pairs: tuple[str, float]) -> Measurement:
    return Measurement(tuple(Series((("le", le),), ((0.0, v),)) for le, v in pairs))


def test_a_classic_histogram_with_cumulative_buckets_is_queried_by_its_buckets() -> None:
    answer = _buckets(("0.1", 5), ("+Inf", 9))
    metrics = CatalogMetrics(
        names=frozenset({"http_server_request_duration_seconds_bucket"}), answers={BUCKETS: answer}
    )
    found = _resolved(_latency(), metrics)
    assert metrics.asked == [(BUCKETS, WINDOW_END)]
    assert found.query == (
        "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))"
    )


def test_a_classic_histogram_whose_buckets_are_not_cumulative_is_inconclusive() -> None:
    answer = _buckets(("0.1", 5), ("+Inf", 2))
    metrics = CatalogMetrics(
        names=frozenset({"http_server_request_duration_seconds_bucket"}), answers={BUCKETS: answer}
    )
    verdict = _verdict(_latency(), metrics)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason.startswith("the histogram's buckets are not cumulative (le=0.1 grew by 5, le=inf by 2)")
    assert verdict.query == (
        "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))"
    )


def test_only_a_classic_histogram_has_its_buckets_checked() -> None:
    metrics = CatalogMetrics()
    assert check_buckets(_orders(), metrics) is None
    native = _resolved(_latency(), CatalogMetrics(names=frozenset({"http_server_request_duration_seconds"})))
    assert check_buckets(native, metrics) is None
    assert metrics.asked == []


# -- check-config --resolve --------------------------------------------------------------------------------------

LATENCY = (
    "```yaml\n# action-item-verifier: v1\nmetric: http.server.request.duration\nunit: s\ncondition: '< 100ms p99'\n```"
)
CANDIDATES = (
    "http_server_request_duration_seconds, http_server_request_duration, http.server.request.duration_seconds, "
    "http.server.request.duration, http_dot_server_dot_request_dot_duration__seconds, "
    "http_dot_server_dot_request_dot_duration, U__http_2e_server_2e_request_2e_duration__seconds, "
    "U__http_2e_server_2e_request_2e_duration, http_server_request_duration_s"
)
DEFAULT_WINDOW = "2026-05-30T00:00:00+00:00 to 2026-06-01T00:00:00+00:00"  # the window that ends now


def test_the_resolution_report_shows_the_candidates_the_series_chosen_and_the_query() -> None:
    metrics = CatalogMetrics(names=frozenset({"http_server_request_duration_seconds_bucket"}))
    assert resolution_report(LATENCY, metrics, now=NOW, resolved_at=None) == {
        "window": DEFAULT_WINDOW,
        "candidates": CANDIDATES,
        "outcome": "OK",
        "resolved": "metric resolved to 'http_server_request_duration_seconds' (classic histogram; stored as by "
        "OTLP UnderscoreEscapingWithSuffixes (Prometheus default, Collector prometheusremotewrite))",
        "query": "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))",
        "config": 'metric: "http.server.request.duration"\ncondition: "< 100ms p99"\ndelay: "48h"\nwindow: "48h"\n'
        'unit: "s"\ntype: histogram',
    }


def test_the_resolution_report_shows_the_config_with_the_type_and_unit_the_backend_gave() -> None:
    text = "```yaml\n# action-item-verifier: v1\nmetric: app.orders\ncondition: < 5\n```\n"
    metrics = CatalogMetrics(
        names=frozenset({"app_orders"}), types={"app_orders": "counter"}, units={"app_orders": "ms"}
    )
    report = resolution_report(text, metrics, now=NOW, resolved_at=None)
    assert report["config"].splitlines()[-2:] == ['unit: "milliseconds"', "type: counter"]
    assert report["query"] == "sum(increase(app_orders[48h]))"


def test_the_resolution_report_uses_the_window_of_the_given_resolution_time() -> None:
    metrics = CatalogMetrics(names=frozenset({"http_server_request_duration_seconds"}))
    old = resolution_report(LATENCY, metrics, now=NOW, resolved_at=NOW - timedelta(days=10))
    assert old["window"] == "2026-05-22T00:00:00+00:00 to 2026-05-24T00:00:00+00:00"
    recent = resolution_report(LATENCY, metrics, now=NOW, resolved_at=NOW - timedelta(hours=1))
    assert recent["window"] == "2026-05-31T23:00:00+00:00 to 2026-06-02T23:00:00+00:00"  # a window not over yet
    assert recent["outcome"] == "OK"


def test_the_resolution_report_says_why_no_series_fits() -> None:
    report = resolution_report(LATENCY, CatalogMetrics(names=frozenset()), now=NOW, resolved_at=None)
    assert report == {
        "window": DEFAULT_WINDOW,
        "candidates": CANDIDATES,
        "outcome": "INCONCLUSIVE",
        "resolved": f"no data: no series in the window under any candidate name: tried {CANDIDATES}",
    }


@dataclass
class FailingCatalog(CatalogMetrics):
    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        raise MetricsError("HTTP 503 from /api/v1/label/__name__/values")


def test_the_resolution_report_says_when_the_backend_failed() -> None:
    report = resolution_report(LATENCY, FailingCatalog(), now=NOW, resolved_at=None)
    assert report == {
        "window": DEFAULT_WINDOW,
        "candidates": CANDIDATES,
        "outcome": "ERROR",
        "resolved": "the metrics backend failed: HTTP 503 from /api/v1/label/__name__/values",
    }


def test_the_resolution_report_says_when_the_backend_lists_no_names() -> None:
    report = resolution_report(LATENCY, CatalogMetrics(names=None), now=NOW, resolved_at=None)
    assert report == {
        "window": DEFAULT_WINDOW,
        "candidates": CANDIDATES,
        "outcome": "OK",
        "resolved": "the backend lists no metric names: queried as planned",
    }


def test_the_resolution_report_of_a_promql_expression_sends_it_as_written() -> None:
    text = "```yaml\n# action-item-verifier: v1\nmetric: 'sum(rate(errors_total[5m]))'\ncondition: '< 5'\n```"
    metrics = CatalogMetrics()
    assert resolution_report(text, metrics, now=NOW, resolved_at=None) == {
        "outcome": "OK",
        "resolved": "a PromQL expression: sent as written",
        "query": "sum(rate(errors_total[5m]))",
    }
    assert metrics.catalog == []


def test_the_resolution_report_plans_a_relative_condition_from_the_incident_value_in_the_text() -> None:
    text = (
        "**Actual Value**: 4.5\n\n```yaml\n# action-item-verifier: v1\nmetric: app_errors_total\n"
        "condition: '< 50% of baseline'\n```"
    )
    report = resolution_report(text, CatalogMetrics(names=frozenset({"app_errors_total"})), now=NOW, resolved_at=None)
    assert report["outcome"] == "OK"
    assert report["query"] == "sum(increase(app_errors_total[48h]))"


def test_the_resolution_report_of_a_text_without_a_config_is_an_error() -> None:
    with pytest.raises(ConfigError) as raised:
        resolution_report("Fixed the retry storm.", CatalogMetrics(), now=NOW, resolved_at=None)
    assert (raised.value.field, raised.value.reason) == (
        "text",
        "no verification config found (see README: 'Verification configs')",
    )


@pytest.mark.parametrize("name", ["rpc_duration_seconds_count", "rpc_duration_seconds_sum"])
def test_a_prometheus_count_or_sum_written_as_is_stays_a_counter_once_resolved(name: str) -> None:
    """The README reads `*_count` and `*_sum` as counters; the metadata API knows only their family."""
    planned = _plan(metric=name, condition="< 1000")
    assert planned.query == f"sum(increase({name}[48h]))"
    found = _resolved(planned, CatalogMetrics(names=frozenset({name})))
    assert (found.metric.kind, found.query) == (Kind.COUNTER, f"sum(increase({name}[48h]))")


def test_the_resolution_report_for_a_sub_second_time_is_planned_from_the_whole_second() -> None:
    metrics = CatalogMetrics(names=frozenset({"http_server_request_duration_seconds"}))
    report = resolution_report(LATENCY, metrics, now=NOW + timedelta(microseconds=999_999), resolved_at=None)
    assert (report["outcome"], report["window"]) == ("OK", DEFAULT_WINDOW)
