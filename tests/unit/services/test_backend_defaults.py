"""Prometheus 3 and its peers as installed by default (#21 D5, D7): identity attributes as job/instance, the
`key_` label rule, the scrape escaping schemes, and `_count`/`_sum` read from a native histogram (NHCB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.helpers import config
from tests.unit.services.test_resolve import CatalogMetrics
from verifier.domain.measurement import Measurement, Series
from verifier.domain.otel import Escaping, escape_name, label_forms
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.verdicts import Outcome, Verdict
from verifier.services.resolve import resolve

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _resolve(metrics: CatalogMetrics, **fields: object) -> QueryPlan | Verdict:
    planned = plan(config(**fields), NOW - timedelta(days=3), NOW)
    assert isinstance(planned, QueryPlan)
    return resolve(planned, metrics)


def _query(metrics: CatalogMetrics, **fields: object) -> str:
    found = _resolve(metrics, **fields)
    assert isinstance(found, QueryPlan), found
    return found.query


@pytest.mark.parametrize(
    ("name", "scheme", "expected"),
    [
        ("metric.name.with.dots", Escaping.DOTS, "metric_dot_name_dot_with_dot_dots"),  # the docs' own example
        ("http.server.active_requests", Escaping.DOTS, "http_dot_server_dot_active__requests"),
        ("http.server.duration", Escaping.VALUES, "U__http_2e_server_2e_duration"),
        ("a_b.c", Escaping.VALUES, "U__a__b_2e_c"),
        ("legacy_name", Escaping.VALUES, "legacy_name"),  # valid names are not escaped
        ("legacy_name", Escaping.DOTS, "legacy_name"),
    ],
)
def test_scrape_escaping_schemes(name: str, scheme: Escaping, expected: str) -> None:
    assert escape_name(name, scheme) == expected


@pytest.mark.parametrize(
    ("attribute", "forms"),
    [
        ("service.name", ("service_name",)),
        ("1st.attr", ("key_1st_attr", "_1st_attr")),  # Prometheus 3.7.1, then before
        ("_private.attr", ("key_private_attr", "_private_attr")),
        ("__reserved", ("__reserved",)),
    ],
)
def test_label_forms_follow_the_key_prefix_rule(attribute: str, forms: tuple[str, ...]) -> None:
    assert label_forms(attribute) == forms


def test_an_attribute_promoted_with_key_prefix_is_matched() -> None:
    for promoted in ("key_private_zone", "_private_zone"):  # Prometheus 3.7.1 and later, then before
        metrics = CatalogMetrics(names=frozenset({"app_orders_total"}), labels=frozenset({promoted}))
        query = _query(metrics, metric="app.orders", unit="{order}", condition="< 5", labels={"_private.zone": "a"})
        assert query == f'sum(increase(app_orders_total{{{promoted}="a"}}[48h]))'


def test_service_name_and_namespace_match_job_when_neither_series_nor_target_info_carry_them() -> None:
    metrics = CatalogMetrics(
        names=frozenset({"app_orders_total"}),
        labels=frozenset({"job", "instance"}),
        info_labels=frozenset({"job", "instance", "host_name"}),
    )
    labels = {"service.name": "checkout", "service.namespace": "shop", "service.instance.id": "pod-1"}
    found = _resolve(metrics, metric="app.orders", unit="{order}", condition="< 5", labels=labels)
    assert isinstance(found, QueryPlan), found
    assert found.query == 'sum(increase(app_orders_total{instance="pod-1",job="shop/checkout"}[48h]))'
    assert "service.namespace/service.name as job" in found.notes[0]
    assert "service.instance.id as instance" in found.notes[0]
    alone = CatalogMetrics(names=frozenset({"app_orders_total"}), info_labels=frozenset())
    query = _query(alone, metric="app.orders", unit="{order}", condition="< 5", labels={"service.name": "checkout"})
    assert query == 'sum(increase(app_orders_total{job="checkout"}[48h]))'


def test_target_info_joins_only_when_it_carries_the_attribute() -> None:
    metrics = CatalogMetrics(
        names=frozenset({"app_orders_total"}),
        labels=frozenset({"job", "instance"}),
        info_labels=frozenset({"job", "instance", "service_name"}),
    )
    query = _query(metrics, metric="app.orders", unit="{order}", condition="< 5", labels={"service.name": "checkout"})
    assert query == (
        "sum((increase(app_orders_total[48h]) and on (job, instance) "
        'last_over_time(target_info{service_name="checkout"}[48h])))'
    )


def test_a_namespace_without_its_service_name_is_not_a_job() -> None:
    metrics = CatalogMetrics(names=frozenset({"app_orders_total"}), info_labels=frozenset())
    query = _query(metrics, metric="app.orders", unit="{order}", condition="< 5", labels={"service.namespace": "s"})
    assert 'target_info{service_namespace="s"}' in query and "job=" not in query


# -- native histograms with custom buckets (NHCB) ----------------------------------------------------------------
COUNT = "http_server_request_duration_seconds_count"
BASE = "http_server_request_duration_seconds"


@pytest.mark.parametrize(("suffix", "function"), [("_count", "histogram_count"), ("_sum", "histogram_sum")])
def test_count_and_sum_configs_read_the_native_histogram_when_only_it_exists(suffix: str, function: str) -> None:
    metrics = CatalogMetrics(names=frozenset({BASE}))
    found = _resolve(metrics, metric=BASE + suffix, condition="< 100")
    assert isinstance(found, QueryPlan), found
    assert found.query == f"sum({function}(increase({BASE}[48h])))"
    assert found.notes[0].startswith(f"metric resolved to '{BASE}' ({function} of a native histogram;")
    assert metrics.asked == []


def test_a_classic_histogram_family_name_is_not_taken_for_a_native_one() -> None:
    found = _resolve(CatalogMetrics(names=frozenset({BASE + "_bucket", COUNT})), metric=COUNT, condition="< 100")
    assert isinstance(found, QueryPlan) and found.query == f"sum(increase({COUNT}[48h]))"


EDGE_QUERY = f"count(last_over_time({COUNT}[5m]))"
PRESENT = Measurement((Series((), ((0.0, 1.0),)),))


def test_both_forms_in_the_window_read_the_classic_when_it_covers_the_whole_window() -> None:
    metrics = CatalogMetrics(names=frozenset({BASE, COUNT}), answers={EDGE_QUERY: PRESENT})
    found = _resolve(metrics, metric=COUNT, condition="< 100")
    assert isinstance(found, QueryPlan) and found.query == f"sum(increase({COUNT}[48h]))"
    start = NOW - timedelta(days=3)
    assert metrics.asked == [(EDGE_QUERY, start + timedelta(minutes=5)), (EDGE_QUERY, start + timedelta(days=2))]


def test_both_forms_in_the_window_without_the_classic_covering_it_is_inconclusive_with_the_reason() -> None:
    metrics = CatalogMetrics(names=frozenset({BASE, COUNT}))  # no answer: the classic series stopped
    verdict = _resolve(metrics, metric=COUNT, condition="< 100")
    assert isinstance(verdict, Verdict) and verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == (
        f"both '{COUNT}' and the native histogram '{BASE}' (custom buckets, NHCB) hold data in the window, and the "
        "classic series does not cover all of it (a move to native histograms): either alone would judge part of "
        "the window"
    )


# -- delta temporality and Prometheus's /api/v1/features -------------------------------------------------------
class FeatureCatalog(CatalogMetrics):
    def __init__(self, features: dict[str, dict[str, bool]] | None, **fields: object) -> None:
        super().__init__(**fields)  # type: ignore[arg-type]
        self.listed = features

    def features(self) -> dict[str, dict[str, bool]] | None:
        self.catalog.append(("features",))
        return self.listed


@pytest.mark.parametrize(
    ("features", "query", "delta"),
    [
        ({"otlp_receiver": {"native_delta_ingestion": True}}, "sum(sum_over_time(app_orders_total[48h]))", True),
        (None, "sum(sum_over_time(app_orders_total[48h]))", True),  # the API is not there: 'unknown' says delta
        ({"otlp_receiver": {"native_delta_ingestion": False}}, "sum(increase(app_orders_total[48h]))", False),
    ],
)
def test_unknown_on_a_counter_name_is_delta_unless_the_features_api_says_deltas_are_not_ingested(
    features: dict[str, dict[str, bool]] | None, query: str, delta: bool
) -> None:
    metrics = FeatureCatalog(features, names=frozenset({"app_orders_total"}), types={"app_orders_total": "unknown"})
    found = _resolve(metrics, metric="app.orders", unit="{order}", condition="< 5")
    assert isinstance(found, QueryPlan) and (found.query, found.metric.delta) == (query, delta)
    assert ("features",) in metrics.catalog


def test_the_features_api_is_not_asked_when_nothing_says_unknown() -> None:
    metrics = FeatureCatalog({}, names=frozenset({"app_orders_total"}), types={"app_orders_total": "counter"})
    assert (
        _query(metrics, metric="app.orders", unit="{order}", condition="< 5") == "sum(increase(app_orders_total[48h]))"
    )
    assert ("features",) not in metrics.catalog


def test_unknown_in_the_type_label_on_a_counter_name_is_delta() -> None:
    metrics = CatalogMetrics(
        names=frozenset({"app_orders_total"}),
        labels=frozenset({"__type__"}),
        values={"__type__": frozenset({"unknown"})},
    )
    found = _resolve(metrics, metric="app.orders", unit="{order}", condition="< 5")
    assert isinstance(found, QueryPlan) and found.query == "sum(sum_over_time(app_orders_total[48h]))"
    assert "a counter with delta temporality (its __type__ label says 'unknown')" in found.notes[0]
