"""The SLA rule: how long an open action item may stay open, by its priority (#23).

Small and near the bottom on purpose: the run's reminders and the weekly report both ask it, and neither should
have to import the other to do so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from verifier import defaults
from verifier.domain.tickets import Ticket

#: Days an open action item may stay open, by priority (the SRE practice the seed article cites).
DEFAULT_SLA_DAYS: Mapping[str, int] = defaults.SLA_DAYS
DEFAULT_PRIORITY = defaults.PRIORITY


def priority(ticket: Ticket) -> str:
    """The ticket's priority, or the default one when it names none."""
    return ticket.priority or DEFAULT_PRIORITY


def due_date(ticket: Ticket, sla_days: Mapping[str, int]) -> datetime | None:
    """When an open action item becomes overdue: created + the SLA of its priority (of the default priority when
    `sla_days` does not name its own; of the shipped default when it names neither)."""
    if ticket.created is None:
        return None
    return sla_due(ticket.priority, ticket.created, sla_days)


def sla_due(level: str | None, start: datetime, sla_days: Mapping[str, int]) -> datetime:
    """`start` + the SLA of priority `level`: for `report` and reminders (from the ticket's creation) and for
    filing's Jira due date (from the filing day)."""
    fallback = sla_days.get(DEFAULT_PRIORITY, DEFAULT_SLA_DAYS[DEFAULT_PRIORITY])
    return start + timedelta(days=sla_days.get(level or DEFAULT_PRIORITY, fallback))


def lateness(due: datetime, now: datetime) -> str:
    """How late an overdue ticket is, in words: `due 2026-01-02, 5 days late`."""
    return f"due {due.date().isoformat()}, {(now - due).days} days late"
