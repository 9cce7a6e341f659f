"""The writes of a run, streamed: each due ticket is written as soon as its verdict is ready, in three steps:

1. re-read it (reads cost no budget; a tracker with `BatchReads` re-reads the verdicts that came in meanwhile in
   one request) and decide its writes from the ticket as re-read (`decide_reread`, the one place; `actions.missing_writes`
   settles them);
2. reserve them from the write budget in the run's order, oldest due first (`Ledger`): a ticket whose writes do
   not fit is left for the next run, and a later ticket never takes an earlier one's place;
3. apply them on the tracker's pool; each apply returns what it sent, and the run builds its report from those
   values. A stopped run (SIGTERM) sends nothing more after the request in flight.

The budget is a cap on write requests: every request sent is charged (comments, labels, transitions, deletes,
notes; a failed attempt too). What only a failure asks for (the note after an impossible reopen, deleting a
duplicate result) is drawn from what is left of the budget when it happens, and left for the next run if nothing is.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
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
    describe,
    missing_writes,
)
from verifier.domain.selection import own_results
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import BatchReads, Tracker
from verifier.redaction import redact
from verifier.services.budget import Allowance, Budget, Ledger
from verifier.services.workers import Workers

log = structlog.get_logger("verifier.run")
T = TypeVar("T")
BUDGET_SPENT = "the write budget is used up"
STOPPED = "the run was stopped"
RATE_LIMITED = "the tracker's rate limit stopped the writing"


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
    throttled: bool = False  # ...because the tracker's rate limit refused it: the run writes nothing more
    deferred: str = ""  # why (part of) it is left for the next run
    note: str = ""  # why it got no writes


@dataclass(frozen=True)
class Unread:
    """A ticket that could not be re-read before writing: the one-line error, and whether the tracker's rate limit
    refused the read (the run then writes nothing more)."""

    error: str
    throttled: bool = False


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


class Writer:
    """Writes each due ticket as soon as its verdict is ready: re-read, decide, reserve (in rank order, `Ledger`),
    apply, on the tracker's pool. `write` and `skip` are called once per rank; `finish` waits for the writes."""

    def __init__(
        self,
        tracker: Tracker,
        policy: Policy,
        labels: Labels,
        budget: Budget,
        *,
        ranks: int,
        workers: Workers,
        stop: threading.Event,
    ) -> None:
        self.ctx = Context(tracker, policy, labels, stop, threading.Event())
        self.ledger = Ledger(budget, ranks)
        self.phase = Phase()
        self._workers = workers
        self._ready: deque[tuple[int, Job]] = deque()  # verdicts in, not re-read yet
        self._lock = threading.Lock()

    def write(self, rank: int, job: Job) -> None:
        if not _decide(job, job.listed, self.ctx).actions:  # from the listing: no read needed
            self.ledger.release(rank)
            return
        with self._lock:
            self._ready.append((rank, job))
        self._workers.submit(self._next)

    def skip(self, rank: int) -> None:
        self.ledger.release(rank)

    def finish(self) -> Phase:
        self._workers.wait()
        phase = self.phase
        phase.interrupted = phase.interrupted or self.ctx.stop.is_set()
        if self.ctx.halt.is_set():
            phase.throttled = next((w.error for w in phase.written.values() if w.throttled), "")
        return phase

    def _next(self) -> None:
        """Take the tickets ready and not taken yet (as many as one read can name; one when the tracker reads
        one at a time), re-read them, decide each and reserve its writes. Under load a read names many tickets;
        when verdicts come in one by one, each is read at once."""
        ctx, tracker = self.ctx, self.ctx.tracker
        size = tracker.batch_size if isinstance(tracker, BatchReads) else 1
        with self._lock:
            taken = [self._ready.popleft() for _ in range(min(size, len(self._ready)))]
        fresh = self._read_many([job.listed.key for _, job in taken]) if len(taken) > 1 else {}
        for rank, job in taken:
            key = job.listed.key
            if ctx.stop.is_set() or ctx.halt.is_set() or self.ledger.budget.left == 0:  # not even read then
                self._done(key, Written(deferred=(why := _why_not(ctx, self.phase))), rank)
                if why == BUDGET_SPENT:
                    log.info("write_budget_exhausted", ticket=key, budget=self.ledger.budget.total)
                continue
            decision = decide_reread(job, fresh.get(key) or reread(tracker, key), ctx)
            if isinstance(decision, Unread):
                if decision.throttled:
                    ctx.halt.set()
                self._done(key, Written(error=decision.error, throttled=decision.throttled), rank)
            elif not decision.actions:
                self._done(key, Written(note=decision.note), rank)
            else:
                answer = self.ledger.request(rank, decision.charge, partial(self._reserved, job, decision))
                if answer is not None:
                    self._reserved(job, decision, answer, queued=len(taken) > 1)

    def _read_many(self, keys: list[str]) -> dict[str, Ticket | Unread]:
        """The tickets of one batched read; {} when the read failed (each is then read alone), and a rate limit
        as the first ticket's error (the others wait for the next run)."""
        tracker = self.ctx.tracker
        assert isinstance(tracker, BatchReads)
        try:
            return dict(tracker.get_tickets(keys))
        except TrackerThrottled as error:
            log.error("tracker_throttled", ticket=keys[0], error=str(error))
            return {keys[0]: Unread(f"throttled: {error}", throttled=True)}
        except TrackerError as error:  # a key that no longer exists fails the whole search: read them alone
            log.warning("batched_read_failed", tickets=len(keys), error=str(error))
            return {}

    def _reserved(self, job: Job, decision: Decision, granted: bool, *, queued: bool = True) -> None:
        key = job.listed.key
        if not granted:
            self.phase.written[key] = Written(deferred=BUDGET_SPENT)
            log.info("write_budget_exhausted", ticket=key, budget=self.ledger.budget.total)
            return
        allowance = Allowance(self.ledger.budget, decision.charge)
        apply = partial(self._apply, job, decision, allowance)
        self._workers.submit(apply) if queued else apply()

    def _apply(self, job: Job, decision: Decision, allowance: Allowance) -> None:
        written = _apply_safely(self.ctx, job.listed.key, job.verdict, decision, allowance)
        self.phase.written[job.listed.key] = written
        self.ledger.give_back(0)  # what `settle` gave back may let a waiting ticket in

    def _done(self, key: str, written: Written, rank: int) -> None:
        self.phase.written[key] = written
        self.ledger.release(rank)


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
    """Write `jobs` (ordered: oldest due first) within `budget`, every verdict ready already."""
    if dry_run:
        phase = Phase()
        ctx = Context(tracker, policy, labels, stop, threading.Event())
        for job in jobs:
            decision = _decide(job, job.listed, ctx)
            if not decision.actions:
                continue
            phase.written[job.listed.key] = written = Written([describe(a) for a in decision.actions])
            if not budget.take(decision.charge):  # still listed: the first-run plan counts every ticket's writes
                written.deferred = BUDGET_SPENT
        return phase
    workers = Workers(concurrency, "write")
    try:
        writer = Writer(tracker, policy, labels, budget, ranks=len(jobs), workers=workers, stop=stop)
        for rank, job in enumerate(jobs):
            writer.write(rank, job)
        return writer.finish()
    finally:
        workers.close()


def _decide(job: Job, ticket: Ticket, ctx: Context, judged: str | None = None) -> Decision:
    return missing_writes(
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
        return STOPPED
    if ctx.halt.is_set():
        return RATE_LIMITED
    return BUDGET_SPENT


def reread(tracker: Tracker, key: str) -> Ticket | Unread:
    """The ticket as it is now, or why it could not be read."""
    try:
        return tracker.get_ticket(key)
    except TrackerThrottled as error:
        log.error("tracker_throttled", ticket=key, error=str(error))
        return Unread(f"throttled: {error}", throttled=True)
    except TrackerError as error:
        log.error("write_failed", ticket=key, error=str(error))
        return Unread(f"tracker read before writing failed: {error}")


def decide_reread(job: Job, fresh: Ticket | Unread, ctx: Context) -> Decision | Unread:
    """The one place a due ticket is decided before writing, from the ticket as re-read just now (another run or
    a person may have acted since the listing); why it could not be read otherwise."""
    if isinstance(fresh, Unread):
        return fresh
    return _decide(job, fresh, ctx, judged=job.verdict.config)  # and the config judged still the current one


class Sender:
    """Sends one ticket's writes, one at a time: each is charged to the ticket's allowance before it goes (its
    retries too) and recorded once sent. No room left, or a stopped run, ends the ticket's writes there."""

    def __init__(self, allowance: Allowance, written: Written, stop: threading.Event) -> None:
        self._allowance, self._written, self._stop = allowance, written, stop

    def __call__(self, action: str, request: Callable[[], T], *, no_room: str = BUDGET_SPENT) -> T:
        if self._stop.is_set():  # what was sent records the decision: the next run applies what is missing
            raise _Stopped
        if not self._allowance.charge():
            raise _NoRoom(no_room)
        with self._allowance.retries_charged(self._stop):
            answer = request()
        self._written.actions.append(action)  # once sent: the summary lists only what was written
        return answer


def write_safely(
    key: str,
    allowance: Allowance,
    stop: threading.Event,
    halt: threading.Event,
    writes: Callable[[Sender, Written], None],
) -> Written:
    """Run one ticket's `writes` within its `allowance`: the write phase's and the reminders' one error handling.
    A rate limit sets `halt` (no new ticket starts); any other failure is this ticket's alone. What the allowance
    did not use goes back to the budget."""
    written = Written()
    if stop.is_set() or halt.is_set():
        written.deferred = STOPPED if stop.is_set() else RATE_LIMITED
        allowance.settle()
        return written
    try:
        writes(Sender(allowance, written, stop), written)
    except _NoRoom as no_room:
        written.deferred = str(no_room)  # what is missing is re-applied by the next run
    except _Stopped:
        written.deferred = STOPPED
    except TrackerThrottled as error:
        halt.set()
        log.error("tracker_throttled", ticket=key, error=str(error))
        written.error, written.throttled = f"throttled: {error}", True
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


def _apply_safely(ctx: Context, key: str, verdict: Verdict, decision: Decision, allowance: Allowance) -> Written:
    return write_safely(key, allowance, ctx.stop, ctx.halt, partial(_apply, ctx, key, verdict, decision, allowance))


def _apply(
    ctx: Context,
    key: str,
    verdict: Verdict,
    decision: Decision,
    allowance: Allowance,
    send: Sender,
    written: Written,
) -> None:
    """Send the decided writes in order. The result comment goes first: it records the decision, so a run cut
    short re-applies only what is missing next time."""
    tracker = ctx.tracker
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
    """The write budget has no room for this ticket's next request; its text says what is left undone."""


class _Stopped(Exception):
    """The run was stopped (SIGTERM) between two of this ticket's requests."""


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
