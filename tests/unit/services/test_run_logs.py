"""The run's log events for skipped, pending, unreadable and crashing tickets, and stops while reminding."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.services.test_run import QUERY, RacingTracker
from tests.unit.services.test_run import ticket as done
from verifier.domain.tickets import Ticket
from verifier.errors import BackendUnavailable, TrackerError
from verifier.services.run import RunOptions, run

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"
REMIND = RunOptions(overdue_reminders=True)


def late(key: str, created_days: float) -> Ticket:
    return done(
        key,
        resolved_at=None,
        resolution=None,
        status="To Do",
        priority="P1",
        created=NOW - timedelta(days=created_days),
    )


def unreadable(key: str) -> str:
    """What the fake tracker says of a ticket it does not have."""
    try:
        FakeTracker().get_ticket(key)
    except TrackerError as error:
        return str(error)
    raise AssertionError(f"the fake tracker has {key}")


def test_skipped_pending_and_untrusted_tickets_are_logged() -> None:
    tracker = FakeTracker(clock=NOW)
    tracker.add(done("P", resolved_days_ago=1))
    tracker.add(done("U", reporter="mallory"))
    with structlog.testing.capture_logs() as logs:
        run(tracker, FakeMetrics(), RunOptions(), NOW)
    assert {
        "event": "ticket",
        "ticket": "P",
        "verdict": "PENDING",
        "due_at": "2026-11-27T12:00:00+00:00",
        "log_level": "info",
    } in logs
    assert {
        "event": "untrusted_config_ignored",
        "ticket": "U",
        "authors": ["mallory"],
        "log_level": "warning",
    } in logs
    assert {
        "event": "ticket",
        "ticket": "U",
        "verdict": "SKIPPED",
        "reason": "no trusted config",
        "log_level": "info",
    } in logs


def test_an_unreadable_ticket_and_a_failed_listing_and_sign_in_are_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        run(FakeTracker(clock=NOW), FakeMetrics(), RunOptions(issues=("NOPE-1",)), NOW)
    assert logs == [
        {"event": "ticket_unreadable", "ticket": "NOPE-1", "error": unreadable("NOPE-1"), "log_level": "error"}
    ]

    @dataclass
    class Broken(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            raise TrackerError("HTTP 502")

        def account(self) -> str:
            if self.reopenable:
                return BOT
            raise TrackerError("HTTP 401")

    with structlog.testing.capture_logs() as logs:
        run(Broken(clock=NOW), FakeMetrics(), RunOptions(), NOW)
    assert logs == [{"event": "listing_failed", "error": "HTTP 502", "log_level": "error"}]
    with structlog.testing.capture_logs() as logs:
        report = run(Broken(clock=NOW, reopenable=False), FakeMetrics(), RunOptions(), NOW)
    assert logs == [{"event": "sign_in_failed", "error": "HTTP 401", "log_level": "error"}]
    assert 0 <= report.duration_seconds < 60


def test_a_crash_while_triaging_is_an_error_for_that_ticket_only() -> None:
    tracker = FakeTracker(clock=NOW)
    tracker.add(replace(done("A"), comments=None))  # type: ignore[arg-type]
    tracker.add(done("B", resolved_days_ago=1))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), RunOptions(), NOW)
    results = {r.key: (r.outcome, r.reason.split(":")[0]) for r in report.results}
    assert results == {
        "A": ("ERROR", "internal error"),
        "B": ("PENDING", "the verification window ends at 2026-11-27T12"),
    }
    assert {"event": "triage_crashed", "ticket": "A", "log_level": "error", "exc_info": True} in logs


def test_a_backend_failure_on_a_baseline_condition_is_an_error_not_a_crash() -> None:
    relative = BLOCK.replace("< 100ms p99", "<= 0.5x baseline p99\nbaseline_window: 1h")
    body = "**Triggered At**: 2026-11-20T09:00:00+00:00\n" + relative
    tracker = FakeTracker(clock=NOW)
    tracker.add(done("A", body=body))
    query = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[1h])))"
    report = run(tracker, FakeMetrics({query: BackendUnavailable("HTTP 503")}), RunOptions(), NOW)
    assert report.counts() == {"ERROR": 1} and tracker.writes == []


def test_a_concurrent_runs_duplicate_is_deleted_and_said() -> None:
    tracker = RacingTracker("before-comment")
    tracker.add(done("A-1"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert "deleted: a concurrent run wrote the same result first" in report.results[0].actions


def test_a_stop_while_reminding_defers_the_rest() -> None:
    stop = threading.Event()

    @dataclass
    class StopsAfterOneReminder(FakeTracker):
        def comment(self, key: str, body: str) -> str:
            stop.set()
            return super().comment(key, body)

    tracker = StopsAfterOneReminder(clock=NOW)
    for key, days in (("A", 30), ("B", 20), ("C", 10)):
        tracker.add(late(key, days))
    report = run(tracker, FakeMetrics(), REMIND, NOW, stop=stop)
    # The write phase's rule: a stopped run sends nothing after the request in flight, not even A's label.
    assert report.interrupted and [(k, kind) for k, kind, _ in tracker.writes] == [("A", "comment")]
    assert {r.key: r.deferred for r in report.overdue} == {
        "A": "the run was stopped",
        "B": "the run was stopped",
        "C": "the run was stopped",
    }


def test_a_ticket_closed_before_its_reminder_is_left_alone() -> None:
    @dataclass
    class ClosedMeanwhile(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            return replace(super().get_ticket(key), resolved_at=NOW, resolution="Done")

    tracker = ClosedMeanwhile(clock=NOW)
    tracker.add(late("A", 30))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert tracker.writes == [] and report.overdue[0].reason.endswith(
        " days late; the ticket changed since it was listed, left for the next run"
    )
