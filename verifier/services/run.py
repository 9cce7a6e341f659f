"""The verification run: the CronJob's job, and on-call's `run --issue KEY --now`.

list done tickets -> triage each (pure) -> measure the due ones concurrently -> write the results, oldest due
first, within the write budget (`stream.py`). One ticket's failure never stops the others; a backend failure
writes nothing. With overdue reminders on, it then lists the open tickets and reminds those past their SLA, once
per breach, with what is left of the budget (`remind.py`). What the run is asked (`RunOptions`) and what it found
(`RunReport`) have their own modules, re-exported here.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from verifier.domain import backlog
from verifier.errors import TrackerError
from verifier.ports import Metrics, Tracker
from verifier.services.budget import Budget
from verifier.services.remind import remind
from verifier.services.run_options import RunOptions, policy_for
from verifier.services.run_report import RunReport, TicketResult
from verifier.services.shared import Shared
from verifier.services.stream import listing_days, stream
from verifier.services.workers import Workers

__all__ = ["RunOptions", "RunReport", "TicketResult", "listing_days", "policy_for", "run"]

log = structlog.get_logger("verifier.run")


def run(
    tracker: Tracker,
    metrics: Metrics,
    options: RunOptions,
    now: datetime,
    stop: threading.Event | None = None,
    sink: Callable[[TicketResult], None] | None = None,
) -> RunReport:
    """`sink`: where each ticket's result goes once it is final (the report then keeps counts, not results)."""
    stop = stop or threading.Event()
    clock = time.monotonic()
    deadline = clock + options.run_deadline_seconds if options.run_deadline_seconds else math.inf
    report = RunReport(started=now, dry_run=options.dry_run, sink=sink)
    report.tally.keep_touched = options.overdue_reminders
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
        planned = stream(tracker, metrics, options, policy, report, budget, queries, writes, stop, deadline)
    finally:
        queries.close()  # a measurement stuck past the deadline is left behind: its thread is a daemon
        writes.close()
    if options.overdue_reminders and not options.issues and not stop.is_set() and not report.throttled:
        if report.deadline_passed:
            report.errors.append("overdue reminders skipped: the run's deadline passed; the next run reminds")
        else:
            remind(tracker, options, policy, report, budget, now, stop)
    if options.dry_run:
        # In the order the writes go: the due tickets (counted as they were decided), then the reminders.
        reminders = (r.actions for r in report.overdue)
        report.plan = backlog.plan(reminders, options.max_writes, options.run_interval, first=planned)
    report.duration_seconds = time.monotonic() - clock
    return report
