"""What the run reports per ticket and per run, and the order it writes in when configs have different delays."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done, tracker_with
from verifier.domain.measurement import Measurement
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import TrackerError
from verifier.services.run import RunOptions, run


def test_a_result_carries_the_value_threshold_query_and_link() -> None:
    report = run(tracker_with(done("A")), FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    (result,) = report.results
    assert (result.url, result.value, result.threshold, result.query) == ("https://tracker/A", 0.05, 0.1, QUERY)
    assert (result.outcome, result.reason) == ("VERIFIED", "the condition held")
    assert 0 <= report.duration_seconds < 60


def test_the_oldest_due_goes_first_even_when_it_was_resolved_later() -> None:
    """A's window (8 days) ends a day ago; B, resolved later with a 48 h window, has been due for three days."""
    long_window = BLOCK.replace("p99\n", "p99\ndelay: 8d\n")
    slow = done("A", 9, body=long_window)
    tracker = tracker_with(slow, done("B", 5))
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW)
    assert [key for key, *_ in tracker.writes] == ["B", "B"]


def test_judged_tickets_without_a_due_time_go_oldest_resolved_first() -> None:
    broken = BLOCK.replace("100ms", "100kB")
    tracker = tracker_with(done("NEW", 3, body=broken), done("OLD", 9, body=broken))
    run(tracker, FakeMetrics(), RunOptions(max_writes=2), NOW)
    assert [key for key, *_ in tracker.writes] == ["OLD", "OLD"]


def test_a_second_run_reports_the_result_as_already_recorded() -> None:
    tracker = tracker_with(done("A"))
    metrics = FakeMetrics({QUERY: instant(0.05)})
    run(tracker, metrics, RunOptions(), NOW)
    again = run(tracker, metrics, RunOptions(), NOW)
    assert [(r.outcome, r.reason, r.writes) for r in again.results] == [("VERIFIED", "already recorded", 0)]


def test_every_untrusted_author_is_named() -> None:
    comments = (Comment("1", "mallory", BLOCK, NOW), Comment("2", "eve", BLOCK, NOW))
    report = run(tracker_with(done("A", reporter="trudy", comments=comments)), FakeMetrics(), RunOptions(), NOW)
    assert report.results[0].reason == "no trusted config (ignored configs by untrusted trudy, mallory, eve)"


def test_a_tracker_that_refuses_the_sign_in_is_a_run_error() -> None:
    @dataclass
    class Refuses(FakeTracker):
        def account(self) -> str:
            raise TrackerError("HTTP 401")

    report = run(Refuses(clock=NOW), FakeMetrics(), RunOptions(), NOW)
    assert report.errors == ["signing in to the tracker failed: HTTP 401"] and report.exit_code == 1
    assert report.duration_seconds >= 0


def test_an_unreadable_issue_and_a_failed_listing_are_named_in_the_errors() -> None:
    report = run(tracker_with(), FakeMetrics(), RunOptions(issues=("NOPE-1",)), NOW)
    assert len(report.errors) == 1 and report.errors[0].startswith("NOPE-1: no such ticket")

    @dataclass
    class ListingFails(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            raise TrackerError("HTTP 502")

    report = run(ListingFails(clock=NOW), FakeMetrics(), RunOptions(), NOW)
    assert report.errors == ["listing tickets stopped: HTTP 502"]


def test_the_listing_asks_for_the_configured_label_and_lookback() -> None:
    @dataclass
    class Recording(FakeTracker):
        asked: list[tuple[str, int]] = field(default_factory=list)

        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            self.asked.append((label, lookback_days))
            return super().resolved_tickets(label, lookback_days)

    tracker = Recording(clock=NOW)
    run(tracker, FakeMetrics(), RunOptions(label="pir", lookback_days=30), NOW)
    assert tracker.asked == [("pir", 30 + 366)]  # the lookback plus the longest delay a config may have (#21)


def test_each_measured_ticket_is_logged_with_its_verdict() -> None:
    with structlog.testing.capture_logs() as logs:
        run(tracker_with(done("A")), FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    (event,) = [e for e in logs if e["event"] == "ticket"]
    seconds = event.pop("query_seconds")
    assert event == {
        "event": "ticket",
        "ticket": "A",
        "verdict": "VERIFIED",
        "value": 0.05,
        "threshold": 0.1,
        "log_level": "info",
    }
    assert 0 <= seconds < 2.5


def test_a_config_removed_before_the_write_gets_no_result_on_the_config_it_no_longer_has() -> None:
    @dataclass
    class ConfigRemoved(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            return replace(ticket, body="config moved to the wiki")

    tracker = ConfigRemoved(clock=NOW)
    tracker.add(done("A"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert report.results[0].outcome == "VERIFIED" and tracker.writes == []  # judged, but not written:
    assert report.results[0].reason.endswith(
        "; the config changed since it was judged: nothing written, the next run judges the new one"
    )


@dataclass
class CountsInFlight(FakeTracker):
    in_flight: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_labels(self, key: str, labels: object) -> None:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        super().add_labels(key, labels)  # type: ignore[arg-type]


def test_a_concurrency_of_one_measures_and_writes_one_ticket_at_a_time() -> None:
    in_flight, most, lock = [0], [0], threading.Lock()

    def counted(at: datetime) -> Measurement:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return instant(0.05)

    tracker = CountsInFlight(clock=NOW)
    for key in ("A", "B", "C"):
        tracker.add(done(key))
    run(tracker, FakeMetrics({QUERY: counted}), RunOptions(concurrency=1), NOW)
    assert most == [1] and tracker.most == 1 and len(tracker.writes) == 6


def test_measured_tickets_get_the_budget_before_tickets_judged_without_measuring() -> None:
    """A broken config resolved long ago waits behind a measurement that fell due more recently."""
    broken = done("BROKEN", 9, body=BLOCK.replace("100ms", "100kB"))
    tracker = tracker_with(broken, done("MEASURED", 3))
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW)
    assert [key for key, *_ in tracker.writes] == ["MEASURED", "MEASURED"]


def test_running_out_of_budget_is_logged_per_ticket() -> None:
    with structlog.testing.capture_logs() as logs:
        run(
            tracker_with(done("A", 9), done("B", 3)), FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW
        )
    assert [e for e in logs if e["event"] == "write_budget_exhausted"] == [
        {"event": "write_budget_exhausted", "ticket": "B", "budget": 2, "log_level": "info"}
    ]


def test_a_dry_run_lists_every_reminder_it_would_write() -> None:
    late = {"resolved_at": None, "resolution": None, "status": "To Do", "priority": "P1"}
    tracker = tracker_with(
        done("A", 0, created=NOW - timedelta(days=20), **late), done("B", 0, created=NOW - timedelta(days=10), **late)
    )
    report = run(tracker, FakeMetrics(), RunOptions(overdue_reminders=True, dry_run=True), NOW)
    assert tracker.writes == []
    assert {r.key: r.actions for r in report.overdue} == {
        "A": ["reminder", "label overdue"],
        "B": ["reminder", "label overdue"],
    }
