"""Planning at its edges: when an early judgement may start, what a pending plan says, label values that need
escaping in every kind of query, and the threshold a relative condition gets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.helpers import RESOLVED, config
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, plan
from verifier.errors import ConfigError

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
