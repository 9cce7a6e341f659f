"""On-call's `evaluate` (one config, a verdict described for people and machines) and the `report` service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from verifier.domain.measurement import Measurement, Series
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import BackendUnavailable, QueryRejected
from verifier.services.evaluate import evaluate_text
from verifier.services.report import make_report
from verifier.services.run import RunOptions

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RESOLVED = NOW - timedelta(days=3)
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"
QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"
EVENTS = "sum(increase(latency_seconds_count[48h]))"


def test_evaluate_describes_a_verdict_in_full() -> None:
    metrics = FakeMetrics({QUERY: Measurement((Series((("pod", "a"),), ((0.0, 0.25),)),))})
    described = evaluate_text(BLOCK, metrics, resolved_at=RESOLVED, now=NOW)
    assert described == {
        "verdict": "FAILED",
        "reason": "the condition broke",
        "value": 0.25,
        "threshold": "< 0.1",
        "unit": "seconds",
        "series": '{pod="a"}',
        "window": "2026-11-23T12:00:00+00:00 to 2026-11-25T12:00:00+00:00",
        "due": None,
        "query": QUERY,
        "notes": [],
        "graph": None,  # no graph URL given
        "sparkline": None,  # the fake answers no range query
        "data": {
            "steps_with_data": 1,
            "steps": 1,
            "coverage_percent": 100.0,
            "events": 10_000.0,  # the fake's answer to the events query
            "events_needed": 100,
            "summary": "1 of 1 step with data; 10,000 requests in the window (needs 100)",
        },
    }
    assert metrics.asked == [(QUERY, RESOLVED + timedelta(hours=48)), (EVENTS, RESOLVED + timedelta(hours=48))]


def test_evaluate_before_the_window_ends_says_when_it_is_due_and_asks_nothing() -> None:
    metrics = FakeMetrics({QUERY: instant(0.05)})
    described = evaluate_text(BLOCK, metrics, resolved_at=NOW - timedelta(hours=1), now=NOW)
    assert (described["verdict"], described["due"], described["window"]) == (
        "PENDING",
        "2026-11-28T11:00:00+00:00",
        None,
    )
    assert metrics.asked == []


def test_evaluate_early_judges_the_window_so_far() -> None:
    metrics = FakeMetrics({QUERY.replace("48h", "1h"): instant(0.05)})
    described = evaluate_text(BLOCK, metrics, resolved_at=NOW - timedelta(hours=1), now=NOW, early=True)
    assert described["verdict"] == "VERIFIED" and described["notes"][-1].startswith("judged early")


def test_evaluate_text_without_a_config_or_with_a_bad_one_is_invalid() -> None:
    none = evaluate_text("just prose", FakeMetrics(), resolved_at=RESOLVED, now=NOW)
    assert none["verdict"] == "INVALID" and "no verification config found" in none["reason"]
    bad = evaluate_text(BLOCK.replace("100ms", "100kB"), FakeMetrics(), resolved_at=RESOLVED, now=NOW)
    assert bad["verdict"] == "INVALID" and "cannot be compared" in bad["reason"]


def test_evaluate_a_relative_condition_uses_the_incident_value_in_the_text() -> None:
    text = "**Actual Value**: 0.8\n" + BLOCK.replace("< 100ms p99", "< 50% of baseline p99")
    described = evaluate_text(text, FakeMetrics({QUERY: instant(0.3)}), resolved_at=RESOLVED, now=NOW)
    assert (described["verdict"], described["threshold"]) == ("VERIFIED", "< 0.4")


def test_evaluate_keeps_backend_failures_and_warnings_apart_from_failed() -> None:
    down = evaluate_text(BLOCK, FakeMetrics({QUERY: BackendUnavailable("HTTP 503")}), resolved_at=RESOLVED, now=NOW)
    assert down["verdict"] == "ERROR" and "HTTP 503" in down["reason"]
    refused = evaluate_text(BLOCK, FakeMetrics({QUERY: QueryRejected("bad")}), resolved_at=RESOLVED, now=NOW)
    assert refused["verdict"] == "INVALID" and "refused the query: bad" in refused["reason"]
    warned = Measurement(instant(0.05).series, warnings=("partial",))
    metrics = FakeMetrics({QUERY: warned})
    assert evaluate_text(BLOCK, metrics, resolved_at=RESOLVED, now=NOW)["verdict"] == "INCONCLUSIVE"
    assert evaluate_text(BLOCK, metrics, resolved_at=RESOLVED, now=NOW, accept_warnings=True)["verdict"] == "VERIFIED"


def test_the_report_service_reads_the_label_trust_and_sla_from_the_run_options() -> None:
    result = render_result(Verdict(Outcome.FAILED, "x"), RESOLVED, Flavour.MARKDOWN)
    tracker = FakeTracker(clock=NOW)
    common = {
        "url": "u",
        "title": "t",
        "body": "**Service**: search",
        "reporter": BOT,
        "created": NOW - timedelta(days=4),
    }
    tracker.add(
        Ticket(
            key="A-1",
            status="Done",
            resolved_at=RESOLVED,
            resolution="Done",
            labels=frozenset({"incident-followup", "db"}),
            comments=(Comment("1", BOT, result, NOW - timedelta(days=1)),),
            **common,  # type: ignore[arg-type]
        )
    )
    tracker.add(
        Ticket(
            key="A-2",
            status="To Do",
            resolved_at=None,
            resolution=None,
            labels=frozenset({"incident-followup"}),
            priority="P0",
            **{**common, "created": NOW - timedelta(days=2)},  # type: ignore[arg-type]
        )
    )
    tracker.add(
        Ticket(
            key="B-1",
            status="To Do",
            resolved_at=None,
            resolution=None,
            labels=frozenset({"post-incident"}),
            **common,  # type: ignore[arg-type]
        )
    )
    options = RunOptions(label="incident-followup", sla_days={"P0": 1, "P2": 30})
    report = make_report(tracker, options, since=NOW - timedelta(days=7), now=NOW, group_by="label")
    assert (report.overall.failed, report.overall.overdue, report.overall.filed) == (1, 1, 2)
    assert list(report.groups) == ["(no other label)", "db"]
    assert report.group_by == "label" and report.until == NOW


def test_the_report_service_groups_by_service_unless_asked_otherwise() -> None:
    tracker = FakeTracker(clock=NOW)
    tracker.add(Ticket("A-1", "u", "t", "To Do", None, None, frozenset({"post-incident"}), "**Service**: search", BOT))
    report = make_report(tracker, RunOptions(), since=NOW - timedelta(days=7), now=NOW)
    assert report.group_by == "service" and list(report.groups) == ["search"]
