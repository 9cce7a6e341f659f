"""Overdue reminders: an open action item past the SLA of its priority gets one reminder per breach.

A breach is identified by its due date, carried in the reminder's marker line; a later run that finds it writes
nothing, and a changed priority (a new due date) is a new breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from verifier import defaults
from verifier.domain.protocol import parse_reminder, reminder_marker
from verifier.domain.sla import due_date, priority
from verifier.domain.tickets import Flavour, Ticket

LABEL = defaults.OVERDUE_LABEL


@dataclass(frozen=True)
class Owed:
    """What an overdue open ticket is still owed for its breach (due on `due`): the reminder, the `overdue` label,
    or both. The label alone when a run stopped between the two (the reminder is what marks the breach)."""

    due: datetime
    reminder: bool
    label: bool

    @property
    def writes(self) -> list[str]:
        return [w for w, owed in (("reminder", self.reminder), (f"label {LABEL}", self.label)) if owed]


def owed(ticket: Ticket, own: frozenset[str], sla_days: Mapping[str, int], now: datetime) -> Owed | None:
    """What an overdue open ticket is still owed for its breach; None when nothing, or when it is not overdue."""
    if ticket.resolved_at is not None:
        return None
    due = due_date(ticket, sla_days)
    if due is None or due >= now:
        return None
    stamp = due.date().isoformat()
    reminded = any(
        comment.author in own and not comment.edited and parse_reminder(comment.body) == stamp
        for comment in ticket.comments
    )
    if reminded and LABEL in ticket.labels:
        return None
    return Owed(due, reminder=not reminded, label=LABEL not in ticket.labels)


def render_reminder(ticket: Ticket, due: datetime, now: datetime, flavour: Flavour) -> str:
    late = (now - due).days
    text = (
        f"This {priority(ticket)} post-incident action item was due on {due.date().isoformat()} and is {late} days late. "
        "Please finish it, or lower its priority or close it with a reason if the plan changed."
    )
    marker = reminder_marker(due.date())
    if flavour is Flavour.JIRA_WIKI:
        return f"h3. (!) Overdue action item\n{text}\n\n{marker}"
    return f"### ⏰ Overdue action item\n{text}\n\n<sub>{marker}</sub>"
