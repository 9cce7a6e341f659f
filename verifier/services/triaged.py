"""A listed ticket's triage within a run (`triage_listed`): a `Due` ticket the run measures or writes, or its final
result; what the listing keeps of a due ticket beyond the window (`listed`); and the tickets read back (`Arrivals`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime

import structlog

from verifier.domain.action_items import incident_service
from verifier.domain.outcomes import NotJudged, Outcome
from verifier.domain.planning import QueryPlan
from verifier.domain.selection import body_refusal
from verifier.domain.tickets import Ticket
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, Wait, triage
from verifier.domain.verdicts import Verdict
from verifier.services.readback import Back, Listed, ReadBack
from verifier.services.run_report import RunReport, TicketResult
from verifier.services.write import Unread, Writer

log = structlog.get_logger("verifier.run")


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


def triage_listed(
    ticket: Ticket, now: datetime, policy: Policy, report: RunReport, into: TicketResult | None = None
) -> Due | TicketResult | None:
    """A listed ticket's triage: `Due` when it may need writes, else its final result (recorded; None when it is
    outside the run's scope). `into`: the result already recorded for it (a ticket read back) takes the new one."""
    service = incident_service(ticket.body) if body_refusal(ticket, policy.trusted) is None else None  # (#20)
    result = TicketResult(ticket.key, ticket.url, Outcome.PENDING, "", service=service)
    try:
        decision = triage(ticket, now, policy)
    except Exception as error:  # a bug must not take the other tickets down
        log.exception("triage_crashed", ticket=ticket.key)
        result.outcome, result.reason = Outcome.ERROR, f"internal error: {error}"
        return final(report, kept(report, result, into))
    if isinstance(decision, Skip) and decision.outside:
        log.debug("ticket", ticket=ticket.key, verdict=NotJudged.SKIPPED.value, reason=decision.reason)
        return None
    if isinstance(decision, Skip):
        result.outcome, result.reason = (
            NotJudged.ELSEWHERE if decision.elsewhere else NotJudged.SKIPPED,
            decision.reason,
        )
        if decision.ignored_authors:
            result.reason += f" (ignored configs by untrusted {', '.join(decision.ignored_authors)})"
            log.warning("untrusted_config_ignored", ticket=ticket.key, authors=list(decision.ignored_authors))
        log.info("ticket", ticket=ticket.key, verdict=NotJudged.SKIPPED.value, reason=decision.reason)
        return final(report, kept(report, result, into))
    if isinstance(decision, Wait):
        result.reason, result.due_at = decision.pending.reason, decision.pending.due_at
        log.info("ticket", ticket=ticket.key, verdict=Outcome.PENDING.value, due_at=decision.pending.due_at.isoformat())
        return final(report, kept(report, result, into))
    if isinstance(decision, AlreadyRecorded):
        marker, again = decision.recorded.marker, decision.recheck
        result.outcome, result.reason = marker.verdict, "re-check already recorded" if again else "already recorded"
        verdict = Verdict(marker.verdict, result.reason, recheck=again)
        return Due(slim(ticket), kept(report, result, into), verdict, already_written=True, recheck=again)
    if isinstance(decision, Judged):
        return Due(slim(ticket), kept(report, result, into), decision.verdict)
    assert isinstance(decision, Measure)
    result.due_at, result.query = decision.plan.due_at, decision.plan.query
    if decision.refused:
        result.refused = list(decision.refused)
        log.warning("untrusted_input_refused", ticket=ticket.key, refused=result.refused)
    return Due(slim(ticket), kept(report, result, into), plan=decision.plan, recheck=decision.recheck)


def kept(report: RunReport, result: TicketResult, into: TicketResult | None) -> TicketResult:
    """`result` recorded in the report, or copied into the one recorded already."""
    if into is None:
        report.add(result)
        return result
    for name in (f.name for f in fields(TicketResult)):
        setattr(into, name, getattr(result, name))
    return into


def final(report: RunReport, result: TicketResult) -> TicketResult:
    report.finish(result)
    return result


def as_listed(item: Due, *, keep: bool) -> Listed:
    """A due ticket beyond the window, as the listing keeps it (its result too when the report keeps them all)."""
    result = item.result
    when = result.due_at or item.ticket.resolved_at or datetime.min
    return Listed(result.key, result.url, result.due_at, when, result.service, result if keep else None)


def result_of(listed: Listed) -> TicketResult:
    if listed.result is not None:
        return listed.result
    return TicketResult(listed.key, listed.url, Outcome.PENDING, "", due_at=listed.due_at, service=listed.service)


def slim(ticket: Ticket) -> Ticket:
    """What the write phase needs of a listed ticket (key, resolution, labels): it re-reads the rest before writing,
    so thousands of due tickets do not keep their bodies and comments in memory."""
    return replace(ticket, body="", comments=())


@dataclass
class Arrivals:
    """Handles the tickets read back, on the run's thread: each is triaged again as it is now, then measured
    (`submit`), written (`ready`), or its result is final."""

    report: RunReport
    policy: Policy
    writer: Writer
    back: ReadBack
    results: dict[str, TicketResult]  # the results of the tickets handed to the writer, by key
    unmeasured: dict[int, Due]
    ready: Callable[[Due], None]
    submit: Callable[[Due], None]  # its measurement, on the query pool

    def __call__(self, back: Back) -> int:
        """Triage each ticket read back: measure it, write it, or record why not. Returns the measurements
        started."""
        self.back.arrived(back)
        started = 0
        for rank, listed, fresh in back.tickets:
            try:
                started += self._one(rank, listed, fresh)
            except Exception as error:  # a bug must cost this ticket alone
                log.exception("read_back_crashed", ticket=listed.key)
                self._final(rank, listed, Outcome.ERROR, f"internal error: {error}")
        return started

    def _one(self, rank: int, listed: Listed, fresh: Ticket | Unread) -> int:
        if isinstance(fresh, Unread):
            if fresh.throttled:  # the tracker's rate limit: nothing more is read or written
                if not self.writer.phase.throttled:
                    self.writer.phase.throttled = fresh.error
                self.writer.ctx.halt.set()
            self._final(rank, listed, Outcome.ERROR, fresh.error)
            return 0
        item = triage_listed(fresh, now=self.report.started, policy=self.policy, report=self.report, into=listed.result)
        if not isinstance(item, Due):  # not due any more: its result is final (or it left the run's scope)
            if item is None:
                self._final(rank, listed, NotJudged.SKIPPED, "not judged: out of the run's scope when read back")
                return 0
            self.writer.skip(rank)
            self.back.finished()
            return 0
        item.rank = rank
        self.results[item.ticket.key] = item.result
        if item.plan is None:
            self.ready(item)
            return 0
        self.unmeasured[rank] = item
        self.submit(item)
        return 1

    def _final(self, rank: int, listed: Listed, outcome: Outcome | NotJudged, reason: str) -> None:
        result = result_of(listed)
        result.outcome, result.reason = outcome, reason
        self.report.finish(result)
        self.writer.skip(rank)
        self.back.finished()
