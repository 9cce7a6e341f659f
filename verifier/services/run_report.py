"""What a run found and did: one `TicketResult` per ticket, gathered in the `RunReport` that `summary.py` prints
and `push.py` pushes, and whose `exit_code` the CronJob reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from verifier.domain import backlog
from verifier.domain.outcomes import Outcome, RunOutcome
from verifier.exit_codes import ExitCode


@dataclass(slots=True)  # one per ticket, kept to the run's end: no per-instance dict
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
    conditions: list[dict[str, object]] = field(default_factory=list)  # a config of several: each one's line, graph


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
