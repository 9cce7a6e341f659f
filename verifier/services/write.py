"""The writes of a run, streamed: each due ticket is written as soon as its verdict is ready, in three steps:

1. re-read it (reads cost no budget) and decide its writes from the ticket as re-read (`reread_and_decide`, the
   one place; `actions.decide` settles them);
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog

from verifier.domain.actions import (
    MOST_WRITES,
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
from verifier.services.workers import Workers

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
    def retries_charged(self, stop: threading.Event | None = None) -> Iterator[None]:
        """While inside, the adapters send a write again only when it can be charged (`RESEND_WRITE`), and not
        once `stop` is set: a stopped run waits for no retry."""

        def resend() -> bool:
            return not (stop is not None and stop.is_set()) and self.charge()

        token = RESEND_WRITE.set(resend)
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


class Ledger:
    """The write budget's order: tickets reserve in their rank (oldest due first) however their verdicts arrive.

    A rank not decided yet holds `MOST_WRITES`; a decided one its charge. A ticket reserves at once when its charge
    fits in what would be left even if every earlier rank took its hold, else it waits for them; it is refused
    (left for the next run) only once no earlier rank holds anything, as it would be in a sequential pass. When
    the budget covers every hold, the common case, nobody waits."""

    def __init__(self, budget: Budget, ranks: int) -> None:
        self.budget = budget
        self._holds = _Sums(ranks, MOST_WRITES)
        self._waiting: dict[int, tuple[int, Callable[[bool], None]]] = {}
        self._lock = threading.Lock()

    def request(self, rank: int, charge: int, later: Callable[[bool], None]) -> bool | None:
        """True: `charge` is reserved; False: it does not fit; None: it waits for earlier ranks, and `later` is
        called with the answer (from the thread that settled them)."""
        with self._lock:
            self._holds.set(rank, charge)
            answer = self._answer(rank, charge)
            if answer is None:
                self._waiting[rank] = (charge, later)
                return None
        self._settle()
        return answer

    def release(self, rank: int) -> None:
        """`rank` reserves nothing (no writes, a failed read, never measured)."""
        with self._lock:
            self._holds.set(rank, 0)
        self._settle()

    def give_back(self, count: int) -> None:
        self.budget.give_back(count)
        self._settle()

    def _answer(self, rank: int, charge: int) -> bool | None:
        """Under the lock: reserve `charge` for `rank` if it fits (its hold then goes), refuse, or wait (None)."""
        left = self.budget.left
        fits = self._holds.total <= left or charge <= left - self._holds.before(rank)
        if fits and self.budget.take(charge):
            self._holds.set(rank, 0)
            return True
        if self._holds.before(rank) == 0:
            self._holds.set(rank, 0)
            return False
        return None

    def _settle(self) -> None:
        """Answer the waiting ranks that can be answered now, in order."""
        answers: list[tuple[Callable[[bool], None], bool]] = []
        with self._lock:
            for rank in sorted(self._waiting):
                charge, later = self._waiting[rank]
                answer = self._answer(rank, charge)
                if answer is not None:
                    del self._waiting[rank]
                    answers.append((later, answer))
                elif self._holds.before(rank) >= self.budget.left:
                    break  # every later rank waits too: nothing is left beyond the holds before it
        for later, answer in answers:
            later(answer)


class _Sums:
    """Holds by rank with their running sums (a Fenwick tree): a rank's prefix in log time at 50,000 tickets."""

    def __init__(self, size: int, each: int) -> None:
        self._values = [each] * size
        self._tree = [0] * (size + 1)
        self.total = 0
        for rank in range(size):
            self._add(rank, each)

    def set(self, rank: int, value: int) -> None:
        self._add(rank, value - self._values[rank])
        self._values[rank] = value

    def before(self, rank: int) -> int:
        """The sum of the holds of the ranks before `rank`."""
        total, i = 0, rank
        while i > 0:
            total += self._tree[i]
            i -= i & -i
        return total

    def _add(self, rank: int, delta: int) -> None:
        self.total += delta
        i = rank + 1
        while i < len(self._tree):
            self._tree[i] += delta
            i += i & -i


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

    def write(self, rank: int, job: Job) -> None:
        if not _decide(job, job.listed, self.ctx).actions:  # from the listing: no read needed
            self.ledger.release(rank)
            return
        self._workers.submit(partial(self._start, rank, job))

    def skip(self, rank: int) -> None:
        self.ledger.release(rank)

    def finish(self) -> Phase:
        self._workers.wait()
        phase = self.phase
        phase.interrupted = phase.interrupted or self.ctx.stop.is_set()
        if self.ctx.halt.is_set():
            phase.throttled = next((w.error for w in phase.written.values() if w.error.startswith("throttled")), "")
        return phase

    def _start(self, rank: int, job: Job) -> None:
        key, ctx = job.listed.key, self.ctx
        if ctx.stop.is_set() or ctx.halt.is_set() or self.ledger.budget.left == 0:  # not even read then
            self._done(key, Written(deferred=(why := _why_not(ctx, self.phase))), rank)
            if why == BUDGET_SPENT:
                log.info("write_budget_exhausted", ticket=key, budget=self.ledger.budget.total)
            return
        decision = reread_and_decide(job, ctx)
        if isinstance(decision, str):
            if decision.startswith("throttled"):
                ctx.halt.set()
            self._done(key, Written(error=decision), rank)
        elif not decision.actions:
            self._done(key, Written(note=decision.note), rank)
        else:
            answer = self.ledger.request(rank, decision.charge, partial(self._reserved, job, decision))
            if answer is not None:
                self._reserved(job, decision, answer, queued=False)

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


def _decide(job: Job, ticket: Ticket, ctx: Context) -> Decision:
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
    )


def _why_not(ctx: Context, phase: Phase) -> str:
    if ctx.stop.is_set():
        phase.interrupted = True
        return "the run was stopped"
    if ctx.halt.is_set():
        return "the tracker's rate limit stopped the writing"
    return BUDGET_SPENT


def reread_and_decide(job: Job, ctx: Context) -> Decision | str:
    """The one place a due ticket is decided before writing: re-read it (another run or a person may have acted
    since the listing) and decide its writes from what it is now; a one-line error when it cannot be read."""
    key = job.listed.key
    try:
        ticket = ctx.tracker.get_ticket(key)
    except TrackerThrottled as error:
        log.error("tracker_throttled", ticket=key, error=str(error))
        return f"throttled: {error}"
    except TrackerError as error:
        log.error("write_failed", ticket=key, error=str(error))
        return f"tracker read before writing failed: {error}"
    return _decide(job, ticket, ctx)


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
    except _Stopped:
        written.deferred = "the run was stopped"
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
        if ctx.stop.is_set():  # the result comment went first: the next run applies what is missing
            raise _Stopped
        if not allowance.charge():
            raise _NoRoom
        with allowance.retries_charged(ctx.stop):
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
