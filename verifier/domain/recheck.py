"""A later re-check (`recheck_after:`): a fix VERIFIED at its window is judged again later, once.

The re-check judges the same config over a window of the same length, `recheck_after` later: from
`resolved + recheck_after + delay - window` to `resolved + recheck_after + delay`, once that end is settled. It is
due only for a ticket whose newest result of ours for its current resolution and config says VERIFIED (not early),
and it writes its own marker (`protocol.recheck_marker`), so a second run writes nothing:

    FAILED        a comment, the `regressed-later` label (`protocol.REGRESSED_LABEL`), and a reopen when
                  VERIFIER_RECHECK_ACTION is `reopen` (default `comment`: the comment and the label only)
    VERIFIED      one comment saying the fix still holds (no label: it has `verified-by-otel` already)
    INCONCLUSIVE  one comment saying so; no label, no reopen: the earlier verification stands
    INVALID       one comment; ERROR writes nothing (the next run tries again)

Listing: a re-check is due at most `delay + recheck_after` (at most 366 days, `config.py`) after the resolution,
which is how far back the run's listing already reaches (`stream.listing_days`), so the trackers' queries are the
same and cost nothing more; a done ticket whose re-check is not due yet is triaged as already recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from verifier.domain.actions import (
    AddLabel,
    Decision,
    Labels,
    Reopen,
    WriteComment,
    combined,
    impossible_unsaid,
    judged_elsewise,
    spare_noted,
)
from verifier.domain.binding import fingerprint_of
from verifier.domain.config import VerificationConfig
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, plan
from verifier.domain.protocol import REGRESSED_LABEL, parse_recheck, recheck_signature, recheck_signed_by
from verifier.domain.render import RECHECK_REOPENED, render_recheck
from verifier.domain.selection import Choice, Recorded, select_config
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Verdict

ACTIONS = ("comment", "reopen")  # VERIFIER_RECHECK_ACTION


@dataclass(frozen=True)
class Due:
    """A re-check to measure now."""

    plan: QueryPlan


def window_end(config: VerificationConfig, resolved_at: datetime) -> datetime:
    """When the re-check's window ends (the end of the ticket's window when no re-check is asked for)."""
    return resolved_at + config.delay + (config.recheck_after or timedelta(0))


def recheck(
    ticket: Ticket,
    choice: Choice,
    recorded: Recorded,
    now: datetime,
    *,
    own: frozenset[str],
    key: bytes | None,
    facts: IncidentFacts | None,
    settle: timedelta,
) -> Due | Recorded | None:
    """The re-check of a ticket whose result is `recorded`: due now, already written (its `Recorded`), or None:
    none asked for, the result is not a scheduled VERIFIED, or the re-check's window is not over and settled."""
    config = choice.config
    if config is None or config.recheck_after is None or ticket.resolved_at is None:
        return None
    if recorded.marker.verdict is not Outcome.VERIFIED or recorded.marker.early:
        return None
    written = recorded_recheck(ticket, own, choice, key)
    if written is not None:
        return written
    planned = plan(config, ticket.resolved_at + config.recheck_after, now, incident=facts, settle=settle)
    if isinstance(planned, Pending):
        return None
    verified = recorded.comment.created.date().isoformat()
    note = f"re-check {_days(config.recheck_after)} after the window judged {Outcome.VERIFIED} on {verified}"
    return Due(replace(planned, notes=(*planned.notes, note)))


def _days(duration: timedelta) -> str:
    days = duration.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{duration.total_seconds() / 3600:g} hours"


def recheck_results(ticket: Ticket, own: frozenset[str], key: bytes | None) -> list[Recorded]:
    """The tool's re-check comments for the ticket's current resolution, oldest first: by its account, never
    edited, and, with a signing key, signed as a re-check of this ticket."""
    if ticket.resolved_at is None:
        return []
    resolved = ticket.resolved_at.replace(microsecond=0)
    found = []
    for comment in sorted(ticket.comments, key=_order):
        if comment.author not in own or comment.edited:
            continue
        marker = parse_recheck(comment.body)
        if marker is None or marker.resolved_at != resolved:
            continue
        if key is not None and not recheck_signed_by(key, ticket.key, marker):
            continue
        found.append(Recorded(marker, comment))
    return found


def recorded_recheck(ticket: Ticket, own: frozenset[str], choice: Choice | None, key: bytes | None) -> Recorded | None:
    """The re-check already written for this resolution of this config (not older than the config), if any."""
    current = fingerprint_of(choice.config) if choice is not None else None
    for found in reversed(recheck_results(ticket, own, key)):
        if choice is not None and choice.created is not None and found.comment.created < choice.created:
            return None
        if found.marker.config is not None and current is not None and found.marker.config != current:
            continue
        return found
    return None


def _order(comment: Comment) -> tuple[datetime, int, str]:
    return (comment.created, len(comment.id), comment.id)


def decide_recheck(
    verdict: Verdict,
    listed_resolved_at: datetime | None,
    ticket: Ticket,
    flavour: Flavour,
    labels: Labels,
    *,
    trusted: frozenset[str],
    own: frozenset[str],
    already_written: bool,
    reopens: bool,
    labels_with: frozenset[str] = frozenset(),
    signing_key: bytes | None = None,
    judged: str | None = None,
) -> Decision:
    """`actions.missing_writes` for a re-check's verdict: the writes still missing on `ticket` as re-read now."""
    if ticket.resolved_at != listed_resolved_at:
        return Decision(note="the ticket changed since it was listed, left for the next run")
    choice = select_config(ticket, trusted, own, signing_key).choice
    stale = judged_elsewise(judged, choice)
    if stale is not None:
        return Decision(note=stale)
    recorded = recorded_recheck(ticket, own, choice, signing_key)
    written = already_written or recorded is not None
    if recorded is not None:  # what its comment announced, whatever the setting says now
        reopens = RECHECK_REOPENED in recorded.comment.body
    actions = recheck_actions(
        verdict,
        ticket,
        flavour,
        labels,
        already_written=written,
        reopens=reopens,
        labels_with=labels_with,
        signing_key=signing_key,
    )
    return Decision(spare_noted(actions, ticket, own), config_since=choice.created if choice else None)


def recheck_actions(
    verdict: Verdict,
    ticket: Ticket,
    flavour: Flavour,
    labels: Labels,
    *,
    already_written: bool,
    reopens: bool,
    labels_with: frozenset[str] = frozenset(),
    signing_key: bytes | None = None,
) -> list[WriteComment | AddLabel | Reopen]:
    """The writes a re-check's verdict still needs (see the module's table); PENDING and ERROR write nothing."""
    if verdict.outcome in (Outcome.PENDING, Outcome.ERROR) or ticket.resolved_at is None:
        return []
    actions: list[WriteComment | AddLabel | Reopen] = []
    if not already_written:
        signature = (
            recheck_signature(signing_key, ticket.key, verdict.outcome, ticket.resolved_at, verdict.config)
            if signing_key
            else None
        )
        body = render_recheck(verdict, ticket.resolved_at, flavour, signature, reopens=reopens)
        actions.append(WriteComment(body))
    if verdict.outcome is Outcome.FAILED:
        if REGRESSED_LABEL not in ticket.labels:
            actions.append(AddLabel(REGRESSED_LABEL))
        if reopens:
            actions.append(impossible_unsaid(ticket, labels))
    return list(combined(list(actions), labels_with))
