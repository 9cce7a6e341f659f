"""Flat memory (#26): a run holds at most `stream.WINDOW` due tickets whole; the others are listed by key and due
time and read back (in batches where the tracker can) in the write budget's order as room frees, and each result
goes out once it is final (`RunReport.sink`) instead of staying to the run's end."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done
from verifier.domain.measurement import Measurement
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import QueryPlan
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.exit_codes import ExitCode
from verifier.services import stream, triaged
from verifier.services.run import RunOptions, RunReport, TicketResult, run
from verifier.services.write import BUDGET_SPENT

OTHER = QUERY.replace("latency", "errors")
VERIFIED = ["comment", "label verified-by-otel"]


@dataclass
class Batches(FakeTracker):
    """Reads many tickets at once (`BatchReads`), noting each batch and each single read; `gone` are deleted once
    listed (a read of them fails), `throttle` answers every read with the rate limit once listed."""

    batch_size: int = 3
    batches: list[list[str]] = field(default_factory=list)
    singles: list[str] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    throttle: bool = False
    listed: bool = False

    def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
        yield from super().resolved_tickets(label, lookback_days)
        self.listed = True

    def get_tickets(self, keys: Sequence[str]) -> dict[str, Ticket]:
        self.batches.append(list(keys))
        if self.throttle and self.listed:
            raise TrackerThrottled("HTTP 429: retry after 600 s")
        return {key: super(Batches, self).get_ticket(key) for key in keys if key not in self.gone}

    def get_ticket(self, key: str) -> Ticket:
        self.singles.append(key)
        if self.listed and key in self.gone:
            raise TrackerError("no such ticket (HTTP 404)", ticket=key)
        return super().get_ticket(key)


@pytest.fixture
def window(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(stream, "WINDOW", 2)
    return 2


def _tracker(count: int, **kw: object) -> Batches:
    """`count` tickets listed newest due first (T0 is due last), so the budget's order is the listing's reverse."""
    tracker = Batches(clock=NOW, **kw)  # type: ignore[arg-type]
    for n in range(count):
        tracker.add(done(f"T{n}", 3 + n / 10))
    return tracker


def _read_back(tracker: Batches) -> list[str]:
    """The keys read back for measuring: the batched reads of tickets not written yet, in order."""
    keys = [key for batch in tracker.batches for key in batch]
    return list(dict.fromkeys(keys))


def test_beyond_the_window_due_tickets_are_read_back_in_batches_oldest_due_first_and_all_written(
    window: int,
) -> None:
    tracker = _tracker(8)
    out: list[TicketResult] = []
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(concurrency=2), NOW, sink=out.append)
    assert report.counts() == {"VERIFIED": 8} and report.writes == 16 and report.exit_code == ExitCode.OK
    assert sorted(r.key for r in out) == sorted(f"T{n}" for n in range(8))  # each result out once
    assert all(r.actions == VERIFIED for r in out), out
    assert report.results == []  # streamed: nothing kept per ticket
    # T0 and T1 (listed first) are held whole; the six others are read back, oldest due (T7) first.
    first_reads = [batch for batch in tracker.batches if set(batch) <= {f"T{n}" for n in range(2, 8)}]
    assert first_reads[0] == ["T7", "T6", "T5"][: len(first_reads[0])]
    assert max(len(batch) for batch in tracker.batches) <= tracker.batch_size


def test_the_same_run_with_and_without_the_window_gives_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    def one(size: int) -> tuple[dict[str, tuple[str, list[str], str]], dict[str, int], int]:
        monkeypatch.setattr(stream, "WINDOW", size)
        tracker = _tracker(6)
        tracker.add(done("F", 5, body=BLOCK.replace("latency", "errors")))  # regressed: reopened
        tracker.add(done("P", 1))  # not due yet
        out: list[TicketResult] = []
        metrics = FakeMetrics({QUERY: instant(0.05), OTHER: instant(0.5)})
        report = run(tracker, metrics, RunOptions(concurrency=2), NOW, sink=out.append)
        return {r.key: (str(r.outcome), r.actions, r.reason) for r in out}, report.counts(), report.writes

    whole, windowed = one(1_000), one(1)
    assert windowed == whole
    assert whole[1] == {"FAILED": 1, "PENDING": 1, "VERIFIED": 6} and whole[2] >= 6 * 2 + 2


def test_a_report_that_keeps_its_results_keeps_one_per_ticket_in_listing_order(window: int) -> None:
    tracker = _tracker(5)
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(concurrency=2), NOW)
    assert [r.key for r in report.results] == ["T0", "T1", "T2", "T3", "T4"]
    assert all(r.outcome == "VERIFIED" and r.actions == VERIFIED for r in report.results)


def test_a_ticket_changed_since_the_listing_is_judged_as_read_back(window: int) -> None:
    """T7 loses its config and T6 is reopened by a person between the listing and the read back: neither is
    written; the others are."""
    tracker = _tracker(8)
    listed = tracker.resolved_tickets

    def listing(label: str, lookback_days: int) -> Iterator[Ticket]:
        yield from listed(label, lookback_days)
        tracker.tickets["T7"] = replace(tracker.tickets["T7"], body="no config any more")
        tracker.reopen("T6")

    tracker.resolved_tickets = listing  # type: ignore[method-assign]
    out: list[TicketResult] = []
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(concurrency=2), NOW, sink=out.append)
    found = {r.key: r for r in out}
    assert str(found["T7"].outcome) == "SKIPPED" and found["T7"].actions == []
    assert found["T6"].actions == [] and found["T6"].writes == 0
    assert str(found["T6"].outcome) == "SKIPPED" and found["T6"].reason == "not resolved"
    assert [found[f"T{n}"].actions for n in range(6)] == [VERIFIED] * 6
    assert [w[:2] for w in tracker.writes if w[0] in ("T6", "T7")] == [("T6", "reopen")]  # the person's


def test_a_ticket_that_cannot_be_read_back_is_an_error_of_its_own(window: int) -> None:
    tracker = _tracker(6, gone={"T4"})
    out: list[TicketResult] = []
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(concurrency=2), NOW, sink=out.append)
    found = {r.key: r for r in out}
    assert str(found["T4"].outcome) == "ERROR"
    assert found["T4"].reason == "reading the ticket back to measure it failed: T4: no such ticket (HTTP 404)"
    assert [found[key].actions for key in ("T0", "T1", "T2", "T3", "T5")] == [VERIFIED] * 5
    assert report.counts() == {"ERROR": 1, "VERIFIED": 5}


def test_a_throttled_read_back_stops_reading_and_writing_and_names_the_rate_limit(window: int) -> None:
    tracker = _tracker(6, throttle=True)
    out: list[TicketResult] = []
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(concurrency=1), NOW, sink=out.append)
    assert report.exit_code == ExitCode.THROTTLED
    assert report.errors == ["writing stopped: throttled: HTTP 429: retry after 600 s; the next run writes the rest"]
    assert sorted(r.key for r in out) == [f"T{n}" for n in range(6)]  # every ticket's result out once
    not_judged = [r for r in out if r.reason == "not judged: the tracker's rate limit stopped the run first"]
    errors = [r for r in out if r.reason == "throttled: HTTP 429: retry after 600 s"]
    # Each ticket of the batched read the rate limit refused is named by it: how many were asked together depends on
    # the threads' timing (one under an idle machine, three under mutmut's), never a ticket outside such a read.
    assert errors and len(not_judged) >= 1, out
    assert len(errors) + len(not_judged) + sum(r.outcome is Outcome.VERIFIED for r in out) == 6, out


def test_when_the_budget_binds_the_oldest_due_ticket_gets_it_though_it_was_listed_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Room for one ticket's writes (2); the window holds one: T0..T2 (listed first, due last) wait in the budget's
    order for T3 (due first, read back) and are refused once it reserved: no deadlock, the pass's order kept."""
    monkeypatch.setattr(stream, "WINDOW", 1)
    tracker = _tracker(4)
    out: list[TicketResult] = []
    report = run(
        tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(concurrency=2, max_writes=2), NOW, sink=out.append
    )
    found = {r.key: r for r in out}
    assert found["T3"].actions == VERIFIED and found["T3"].writes == 2, found["T3"]
    assert [found[f"T{n}"].deferred for n in range(3)] == [BUDGET_SPENT] * 3
    assert report.writes == 2


def test_the_deadline_leaves_the_tickets_not_read_back_unjudged(window: int) -> None:
    tracker = _tracker(6)
    slow = threading.Event()

    def hang(at: object) -> Measurement:
        slow.wait(5)
        return instant(0.05)

    out: list[TicketResult] = []
    options = RunOptions(concurrency=2, run_deadline_seconds=0.5)
    report = run(tracker, FakeMetrics({QUERY: hang}), options, NOW, sink=out.append)
    slow.set()
    # The measurements left behind at the deadline end now: they would log into the next test's output.
    for thread in threading.enumerate():
        if thread.name.startswith("measure-"):
            thread.join(5)
    assert report.deadline_passed and report.exit_code == ExitCode.DEADLINE
    assert sorted(r.key for r in out) == [f"T{n}" for n in range(6)]
    assert {r.reason for r in out} == {"not judged: the run's deadline passed first"}
    assert tracker.writes == []


@dataclass
class CountsAtLastWrite(Batches):
    """At its `last`-th result comment, counts the verdicts, plans, listed tickets and results still alive."""

    last: int = 0
    comments: int = 0
    alive: dict[str, int] = field(default_factory=dict)

    def comment(self, key: str, body: str, labels: object = ()) -> str:
        answer = super().comment(key, body, labels)  # type: ignore[arg-type]
        self.comments += 1
        if self.comments == self.last:
            gc.collect()
            found = gc.get_objects()
            mine = [o for o in found if type(o) in (Verdict, QueryPlan) and "flatwin" in str(o.query)]
            self.alive = {kind.__name__: sum(1 for o in mine if type(o) is kind) for kind in (Verdict, QueryPlan)}
            self.alive["TicketResult"] = sum(1 for o in found if type(o) is TicketResult and o.key.startswith("FW-"))
            self.alive["Due"] = sum(1 for o in found if type(o) is triaged.Due and o.ticket.key.startswith("FW-"))
        return answer


def test_at_the_last_write_only_the_window_holds_tickets_whole_and_no_result_is_kept(window: int) -> None:
    """Before, every due ticket listed waited whole (ticket, plan, result) until measured, and every result stayed
    to the run's end: 60 of each at the last write."""
    tickets = 60
    tracker = CountsAtLastWrite(clock=NOW, last=tickets)
    for n in range(tickets):  # on a metric of their own: objects other tests left behind are not counted
        tracker.add(done(f"FW-{n}", 3 + n / 100, body=BLOCK.replace("latency", "flatwin")))
    options = RunOptions(concurrency=2)
    report = run(tracker, FakeMetrics({QUERY.replace("latency", "flatwin"): instant(0.05)}), options, NOW, sink=None)
    assert report.counts() == {"VERIFIED": tickets} and tracker.comments == tickets
    # The report keeps its results (no sink) here; streamed, none is kept:
    assert tracker.alive["TicketResult"] == tickets
    bound = window + tracker.batch_size
    assert tracker.alive["Due"] <= bound and tracker.alive["QueryPlan"] <= bound, tracker.alive
    assert tracker.alive["Verdict"] <= bound, tracker.alive
    del report

    streamed = CountsAtLastWrite(clock=NOW, last=tickets)
    for n in range(tickets):
        streamed.add(done(f"FW-{n}", 3 + n / 100, body=BLOCK.replace("latency", "flatwin")))
    keys: list[str] = []
    metrics = FakeMetrics({QUERY.replace("latency", "flatwin"): instant(0.05)})
    report = run(streamed, metrics, options, NOW, sink=lambda result: keys.append(result.key))
    assert report.counts() == {"VERIFIED": tickets} and len(keys) == tickets
    assert streamed.alive["TicketResult"] <= bound, streamed.alive


def test_a_streamed_report_counts_as_a_kept_one() -> None:
    results = [
        TicketResult("A", "u", "VERIFIED", "", writes=1, actions=["comment"], service="pay"),  # type: ignore[arg-type]
        TicketResult("B", "u", "ERROR", "boom"),  # type: ignore[arg-type]
        TicketResult("C", "u", "PENDING", ""),  # type: ignore[arg-type]
    ]
    kept = RunReport(started=NOW, dry_run=False, results=list(results))
    streamed = RunReport(started=NOW, dry_run=False, sink=lambda result: None)
    for result in results:
        streamed.finish(result)
    assert streamed.counts() == kept.counts() == {"ERROR": 1, "PENDING": 1, "VERIFIED": 1}
    assert streamed.writes == kept.writes == 1
    assert streamed.touched() == kept.touched() == {"A"}
    assert streamed.by_service() == kept.by_service() == {"pay": {"VERIFIED": 1}, None: {"ERROR": 1, "PENDING": 1}}
    assert streamed.exit_code == kept.exit_code and streamed.complete == kept.complete is False


def test_a_stop_leaves_the_tickets_not_read_back_unjudged_and_writes_nothing_more(window: int) -> None:
    """SIGTERM while the listed tickets are read back: what is not back yet is not judged, nothing more is read."""
    tracker = _tracker(9)
    stop = threading.Event()

    listed_late = {f"T{n}" for n in range(2, 9)}

    def backs() -> list[list[str]]:
        return [batch for batch in tracker.batches if set(batch) <= listed_late]

    def stopping(at: object) -> Measurement:
        if backs():  # the first measurement of a ticket read back
            stop.set()
        return instant(0.05)

    out: list[TicketResult] = []
    report = run(tracker, FakeMetrics({QUERY: stopping}), RunOptions(concurrency=1), NOW, stop, sink=out.append)
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED
    assert sorted(r.key for r in out) == [f"T{n}" for n in range(9)]  # every ticket's result out once
    unjudged = [r.key for r in out if r.reason == "not judged: the run was stopped first"]
    assert len(unjudged) >= 9 - 2 - tracker.batch_size, out
    assert backs() == [["T8", "T7", "T6"]]  # no read back after the stop
    assert not [key for key, *_ in tracker.writes if key in unjudged]


# A dry run (#26): the chart's default, so the first run every platform team makes. It takes the real run's path
# with the writer in dry mode: the same window and read back, nothing sent, and its first-run plan kept as counts.


def _backlog(tracker: Batches) -> Batches:
    """Six held fixes (T0 due last), a regression, a result recorded without its label, an invalid config, one not
    due yet and an open ticket past its SLA: every kind of write a first run plans, in an order the budget binds."""
    for n in range(6):
        tracker.add(done(f"T{n}", 3 + n / 10))
    tracker.add(done("F", 5, body=BLOCK.replace("latency", "errors")))
    recorded = render_result(Verdict(Outcome.VERIFIED, "the condition held"), NOW - timedelta(days=8), Flavour.MARKDOWN)
    tracker.add(done("R", 8, comments=(Comment("1", BOT, recorded, NOW - timedelta(days=1)),)))
    tracker.add(done("I", 9, body=BLOCK.replace("100ms", "100kB")))
    tracker.add(done("P", 1))
    tracker.add(
        done("LATE", 3, resolved_at=None, resolution=None, status="To Do", priority="P1", created=NOW - timedelta(30))
    )
    return tracker


def _dry(size: int, max_writes: int, *, streamed: bool) -> tuple[object, ...]:
    stream.WINDOW = size
    tracker = _backlog(Batches(clock=NOW))
    out: list[TicketResult] = []
    options = RunOptions(concurrency=2, dry_run=True, max_writes=max_writes, overdue_reminders=True)
    metrics = FakeMetrics({QUERY: instant(0.05), OTHER: instant(0.5)})
    report = run(tracker, metrics, options, NOW, sink=out.append if streamed else None)
    results = out + report.overdue if streamed else report.results + report.overdue
    assert tracker.writes == [] and report.writes == 0  # a dry run sends no write, however far it reads back
    assert report.plan is not None
    plan = (report.plan.writes, report.plan.by_kind, report.plan.runs)
    found = {r.key: (str(r.outcome), r.actions, r.deferred, r.reason) for r in results}
    assert len(found) == len(results), results  # each result out once
    return found, plan, report.counts(), report.exit_code, bool(tracker.batches)


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("max_writes", [100, 7])
def test_a_dry_run_beyond_the_window_gives_the_results_and_plan_of_one_that_holds_every_ticket(
    monkeypatch: pytest.MonkeyPatch, max_writes: int, *, streamed: bool
) -> None:
    monkeypatch.setattr(stream, "WINDOW", stream.WINDOW)  # restored after `_dry` lowers it
    *whole, read_back = _dry(10_000, max_writes, streamed=streamed)
    assert not read_back  # every ticket held whole: a dry run reads nothing more than the listing
    for size in (1, 2):
        *windowed, read_back = _dry(size, max_writes, streamed=streamed)
        assert read_back  # beyond the window: read back, then judged
        assert windowed == whole, size
    found, plan, counts, code = whole
    assert counts == {"FAILED": 1, "INVALID": 1, "PENDING": 1, "VERIFIED": 7}
    assert code == ExitCode.OK
    assert found["R"][1] == ["label verified-by-otel"] and found["LATE"][1] == ["reminder", "label overdue"]
    assert found["F"][1] == ["comment", "label verification-failed", "reopen"]
    assert found["I"][1] == ["comment", "label verification-config-invalid"]
    kinds = {"comment": 8, "label": 10, "reopen": 1, "reminder": 1}
    deferred = {key for key, (_, _, why, _) in found.items() if why}
    if max_writes == 100:
        assert plan == (20, kinds, 1) and not deferred
    else:  # measured ones oldest due first (F, T5, T4 fit in 7), then the judged ones, then the reminder
        assert plan == (20, kinds, 3)
        assert deferred == {"T3", "T2", "T1", "T0", "I", "R", "LATE"}
        assert {found[key][2] for key in deferred} == {BUDGET_SPENT}


def test_a_dry_run_holds_only_the_window_whole_at_its_last_measurement(window: int) -> None:
    """Before, a dry run held every due ticket whole (ticket, plan, and later its verdict) to the run's end, and its
    first-run plan was made from every result's actions: 60 of each at the last measurement."""
    tickets, measured = 60, [0]
    alive: dict[str, int] = {}
    tracker = Batches(clock=NOW)
    for n in range(tickets):  # on a metric of their own: objects other tests left behind are not counted
        tracker.add(done(f"DW-{n}", 3 + n / 100, body=BLOCK.replace("latency", "drywin")))

    def answer(at: object) -> Measurement:
        measured[0] += 1
        if measured[0] == tickets:
            gc.collect()
            found = gc.get_objects()
            alive["Due"] = sum(1 for o in found if type(o) is triaged.Due and o.ticket.key.startswith("DW-"))
            alive["QueryPlan"] = sum(1 for o in found if type(o) is QueryPlan and "drywin" in o.query)
            alive["TicketResult"] = sum(1 for o in found if type(o) is TicketResult and o.key.startswith("DW-"))
        return instant(0.05)

    keys: list[str] = []
    options = RunOptions(concurrency=2, dry_run=True)
    metrics = FakeMetrics({QUERY.replace("latency", "drywin"): answer})
    report = run(tracker, metrics, options, NOW, sink=lambda result: keys.append(result.key))
    assert report.counts() == {"VERIFIED": tickets} and sorted(keys) == sorted(f"DW-{n}" for n in range(tickets))
    assert tracker.writes == [] and report.plan is not None and report.plan.writes == 2 * tickets
    bound = window + 2 * tracker.batch_size  # the tickets held, and a batch read back while another is measured
    assert 0 < alive["Due"] <= bound and alive["QueryPlan"] <= bound and alive["TicketResult"] <= bound, alive
