"""Overdue reminders, after the run's verdicts are written: list the open tickets, note every one past its SLA,
and remind each breach once (a comment and the `overdue` label) with what is left of the write budget."""

from __future__ import annotations

import threading
from datetime import datetime
from functools import partial

import structlog

from verifier.domain.action_items import incident_service
from verifier.domain.outcomes import NotJudged, Outcome
from verifier.domain.reminders import LABEL as OVERDUE_LABEL
from verifier.domain.reminders import Owed, owed, render_reminder
from verifier.domain.sla import due_date, lateness, priority
from verifier.domain.triage import Policy
from verifier.errors import TrackerError
from verifier.ports import Tracker
from verifier.services.apply import BUDGET_SPENT, RATE_LIMITED, STOPPED, Sender, Written, write_safely
from verifier.services.budget import Allowance, Budget
from verifier.services.run_options import RunOptions
from verifier.services.run_report import RunReport, TicketResult

log = structlog.get_logger("verifier.run")


def remind(
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
    touched = report.touched()
    todo: list[tuple[datetime, Owed, str, TicketResult]] = []
    try:
        for ticket in tracker.post_incident_tickets(options.label, now):
            if stop.is_set():
                report.interrupted = True
                return
            due = due_date(ticket, options.sla_days)
            if ticket.resolved_at is not None or ticket.kind != "issue" or due is None or due >= now:
                continue
            late = f"{priority(ticket)} {lateness(due, now)}"
            result = TicketResult(
                ticket.key, ticket.url, NotJudged.OVERDUE, late, due_at=due, service=incident_service(ticket.body)
            )
            report.overdue.append(result)
            owes = owed(ticket, policy.own, options.sla_days, now)
            if owes is None:
                result.reason += "; reminded already"
            elif ticket.key in touched:
                result.deferred = "written to by this run; reminded next run"
            else:
                todo.append((due, owes, ticket.key, result))
    except TrackerError as error:
        report.errors.append(f"listing open tickets stopped: {error}")
        log.error("listing_failed", error=str(error), listing="open tickets")
    for _, owes, key, result in sorted(todo, key=lambda item: item[0]):
        cost = len(owes.writes)
        if options.dry_run:  # listed even beyond the budget: the first-run plan counts every reminder
            result.actions.extend(owes.writes)
            result.deferred = "" if budget.take(cost) else BUDGET_SPENT
            continue
        if report.throttled or not budget.take(cost):
            result.deferred = BUDGET_SPENT if not report.throttled else RATE_LIMITED
            log.info("write_budget_exhausted", ticket=key, budget=options.max_writes)
            continue
        if stop.is_set():
            report.interrupted = True
            result.deferred = STOPPED
            budget.give_back(cost)
            continue
        halt = threading.Event()  # the write phase's handling: a rate limit here stops the reminders too
        writes = partial(_write_reminder, tracker, key, result, options, policy, now)
        written = write_safely(key, Allowance(budget, cost), stop, halt, writes)
        result.actions, result.writes = written.actions, written.writes
        result.deferred = written.deferred or result.deferred
        report.interrupted = report.interrupted or written.deferred == STOPPED
        if written.error:
            result.outcome, result.reason = Outcome.ERROR, written.error
        if written.throttled:
            report.throttled = written.error
            report.errors.append(f"writing stopped: {written.error}; the next run writes the rest")


def _write_reminder(
    tracker: Tracker,
    key: str,
    result: TicketResult,
    options: RunOptions,
    policy: Policy,
    now: datetime,
    send: Sender,
    written: Written,
) -> None:
    """Write the reminder and its label, judged on the ticket as it is now: it may have been closed or reminded
    meanwhile. A label someone removed since the listing is paid from what is left of the budget."""
    ticket = tracker.get_ticket(key)
    owes = owed(ticket, policy.own, options.sla_days, now)
    if owes is None:
        result.reason += "; the ticket changed since it was listed, left for the next run"
        return
    if owes.reminder:
        send("reminder", partial(tracker.comment, key, render_reminder(ticket, owes.due, now, tracker.flavour)))
        log.info("reminded", ticket=key, due=owes.due.date().isoformat())
    if owes.label:
        label = f"label {OVERDUE_LABEL}"
        send(label, partial(tracker.add_labels, key, [OVERDUE_LABEL]), no_room=f"{label}: {BUDGET_SPENT}")
