"""The config's `type:` and `temporality:` fields (#21 D4, D6): checked, understood, written back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from verifier.domain.config import VerificationConfig, build_config, render_config
from verifier.domain.formats import find_config
from verifier.domain.metric import DELTA_NOTE, Kind
from verifier.domain.planning import build_query
from verifier.domain.tickets import Flavour
from verifier.errors import ConfigError


def _config(**fields: object) -> VerificationConfig:
    return build_config({"metric": "app_orders_failed", "condition": "< 100", **fields}, "block")


def test_type_counter_makes_a_bare_name_a_counter() -> None:
    config = _config(type="counter")
    assert config.understood.kind is Kind.COUNTER
    assert build_query(config, config.understood, timedelta(hours=1)) == ("sum(increase(app_orders_failed[1h]))")


def test_without_type_a_bare_name_is_a_gauge() -> None:
    assert _config().understood.kind is Kind.GAUGE


def test_delta_temporality_sums_the_samples_and_says_so() -> None:

    config = _config(type="counter", temporality="delta", labels={"case": "a"})
    metric = config.understood
    assert metric.delta and DELTA_NOTE in metric.notes
    assert build_query(config, metric, timedelta(minutes=10)) == 'sum(sum_over_time(app_orders_failed{case="a"}[10m]))'


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"type": "summary"}, "type", "is not one of counter, gauge, histogram"),
        ({"type": 3}, "type", "is not one of"),
        ({"type": "histogram"}, "type", "needs a quantile"),
        ({"temporality": "sometimes"}, "temporality", "is not one of cumulative, delta"),
        ({"type": "gauge", "temporality": "delta"}, "temporality", "applies to a counter"),
        ({"metric": "sum(rate(x[5m]))", "type": "counter"}, "type", "not to a PromQL expression"),
        ({"metric": "x_total", "type": "gauge"}, "type", "contradicts the metric name"),
    ],
)
def test_bad_type_fields_are_refused_by_name(fields: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(**fields)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_type_and_temporality_round_trip_through_the_filed_block() -> None:
    config = _config(type="Counter", temporality="delta", unit="{order}")
    assert (config.type, config.temporality) == ("counter", "delta")
    for flavour in Flavour:
        text = render_config(config, flavour)
        assert "type: counter\n" in text and "temporality: delta\n" in text
        again = find_config(text)
        assert again is not None and (again.type, again.temporality, again.unit) == ("counter", "delta", "{order}")


# -- `file` writes the resolved type and unit into the filed config -------------------------------------------
def test_filing_writes_the_type_and_unit_the_backend_resolves_so_runs_do_not_guess() -> None:
    from datetime import UTC, datetime

    from tests.unit.fakes import FakeTracker
    from tests.unit.services.test_resolve import CatalogMetrics
    from verifier.domain.filing import parse_filing
    from verifier.services.filing import file_items

    filing = (
        "incident: {id: INC-9, alert_name: A, metric_name: x, threshold_value: 1, actual_value: 3, service_name: s, environment: prod, "
        "triggered_at: '2026-11-20T09:41:00Z'}\n"
        "items:\n"
        "  - {title: Stop failed orders, priority: P2, verification: {metric: app.orders.failed, unit: '{order}', "
        "condition: '< 1'}}\n"
        "  - {title: Stop slow queues, priority: P2, verification: {metric: queue.wait, condition: '< 5ms'}}\n"
    )
    metrics = CatalogMetrics(
        names=frozenset({"app_orders_failed__order_", "queue_wait"}),
        types={"app_orders_failed__order_": "counter", "queue_wait": "gauge"},
        units={"queue_wait": "ms"},
    )
    tracker = FakeTracker()
    report = file_items(parse_filing(filing), tracker, metrics, dry_run=False, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert report.error is None and [i.status for i in report.items] == ["created", "created"]
    orders, queue = (find_config(ticket.body) for ticket in tracker.tickets.values())
    assert orders is not None and (orders.type, orders.unit) == ("counter", "{order}")
    assert queue is not None and (queue.type, queue.unit) == ("gauge", "milliseconds")
