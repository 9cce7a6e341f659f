"""`services.apply.write_safely`: one ticket's writes outside the write phase (the reminders'), with its handling."""

from __future__ import annotations

import threading

import pytest

from verifier.services.apply import RATE_LIMITED, STOPPED, Sender, Written, write_safely
from verifier.services.budget import Allowance, Budget


def _events(stop: bool, halt: bool) -> tuple[threading.Event, threading.Event]:
    events = threading.Event(), threading.Event()
    for event, on in zip(events, (stop, halt), strict=True):
        if on:
            event.set()
    return events


@pytest.mark.parametrize(
    ("stop", "halt", "deferred"), [(True, False, STOPPED), (False, True, RATE_LIMITED), (True, True, STOPPED)]
)
def test_a_stopped_or_halted_run_sends_nothing_and_gives_the_reservation_back(
    stop: bool, halt: bool, deferred: str
) -> None:
    budget = Budget(5)
    assert budget.take(2)
    called: list[str] = []
    written = write_safely("A-1", Allowance(budget, 2), *_events(stop, halt), lambda send, w: called.append("x"))
    assert (written.deferred, written.writes, written.error, called) == (deferred, 0, "", [])
    assert budget.left == 5


def test_the_writes_get_the_tickets_record_and_what_is_not_used_goes_back() -> None:
    budget = Budget(5)
    assert budget.take(2)

    def writes(send: Sender, written: Written) -> None:
        send("reminder", lambda: "sent")
        written.note = "one of two"

    written = write_safely("A-1", Allowance(budget, 2), *_events(False, False), writes)
    assert (written.actions, written.writes, written.note, written.error, written.deferred) == (
        ["reminder"],
        1,
        "one of two",
        "",
        "",
    )
    assert budget.left == 4
