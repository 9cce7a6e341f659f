"""What a run does with one listed ticket, decided without I/O: skip it, wait, re-apply, or measure it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from verifier.domain.action_items import incident_facts
from verifier.domain.planning import Pending, QueryPlan, plan
from verifier.domain.recheck import Due as RecheckDue
from verifier.domain.recheck import recheck, window_end
from verifier.domain.selection import (
    Choice,
    Recorded,
    body_refusal,
    judged_elsewhere,
    recorded_result,
    select_config,
    untrusted_labels,
)
from verifier.domain.tickets import Ticket, fold_resolution
from verifier.domain.verdicts import Verdict, invalid
from verifier.errors import ConfigError


@dataclass(frozen=True)
class Policy:
    trusted: frozenset[str]  # authors whose configs count (the tool's own account included)
    own: frozenset[str]  # the tool's own account(s): only their result markers count
    not_a_fix: frozenset[str]  # resolutions that are not a fix, folded (fold_resolution): won't do, not_planned
    early: bool = False  # on-call's --now: judge the window so far
    judged_labels: frozenset[str] = frozenset()  # the verified and failed labels: judged elsewhere without our result
    rejudge: bool = False  # judge tickets judged elsewhere all the same
    signing_key: bytes | None = None  # VERIFIER_SIGNING_KEY: results are signed with it, and must verify
    settle: timedelta = timedelta(0)  # VERIFIER_SETTLE_SECONDS: how old a window's end must be before it is judged
    judged_since: datetime | None = None  # the lookback: windows that ended before it are left alone
    recheck_action: str = "comment"  # VERIFIER_RECHECK_ACTION: what a re-check that finds a regression does


@dataclass(frozen=True)
class Skip:
    reason: str  # "open", "not a fix: Won't Do", "no trusted config"
    ignored_authors: tuple[str, ...] = ()
    elsewhere: bool = False  # judged by someone else (the article's script, a person): never written to
    outside: bool = False  # its window ended before the lookback: left alone, as if not listed


@dataclass(frozen=True)
class Wait:
    pending: Pending


@dataclass(frozen=True)
class AlreadyRecorded:
    """A result exists for this resolution: only labels or a reopen may still be missing."""

    recorded: Recorded
    recheck: bool = False  # the recorded result is a later re-check's (`recheck.py`)


@dataclass(frozen=True)
class Measure:
    plan: QueryPlan
    refused: tuple[str, ...] = ()  # inputs not from a trusted hand, left out (also in the plan's notes)
    recheck: bool = False  # a later re-check of a VERIFIED result (`recheck.py`)


@dataclass(frozen=True)
class Judged:
    """Decided without measuring: the config is invalid."""

    verdict: Verdict


Triage = Skip | Wait | AlreadyRecorded | Measure | Judged


def triage(ticket: Ticket, now: datetime, policy: Policy) -> Triage:
    # The lookback counts from the window's end, so that no delay is beyond the listing's reach; a ticket without a
    # readable config has no window, and counts from its resolution (as the listing once did).
    if ticket.kind != "issue":
        return Skip(f"a {ticket.kind}, not an action item", outside=_outside(ticket.resolved_at, policy))
    if ticket.resolved_at is None:
        return Skip("not resolved")
    if ticket.resolution and fold_resolution(ticket.resolution) in policy.not_a_fix:
        return Skip(f"not a fix: {ticket.resolution}", outside=_outside(ticket.resolved_at, policy))
    selection = select_config(ticket, policy.trusted, policy.own, policy.signing_key)
    choice = selection.choice
    if choice is None:
        return Skip("no trusted config", selection.ignored_authors, outside=_outside(ticket.resolved_at, policy))
    ended = window_end(choice.config, ticket.resolved_at) if choice.config else ticket.resolved_at
    if _outside(ended, policy):
        return Skip(f"its window ended {ended.isoformat()}, before the lookback", outside=True)
    if not policy.rejudge:
        elsewhere = judged_elsewhere(ticket, policy.own, policy.trusted, policy.judged_labels)
        if elsewhere is not None:
            return Skip(elsewhere, selection.ignored_authors, elsewhere=True)
    recorded = recorded_result(ticket, policy.own, choice, early=policy.early, key=policy.signing_key)
    if recorded is not None:
        return _recheck(ticket, choice, recorded, now, policy)
    if choice.error is not None:
        return Judged(invalid(str(choice.error)))
    assert choice.config is not None
    # The incident's recorded value and time (a baseline) count only from a body its trusted creator wrote and
    # nobody untrusted changed: refused otherwise, and a condition relative to them is then INVALID.
    refusal = body_refusal(ticket, policy.trusted)
    try:
        facts = incident_facts(ticket.body) if refusal is None else None
        planned = plan(choice.config, ticket.resolved_at, now, early=policy.early, incident=facts, settle=policy.settle)
    except ConfigError as error:
        problem = error
        if refusal is not None and any(p.condition.relative for p in choice.config.parts or (choice.config,)):
            problem = ConfigError("text", f"the baseline (the incident's value and time) is refused: {refusal}")
        return Judged(invalid(str(problem.for_ticket(ticket.key))))
    if isinstance(planned, Pending):
        return Wait(planned)
    refused = untrusted_labels(ticket, policy.trusted, policy.judged_labels)
    if refused:  # said in the comment: the label is not taken for a judgement, so the ticket is judged here
        note = f"not judged elsewhere: labels no trusted account added: {', '.join(refused)}"
        return Measure(replace(planned, notes=(*planned.notes, note)), (note,))
    return Measure(planned)


def _recheck(ticket: Ticket, choice: Choice, recorded: Recorded, now: datetime, policy: Policy) -> Triage:
    """A ticket with a result of ours: its later re-check when one is due (`recheck.py`), else the result."""
    if policy.early:  # on-call's --now judges windows early; a re-check waits for the scheduled run
        return AlreadyRecorded(recorded)
    facts = incident_facts(ticket.body) if body_refusal(ticket, policy.trusted) is None else None
    try:
        again = recheck(
            ticket, choice, recorded, now, own=policy.own, key=policy.signing_key, facts=facts, settle=policy.settle
        )
    except ConfigError:  # the config planned at its window: a baseline the body no longer gives is not re-checked
        return AlreadyRecorded(recorded)
    if isinstance(again, RecheckDue):
        return Measure(again.plan, recheck=True)
    if isinstance(again, Recorded):
        return AlreadyRecorded(again, recheck=True)
    return AlreadyRecorded(recorded)


def _outside(moment: datetime | None, policy: Policy) -> bool:
    """Whether `moment` (a window's end, or a resolution) is before the lookback: the ticket is left alone."""
    return policy.judged_since is not None and moment is not None and moment < policy.judged_since
