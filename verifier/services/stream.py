"""The run's streaming middle: list and triage the tickets, measure each due one as it is listed (on the query
pool), and write each verdict as it comes in (through the write phase, `write.py`), oldest due first within the
write budget. No new measurement starts after the run's deadline or a stop; the verdicts ready are written.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from verifier.domain.action_items import incident_service
from verifier.domain.actions import MOST_WRITES
from verifier.domain.durations import MAX_DURATION
from verifier.domain.outcomes import NotJudged, Outcome
from verifier.domain.planning import QueryPlan
from verifier.domain.render import condition_line
from verifier.domain.selection import body_refusal
from verifier.domain.tickets import Ticket
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, Wait, triage
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import Metrics, Tracker
from verifier.services.budget import Budget
from verifier.services.measure import measure
from verifier.services.run_options import RunOptions
from verifier.services.run_report import RunReport, TicketResult
from verifier.services.workers import Workers
from verifier.services.write import Job, Phase, Writer, Written, write_all

log = structlog.get_logger("verifier.run")

_POLL_SECONDS = 0.25  # how often the run's thread looks at its deadline and for a stop while verdicts come in


@dataclass(slots=True)
class Due:
    """A ticket that may need writes: judged already (invalid config, recorded result) or to be measured."""

    ticket: Ticket
    result: TicketResult
    verdict: Verdict | None = None
    plan: QueryPlan | None = None
    already_written: bool = False
    recheck: bool = False  # a later re-check (`recheck.py`): its verdict is written with its own marker
    rank: int = -1  # its place in the write budget's order (oldest due first), once the listing is complete


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
) -> list[Due]:
    """List and triage the tickets, measuring each due one as it is listed; then write each as its verdict comes
    in, in the budget's order (oldest due first, decided once the listing is complete). No new measurement
    starts after the deadline or a stop; the verdicts ready by then are written, the rest left for the next run."""
    verdicts: queue.SimpleQueue[tuple[Due, Verdict | None]] = queue.SimpleQueue()
    due: list[Due] = []
    held: list[Due] = []  # measured once the listing is complete (the budget may bind)
    measuring = 0
    for ticket in _tickets(tracker, options, report):
        if stop.is_set():
            report.interrupted = True
            break
        if time.monotonic() >= deadline:  # the tickets not listed yet are judged next run
            report.deadline_passed = True
            log.error("run_deadline_passed", while_="listing")
            break
        item = _triage(ticket, now=report.started, policy=policy, report=report)
        if item is None:
            continue
        due.append(item)
        if item.plan is not None:
            measuring += 1
            # While the budget covers every ticket listed so far at its most, measure as listed; once it may
            # bind, the rest wait for the listing's end and are measured oldest due first, the budget's order.
            if len(due) * MOST_WRITES <= options.max_writes:
                queries.submit(partial(_measure_into, verdicts, item, metrics, options, stop, deadline))
            else:
                held.append(item)
    due.sort(key=_due_order)
    for item in sorted(held, key=_due_order):
        queries.submit(partial(_measure_into, verdicts, item, metrics, options, stop, deadline))
    del held
    if options.dry_run:  # nothing is written: wait for the verdicts, then list what would be written in order
        _collect(verdicts, measuring, stop, deadline, report, lambda item: None)
        _record(report, due, write_all(tracker, _jobs(due), policy, options.labels, budget, **_dry(options, stop)))
        return due
    # From here each ticket is kept only until its writes are done: its ticket, plan and verdict are then dropped
    # and its result alone stays (what the summary and `--json` print), so memory does not grow with the run.
    results = {item.ticket.key: item.result for item in due}
    writer = Writer(
        tracker,
        policy,
        options.labels,
        budget,
        ranks=len(due),
        workers=writes,
        stop=stop,
        done=partial(_wrote, results),
    )
    unmeasured: dict[int, Due] = {}
    for rank, item in enumerate(due):
        item.rank = rank
        if item.plan is not None:
            unmeasured[rank] = item
    ready = partial(_ready, writer, unmeasured, results)
    for item in due:
        if item.plan is None:
            ready(item)
    due.clear()
    _collect(verdicts, measuring, stop, deadline, report, ready)
    for rank, item in unmeasured.items():  # the deadline or a stop came before its measurement
        _unjudged(report, item.result)
        results.pop(item.ticket.key, None)
        writer.skip(rank)
    unmeasured.clear()
    _phase_into(report, writer.finish())
    return []


def _ready(writer: Writer, unmeasured: dict[int, Due], results: dict[str, TicketResult], item: Due) -> None:
    """A due ticket's verdict is in (or it needed none): write it, and keep of it only its result."""
    if item.verdict is None:  # not measured: the deadline or a stop came first
        return
    unmeasured.pop(item.rank, None)
    if item.plan is None:  # judged at triage (measured ones were judged as their verdicts came in)
        _judged(item, item.verdict)
    if not writer.write(item.rank, _job(item)):
        results.pop(item.ticket.key, None)  # nothing to write: its result is complete


def _wrote(results: dict[str, TicketResult], key: str, written: Written) -> None:
    """Copy what the writes did into the ticket's result (from the tracker pool's threads)."""
    result = results.pop(key, None)
    if result is not None:
        _written_into(result, written)


def _collect(
    verdicts: queue.SimpleQueue[tuple[Due, Verdict | None]],
    measuring: int,
    stop: threading.Event,
    deadline: float,
    report: RunReport,
    ready: Callable[[Due], None],
) -> None:
    """Hand each verdict to `ready` as it comes in, until every measurement is in, the deadline or a stop."""
    while measuring:
        if stop.is_set():
            report.interrupted = True
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            item, verdict = verdicts.get(timeout=min(_POLL_SECONDS, left))
        except queue.Empty:
            continue
        measuring -= 1
        if verdict is not None:
            _judged(item, verdict)
        ready(item)
    if measuring and not stop.is_set():
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


def _triage(ticket: Ticket, now: datetime, policy: Policy, report: RunReport) -> Due | None:
    service = incident_service(ticket.body) if body_refusal(ticket, policy.trusted) is None else None  # (#20)
    result = TicketResult(ticket.key, ticket.url, Outcome.PENDING, "", service=service)
    try:
        decision = triage(ticket, now, policy)
    except Exception as error:  # a bug must not take the other tickets down
        log.exception("triage_crashed", ticket=ticket.key)
        report.results.append(result)
        result.outcome, result.reason = Outcome.ERROR, f"internal error: {error}"
        return None
    if isinstance(decision, Skip) and decision.outside:
        log.debug("ticket", ticket=ticket.key, verdict=NotJudged.SKIPPED.value, reason=decision.reason)
        return None
    report.results.append(result)
    if isinstance(decision, Skip):
        result.outcome, result.reason = (
            NotJudged.ELSEWHERE if decision.elsewhere else NotJudged.SKIPPED,
            decision.reason,
        )
        if decision.ignored_authors:
            result.reason += f" (ignored configs by untrusted {', '.join(decision.ignored_authors)})"
            log.warning("untrusted_config_ignored", ticket=ticket.key, authors=list(decision.ignored_authors))
        log.info("ticket", ticket=ticket.key, verdict=NotJudged.SKIPPED.value, reason=decision.reason)
        return None
    if isinstance(decision, Wait):
        result.reason, result.due_at = decision.pending.reason, decision.pending.due_at
        log.info("ticket", ticket=ticket.key, verdict=Outcome.PENDING.value, due_at=decision.pending.due_at.isoformat())
        return None
    if isinstance(decision, AlreadyRecorded):
        marker, again = decision.recorded.marker, decision.recheck
        result.outcome, result.reason = marker.verdict, "re-check already recorded" if again else "already recorded"
        verdict = Verdict(marker.verdict, result.reason, recheck=again)
        return Due(slim(ticket), result, verdict, already_written=True, recheck=again)
    if isinstance(decision, Judged):
        return Due(slim(ticket), result, decision.verdict)
    assert isinstance(decision, Measure)
    result.due_at, result.query = decision.plan.due_at, decision.plan.query
    if decision.refused:
        result.refused = list(decision.refused)
        log.warning("untrusted_input_refused", ticket=ticket.key, refused=result.refused)
    return Due(slim(ticket), result, plan=decision.plan, recheck=decision.recheck)


def slim(ticket: Ticket) -> Ticket:
    """What the write phase needs of a listed ticket (key, resolution, labels): it re-reads the rest before writing,
    so thousands of due tickets do not keep their bodies and comments in memory."""
    return replace(ticket, body="", comments=())


def _measure_into(
    verdicts: queue.SimpleQueue[tuple[Due, Verdict | None]],
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


def _jobs(due: Iterable[Due]) -> list[Job]:
    return [_job(item) for item in due if item.verdict is not None]


def _dry(options: RunOptions, stop: threading.Event) -> dict[str, Any]:
    return {"concurrency": options.concurrency, "dry_run": True, "stop": stop}


def _record(report: RunReport, due: Iterable[Due], phase: Phase) -> None:
    """A dry run: copy what the writes would do into the report; say why an unmeasured ticket was not judged."""
    results: dict[str, TicketResult] = {}
    for item in due:
        if item.verdict is None:  # the deadline or a stop came before its measurement
            _unjudged(report, item.result)
            continue
        if item.plan is None:
            _judged(item, item.verdict)
        results[item.ticket.key] = item.result
    for key, written in phase.written.items():
        _written_into(results[key], written)
    _phase_into(report, phase)


def _unjudged(report: RunReport, result: TicketResult) -> None:
    cut = "the run was stopped first" if report.interrupted else "the run's deadline passed first"
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
