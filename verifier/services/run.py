"""The verification run: the CronJob's job, and on-call's `run --issue KEY --now`.

list done tickets -> triage each (pure) -> measure the due ones concurrently -> write the results, oldest due
first, within the write budget. One ticket's failure never stops the others; a backend failure writes nothing.
With overdue reminders on, it then lists the open tickets and reminds those past their SLA, once per breach,
with what is left of the budget.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog

from verifier import defaults
from verifier.domain import backlog
from verifier.domain.actions import MOST_WRITES, Labels
from verifier.domain.durations import MAX_DURATION
from verifier.domain.evidence import GraphLinks
from verifier.domain.models import incident_service
from verifier.domain.outcomes import NotJudged, Outcome, RunOutcome
from verifier.domain.planning import QueryPlan
from verifier.domain.reminders import LABEL as OVERDUE_LABEL
from verifier.domain.reminders import breach, render_reminder
from verifier.domain.report import DEFAULT_PRIORITY, DEFAULT_SLA_DAYS, due_date
from verifier.domain.selection import body_refusal
from verifier.domain.tickets import Ticket, fold_resolution
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, Wait, triage
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.exit_codes import ExitCode
from verifier.ports import Metrics, Tracker
from verifier.services.budget import Allowance, Budget
from verifier.services.measure import measure
from verifier.services.shared import Shared
from verifier.services.workers import Workers
from verifier.services.write import BUDGET_SPENT, Job, Phase, Writer, write_all

log = structlog.get_logger("verifier.run")

_POLL_SECONDS = 0.25  # how often the run's thread looks at its deadline and for a stop while verdicts come in


@dataclass(frozen=True)
class RunOptions:
    label: str = defaults.LABEL
    lookback_days: int = defaults.LOOKBACK_DAYS
    trusted_authors: frozenset[str] = frozenset()
    not_a_fix: frozenset[str] = frozenset()
    labels: Labels = field(default_factory=Labels)
    concurrency: int = defaults.CONCURRENCY
    # After this many seconds no new measurement starts; the verdicts ready are written (0: no deadline).
    run_deadline_seconds: float = defaults.RUN_DEADLINE_SECONDS
    max_writes: int = defaults.MAX_WRITES
    dry_run: bool = False
    early: bool = False  # --now: judge the window so far
    issues: tuple[str, ...] = ()
    accept_warnings: bool = False
    overdue_reminders: bool = False  # remind open tickets past their SLA (not with `issues`)
    sla_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    signing_key: bytes | None = None  # signs result markers; only markers that verify are the tool's
    links: GraphLinks | None = None  # graph links and sparklines in result comments
    rejudge: bool = False  # judge tickets judged elsewhere (the article's script, a person) all the same
    run_interval: timedelta = timedelta(hours=6)  # between scheduled runs: the dry run's first-run plan
    settle_seconds: int = defaults.SETTLE_SECONDS  # a window is judged once its end is this old (late data)


def policy_for(options: RunOptions, own: frozenset[str]) -> Policy:
    """Whose configs count (the trusted authors and the tool's own account) and whose results are the tool's."""
    not_a_fix = frozenset(fold_resolution(name) for name in options.not_a_fix)
    judged = frozenset({options.labels.verified, options.labels.failed})
    return Policy(
        options.trusted_authors | own,
        own,
        not_a_fix,
        options.early,
        judged,
        options.rejudge,
        options.signing_key,
        settle=timedelta(seconds=options.settle_seconds),
    )


@dataclass
class TicketResult:
    key: str
    url: str
    outcome: RunOutcome  # a verdict, SKIPPED, ELSEWHERE, or OVERDUE (an open ticket past its SLA)
    reason: str
    value: float | None = None
    threshold: float | None = None
    query: str | None = None
    due_at: datetime | None = None
    actions: list[str] = field(default_factory=list)  # what was written (or, in a dry run, would be)
    writes: int = 0  # tracker writes made for this ticket
    deferred: str = ""  # why it is left for the next run: the write budget ran out, or the run was stopped
    service: str | None = None  # the service the ticket's incident context names
    graph: str | None = None  # the link to the judged query over its window
    data: dict[str, object] | None = None  # what the verdict stood on: steps with data, events (Support.as_json)
    refused: list[str] = field(default_factory=list)  # inputs not from a trusted hand, left out (#20)


#: Verdicts that needed an answer from the metrics backend: with none of them and some ERROR, the run failed.
_JUDGED = frozenset({Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE})


@dataclass
class RunReport:
    started: datetime
    dry_run: bool
    results: list[TicketResult] = field(default_factory=list)
    overdue: list[TicketResult] = field(default_factory=list)  # open tickets past their SLA (reminders on)
    reminders_checked: bool = False  # whether the run listed the open tickets (then `overdue` is complete)
    errors: list[str] = field(default_factory=list)  # run-level failures (listing the tracker)
    interrupted: bool = False
    deadline_passed: bool = False  # measurements still running at the run's deadline were left for the next run
    plan: backlog.Plan | None = None  # a dry run's first-run plan
    throttled: str = ""  # the tracker's rate limit that stopped the writing (the rest is left for the next run)
    duration_seconds: float = 0.0

    @property
    def writes(self) -> int:
        return sum(r.writes for r in (*self.results, *self.overdue))

    def counts(self) -> dict[RunOutcome, int]:
        counts: dict[RunOutcome, int] = {}
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def complete(self) -> bool:
        """Whether the run handled every ticket: nothing stopped it and no ticket ended in ERROR."""
        ticket_errors = any(r.outcome == Outcome.ERROR for r in (*self.results, *self.overdue))
        return self.exit_code == ExitCode.OK and not ticket_errors

    @property
    def exit_code(self) -> ExitCode:
        """`exit_codes.RUN`: a ticket's ERROR is recorded and pushed, not a failed run; a run that failed as a
        whole is worth retrying only when it wrote nothing (a retry gets a fresh write budget)."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.throttled:
            return ExitCode.THROTTLED
        if self.deadline_passed:
            return ExitCode.DEADLINE
        ticket_errors = any(r.outcome == Outcome.ERROR for r in (*self.results, *self.overdue))
        judged = any(r.outcome in _JUDGED for r in self.results)
        if self.errors or (ticket_errors and not judged):  # as a whole: the listing, or every measurement, failed
            return ExitCode.STOPPED_AFTER_WRITES if self.writes else ExitCode.FAILED
        return ExitCode.OK


@dataclass
class _Due:
    """A ticket that may need writes: judged already (invalid config, recorded result) or to be measured."""

    ticket: Ticket
    result: TicketResult
    verdict: Verdict | None = None
    plan: QueryPlan | None = None
    already_written: bool = False


def run(
    tracker: Tracker,
    metrics: Metrics,
    options: RunOptions,
    now: datetime,
    stop: threading.Event | None = None,
) -> RunReport:
    stop = stop or threading.Event()
    clock = time.monotonic()
    deadline = clock + options.run_deadline_seconds if options.run_deadline_seconds else math.inf
    report = RunReport(started=now, dry_run=options.dry_run)
    try:
        policy = policy_for(options, frozenset({tracker.account()}))
    except TrackerError as error:  # cannot even sign in: nothing to do but say so
        report.errors.append(f"signing in to the tracker failed: {error}")
        log.error("sign_in_failed", error=str(error))
        report.duration_seconds = time.monotonic() - clock
        return report
    if not options.issues:  # tickets asked for by key are judged whenever they are due
        policy = replace(policy, judged_since=now - timedelta(days=options.lookback_days))
    budget = Budget(options.max_writes)
    metrics = Shared(metrics)  # tickets on the same metric and window share its lookups and range queries
    queries = Workers(options.concurrency, "measure")
    writes = Workers(options.concurrency, "write")
    try:
        due = _stream(tracker, metrics, options, policy, report, budget, queries, writes, stop, deadline)
    finally:
        queries.close()  # a measurement stuck past the deadline is left behind: its thread is a daemon
        writes.close()
    if options.overdue_reminders and not options.issues and not stop.is_set() and not report.throttled:
        if report.deadline_passed:
            report.errors.append("overdue reminders skipped: the run's deadline passed; the next run reminds")
        else:
            _remind(tracker, options, policy, report, budget, now, stop)
    if options.dry_run:
        # In the order the writes go: only due tickets and reminders have actions.
        tickets = (r.actions for r in (*(item.result for item in due), *report.overdue))
        report.plan = backlog.plan(tickets, options.max_writes, options.run_interval)
    report.duration_seconds = time.monotonic() - clock
    return report


def _stream(
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
) -> list[_Due]:
    """List and triage the tickets, measuring each due one as it is listed; then write each as its verdict comes
    in, in the budget's order (oldest due first, decided once the listing is complete). No new measurement
    starts after the deadline or a stop; the verdicts ready by then are written, the rest left for the next run."""
    verdicts: queue.SimpleQueue[tuple[_Due, Verdict | None]] = queue.SimpleQueue()
    due: list[_Due] = []
    held: list[_Due] = []  # measured once the listing is complete (the budget may bind)
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
    rank = {id(item): position for position, item in enumerate(due)}
    if options.dry_run:  # nothing is written: wait for the verdicts, then list what would be written in order
        _collect(verdicts, measuring, stop, deadline, report, lambda item: None)
        _record(report, due, write_all(tracker, _jobs(due), policy, options.labels, budget, **_dry(options, stop)))
        return due
    writer = Writer(tracker, policy, options.labels, budget, ranks=len(due), workers=writes, stop=stop)

    def ready(item: _Due) -> None:
        if item.verdict is None:  # not measured: the deadline or a stop came first
            writer.skip(rank[id(item)])
        else:
            writer.write(rank[id(item)], _job(item))

    for item in due:
        if item.plan is None:
            ready(item)
    _collect(verdicts, measuring, stop, deadline, report, ready)
    for item in due:
        if item.plan is not None and item.verdict is None:
            writer.skip(rank[id(item)])
    _record(report, due, writer.finish())
    return due


def _collect(
    verdicts: queue.SimpleQueue[tuple[_Due, Verdict | None]],
    measuring: int,
    stop: threading.Event,
    deadline: float,
    report: RunReport,
    ready: Callable[[_Due], None],
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


def _triage(ticket: Ticket, now: datetime, policy: Policy, report: RunReport) -> _Due | None:
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
        log.debug("ticket", ticket=ticket.key, verdict="SKIPPED", reason=decision.reason)
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
        log.info("ticket", ticket=ticket.key, verdict="SKIPPED", reason=decision.reason)
        return None
    if isinstance(decision, Wait):
        result.reason, result.due_at = decision.pending.reason, decision.pending.due_at
        log.info("ticket", ticket=ticket.key, verdict="PENDING", due_at=decision.pending.due_at.isoformat())
        return None
    if isinstance(decision, AlreadyRecorded):
        marker = decision.recorded.marker
        result.outcome, result.reason = marker.verdict, "already recorded"
        return _Due(_slim(ticket), result, Verdict(marker.verdict, "already recorded"), already_written=True)
    if isinstance(decision, Judged):
        return _Due(_slim(ticket), result, decision.verdict)
    assert isinstance(decision, Measure)
    result.due_at, result.query = decision.plan.due_at, decision.plan.query
    if decision.refused:
        result.refused = list(decision.refused)
        log.warning("untrusted_input_refused", ticket=ticket.key, refused=result.refused)
    return _Due(_slim(ticket), result, plan=decision.plan)


def _slim(ticket: Ticket) -> Ticket:
    """What the write phase needs of a listed ticket (key, resolution, labels): it re-reads the rest before writing,
    so thousands of due tickets do not keep their bodies and comments in memory."""
    return replace(ticket, body="", comments=())


def _measure_into(
    verdicts: queue.SimpleQueue[tuple[_Due, Verdict | None]],
    item: _Due,
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
    verdicts.put((item, _measure_safely(item.ticket.key, item.plan, metrics, options)))


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


def _due_order(item: _Due) -> tuple[int, datetime]:
    return (0 if item.result.due_at else 1, item.result.due_at or item.ticket.resolved_at or datetime.min)


def _judged(item: _Due, verdict: Verdict) -> None:
    """Copy a due ticket's verdict into its result."""
    item.verdict = verdict
    result = item.result
    result.outcome, result.reason = verdict.outcome, verdict.reason or result.reason
    result.value = verdict.value
    result.threshold = verdict.threshold.value if verdict.threshold else None
    result.query = verdict.query or result.query
    result.graph = verdict.evidence.link if verdict.evidence else None
    result.data = verdict.support.as_json() if verdict.support else None


def _job(item: _Due) -> Job:
    assert item.verdict is not None
    return Job(item.ticket, item.verdict, item.already_written)


def _jobs(due: Iterable[_Due]) -> list[Job]:
    return [_job(item) for item in due if item.verdict is not None]


def _dry(options: RunOptions, stop: threading.Event) -> dict[str, Any]:
    return {"concurrency": options.concurrency, "dry_run": True, "stop": stop}


def _record(report: RunReport, due: Iterable[_Due], phase: Phase) -> None:
    """Copy what the writes did (or, in a dry run, would do) into the report; say why an unmeasured ticket was
    not judged."""
    results: dict[str, TicketResult] = {}
    for item in due:
        result = item.result
        if item.verdict is None:  # the deadline or a stop came before its measurement
            cut = "the run was stopped first" if report.interrupted else "the run's deadline passed first"
            result.outcome, result.reason = NotJudged.SKIPPED, f"not judged: {cut}"
            continue
        if item.plan is None:
            _judged(item, item.verdict)
        results[item.ticket.key] = result
    for key, written in phase.written.items():
        result = results[key]
        result.actions, result.writes, result.deferred = written.actions, written.writes, written.deferred
        if written.note:
            result.reason += f"; {written.note}"
        if written.error:
            result.outcome, result.reason = Outcome.ERROR, written.error
    report.interrupted = report.interrupted or phase.interrupted
    if phase.throttled:
        report.throttled = phase.throttled
        report.errors.append(f"writing stopped: {phase.throttled}; the next run writes the rest")


def _remind(
    tracker: Tracker,
    options: RunOptions,
    policy: Policy,
    report: RunReport,
    budget: Budget,
    now: datetime,
    stop: threading.Event,
) -> None:
    """List the open tickets, note every one past its SLA, and write one reminder (comment + `overdue` label) per
    breach not reminded yet, the longest overdue first, within what is left of the write budget. A ticket this
    run has just written to (a reopened fix) is reminded next run, so that it gets one comment at a time."""
    report.reminders_checked = True
    touched = {r.key for r in report.results if r.actions}
    todo: list[tuple[datetime, Ticket, TicketResult]] = []
    try:
        for ticket in tracker.post_incident_tickets(options.label, now):
            if stop.is_set():
                report.interrupted = True
                return
            due = due_date(ticket, options.sla_days)
            if ticket.resolved_at is not None or ticket.kind != "issue" or due is None or due >= now:
                continue
            priority = ticket.priority or DEFAULT_PRIORITY
            late = f"{priority} due {due.date().isoformat()}, {(now - due).days} days late"
            result = TicketResult(
                ticket.key, ticket.url, NotJudged.OVERDUE, late, due_at=due, service=incident_service(ticket.body)
            )
            report.overdue.append(result)
            if breach(ticket, policy.own, options.sla_days, now) is None:
                result.reason += "; reminded already"
            elif ticket.key in touched:
                result.deferred = "written to by this run; reminded next run"
            else:
                todo.append((due, _slim(ticket), result))
    except TrackerError as error:
        report.errors.append(f"listing open tickets stopped: {error}")
        log.error("listing_failed", error=str(error), listing="open tickets")
    for _, ticket, result in sorted(todo, key=lambda item: item[0]):
        cost = 1 if OVERDUE_LABEL in ticket.labels else 2
        if options.dry_run:  # listed even beyond the budget: the first-run plan counts every reminder
            result.actions.extend(["reminder", f"label {OVERDUE_LABEL}"][:cost])
            result.deferred = "" if budget.take(cost) else BUDGET_SPENT
            continue
        if report.throttled or not budget.take(cost):
            result.deferred = BUDGET_SPENT if not report.throttled else "the tracker's rate limit stopped the writing"
            log.info("write_budget_exhausted", ticket=ticket.key, budget=options.max_writes)
            continue
        if stop.is_set():
            report.interrupted = True
            result.deferred = "the run was stopped"
            budget.give_back(cost)
            continue
        allowance = Allowance(budget, cost)
        try:
            _write_reminder(tracker, ticket.key, result, options, policy, now, allowance)
        except TrackerThrottled as error:
            log.error("tracker_throttled", ticket=ticket.key, error=str(error))
            result.outcome, result.reason = Outcome.ERROR, f"throttled: {error}"
            report.throttled = result.reason
            report.errors.append(f"writing stopped: {result.reason}; the next run writes the rest")
        except TrackerError as error:
            log.error("write_failed", ticket=ticket.key, error=str(error))
            result.outcome, result.reason = Outcome.ERROR, f"tracker write failed: {error}"
        except Exception as error:  # a bug in one ticket's writes must not take the other tickets down
            log.exception("write_crashed", ticket=ticket.key)
            result.outcome, result.reason = Outcome.ERROR, f"internal error: {error}"
        finally:
            result.writes = allowance.sent
            allowance.settle()


def _write_reminder(
    tracker: Tracker,
    key: str,
    result: TicketResult,
    options: RunOptions,
    policy: Policy,
    now: datetime,
    allowance: Allowance,
) -> None:
    """Write the reminder, judged on the ticket as it is now: it may have been closed or reminded meanwhile.
    A label someone removed since the listing is paid from what is left of the budget."""
    ticket = tracker.get_ticket(key)
    due = breach(ticket, policy.own, options.sla_days, now)
    if due is None:
        result.reason += "; the ticket changed since it was listed, left for the next run"
        return
    if not allowance.charge():
        result.deferred = BUDGET_SPENT
        return
    with allowance.retries_charged():
        tracker.comment(key, render_reminder(ticket, due, now, tracker.flavour))
    result.actions.append("reminder")  # once written: the summary counts it as reminded
    log.info("reminded", ticket=key, due=due.date().isoformat())
    if OVERDUE_LABEL not in ticket.labels:
        if not allowance.charge():
            result.deferred = f"label {OVERDUE_LABEL}: {BUDGET_SPENT}"
            return
        with allowance.retries_charged():
            tracker.add_labels(key, [OVERDUE_LABEL])
        result.actions.append(f"label {OVERDUE_LABEL}")
