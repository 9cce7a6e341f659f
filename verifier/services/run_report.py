"""What a run found and did: one `TicketResult` per ticket, gathered in the `RunReport` that `summary.py` prints
and `push.py` pushes, and whose `exit_code` the CronJob reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
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


@dataclass
class Tally:
    """What the summary line, the exit code and the pushed metrics count of the results, kept instead of the
    results themselves when they are streamed out (#26): counts by outcome and by service, writes, and the keys
    written to (the overdue reminders leave those for the next run)."""

    counts: dict[RunOutcome, int] = field(default_factory=dict)
    by_service: dict[str | None, dict[RunOutcome, int]] = field(default_factory=dict)
    writes: int = 0
    touched: set[str] = field(default_factory=set)
    keep_touched: bool = True  # only the overdue reminders read `touched`

    def add(self, result: TicketResult) -> None:
        self.counts[result.outcome] = self.counts.get(result.outcome, 0) + 1
        outcomes = self.by_service.setdefault(result.service, {})
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        self.writes += result.writes
        if result.actions and self.keep_touched:
            self.touched.add(result.key)


#: Verdicts that needed an answer from the metrics backend: with none of them and some ERROR, the run failed.
_JUDGED = frozenset({Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE})


@dataclass
class RunReport:
    started: datetime
    dry_run: bool
    results: list[TicketResult] = field(default_factory=list)  # every ticket's result, unless streamed (`sink`)
    #: Where each ticket's result goes once it is final (the CLI prints it): `results` then stays empty and only
    #: the `Tally` is kept, so memory does not grow with the number of tickets (#26).
    sink: Callable[[TicketResult], None] | None = None
    overdue: list[TicketResult] = field(default_factory=list)  # open tickets past their SLA (reminders on)
    reminders_checked: bool = False  # whether the run listed the open tickets (then `overdue` is complete)
    errors: list[str] = field(default_factory=list)  # run-level failures (listing the tracker)
    interrupted: bool = False
    deadline_passed: bool = False  # measurements still running at the run's deadline were left for the next run
    plan: backlog.Plan | None = None  # a dry run's first-run plan
    throttled: str = ""  # the tracker's rate limit that stopped the writing (the rest is left for the next run)
    duration_seconds: float = 0.0
    tally: Tally = field(default_factory=Tally)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, result: TicketResult) -> None:
        """A ticket's result, as soon as it is made (it may still change): kept unless results are streamed."""
        if self.sink is None:
            self.results.append(result)

    def finish(self, result: TicketResult) -> None:
        """A ticket's result is final (from any of the run's threads): streamed out and counted."""
        if self.sink is not None:
            with self._lock:
                self.tally.add(result)
                self.sink(result)

    def _tally(self) -> Tally:
        if self.sink is not None:
            return self.tally
        tally = Tally()
        for result in self.results:
            tally.add(result)
        return tally

    def touched(self) -> set[str]:
        """The keys of the tickets this run wrote to (or, in a dry run, would)."""
        return self._tally().touched

    def by_service(self) -> dict[str | None, dict[RunOutcome, int]]:
        return self._tally().by_service

    @property
    def writes(self) -> int:
        return self._tally().writes + sum(r.writes for r in self.overdue)

    def counts(self) -> dict[RunOutcome, int]:
        return dict(sorted(self._tally().counts.items()))

    @property
    def complete(self) -> bool:
        """Whether the run handled every ticket: nothing stopped it and no ticket ended in ERROR."""
        ticket_errors = self.counts().get(Outcome.ERROR) or _errors(self.overdue)
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
        counts = self.counts()
        ticket_errors = counts.get(Outcome.ERROR) or _errors(self.overdue)
        judged = any(counts.get(outcome) for outcome in _JUDGED)
        if self.errors or (ticket_errors and not judged):  # as a whole: the listing, or every measurement, failed
            return ExitCode.STOPPED_AFTER_WRITES if self.writes else ExitCode.FAILED
        return ExitCode.OK


def _errors(results: Iterable[TicketResult]) -> bool:
    return any(r.outcome == Outcome.ERROR for r in results)
