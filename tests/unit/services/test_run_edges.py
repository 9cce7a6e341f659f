"""The run at its edges: crashes and stops mid-way, trackers of each flavour, reminders sharing the budget, and the
log events an operator alerts on."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done, tracker_with
from verifier.domain.measurement import Measurement
from verifier.domain.tickets import Flavour, Ticket
from verifier.errors import TrackerError
from verifier.services.run import RunOptions, run

REMIND = RunOptions(overdue_reminders=True)


def late(key: str, created_days: float, **kw: object) -> Ticket:
    fields: dict[str, object] = {"resolved_at": None, "resolution": None, "status": "To Do", "priority": "P1"}
    fields.update(kw)
    return done(key, 3, created=NOW - timedelta(days=created_days), **fields)


def test_tickets_with_the_same_outcome_are_counted_together() -> None:
    report = run(tracker_with(done("A"), done("B")), FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert report.counts() == {"VERIFIED": 2}


def test_accepting_warnings_reaches_the_verdict() -> None:
    warned = Measurement(instant(0.05).series, warnings=("partial response",))
    report = run(tracker_with(done("A")), FakeMetrics({QUERY: warned}), RunOptions(accept_warnings=True), NOW)
    assert report.counts() == {"VERIFIED": 1}


def test_a_crash_while_measuring_is_an_error_for_that_ticket_only() -> None:
    def boom(at: datetime) -> Measurement:
        raise ValueError("boom")

    tracker = tracker_with(done("A"), done("B", body=BLOCK.replace("latency", "other")))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: boom}), RunOptions(), NOW)
    results = {r.key: (r.outcome, r.reason) for r in report.results}
    assert results["A"] == ("ERROR", "internal error: boom") and results["B"][0] == "INCONCLUSIVE"
    assert {"event": "measure_crashed", "ticket": "A", "log_level": "error", "exc_info": True} in logs
    assert [key for key, *_ in tracker.writes] == ["B", "B"] and report.exit_code == 0 and not report.complete


def test_a_stop_during_measuring_writes_nothing_and_says_so() -> None:
    stop = threading.Event()

    def stopping(at: datetime) -> Measurement:
        stop.set()
        return instant(0.4)

    tracker = tracker_with(done("A"))
    report = run(tracker, FakeMetrics({QUERY: stopping}), RunOptions(), NOW, stop=stop)
    assert tracker.writes == [] and report.interrupted and report.exit_code == 143
    assert report.results[0].deferred == "the run was stopped"


def test_a_crash_while_writing_is_an_error_for_that_ticket_and_is_logged() -> None:
    @dataclass
    class LabelsCrash(FakeTracker):
        def add_labels(self, key: str, labels: object) -> None:
            raise RuntimeError("label API changed")

    tracker = LabelsCrash(clock=NOW)
    tracker.add(done("A"))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert (report.results[0].outcome, report.results[0].reason) == ("ERROR", "internal error: label API changed")
    assert {"event": "write_crashed", "ticket": "A", "log_level": "error", "exc_info": True} in logs


def test_a_failed_write_is_logged_with_the_ticket_and_the_error() -> None:
    tracker = tracker_with(done("A"))
    tracker.fail_on = {"comment"}
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert report.results[0].reason == "tracker write failed: A: comment failed with HTTP 500"
    failed = [e for e in logs if e["event"] == "write_failed"]
    assert failed == [
        {"event": "write_failed", "ticket": "A", "error": "A: comment failed with HTTP 500", "log_level": "error"}
    ]


def test_a_jira_tracker_gets_wiki_markup_results_and_reminders() -> None:
    tracker = tracker_with(done("A"), late("B", 10), flavour=Flavour.JIRA_WIKI)
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), REMIND, NOW)
    comments = {key: body for key, kind, body in tracker.writes if kind == "comment"}
    assert comments["A"].startswith("h3. (/) Verified") and comments["B"].startswith("h3. (!) Overdue")


def test_a_ticket_that_cannot_be_reopened_counts_its_writes_and_says_why() -> None:
    tracker = tracker_with(done("A"))
    tracker.reopenable = False
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.4)}), RunOptions(), NOW)
    # A workflow with no way back takes no transition request: comment, label, then the note and its label.
    assert report.results[0].writes == 4 and report.writes == 4
    assert report.results[0].actions == [
        "comment",
        "label verification-failed",
        "reopen impossible: comment",
        "label reopen-failed",
    ]
    assert {"event": "reopen_impossible", "ticket": "A", "log_level": "warning"} in logs


def test_a_ticket_changed_since_listing_keeps_its_verdict_and_says_why_nothing_was_written() -> None:
    @dataclass
    class ReResolved(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            return done(key, 0.1) if ticket.resolved_at == NOW - timedelta(days=3) else ticket

    tracker = ReResolved(clock=NOW)
    tracker.add(done("A"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.4)}), RunOptions(), NOW)
    assert (report.results[0].outcome, report.results[0].reason) == (
        "FAILED",
        "the condition broke; the ticket changed since it was listed, left for the next run",
    )


def test_an_overdue_ticket_is_reported_with_its_link_and_due_date() -> None:
    tracker = tracker_with(late("B", 10))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    (overdue,) = report.overdue
    assert (overdue.url, overdue.due_at, overdue.reason) == (
        "https://tracker/B",
        NOW - timedelta(days=3),
        overdue.reason,
    )
    assert overdue.reason.startswith("P1 due 2026-11-23, 3 days late") and overdue.writes == 2


def test_a_ticket_due_exactly_now_is_not_overdue_yet() -> None:
    report = run(tracker_with(late("B", 7)), FakeMetrics(), REMIND, NOW)
    assert report.overdue == [] and report.reminders_checked


def test_open_pull_requests_are_never_reminded() -> None:
    @dataclass
    class ListsPullRequests(FakeTracker):
        def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
            yield from self.tickets.values()

    tracker = ListsPullRequests(clock=NOW)
    tracker.add(late("acme/api#7", 30, kind="pull request"))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert report.overdue == [] and tracker.writes == []


def test_reminders_due_on_the_same_day_are_all_written() -> None:
    tracker = tracker_with(late("B", 10), late("C", 10))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert sorted(key for key, *_ in tracker.writes) == ["B", "B", "C", "C"] and report.writes == 4


def test_a_reminder_too_big_for_the_budget_waits_and_a_smaller_one_behind_it_goes() -> None:
    labelled = frozenset({"post-incident", "overdue"})
    tracker = tracker_with(late("OLDEST", 20), late("NEWER", 10, labels=labelled))
    report = run(tracker, FakeMetrics(), RunOptions(overdue_reminders=True, max_writes=1), NOW)
    assert [(key, kind) for key, kind, _ in tracker.writes] == [("NEWER", "comment")]
    assert {r.key: r.deferred for r in report.overdue} == {"OLDEST": "the write budget is used up", "NEWER": ""}


def test_a_failure_to_list_open_tickets_is_a_run_error() -> None:
    @dataclass
    class OpenListingFails(FakeTracker):
        def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
            raise TrackerError("search failed with HTTP 502")

    tracker = OpenListingFails(clock=NOW)
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert report.errors == ["listing open tickets stopped: search failed with HTTP 502"] and report.exit_code == 1
    assert {
        "event": "listing_failed",
        "error": "search failed with HTTP 502",
        "listing": "open tickets",
        "log_level": "error",
    } in logs


def test_a_stop_before_reminding_writes_no_reminder() -> None:
    stop = threading.Event()

    @dataclass
    class StopsWhileListing(FakeTracker):
        def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
            for ticket in super().post_incident_tickets(label, since):
                stop.set()
                yield ticket

    tracker = StopsWhileListing(clock=NOW)
    tracker.add(late("B", 10))
    tracker.add(late("C", 20))
    report = run(tracker, FakeMetrics(), REMIND, NOW, stop=stop)
    assert tracker.writes == [] and report.interrupted


def test_a_failed_reminder_is_logged_and_a_crash_is_an_internal_error() -> None:
    tracker = tracker_with(late("B", 10))
    tracker.fail_on = {"comment"}
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert report.overdue[0].outcome == "ERROR" and report.overdue[0].reason == (
        "tracker write failed: B: comment failed with HTTP 500"
    )
    assert {
        "event": "write_failed",
        "ticket": "B",
        "error": "B: comment failed with HTTP 500",
        "log_level": "error",
    } in logs

    @dataclass
    class CommentCrash(FakeTracker):
        def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
            raise RuntimeError("bad body")

    crashing = CommentCrash(clock=NOW)
    crashing.add(late("B", 10))
    with structlog.testing.capture_logs() as logs:
        report = run(crashing, FakeMetrics(), REMIND, NOW)
    assert (report.overdue[0].outcome, report.overdue[0].reason) == ("ERROR", "internal error: bad body")
    assert {"event": "write_crashed", "ticket": "B", "log_level": "error", "exc_info": True} in logs


def test_reminding_and_running_out_of_budget_are_logged() -> None:
    tracker = tracker_with(late("B", 10), late("C", 20))
    with structlog.testing.capture_logs() as logs:
        run(tracker, FakeMetrics(), RunOptions(overdue_reminders=True, max_writes=2), NOW)
    assert {"event": "reminded", "ticket": "C", "due": "2026-11-13", "log_level": "info"} in logs
    assert {"event": "write_budget_exhausted", "ticket": "B", "budget": 2, "log_level": "info"} in logs
