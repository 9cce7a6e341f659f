"""What an operator reads off a run's report: the dry run's first-run plan against what real runs then do, what a
stop or the tracker's rate limit leaves behind, and the query and graph link a result names."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done, tracker_with
from tests.unit.test_measure_behaviour import Catalog
from verifier.domain.evidence import GraphLinks
from verifier.domain.measurement import Measurement
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import TrackerThrottled
from verifier.exit_codes import ExitCode
from verifier.services.run import RunOptions, run

OTHER = QUERY.replace("latency", "errors")
METRICS = {QUERY: instant(0.05), OTHER: instant(0.5)}


def backlog() -> FakeTracker:
    """Four due tickets, listed in this order, with their writes: a result recorded without its label (1 write,
    resolved 8 days ago), an invalid config (2, resolved 9 days ago), a held fix due 4 days ago (2) and a broken
    one due 3 days ago (3)."""
    recorded = render_result(Verdict(Outcome.VERIFIED, "the condition held"), NOW - timedelta(days=8), Flavour.MARKDOWN)
    return tracker_with(
        done("RECORDED", 8, comments=(Comment("1", BOT, recorded, NOW - timedelta(days=1)),)),
        done("INVALID", 9, body=BLOCK.replace("100ms", "100kB")),
        done("HELD", 6),
        done("BROKE", 5, body=BLOCK.replace("latency", "errors")),
    )


def test_the_first_run_plan_counts_the_runs_real_runs_take() -> None:
    """Real runs write the measured tickets oldest due first, then the judged ones oldest resolved first; the
    plan packs them in that order too, whatever order the tracker listed them in."""
    dry = run(backlog(), FakeMetrics(METRICS), RunOptions(dry_run=True, max_writes=4), NOW)
    tracker, runs = backlog(), 0
    while runs < 5:
        before = len(tracker.writes)
        run(tracker, FakeMetrics(METRICS), RunOptions(max_writes=4), NOW)
        if len(tracker.writes) == before:
            break
        runs += 1
    assert dry.plan is not None and (dry.plan.writes, runs) == (8, 2)
    assert dry.plan.runs == runs
    assert {r.key: r.deferred for r in dry.results} == {
        "RECORDED": "the write budget is used up",
        "INVALID": "",
        "HELD": "",
        "BROKE": "the write budget is used up",
    }


def _stopped_while_measuring(*tickets: Ticket) -> tuple[FakeTracker, FakeMetrics, threading.Event]:
    """The tickets in a tracker whose listing ends with a stop signal once the first measurement has begun; that
    measurement (latency) waits for the stop, the other (errors) answers at once."""
    stop, measuring = threading.Event(), threading.Event()

    def slow(at: datetime) -> Measurement:
        measuring.set()
        stop.wait(10)
        return instant(0.05)

    @dataclass
    class StopsAfterListing(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            yield from super().resolved_tickets(label, lookback_days)
            measuring.wait(10)
            stop.set()

    tracker = StopsAfterListing(clock=NOW)
    for ticket in tickets:
        tracker.add(ticket)
    return tracker, FakeMetrics({QUERY: slow, OTHER: instant(0.5)}), stop


def test_a_dry_run_stopped_while_measuring_says_it_was_interrupted() -> None:
    """Its plan leaves out the tickets it could not judge: the operator must not take it for the whole backlog."""
    tracker, metrics, stop = _stopped_while_measuring(
        done("A", 5), done("B", 4, body=BLOCK.replace("latency", "errors"))
    )
    report = run(tracker, metrics, RunOptions(concurrency=1, dry_run=True), NOW, stop=stop)
    # A's measurement was under way: a stop does not wait for it (it could be stuck on a slow backend).
    assert [(r.key, r.outcome) for r in report.results] == [("A", "SKIPPED"), ("B", "SKIPPED")]
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED


def test_a_dry_run_stopped_while_listing_says_it_was_interrupted() -> None:
    stop = threading.Event()

    @dataclass
    class StopsWhileListing(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            for ticket in super().resolved_tickets(label, lookback_days):
                yield ticket
                stop.set()

    tracker = StopsWhileListing(clock=NOW)
    tracker.add(done("A"))
    tracker.add(done("B"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(dry_run=True), NOW, stop=stop)
    assert [r.key for r in report.results] == ["A"]
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED


def late(key: str, created_days: float, **kw: object) -> Ticket:
    """An open P1 ticket created `created_days` ago (its SLA is 7 days)."""
    fields: dict[str, object] = {"resolved_at": None, "resolution": None, "status": "To Do", "priority": "P1"}
    fields.update(kw)
    return done(key, 3, created=NOW - timedelta(days=created_days), **fields)


REMIND = RunOptions(overdue_reminders=True)


def test_a_dry_run_says_which_reminders_the_budget_leaves_for_a_later_run() -> None:
    tracker = tracker_with(late("OLDEST", 30), late("NEWER", 10))
    report = run(tracker, FakeMetrics(), replace(REMIND, dry_run=True, max_writes=3), NOW)
    assert {r.key: r.deferred for r in report.overdue} == {"OLDEST": "", "NEWER": "the write budget is used up"}
    assert report.plan is not None and (report.plan.writes, report.plan.runs) == (4, 2)


@dataclass
class ThrottlesComments(FakeTracker):
    """A tracker whose rate limit refuses every comment."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        raise TrackerThrottled("rate limited (HTTP 429), retry after 3600 s", ticket=key)


def test_a_rate_limit_while_reminding_stops_the_reminders_and_says_so() -> None:
    tracker = ThrottlesComments(clock=NOW)
    tracker.add(late("OLDEST", 30))
    tracker.add(late("NEWER", 10))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), REMIND, NOW)
    refused = "throttled: OLDEST: rate limited (HTTP 429), retry after 3600 s"
    assert {r.key: (r.outcome, r.reason.split("; ")[-1], r.deferred, r.writes) for r in report.overdue} == {
        "OLDEST": ("ERROR", refused, "", 1),
        "NEWER": ("OVERDUE", "P1 due 2026-11-23, 3 days late", "the tracker's rate limit stopped the writing", 0),
    }
    assert report.throttled == refused and report.exit_code == ExitCode.THROTTLED
    assert report.errors == [f"writing stopped: {refused}; the next run writes the rest"]
    assert {
        "event": "tracker_throttled",
        "ticket": "OLDEST",
        "error": "OLDEST: rate limited (HTTP 429), retry after 3600 s",
        "log_level": "error",
    } in logs


def test_an_overdue_label_removed_since_the_listing_is_left_for_the_next_run_when_the_budget_is_spent() -> None:
    """The listing showed the `overdue` label (one write: the reminder); the ticket as re-read has lost it, and the
    budget has no write left for it."""
    labelled = frozenset({"post-incident", "overdue"})

    @dataclass
    class LabelRemoved(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            return replace(ticket, labels=ticket.labels - {"overdue"})

    tracker = LabelRemoved(clock=NOW)
    tracker.add(late("A", 30, labels=labelled))
    report = run(tracker, FakeMetrics(), replace(REMIND, max_writes=1), NOW)
    (result,) = report.overdue
    assert [kind for _, kind, _ in tracker.writes] == ["comment"]
    assert (result.actions, result.writes, result.deferred) == (
        ["reminder"],
        1,
        "label overdue: the write budget is used up",
    )


def test_a_result_links_the_judged_query_on_the_graph_ui_when_links_are_on() -> None:
    links = GraphLinks("https://prometheus.example.com", sparkline=False)
    tracker = tracker_with(done("A"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(links=links), NOW)
    (result,) = report.results
    assert result.graph is not None and result.graph.startswith("https://prometheus.example.com/graph?")
    (comment,) = [body for _, kind, body in tracker.writes if kind == "comment"]
    assert f"[Graph of the window in Prometheus]({result.graph})" in comment


def test_a_result_shows_the_query_as_resolved_against_the_backend() -> None:
    resolved = 'histogram_quantile(0.99, sum by (le) (increase({"http.server.request.duration_bucket"}[48h])))'
    tracker = tracker_with(done("A", body=BLOCK.replace("latency_seconds", "http.server.request.duration")))
    report = run(tracker, Catalog({resolved: instant(0.05)}), RunOptions(), NOW)
    (result,) = report.results
    assert (result.outcome, result.value, result.query) == ("VERIFIED", 0.05, resolved)


def test_a_rate_limit_while_listing_keeps_what_was_listed_and_says_so() -> None:
    @dataclass
    class ListingThrottled(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            yield from list(super().resolved_tickets(label, lookback_days))[:1]
            raise TrackerThrottled("rate limited (HTTP 429)")

    tracker = ListingThrottled(clock=NOW)
    tracker.add(done("A"))
    tracker.add(done("B"))
    tracker.add(late("LATE", 30))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), REMIND, NOW)
    assert [(r.key, r.outcome) for r in report.results] == [("A", "VERIFIED")]
    assert report.throttled == "rate limited (HTTP 429)" and report.exit_code == ExitCode.THROTTLED
    assert report.errors == ["listing tickets stopped: rate limited (HTTP 429)"]
    assert {"event": "listing_failed", "error": "rate limited (HTTP 429)", "log_level": "error"} in logs
    # Reminders would only earn more refusals: the open tickets are not even listed.
    assert not report.reminders_checked and report.overdue == []


def test_a_stop_cancels_the_queued_measurements_and_still_reports_every_due_ticket() -> None:
    """One measurement at a time: A is being measured when the stop comes, B is still queued, and C (an invalid
    config) needs no measurement. The stop does not wait for A's answer; nothing is written; each result says what
    became of it."""
    tracker, metrics, stop = _stopped_while_measuring(
        done("A", 5),
        done("B", 4, body=BLOCK.replace("latency", "errors")),
        done("C", 3, body=BLOCK.replace("100ms", "100kB")),
    )
    report = run(tracker, metrics, RunOptions(concurrency=1), NOW, stop=stop)
    asked = [q for q, _ in metrics.asked]
    # A's query was under way (its events count may follow before the stop is seen); B's was never sent.
    assert tracker.writes == [] and asked[0] == QUERY and not [q for q in asked if "errors" in q], asked
    assert {r.key: (r.outcome, r.deferred) for r in report.results} == {
        "A": ("SKIPPED", ""),
        "B": ("SKIPPED", ""),
        "C": ("INVALID", "the run was stopped"),
    }
    assert report.results[0].reason == report.results[1].reason == "not judged: the run was stopped first"
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED


def test_a_rate_limit_while_writing_results_stops_the_run_before_any_reminder() -> None:
    tracker = ThrottlesComments(clock=NOW)
    tracker.add(done("A"))
    tracker.add(late("LATE", 30))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), REMIND, NOW)
    refused = "throttled: A: rate limited (HTTP 429), retry after 3600 s"
    assert [(r.key, r.outcome, r.reason) for r in report.results] == [("A", "ERROR", refused)]
    assert report.throttled == refused and report.exit_code == ExitCode.THROTTLED
    assert report.errors == [f"writing stopped: {refused}; the next run writes the rest"]
    assert not report.reminders_checked and report.overdue == []


def test_with_a_signing_key_results_are_signed_and_an_unsigned_one_is_not_taken_for_ours() -> None:
    """A result comment anyone could have pasted (the bot's marker, no signature) does not count as recorded: the
    run writes its own, signed, result; the next run finds that one and writes nothing."""
    pasted = render_result(Verdict(Outcome.VERIFIED, "the condition held"), NOW - timedelta(days=3), Flavour.MARKDOWN)
    tracker = tracker_with(done("A", reporter="alice", comments=(Comment("1", BOT, pasted, NOW - timedelta(days=1)),)))
    signed = RunOptions(signing_key=b"k" * 32, trusted_authors=frozenset({"alice"}))
    first = run(tracker, FakeMetrics({QUERY: instant(0.05)}), signed, NOW)
    assert first.results[0].actions == ["comment", "label verified-by-otel"]
    (comment,) = [body for _, kind, body in tracker.writes if kind == "comment"]
    assert "; sig=" in comment.splitlines()[-1]
    again = run(tracker, FakeMetrics({QUERY: instant(0.05)}), signed, NOW)
    assert [(r.reason, r.actions) for r in again.results] == [("already recorded", [])]
