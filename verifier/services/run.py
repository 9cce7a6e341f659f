"""The verification run: the CronJob's job, and on-call's `run --issue KEY --now`.

list done tickets -> triage each (pure) -> measure the due ones concurrently -> write the results, oldest due
first, within the write budget. One ticket's failure never stops the others; a backend failure writes nothing.
With overdue reminders on, it then lists the open tickets and reminds those past their SLA, once per breach,
with what is left of the budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from verifier import defaults
from verifier.domain.actions import REOPEN_FAILED_NOTE, Action, AddLabel, Labels, Reopen, WriteComment, actions_for
from verifier.domain.evidence import GraphLinks
from verifier.domain.models import incident_service
from verifier.domain.planning import QueryPlan
from verifier.domain.reminders import LABEL as OVERDUE_LABEL
from verifier.domain.reminders import breach, render_reminder
from verifier.domain.report import DEFAULT_PRIORITY, DEFAULT_SLA_DAYS, due_date
from verifier.domain.selection import own_results, recorded_result, select_config
from verifier.domain.tickets import Ticket, fold_resolution
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, Wait, triage
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import TrackerError
from verifier.exit_codes import ExitCode
from verifier.ports import Metrics, Tracker
from verifier.services.measure import measure

log = structlog.get_logger("verifier.run")


@dataclass(frozen=True)
class RunOptions:
    label: str = defaults.LABEL
    lookback_days: int = defaults.LOOKBACK_DAYS
    trusted_authors: frozenset[str] = frozenset()
    not_a_fix: frozenset[str] = frozenset()
    labels: Labels = field(default_factory=Labels)
    concurrency: int = defaults.CONCURRENCY
    max_writes: int = defaults.MAX_WRITES
    dry_run: bool = False
    early: bool = False  # --now: judge the window so far
    issues: tuple[str, ...] = ()
    accept_warnings: bool = False
    overdue_reminders: bool = False  # remind open tickets past their SLA (not with `issues`)
    sla_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    links: GraphLinks | None = None  # graph links and sparklines in result comments


def policy_for(options: RunOptions, own: frozenset[str]) -> Policy:
    """Whose configs count (the trusted authors and the tool's own account) and whose results are the tool's."""
    not_a_fix = frozenset(fold_resolution(name) for name in options.not_a_fix)
    return Policy(options.trusted_authors | own, own, not_a_fix, options.early)


@dataclass
class TicketResult:
    key: str
    url: str
    outcome: str  # a verdict, SKIPPED, or OVERDUE (an open ticket past its SLA)
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


@dataclass
class RunReport:
    started: datetime
    dry_run: bool
    results: list[TicketResult] = field(default_factory=list)
    overdue: list[TicketResult] = field(default_factory=list)  # open tickets past their SLA (reminders on)
    reminders_checked: bool = False  # whether the run listed the open tickets (then `overdue` is complete)
    errors: list[str] = field(default_factory=list)  # run-level failures (listing the tracker)
    interrupted: bool = False
    duration_seconds: float = 0.0

    @property
    def writes(self) -> int:
        return sum(r.writes for r in (*self.results, *self.overdue))

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.errors or any(r.outcome == Outcome.ERROR for r in (*self.results, *self.overdue)):
            return ExitCode.FAILED
        return ExitCode.OK


@dataclass
class _Due:
    """A ticket that may need writes: judged already (invalid config, recorded result) or to be measured."""

    ticket: Ticket
    result: TicketResult
    verdict: Verdict | None = None
    plan: QueryPlan | None = None
    future: Future[Verdict] | None = None
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
    report = RunReport(started=now, dry_run=options.dry_run)
    try:
        policy = policy_for(options, frozenset({tracker.account()}))
    except TrackerError as error:  # cannot even sign in: nothing to do but say so
        report.errors.append(f"signing in to the tracker failed: {error}")
        log.error("sign_in_failed", error=str(error))
        report.duration_seconds = time.monotonic() - clock
        return report
    due: list[_Due] = []
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="measure") as pool:
        try:
            for ticket in _tickets(tracker, options, report):
                if stop.is_set():
                    report.interrupted = True
                    break
                item = _triage(ticket, now, policy, report)
                if item is None:
                    continue
                if item.plan is not None:
                    item.future = pool.submit(_measure_safely, item.ticket.key, item.plan, metrics, options)
                due.append(item)
        finally:
            if stop.is_set():
                pool.shutdown(wait=True, cancel_futures=True)
        for item in due:
            if item.future is not None:
                if item.future.cancelled():
                    item.result.outcome, item.result.reason = "SKIPPED", "not judged: the run was stopped first"
                else:
                    item.verdict = item.future.result()
    budget = _write(tracker, sorted(due, key=_due_order), options, policy, report, stop)
    if options.overdue_reminders and not options.issues and not stop.is_set():
        _remind(tracker, options, policy, report, budget, now, stop)
    report.duration_seconds = time.monotonic() - clock
    return report


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
        yield from tracker.resolved_tickets(options.label, options.lookback_days)
    except TrackerError as error:
        report.errors.append(f"listing tickets stopped: {error}")
        log.error("listing_failed", error=str(error))


def _triage(ticket: Ticket, now: datetime, policy: Policy, report: RunReport) -> _Due | None:
    result = TicketResult(ticket.key, ticket.url, Outcome.PENDING.value, "", service=incident_service(ticket.body))
    report.results.append(result)
    try:
        decision = triage(ticket, now, policy)
    except Exception as error:  # a bug must not take the other tickets down
        log.exception("triage_crashed", ticket=ticket.key)
        result.outcome, result.reason = Outcome.ERROR.value, f"internal error: {error}"
        return None
    if isinstance(decision, Skip):
        result.outcome, result.reason = "SKIPPED", decision.reason
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
        result.outcome, result.reason = marker.verdict.value, "already recorded"
        return _Due(_slim(ticket), result, Verdict(marker.verdict, "already recorded"), already_written=True)
    if isinstance(decision, Judged):
        return _Due(_slim(ticket), result, decision.verdict)
    assert isinstance(decision, Measure)
    result.due_at, result.query = decision.plan.due_at, decision.plan.query
    return _Due(_slim(ticket), result, plan=decision.plan)


def _slim(ticket: Ticket) -> Ticket:
    """What the write phase needs of a listed ticket (key, resolution, labels): it re-reads the rest before writing,
    so thousands of due tickets do not keep their bodies and comments in memory."""
    return replace(ticket, body="", comments=())


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


def _write(
    tracker: Tracker,
    due: Iterable[_Due],
    options: RunOptions,
    policy: Policy,
    report: RunReport,
    stop: threading.Event,
) -> int:
    """Give the write budget to the oldest due tickets first, then write them, several tickets at a time.
    Returns what is left of the budget."""
    budget = options.max_writes
    chosen: list[tuple[_Due, Verdict]] = []
    for item in due:
        verdict = item.verdict
        if verdict is None:  # cancelled by a stop before it was measured
            continue
        result = item.result
        result.outcome, result.reason = verdict.outcome.value, verdict.reason or result.reason
        result.value = verdict.value
        result.threshold = verdict.threshold.value if verdict.threshold else None
        result.query = verdict.query or result.query
        result.graph = verdict.evidence.link if verdict.evidence else None
        actions = actions_for(
            verdict, item.ticket, tracker.flavour, options.labels, already_written=item.already_written
        )
        if not actions:
            continue
        if len(actions) > budget:
            result.deferred = "the write budget is used up"
            log.info("write_budget_exhausted", ticket=item.ticket.key, budget=options.max_writes)
            continue
        budget -= len(actions)
        if options.dry_run:
            result.actions.extend(_describe(a) for a in actions)
        else:
            chosen.append((item, verdict))
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="write") as pool:
        for item, verdict in chosen:
            pool.submit(_write_ticket, tracker, item, verdict, options, policy, report, stop)
    return budget


def _write_ticket(
    tracker: Tracker,
    item: _Due,
    verdict: Verdict,
    options: RunOptions,
    policy: Policy,
    report: RunReport,
    stop: threading.Event,
) -> None:
    if stop.is_set():
        report.interrupted = True
        item.result.deferred = "the run was stopped"
        return
    try:
        _apply(tracker, item, verdict, options, policy)
    except TrackerError as error:
        log.error("write_failed", ticket=item.ticket.key, error=str(error))
        item.result.outcome, item.result.reason = Outcome.ERROR.value, f"tracker write failed: {error}"
    except Exception as error:  # a bug in one ticket's writes must not take the other tickets down
        log.exception("write_crashed", ticket=item.ticket.key)
        item.result.outcome, item.result.reason = Outcome.ERROR.value, f"internal error: {error}"


def _apply(tracker: Tracker, item: _Due, verdict: Verdict, options: RunOptions, policy: Policy) -> None:
    """Write what is still missing, judged on the ticket as it is now: another run may have written meanwhile."""
    listed, result = item.ticket, item.result
    ticket = tracker.get_ticket(listed.key)
    if ticket.resolved_at != listed.resolved_at:
        result.reason += "; the ticket changed since it was listed, left for the next run"
        return
    choice = select_config(ticket, policy.trusted).choice
    written = item.already_written or recorded_result(ticket, policy.own, choice, early=verdict.early) is not None
    for action in actions_for(verdict, ticket, tracker.flavour, options.labels, already_written=written):
        result.actions.append(_describe(action))
        result.writes += 1
        if isinstance(action, WriteComment):
            comment_id = tracker.comment(ticket.key, action.body)
            since = choice.created if choice else None
            if _is_duplicate(tracker, ticket.key, comment_id, policy.own, verdict.early, since):
                tracker.delete_comment(ticket.key, comment_id)
                result.actions.append("deleted: a concurrent run wrote the same result first")
                return
        elif isinstance(action, AddLabel):
            tracker.add_labels(ticket.key, [action.label])
        elif isinstance(action, Reopen) and not tracker.reopen(ticket.key):
            log.warning("reopen_impossible", ticket=ticket.key)
            if options.labels.reopen_failed in ticket.labels:
                continue  # said already for this resolution; tried again every run in case the workflow changed
            result.writes += 2
            tracker.comment(ticket.key, REOPEN_FAILED_NOTE)
            tracker.add_labels(ticket.key, [options.labels.reopen_failed])
            result.actions.append("reopen impossible: comment + label " + options.labels.reopen_failed)


def _is_duplicate(
    tracker: Tracker, key: str, comment_id: str, own: frozenset[str], early: bool, since: datetime | None
) -> bool:
    """Two runs at once may both write a result: the oldest stays, every later one deletes itself.

    Results older than the config they judged (`since`) belong to an earlier config and do not count."""
    results = [
        r
        for r in own_results(tracker.get_ticket(key), own)
        if r.marker.early == early and (since is None or r.comment.created >= since)
    ]
    return bool(results) and results[0].comment.id != comment_id


def _remind(
    tracker: Tracker,
    options: RunOptions,
    policy: Policy,
    report: RunReport,
    budget: int,
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
                ticket.key, ticket.url, "OVERDUE", late, due_at=due, service=incident_service(ticket.body)
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
        if cost > budget:
            result.deferred = "the write budget is used up"
            log.info("write_budget_exhausted", ticket=ticket.key, budget=options.max_writes)
            continue
        budget -= cost
        if options.dry_run:
            result.actions.extend(["reminder", f"label {OVERDUE_LABEL}"][:cost])
            continue
        if stop.is_set():
            report.interrupted = True
            result.deferred = "the run was stopped"
            continue
        try:
            _write_reminder(tracker, ticket.key, result, options, policy, now)
        except TrackerError as error:
            log.error("write_failed", ticket=ticket.key, error=str(error))
            result.outcome, result.reason = Outcome.ERROR.value, f"tracker write failed: {error}"
        except Exception as error:  # a bug in one ticket's writes must not take the other tickets down
            log.exception("write_crashed", ticket=ticket.key)
            result.outcome, result.reason = Outcome.ERROR.value, f"internal error: {error}"


def _write_reminder(
    tracker: Tracker, key: str, result: TicketResult, options: RunOptions, policy: Policy, now: datetime
) -> None:
    """Write the reminder, judged on the ticket as it is now: it may have been closed or reminded meanwhile."""
    ticket = tracker.get_ticket(key)
    due = breach(ticket, policy.own, options.sla_days, now)
    if due is None:
        result.reason += "; the ticket changed since it was listed, left for the next run"
        return
    result.actions.append("reminder")
    result.writes += 1
    tracker.comment(key, render_reminder(ticket, due, now, tracker.flavour))
    log.info("reminded", ticket=key, due=due.date().isoformat())
    if OVERDUE_LABEL not in ticket.labels:
        result.actions.append(f"label {OVERDUE_LABEL}")
        result.writes += 1
        tracker.add_labels(key, [OVERDUE_LABEL])


def _describe(action: Action) -> str:
    if isinstance(action, WriteComment):
        return "comment"
    if isinstance(action, AddLabel):
        return f"label {action.label}"
    return "reopen"
