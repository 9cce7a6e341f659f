"""When an open action item is overdue, and the reminder it gets in each tracker's markup."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import BOT
from verifier.domain.reminders import owed, render_reminder
from verifier.domain.tickets import Flavour, Ticket
from verifier.domain.units import SECONDS, Threshold, declared_unit
from verifier.errors import ConfigError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OWN = frozenset({BOT})


def breach(ticket: Ticket, own: frozenset[str], sla_days: Mapping[str, int], now: datetime) -> datetime | None:
    """The due date of an overdue open ticket whose reminder is still owed; None otherwise."""
    owes = owed(ticket, own, sla_days, now)
    return owes.due if owes is not None and owes.reminder else None


def open_ticket(created: datetime, priority: str | None = "P1") -> Ticket:
    return Ticket(
        "A-1", "u", "t", "To Do", None, None, frozenset({"post-incident"}), "", BOT, created=created, priority=priority
    )


def test_a_ticket_is_overdue_only_once_its_due_time_has_passed() -> None:
    due = NOW - timedelta(days=7)  # P1: 7 days
    assert breach(open_ticket(due), OWN, {"P1": 7}, NOW) is None  # due right now: not late yet
    assert breach(open_ticket(due + timedelta(seconds=1)), OWN, {"P1": 7}, NOW) is None
    assert breach(open_ticket(due - timedelta(seconds=1)), OWN, {"P1": 7}, NOW) == NOW - timedelta(seconds=1)


def test_a_resolved_or_undated_ticket_is_never_overdue() -> None:
    done = Ticket("A-2", "u", "t", "Done", NOW, "Done", frozenset(), "", BOT, created=NOW - timedelta(days=90))
    assert breach(done, OWN, {"P2": 30}, NOW) is None
    assert breach(open_ticket(None), OWN, {"P1": 7}, NOW) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flavour", "expected"),
    [
        (
            Flavour.JIRA_WIKI,
            "h3. (!) Overdue action item\nThis P2 post-incident action item was due on 2026-11-16 and is 10 days "
            "late. Please finish it, or lower its priority or close it with a reason if the plan changed.\n\n"
            "action-item-verifier reminder v1; due=2026-11-16",
        ),
        (
            Flavour.MARKDOWN,
            "### ⏰ Overdue action item\nThis P2 post-incident action item was due on 2026-11-16 and is 10 days "
            "late. Please finish it, or lower its priority or close it with a reason if the plan changed.\n\n"
            "<sub>action-item-verifier reminder v1; due=2026-11-16</sub>",
        ),
    ],
)
def test_the_reminder_in_each_trackers_markup(flavour: Flavour, expected: str) -> None:
    ticket = open_ticket(NOW - timedelta(days=40), priority=None)
    assert render_reminder(ticket, NOW - timedelta(days=10), NOW, flavour) == expected


def test_an_unknown_unit_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as error:
        declared_unit("furlongs")
    assert "unknown unit 'furlongs' (known: %, 1, B, By, GB, GBy, GiB, GiBy, KBy, KiB, KiBy," in str(error.value)


def test_a_threshold_describes_its_unit_and_whether_it_was_assumed() -> None:
    assert Threshold(0.1, SECONDS, assumed=False).describe() == "0.1 seconds"
    assert Threshold(0.1, SECONDS, assumed=True).describe() == "0.1 seconds (unit assumed: no unit on the metric)"
    assert Threshold(5, None, assumed=False).describe() == "5"
