"""`services.filing_metrics` for a config of several conditions: each condition's queries tried, each resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import FakeCatalog, FakeMetrics
from verifier.domain.config import build_config
from verifier.domain.planning import QueryPlan, plan
from verifier.errors import ConfigError, QueryRejected
from verifier.services.filing_metrics import resolved_config, try_queries

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = build_config(
    {"conditions": [{"metric": "up", "condition": "> 0"}, {"metric": "x_total", "condition": "< 3"}]}, "block"
)


def planned() -> QueryPlan:
    found = plan(CONFIG, NOW - timedelta(days=10), NOW)
    assert isinstance(found, QueryPlan) and len(found.parts) == 2
    return found


def test_each_conditions_query_is_tried_now_and_one_with_no_data_is_noted() -> None:
    whole, metrics, notes = planned(), FakeMetrics(), []
    try_queries("A-1", whole, metrics, NOW, notes)
    queries = [part.query for part in whole.parts]
    assert metrics.asked == [(queries[0], NOW), (queries[1], NOW)]
    assert notes == [f"A-1: its verification query returns no data now: {query}" for query in queries]


def test_a_query_the_backend_refuses_in_any_condition_refuses_the_item() -> None:
    whole = planned()
    metrics = FakeMetrics({whole.parts[1].query: QueryRejected("parse error at char 3")})
    with pytest.raises(ConfigError) as error:
        try_queries("A-1", whole, metrics, NOW, [])
    assert (error.value.field, error.value.reason, error.value.ticket) == (
        "verification.metric",
        "the backend refused its query: parse error at char 3",
        "A-1",
    )


def test_each_condition_is_resolved_on_its_own_and_the_config_keeps_its_source() -> None:
    whole, notes = planned(), []
    got = resolved_config("A-1", whole, FakeMetrics(), notes)
    assert got == whole.config and got.parts == CONFIG.parts and got.source == "block"
    assert [part.metric for part in got.parts] == ["up", "x_total"] and notes == []


class _EmptyCatalog(FakeCatalog):
    """A backend that lists its metric names (`MetricCatalog`), and has none of the config's."""


def test_a_condition_whose_metric_does_not_resolve_is_filed_as_written_and_noted_by_item() -> None:
    whole, notes = planned(), []
    got = resolved_config("A-1", whole, _EmptyCatalog(), notes)
    assert got == whole.config and got.source == "block"
    assert len(notes) == 2, notes
    assert all(note.startswith("A-1: its metric's type and unit were not resolved: ") for note in notes), notes
    assert notes[0].endswith("tried up, up_total") and notes[1].endswith("tried x_total"), notes
