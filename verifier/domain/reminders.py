"""Overdue reminders: an open action item past the SLA of its priority gets one reminder per breach.

A breach is identified by its due date, carried in the reminder's marker line; a later run that finds it writes
nothing, and a changed priority (a new due date) is a new breach.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from verifier import defaults
from verifier.domain.report import DEFAULT_PRIORITY, due_date
from verifier.domain.tickets import Flavour, Ticket

LABEL = defaults.OVERDUE_LABEL
_MARKER = re.compile(r"action-item-verifier reminder v1; due=(\d{4}-\d\d-\d\d)")


def breach(ticket: Ticket, own: frozenset[str], sla_days: Mapping[str, int], now: datetime) -> datetime | None:
    """The due date of an overdue open ticket that has no reminder for it yet; None otherwise."""
    if ticket.resolved_at is not None:
        return None
    due = due_date(ticket, sla_days)
    if due is None or due >= now:
        return None
    stamp = due.date().isoformat()
    for comment in ticket.comments:
        match = _MARKER.search(comment.body.replace("\\", ""))
        if comment.author in own and match and match.group(1) == stamp:
            return None
    return due


def render_reminder(ticket: Ticket, due: datetime, now: datetime, flavour: Flavour) -> str:
    priority = ticket.priority or DEFAULT_PRIORITY
    late = (now - due).days
    text = (
        f"This {priority} post-incident action item was due on {due.date().isoformat()} and is {late} days late. "
        "Please finish it, or lower its priority or close it with a reason if the plan changed."
    )
    marker = f"action-item-verifier reminder v1; due={due.date().isoformat()}"
    if flavour is Flavour.JIRA_WIKI:
        return f"h3. (!) Overdue action item\n{text}\n\n{marker}"
    return f"### ⏰ Overdue action item\n{text}\n\n<sub>{marker}</sub>"
