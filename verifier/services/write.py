"""The writes of a run, streamed: each due ticket is written as soon as its verdict is ready, in three steps:

1. re-read it (reads cost no budget; a tracker with `BatchReads` re-reads the verdicts that came in meanwhile in
   one request) and decide its writes from the ticket as re-read (`decide_reread`, the one place; `actions.decide`
   settles them);
2. reserve them from the write budget in the run's order, oldest due first (`Ledger`): a ticket whose writes do
   not fit is left for the next run, and a later ticket never takes an earlier one's place;
3. apply them on the tracker's pool (`apply.py`): the result comment, then, after a read that finds no concurrent
   run's duplicate (batched with the reads of step 1), the rest; what each ticket's writes came to goes to the
   run's report as it is known. A stopped run (SIGTERM) sends nothing more after the request in flight.

The budget is a cap on write requests: every request sent is charged (comments, labels, transitions, deletes,
notes; a failed attempt too). What only a failure asks for (the note after an impossible reopen, deleting a
duplicate result) is drawn from what is left of the budget when it happens, and left for the next run if nothing is.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import structlog

from verifier.domain.actions import (
    Decision,
    Labels,
    describe,
    missing_writes,
)
from verifier.domain.backlog import Counted
from verifier.domain.recheck import decide_recheck
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import BatchReads, Tracker
from verifier.services.apply import (
    BUDGET_SPENT,
    RATE_LIMITED,
    STOPPED,
    Context,
    Job,
    Step,
    Written,
    apply_until_comment,
    check_written,
    guarded,
)
from verifier.services.budget import Allowance, Budget, Ledger
from verifier.services.workers import Workers

__all__ = ["BUDGET_SPENT", "Job", "Phase", "Unread", "Writer", "Written", "decide_reread", "reread", "write_all"]

log = structlog.get_logger("verifier.run")


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


class Writer:
    """Writes each due ticket as soon as its verdict is ready: re-read, decide, reserve (in rank order, `Ledger`),
    apply, on the tracker's pool. `write` and `skip` are called once per rank; `finish` waits for the writes.
    A dry run's writer decides from the ticket as listed and reserves alike, and reads and sends nothing."""

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
        done: Callable[[str, Written], None] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.ctx = Context(tracker, policy, labels, stop, threading.Event())
        self.ledger = Ledger(budget, ranks)
        self.phase = Phase()
        # A dry run sends nothing: each ticket's writes are decided from the ticket as listed (or read back),
        # reserved in the budget's order like a real run's, and counted by rank for the first-run plan.
        self.planned = Counted(bytearray(ranks)) if dry_run else None
        # What each ticket's writes came to, handed to `done` as it is known (then not kept: memory stays flat
        # in the number of tickets), or kept in `phase.written`.
        self._done_hook = done
        self._workers = workers
        self._ready: deque[tuple[int, Job]] = deque()  # verdicts in, not re-read yet
        self._written: deque[Step] = deque()  # result comments sent, not checked for a duplicate yet
        self._lock = threading.Lock()
        # Asked once: a runtime Protocol check costs ~25 us (3.11), and a run has a read round per ticket or two.
        self._batch = tracker.batch_size if isinstance(tracker, BatchReads) else 1

    def write(self, rank: int, job: Job) -> bool:
        """Queue the ticket's writes; False when the listing shows it needs none (then nothing is recorded)."""
        decision = _decide(job, job.listed, self.ctx)
        if not decision.actions:  # from the listing: no read needed
            self.ledger.release(rank)
            return False
        if self.planned is not None:
            answer = self.ledger.request(rank, decision.charge, partial(self._would, rank, job, decision))
            if answer is not None:
                self._would(rank, job, decision, answer)
            return True
        with self._lock:
            self._ready.append((rank, job))
        self._workers.submit(self._next)
        return True

    def skip(self, rank: int) -> None:
        self.ledger.release(rank)

    def finish(self) -> Phase:
        self._workers.wait()
        phase = self.phase
        phase.interrupted = phase.interrupted or self.ctx.stop.is_set()
        if not self.ctx.halt.is_set():
            phase.throttled = ""
        return phase

    def _would(self, rank: int, job: Job, decision: Decision, granted: bool) -> None:
        """A dry run: what the ticket's writes would be; beyond the budget still listed (the plan counts them)."""
        written = Written([describe(action) for action in decision.actions], deferred="" if granted else BUDGET_SPENT)
        assert self.planned is not None
        with self._lock:
            self.planned.put(rank, written.actions)
        self._record(job.listed.key, written)

    def _record(self, key: str, written: Written) -> None:
        if written.throttled and not self.phase.throttled:
            self.phase.throttled = written.error  # the rate limit that stopped the writing, named once
        if self._done_hook is None:
            self.phase.written[key] = written
        else:
            self._done_hook(key, written)

    def _next(self) -> None:
        """One read round: take the tickets whose result comments were sent and not checked yet, then those ready
        and not re-read yet, as many as one read can name (one when the tracker reads one at a time), and read
        them at once: under load a read names many tickets, and when verdicts come in one by one a read serves
        the check after one ticket's writes and the read before the next one's (#26)."""
        size = self._batch
        with self._lock:
            written = [self._written.popleft() for _ in range(min(size, len(self._written)))]
            ready = [self._ready.popleft() for _ in range(min(size - len(written), len(self._ready)))]
        keys = [step.job.listed.key for step in written] + [job.listed.key for _, job in ready]
        found = self._read_many(keys) if len(keys) > 1 else {}
        many = len(keys) > 1
        for step in written:
            fresh = found.get(step.job.listed.key)
            if many and (step.rest or not isinstance(fresh, Ticket)):  # requests to send: on the pool
                self._workers.submit(partial(self._go, step, fresh if isinstance(fresh, Ticket) else None))
            else:
                self._go(step, fresh if isinstance(fresh, Ticket) else None)
        for rank, job in ready:
            try:
                self._decide_one(rank, job, found.get(job.listed.key), many=many)
            except Exception as error:  # a bug must cost this ticket alone, never the round's others, silently
                log.exception("write_crashed", ticket=job.listed.key)
                self._done(job.listed.key, Written(error=f"internal error: {error}"), rank)

    def _decide_one(self, rank: int, job: Job, fresh: Ticket | Unread | None, *, many: bool) -> None:
        """Decide a ticket's writes on the ticket as re-read (`fresh`, else read now) and reserve them."""
        ctx, key = self.ctx, job.listed.key
        if ctx.stop.is_set() or ctx.halt.is_set() or self.ledger.budget.left == 0:  # not even read then
            self._done(key, Written(deferred=(why := _why_not(ctx, self.phase))), rank)
            if why == BUDGET_SPENT:
                log.info("write_budget_exhausted", ticket=key, budget=self.ledger.budget.total)
            return
        decision = decide_reread(job, fresh or reread(ctx.tracker, key), ctx)
        if isinstance(decision, Unread):
            if decision.throttled:
                ctx.halt.set()
            self._done(key, Written(error=decision.error, throttled=decision.throttled), rank)
        elif not decision.actions:
            self._done(key, Written(note=decision.note), rank)
        else:
            answer = self.ledger.request(rank, decision.charge, partial(self._reserved, job, decision))
            if answer is not None:
                self._reserved(job, decision, answer, queued=many)

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
        except Exception:  # a bug: each ticket is read alone, where it costs that ticket alone
            log.exception("batched_read_crashed", tickets=len(keys))
            return {}

    def _reserved(self, job: Job, decision: Decision, granted: bool, *, queued: bool = True) -> None:
        key = job.listed.key
        if not granted:
            self._record(key, Written(deferred=BUDGET_SPENT))
            log.info("write_budget_exhausted", ticket=key, budget=self.ledger.budget.total)
            return
        allowance = Allowance(self.ledger.budget, decision.charge)
        apply = partial(self._apply, job, decision, allowance)
        self._workers.submit(apply) if queued else apply()

    def _apply(self, job: Job, decision: Decision, allowance: Allowance) -> None:
        written = Written()
        if self.ctx.stop.is_set() or self.ctx.halt.is_set():
            written.deferred = _why_not(self.ctx, self.phase)
            self._end(Step(job, decision, allowance, written, decision.actions))
            return
        self._go(Step(job, decision, allowance, written, decision.actions))

    def _go(self, step: Step, fresh: Ticket | None = None) -> None:
        """Send the ticket's writes up to and including its result comment, or to the end. A result comment is
        then checked for a concurrent run's duplicate (`check_written`, batched) before the rest is sent."""
        ctx, key = self.ctx, step.job.listed.key
        if step.checking:
            paused = guarded(ctx.halt, key, step.written, partial(check_written, ctx, step, fresh))
        else:
            paused = guarded(ctx.halt, key, step.written, partial(apply_until_comment, ctx, step))
        if not paused:
            self._end(step)
            return
        with self._lock:
            self._written.append(step)
        self._workers.submit(self._next)

    def _end(self, step: Step) -> None:
        step.written.writes = step.allowance.sent
        step.allowance.settle()
        self._record(step.job.listed.key, step.written)
        self.ledger.give_back(0)  # what `settle` gave back may let a waiting ticket in

    def _done(self, key: str, written: Written, rank: int) -> None:
        self._record(key, written)
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
    workers = Workers(concurrency, "write")
    try:
        writer = Writer(tracker, policy, labels, budget, ranks=len(jobs), workers=workers, stop=stop, dry_run=dry_run)
        for rank, job in enumerate(jobs):
            writer.write(rank, job)
        return writer.finish()
    finally:
        workers.close()


def needs_writes(tracker: Tracker, policy: Policy, labels: Labels, job: Job) -> bool:
    """Whether the ticket as listed needs writes, as `Writer.write` first asks (no read): one whose result is
    recorded already needs none, and the run need not hold it until the listing's end (#26)."""
    ctx = Context(tracker, policy, labels, threading.Event(), threading.Event())
    return bool(_decide(job, job.listed, ctx).actions)


def _decide(job: Job, ticket: Ticket, ctx: Context, judged: str | None = None) -> Decision:
    if job.verdict.recheck:
        return decide_recheck(
            job.verdict,
            job.listed.resolved_at,
            ticket,
            ctx.tracker.flavour,
            ctx.labels,
            trusted=ctx.policy.trusted,
            own=ctx.policy.own,
            already_written=job.already_written,
            reopens=ctx.policy.recheck_action == "reopen",
            labels_with=ctx.tracker.labels_with,
            signing_key=ctx.policy.signing_key,
            judged=judged,
        )
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
