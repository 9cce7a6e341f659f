"""What an operator reads off a run's report: the dry run's first-run plan against what real runs then do, what a
stop or the tracker's rate limit leaves behind, and the query and graph link a result names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done, tracker_with
from verifier.domain.measurement import Measurement
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
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


def test_a_dry_run_stopped_while_measuring_says_it_was_interrupted() -> None:
    """Its plan leaves out the tickets it could not judge: the operator must not take it for the whole backlog."""
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
    tracker.add(done("A", 5))
    tracker.add(done("B", 4, body=BLOCK.replace("latency", "errors")))
    metrics = FakeMetrics({QUERY: slow, OTHER: instant(0.5)})
    report = run(tracker, metrics, RunOptions(concurrency=1, dry_run=True), NOW, stop=stop)
    assert [(r.key, r.outcome) for r in report.results] == [("A", "VERIFIED"), ("B", "SKIPPED")]
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
