"""The SLA rule on its own (#23): the due date of an open action item by its priority, and how late it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from verifier import defaults
from verifier.domain.sla import DEFAULT_SLA_DAYS, due_date, lateness, priority
from verifier.domain.tickets import Ticket

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def ticket(priority: str | None, created: datetime | None = NOW) -> Ticket:
    return Ticket(
        "A-1", "https://t/A-1", "Fix", "To Do", None, None, frozenset(), "", "bot", priority=priority, created=created
    )


def test_the_shipped_slas_by_priority() -> None:
    assert {p: due_date(ticket(p), DEFAULT_SLA_DAYS) for p in ("P0", "P1", "P2", "P3")} == {
        "P0": NOW + timedelta(days=3),
        "P1": NOW + timedelta(days=7),
        "P2": NOW + timedelta(days=30),
        "P3": NOW + timedelta(days=90),
    }


def test_a_ticket_without_a_priority_has_the_default_one() -> None:
    assert priority(ticket(None)) == defaults.PRIORITY == "P2"
    assert priority(ticket("P0")) == "P0"


def test_an_unknown_priority_takes_the_default_priority_s_sla_as_configured_else_as_shipped() -> None:
    assert due_date(ticket("P9"), {"P2": 12}) == NOW + timedelta(days=12)
    assert due_date(ticket("P9"), {"P0": 1}) == NOW + timedelta(days=30)
    assert due_date(ticket(None, created=None), DEFAULT_SLA_DAYS) is None


def test_lateness_in_words() -> None:
    due = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert lateness(due, NOW) == "due 2026-11-23, 3 days late"
    assert lateness(NOW, NOW) == "due 2026-11-26, 0 days late"


@given(st.sampled_from(["P0", "P1", "P2", "P3", "P7", None]), st.integers(min_value=0, max_value=400))
def test_the_due_date_is_the_creation_plus_the_sla_of_the_priority(name: str | None, days: int) -> None:
    sla = {"P0": days, "P1": days + 1, "P2": days + 2, "P3": days + 3}
    expected = {"P0": days, "P1": days + 1, "P3": days + 3}.get(name or "P2", days + 2)
    assert due_date(ticket(name), sla) == NOW + timedelta(days=expected)
