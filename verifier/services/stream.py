"""The run's streaming middle: list and triage the tickets, measure each due one as it is listed (on the query
pool), and write each verdict as it comes in (through the write phase, `write.py`), oldest due first within the
write budget. No new measurement starts after the run's deadline or a stop; the verdicts ready are written.
Memory stays flat in the number of tickets: at most `WINDOW` due tickets are held whole at once, the others are
listed by key and due time and read back as room frees (`readback.py`), and each result goes out once it is final
(`RunReport.sink`). A dry run takes the same path with the writer in dry mode: nothing is sent, what would be
written is recorded and counted for the first-run plan.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import cast

import structlog

from verifier.domain.actions import MOST_WRITES
from verifier.domain.backlog import Counted
from verifier.domain.durations import MAX_DURATION
from verifier.domain.outcomes import NotJudged, Outcome
from verifier.domain.planning import QueryPlan
from verifier.domain.render import condition_line
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import Metrics, Tracker
from verifier.services.budget import Budget
from verifier.services.measure import measure
from verifier.services.readback import Back, Listed, ReadBack
from verifier.services.run_options import RunOptions
from verifier.services.run_report import RunReport, TicketResult
from verifier.services.triaged import Arrivals, Due, as_listed, result_of, triage_listed
from verifier.services.workers import Workers
from verifier.services.write import Job, Phase, Writer, Written, needs_writes

log = structlog.get_logger("verifier.run")

_POLL_SECONDS = 0.25  # how often the run's thread looks at its deadline and for a stop while verdicts come in
#: Due tickets a run holds whole at once (listed ticket, plan, verdict; a few KB each); beyond, the listing keeps
#: key and due time and the ticket is read back as room frees (#26). A dry run too: its plan keeps counts alone.
WINDOW = 1_000

Inbox = queue.SimpleQueue[object]  # (Due, Verdict | None) from the query pool, a `Back`, or None (room freed)


def stream(
    tracker: Tracker,
    metrics: Metrics,
    options: RunOptions,
    policy: Policy,
    report: RunReport,
    budget: Budget,
    queries: Workers,
    writes: Workers,
    stop: threading.Event,
    deadline: float,
) -> Counted | None:
    """List and triage the tickets, measuring each due one as it is listed; then write each as its verdict comes
    in, in the budget's order (oldest due first, decided once the listing is complete). No new measurement
    starts after the deadline or a stop; the verdicts ready by then are written, the rest left for the next run.
    A dry run writes nothing and returns what it would write, counted in the budget's order."""
    inbox: Inbox = queue.SimpleQueue()
    due: list[Due | Listed] = []
    held: list[Due] = []  # measured once the listing is complete (the budget may bind)
    measuring = whole = 0
    window = WINDOW
    for ticket in _tickets(tracker, options, report):
        if stop.is_set():
            report.interrupted = True
            break
        if time.monotonic() >= deadline:  # the tickets not listed yet are judged next run
            report.deadline_passed = True
            log.error("run_deadline_passed", while_="listing")
            break
        item = triage_listed(ticket, now=report.started, policy=policy, report=report)
        if not isinstance(item, Due):
            continue
        if item.plan is None and not needs_writes(tracker, policy, options.labels, _job(item)):
            _judged(item, _job(item).verdict)  # recorded already: final as listed (an idle run holds nothing)
            report.finish(item.result)
            continue
        if whole >= window:  # held by key and due time alone, read back in the budget's order (#26)
            due.append(as_listed(item, keep=report.sink is None))
            continue
        whole += 1
        due.append(item)
        if item.plan is not None:
            measuring += 1
            # While the budget covers every ticket listed so far at its most, measure as listed; once it may
            # bind, the rest wait for the listing's end and are measured oldest due first, the budget's order.
            if len(due) * MOST_WRITES <= options.max_writes:
                queries.submit(partial(_measure_into, inbox, item, metrics, options, stop, deadline))
            else:
                held.append(item)
    due.sort(key=_rank_order)
    for item in sorted(held, key=_due_order):
        queries.submit(partial(_measure_into, inbox, item, metrics, options, stop, deadline))
    del held
    # From here each ticket is kept only until its writes are done: its ticket, plan and verdict are then dropped
    # and its result goes out (`RunReport.finish`), so memory does not grow with the run.
    results = {item.ticket.key: item.result for item in due if isinstance(item, Due)}
    back = ReadBack(tracker, writes, inbox, window=window, held=whole)
    writer = Writer(
        tracker,
        policy,
        options.labels,
        budget,
        ranks=len(due),
        workers=writes,
        stop=stop,
        done=partial(_wrote, results, report, back),
        dry_run=options.dry_run,
    )
    back.follow(writer.ctx.halt, writer.ledger.waiting)
    unmeasured: dict[int, Due] = {}
    for rank, entry in enumerate(due):
        if isinstance(entry, Listed):
            back.add(rank, entry)
            continue
        entry.rank = rank
        if entry.plan is not None:
            unmeasured[rank] = entry
    ready = partial(_ready, writer, unmeasured, results, report, back)
    for entry in due:
        if isinstance(entry, Due) and entry.plan is None:
            ready(entry)
    due.clear()
    submit = partial(_submit, queries, inbox, metrics, options, stop, deadline)
    came = Arrivals(report, policy, writer, back, results, unmeasured, ready, submit)
    _collect(inbox, measuring, stop, deadline, report, ready, back, came)
    for rank, item in unmeasured.items():  # the deadline or a stop came before its measurement
        _unjudged(report, item.result)
        report.finish(item.result)
        results.pop(item.ticket.key, None)
        writer.skip(rank)
    unmeasured.clear()
    for rank, listed in back.left():  # not read back: the deadline, a stop or the tracker's rate limit came first
        result = result_of(listed)
        _unjudged(report, result, throttled=writer.ctx.halt.is_set())
        report.finish(result)
        writer.skip(rank)
    _phase_into(report, writer.finish())
    return writer.planned


def _ready(
    writer: Writer,
    unmeasured: dict[int, Due],
    results: dict[str, TicketResult],
    report: RunReport,
    back: ReadBack,
    item: Due,
) -> None:
    """A due ticket's verdict is in (or it needed none): write it, and keep of it only its result."""
    if item.verdict is None:  # not measured: the deadline or a stop came first
        return
    unmeasured.pop(item.rank, None)
    if item.plan is None:  # judged at triage (measured ones were judged as their verdicts came in)
        _judged(item, item.verdict)
    if not writer.write(item.rank, _job(item)):
        results.pop(item.ticket.key, None)  # nothing to write: its result is complete
        report.finish(item.result)
        back.finished()


def _wrote(results: dict[str, TicketResult], report: RunReport, back: ReadBack, key: str, written: Written) -> None:
    """Copy what the writes did into the ticket's result, which is then final (from the tracker pool's threads)."""
    result = results.pop(key, None)
    if result is not None:
        _written_into(result, written)
        report.finish(result)
    back.finished()


def _collect(
    inbox: Inbox,
    measuring: int,
    stop: threading.Event,
    deadline: float,
    report: RunReport,
    ready: Callable[[Due], None],
    back: ReadBack | None = None,
    came: Callable[[Back], int] | None = None,
) -> None:
    """Hand each verdict to `ready` as it comes in, and read the listed tickets back as room frees, until every
    measurement is in, the deadline or a stop."""
    while measuring or (back is not None and back.busy):
        if stop.is_set():
            report.interrupted = True
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if back is not None:
            back.feed()
        try:
            message = inbox.get(timeout=min(_POLL_SECONDS, left))
        except queue.Empty:
            continue
        if message is None:  # room freed
            continue
        if isinstance(message, Back):
            assert came is not None
            measuring += came(message)
            continue
        measured, verdict = cast(tuple[Due, Verdict | None], message)
        measuring -= 1
        if verdict is not None:
            _judged(measured, verdict)
        ready(measured)
    if (measuring or (back is not None and back.busy)) and not stop.is_set():
        report.deadline_passed = True
        log.error("run_deadline_passed", unmeasured=measuring)


def _tickets(tracker: Tracker, options: RunOptions, report: RunReport) -> Iterator[Ticket]:
    if options.issues:
        for key in options.issues:
            try:
                yield tracker.get_ticket(key)
            except TrackerError as error:
                report.errors.append(str(error))
                log.error("ticket_unreadable", ticket=key, error=str(error))
        return
    try:
        # The lookback counts from each window's end (triage leaves out the older ones); a ticket whose window
        # ended inside it was resolved up to the longest delay a config may ask for before that.
        yield from tracker.resolved_tickets(options.label, listing_days(options.lookback_days))
    except TrackerThrottled as error:  # the tickets listed so far are judged; writing them may be refused too
        report.throttled = str(error)
        report.errors.append(f"listing tickets stopped: {error}")
        log.error("listing_failed", error=str(error))
    except TrackerError as error:
        report.errors.append(f"listing tickets stopped: {error}")
        log.error("listing_failed", error=str(error))


def listing_days(lookback_days: int) -> int:
    """How far back the listing reaches: the lookback, plus the longest delay a config may ask for."""
    return lookback_days + MAX_DURATION.days


def _submit(
    queries: Workers,
    inbox: Inbox,
    metrics: Metrics,
    options: RunOptions,
    stop: threading.Event,
    deadline: float,
    item: Due,
) -> None:
    queries.submit(partial(_measure_into, inbox, item, metrics, options, stop, deadline))


def _measure_into(
    verdicts: Inbox,
    item: Due,
    metrics: Metrics,
    options: RunOptions,
    stop: threading.Event,
    deadline: float,
) -> None:
    """Measure `item` (on the query pool) and hand its verdict back; None when the deadline or a stop came first.
    The run's thread alone touches `item`: a verdict that comes in after the run stopped waiting is dropped."""
    if stop.is_set() or time.monotonic() >= deadline:
        verdicts.put((item, None))
        return
    assert item.plan is not None
    verdict = _measure_safely(item.ticket.key, item.plan, metrics, options)
    verdicts.put(
        (item, replace(verdict, recheck=True, reason="re-check: " + verdict.reason) if item.recheck else verdict)
    )


def _measure_safely(key: str, plan: QueryPlan, metrics: Metrics, options: RunOptions) -> Verdict:
    started = time.monotonic()
    try:
        verdict = measure(plan, metrics, accept_warnings=options.accept_warnings, links=options.links)
    except Exception as error:  # a bug in one measurement must not take the other tickets down
        log.exception("measure_crashed", ticket=key)
        return Verdict(Outcome.ERROR, f"internal error: {error}")
    log.info(
        "ticket",
        ticket=key,
        verdict=verdict.outcome.value,
        value=verdict.value,
        threshold=verdict.threshold.value if verdict.threshold else None,
        query_seconds=round(time.monotonic() - started, 3),
    )
    return verdict


def _rank_order(item: Due | Listed) -> tuple[int, datetime]:
    return item.order if isinstance(item, Listed) else _due_order(item)


def _due_order(item: Due) -> tuple[int, datetime]:
    return (0 if item.result.due_at else 1, item.result.due_at or item.ticket.resolved_at or datetime.min)


def _judged(item: Due, verdict: Verdict) -> None:
    """Copy a due ticket's verdict into its result."""
    item.verdict = verdict
    result = item.result
    result.outcome, result.reason = verdict.outcome, verdict.reason or result.reason
    result.value = verdict.value
    result.threshold = verdict.threshold.value if verdict.threshold else None
    result.query = verdict.query or result.query
    result.graph = verdict.evidence.link if verdict.evidence else None
    result.data = verdict.support.as_json() if verdict.support else None
    result.conditions = [
        {"line": condition_line(p), "graph": p.evidence.link if p.evidence else None} for p in verdict.parts
    ]


def _job(item: Due) -> Job:
    assert item.verdict is not None
    return Job(item.ticket, item.verdict, item.already_written)


def _unjudged(report: RunReport, result: TicketResult, *, throttled: bool = False) -> None:
    cut = "the run was stopped first" if report.interrupted else "the run's deadline passed first"
    if throttled and not report.interrupted:
        cut = "the tracker's rate limit stopped the run first"
    result.outcome, result.reason = NotJudged.SKIPPED, f"not judged: {cut}"


def _written_into(result: TicketResult, written: Written) -> None:
    result.actions, result.writes, result.deferred = written.actions, written.writes, written.deferred
    if written.note:
        result.reason += f"; {written.note}"
    if written.error:
        result.outcome, result.reason = Outcome.ERROR, written.error


def _phase_into(report: RunReport, phase: Phase) -> None:
    report.interrupted = report.interrupted or phase.interrupted
    if phase.throttled:
        report.throttled = phase.throttled
        report.errors.append(f"writing stopped: {phase.throttled}; the next run writes the rest")
