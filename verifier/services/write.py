"""The write phase of a run, in three steps a reader can follow:

1. re-read the due tickets, oldest due first, a few at a time (reads cost no budget);
2. decide each one's writes from the ticket as re-read (`actions.decide`, the one place) and reserve them from the
   write budget, in that order: a ticket whose writes do not fit is left for the next run;
3. apply the decisions several tickets at a time; each apply returns what it sent, and the run builds its
   report from those values.

The budget is a cap on write requests: every request sent is charged (comments, labels, transitions, deletes,
notes; a failed attempt too). What only a failure asks for (the note after an impossible reopen, deleting a
duplicate result) is drawn from what is left of the budget when it happens, and left for the next run if nothing is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog

from verifier.domain.actions import (
    REOPEN_FAILED_NOTE,
    AddLabel,
    Decision,
    Labels,
    Reopen,
    WriteComment,
    decide,
    describe,
)
from verifier.domain.selection import own_results
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import RESEND_WRITE, Tracker
from verifier.redaction import redact

log = structlog.get_logger("verifier.run")
T = TypeVar("T")
BUDGET_SPENT = "the write budget is used up"


class Budget:
    """The run's write budget. Decisions reserve from it in order; failures draw from it as they happen (writes
    run in parallel, hence the lock)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._left = total
        self._lock = threading.Lock()

    @property
    def left(self) -> int:
        with self._lock:
            return self._left

    def take(self, count: int) -> bool:
        with self._lock:
            if count > self._left:
                return False
            self._left -= count
            return True

    def give_back(self, count: int) -> None:
        with self._lock:
            self._left += count


@dataclass
class Allowance:
    """One ticket's share of the budget: its reservation first, then whatever the budget still has. `sent` counts
    the write requests sent for it, retries included."""

    budget: Budget
    reserved: int
    sent: int = 0

    def take(self, count: int = 1) -> bool:
        """Room for `count` more requests, or False."""
        from_reserve = min(count, self.reserved - self.sent) if self.reserved > self.sent else 0
        if count > from_reserve and not self.budget.take(count - from_reserve):
            return False
        self.reserved = max(self.reserved, self.sent + count)  # what was drawn is now this ticket's
        return True

    def charge(self) -> bool:
        """One more request, charged when attempted: a refused request still reached the tracker."""
        if not self.take():
            return False
        self.sent += 1
        return True

    @contextmanager
    def retries_charged(self) -> Iterator[None]:
        """While inside, the adapters send a write again only when it can be charged (`RESEND_WRITE`)."""
        token = RESEND_WRITE.set(self.charge)
        try:
            yield
        finally:
            RESEND_WRITE.reset(token)

    def settle(self) -> None:
        self.budget.give_back(max(0, self.reserved - self.sent))


@dataclass(frozen=True)
class Job:
    """A due ticket with its verdict; `listed` is the ticket as the listing showed it (body and comments
    dropped), `already_written` when the listing showed a result of ours for this resolution."""

    listed: Ticket
    verdict: Verdict
    already_written: bool = False


@dataclass
class Written:
    """What the write phase did for one ticket (or, in a dry run, would do)."""

    actions: list[str] = field(default_factory=list)
    writes: int = 0  # write requests sent, failed ones included
    error: str = ""  # one line: a write failed
    deferred: str = ""  # why (part of) it is left for the next run
    note: str = ""  # why it got no writes


@dataclass
class Phase:
    written: dict[str, Written] = field(default_factory=dict)
    interrupted: bool = False
    throttled: str = ""  # the tracker's rate limit that stopped the writing, in one line


@dataclass(frozen=True)
class Context:
    tracker: Tracker
    policy: Policy
    labels: Labels
    stop: threading.Event
    halt: threading.Event  # set when the tracker throttles: no new ticket starts


def write_all(
    tracker: Tracker,
    jobs: Sequence[Job],
    policy: Policy,
    labels: Labels,
    budget: Budget,
    *,
    concurrency: int,
    dry_run: bool,
    stop: threading.Event,
) -> Phase:
    """Write `jobs` (ordered: oldest due first) within `budget`."""
    phase = Phase()
    ctx = Context(tracker, policy, labels, stop, threading.Event())
    todo = [job for job in jobs if _decide(job, job.listed, ctx).actions]  # from the listing: no read needed
    if dry_run:
        for job in todo:
            decision = _decide(job, job.listed, ctx)
            phase.written[job.listed.key] = written = Written([describe(a) for a in decision.actions])
            if not budget.take(decision.charge):  # still listed: the first-run plan counts every ticket's writes
                written.deferred = BUDGET_SPENT
        return phase
    width = max(1, concurrency)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="write") as pool:
        for batch in _chunks(todo, width):
            if stop.is_set() or ctx.halt.is_set() or budget.left == 0:
                for job in batch:
                    phase.written[job.listed.key] = Written(deferred=_why_not(ctx, phase))
                continue
            fresh = list(pool.map(lambda job: _reread(tracker, job.listed.key), batch))
            chosen: list[tuple[Job, Decision, Allowance]] = []
            for job, ticket in zip(batch, fresh, strict=True):
                if ctx.halt.is_set() and not isinstance(ticket, str):
                    phase.written[job.listed.key] = Written(deferred=_why_not(ctx, phase))
                    continue
                if isinstance(ticket, str):
                    phase.written[job.listed.key] = Written(error=ticket)
                    if ticket.startswith("throttled"):
                        ctx.halt.set()
                    continue
                decision = _decide(job, ticket, ctx, judged=job.verdict.config)  # still the current config?
                if not decision.actions:
                    phase.written[job.listed.key] = Written(note=decision.note)
                elif not budget.take(decision.charge):
                    phase.written[job.listed.key] = Written(deferred=BUDGET_SPENT)
                    log.info("write_budget_exhausted", ticket=job.listed.key, budget=budget.total)
                else:
                    chosen.append((job, decision, Allowance(budget, decision.charge)))
            done = pool.map(lambda c: _apply_safely(ctx, c[0].listed.key, c[0].verdict, c[1], c[2]), chosen)
            for (job, *_), written in zip(chosen, done, strict=True):
                phase.written[job.listed.key] = written
    phase.interrupted = stop.is_set()
    if ctx.halt.is_set():
        phase.throttled = next((w.error for w in phase.written.values() if w.error.startswith("throttled")), "")
    return phase


def _decide(job: Job, ticket: Ticket, ctx: Context, judged: str | None = None) -> Decision:
    return decide(
        job.verdict,
        job.listed.resolved_at,
        ticket,
        ctx.tracker.flavour,
        ctx.labels,
        trusted=ctx.policy.trusted,
        own=ctx.policy.own,
        already_written=job.already_written,
        labels_with=ctx.tracker.labels_with,
        signing_key=ctx.policy.signing_key,
        judged=judged,
    )


def _why_not(ctx: Context, phase: Phase) -> str:
    if ctx.stop.is_set():
        phase.interrupted = True
        return "the run was stopped"
    if ctx.halt.is_set():
        return "the tracker's rate limit stopped the writing"
    return BUDGET_SPENT


def _reread(tracker: Tracker, key: str) -> Ticket | str:
    try:
        return tracker.get_ticket(key)
    except TrackerThrottled as error:
        log.error("tracker_throttled", ticket=key, error=str(error))
        return f"throttled: {error}"
    except TrackerError as error:
        log.error("write_failed", ticket=key, error=str(error))
        return f"tracker read before writing failed: {error}"


def _apply_safely(ctx: Context, key: str, verdict: Verdict, decision: Decision, allowance: Allowance) -> Written:
    written = Written()
    if ctx.stop.is_set() or ctx.halt.is_set():
        written.deferred = (
            "the run was stopped" if ctx.stop.is_set() else "the tracker's rate limit stopped the writing"
        )
        allowance.settle()
        return written
    try:
        _apply(ctx, key, verdict, decision, allowance, written)
    except _NoRoom:
        written.deferred = BUDGET_SPENT  # what is missing is re-applied by the next run
    except TrackerThrottled as error:
        ctx.halt.set()
        log.error("tracker_throttled", ticket=key, error=str(error))
        written.error = f"throttled: {error}"
    except TrackerError as error:
        log.error("write_failed", ticket=key, error=str(error))
        written.error = f"tracker write failed: {error}"
    except Exception as error:  # a bug in one ticket's writes must not take the other tickets down
        log.exception("write_crashed", ticket=key)
        written.error = f"internal error: {error}"
    finally:
        written.writes = allowance.sent
        allowance.settle()
    return written


def _apply(
    ctx: Context, key: str, verdict: Verdict, decision: Decision, allowance: Allowance, written: Written
) -> None:
    """Send the decided writes in order. The result comment goes first: it records the decision, so a run cut
    short re-applies only what is missing next time."""
    tracker = ctx.tracker

    def send(action: str, request: Callable[[], T]) -> T:
        if not allowance.charge():
            raise _NoRoom
        with allowance.retries_charged():
            answer = request()
        written.actions.append(action)  # once sent: the summary lists only what was written
        return answer

    for action in decision.actions:
        if isinstance(action, WriteComment):
            body = redact(action.body)  # a backend's error or warning text may echo a secret
            comment_id = send(describe(action), partial(tracker.comment, key, body, action.labels))
            later = _later_results(tracker, key, comment_id, ctx.policy, verdict.early, decision.config_since)
            if later:
                # A concurrent run wrote the same result: the oldest stays. It applies the rest (or, when neither
                # run can tell whose comment is whose, the next run re-applies what is missing).
                for duplicate in later:
                    send("delete", partial(_delete, tracker, key, duplicate))
                written.actions[-1] = "deleted: a concurrent run wrote the same result first"
                return
        elif isinstance(action, AddLabel):
            send(describe(action), partial(tracker.add_labels, key, [action.label]))
        elif isinstance(action, Reopen):
            # Sent as a write; a workflow with no way back sends none, and the charge is given back.
            reopened = send(describe(action), partial(_reopen, tracker, key, action))
            if not reopened:
                allowance.sent -= 1
                written.actions.pop()
            if reopened or not action.note_if_impossible:
                continue
            if not allowance.take(2):
                written.deferred = "the note that the reopen is impossible: " + BUDGET_SPENT
                continue
            reopen_failed = ctx.labels.reopen_failed
            send("reopen impossible: comment", partial(tracker.comment, key, REOPEN_FAILED_NOTE))
            send("label " + reopen_failed, partial(tracker.add_labels, key, [reopen_failed, *action.labels]))


def _reopen(tracker: Tracker, key: str, action: Reopen) -> bool:
    reopened = tracker.reopen(key, action.labels)
    if not reopened:
        log.warning("reopen_impossible", ticket=key)
    return reopened


class _NoRoom(Exception):
    """The write budget has no room for this ticket's next request."""


def _later_results(
    tracker: Tracker, key: str, comment_id: str, policy: Policy, early: bool, since: datetime | None
) -> list[str]:
    """Two runs at once may both write a result: the oldest stays, and the ids of the later ones to delete. With
    our comment's id known, that is ours alone when it is not the oldest; unknown (""), every later one.

    Results older than the config they judged (`since`) belong to an earlier config and do not count."""
    results = [
        r
        for r in own_results(tracker.get_ticket(key), policy.own, policy.signing_key)
        if r.marker.early == early and (since is None or r.comment.created >= since)
    ]
    if not comment_id:
        return [r.comment.id for r in results[1:]]
    return [comment_id] if results and results[0].comment.id != comment_id else []


def _delete(tracker: Tracker, key: str, comment_id: str) -> None:
    """Delete a duplicate result; one the other run deleted first is fine."""
    try:
        tracker.delete_comment(key, comment_id)
    except TrackerError:
        if any(c.id == comment_id for c in tracker.get_ticket(key).comments):
            raise


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
