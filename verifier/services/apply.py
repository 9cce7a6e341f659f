"""One ticket's decided writes, sent (the third step of `write.py`): the result comment first, then, once the check
after it found no concurrent run's duplicate (`check_written`, fed by the writer's batched reads), the rest. Every
request is charged to the ticket's allowance of the write budget; what stops a ticket's writes (the budget, a
stop, a refusal, a bug) becomes its `Written`, and the other tickets go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog

from verifier.domain.actions import (
    REOPEN_FAILED_NOTE,
    Action,
    AddLabel,
    Decision,
    Labels,
    Reopen,
    WriteComment,
    describe,
)
from verifier.domain.recheck import recheck_results
from verifier.domain.selection import own_results
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import Tracker
from verifier.redaction import redact
from verifier.services.budget import Allowance

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
class Context:
    tracker: Tracker
    policy: Policy
    labels: Labels
    stop: threading.Event
    halt: threading.Event  # set when the tracker throttles: no new ticket starts


@dataclass
class Step:
    """A ticket's writes under way: `rest` still to send; `checking` once its result comment was sent (its id,
    or "" when the tracker does not tell it) and not yet checked for a concurrent run's duplicate."""

    job: Job
    decision: Decision
    allowance: Allowance
    written: Written
    rest: Sequence[Action]
    checking: bool = False
    comment_id: str = ""


def guarded(halt: threading.Event, key: str, written: Written, writes: Callable[[], bool]) -> bool:
    """Run `writes` (True: paused after a result comment, to be checked), turning what stops a ticket's writes
    into its `Written`: the write phase's and the reminders' one error handling. A rate limit sets `halt` (no new
    ticket starts); any other failure is this ticket's alone, never the others'."""
    try:
        return writes()
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
    return False


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
    """Run one ticket's `writes` (the reminders') within its `allowance`, with the write phase's error handling
    (`guarded`). What the allowance did not use goes back to the budget."""
    written = Written()
    if stop.is_set() or halt.is_set():
        written.deferred = STOPPED if stop.is_set() else RATE_LIMITED
        allowance.settle()
        return written

    def send_all() -> bool:
        writes(Sender(allowance, written, stop), written)
        return False  # nothing to check after: reminders write no result

    try:
        guarded(halt, key, written, send_all)
    finally:
        written.writes = allowance.sent
        allowance.settle()
    return written


def _send(ctx: Context, step: Step, action: str, request: Callable[[], T]) -> T:
    """One write request of the ticket's step: `Sender`'s rule."""
    return Sender(step.allowance, step.written, ctx.stop)(action, request)


def apply_until_comment(ctx: Context, step: Step) -> bool:
    """Send the decided writes in order, stopping after a result comment (True: it is to be checked). The
    result comment goes first: it records the decision, so a run cut short re-applies only what is missing."""
    tracker, key, written = ctx.tracker, step.job.listed.key, step.written
    actions, step.rest = list(step.rest), ()
    for n, action in enumerate(actions):
        if isinstance(action, WriteComment):
            body = redact(action.body)  # a backend's error or warning text may echo a secret
            step.comment_id = _send(ctx, step, describe(action), partial(tracker.comment, key, body, action.labels))
            step.rest, step.checking = actions[n + 1 :], True
            return True
        if isinstance(action, AddLabel):
            _send(ctx, step, describe(action), partial(tracker.add_labels, key, [action.label]))
        elif isinstance(action, Reopen):
            # Sent as a write; a workflow with no way back sends none, and the charge is given back.
            reopened = _send(ctx, step, describe(action), partial(_reopen, tracker, key, action))
            if not reopened:
                step.allowance.sent -= 1
                written.actions.pop()
            if not reopened:
                _say_impossible(ctx, step, action)
    return False


def check_written(ctx: Context, step: Step, fresh: Ticket | None) -> bool:
    """After a result comment: two runs at once (the CronJob and an on-call Job) may both have written one. On
    the ticket as read after it (`fresh`, from a batched read; else read now), the oldest result stays: a later
    one of ours is deleted and the rest of the writes left to the run whose result stays. Otherwise go on."""
    tracker, key, verdict = ctx.tracker, step.job.listed.key, step.job.verdict
    ticket = fresh if fresh is not None else tracker.get_ticket(key)
    later = _later_results(ticket, step.comment_id, ctx.policy, verdict, step.decision.config_since)
    step.checking = False
    if later:
        # It applies the rest (or, when neither run can tell whose comment is whose, the next run re-applies
        # what is missing).
        for duplicate in later:
            _send(ctx, step, "delete", partial(_delete, tracker, key, duplicate))
        step.written.actions[-1] = "deleted: a concurrent run wrote the same result first"
        return False
    return apply_until_comment(ctx, step)


def _say_impossible(ctx: Context, step: Step, action: Reopen) -> None:
    """The note and the label that the reopen is impossible, each unless already there (`Reopen`), and the labels
    that were to ride with the reopen."""
    tracker, key = ctx.tracker, step.job.listed.key
    reopen_failed = ctx.labels.reopen_failed
    labels = [reopen_failed] if action.label_if_impossible else []
    labels += action.labels
    if not step.allowance.take(int(action.note_if_impossible) + int(bool(labels))):
        step.written.deferred = "the note that the reopen is impossible: " + BUDGET_SPENT
        return
    if action.note_if_impossible:
        _send(ctx, step, "reopen impossible: comment", partial(tracker.comment, key, REOPEN_FAILED_NOTE))
    if labels:
        _send(ctx, step, "label " + ", ".join(labels), partial(tracker.add_labels, key, labels))


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
    ticket: Ticket, comment_id: str, policy: Policy, verdict: Verdict, since: datetime | None
) -> list[str]:
    """Two runs at once may both write a result: the oldest stays, and the ids of the later ones to delete. With
    our comment's id known, that is ours alone when it is not the oldest; unknown (""), every later one.

    Results older than the config they judged (`since`) belong to an earlier config and do not count."""
    if verdict.recheck:  # a re-check's comment is one of the re-checks, never one of the results
        found = recheck_results(ticket, policy.own, policy.signing_key)
    else:
        found = [r for r in own_results(ticket, policy.own, policy.signing_key) if r.marker.early == verdict.early]
    results = [r for r in found if since is None or r.comment.created >= since]
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
