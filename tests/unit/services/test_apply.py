"""`services.apply`: `write_safely` (the reminders' writes, with the write phase's handling) and the duplicate check."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.unit.domain.test_recheck import FAILED, KEY, POLICY, SIGNED, _recheck, _result, _ticket
from verifier.services.apply import RATE_LIMITED, STOPPED, Sender, Written, _later_results, write_safely
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


def test_of_two_re_checks_written_at_once_the_later_is_the_one_to_delete() -> None:
    """Two runs at once may both write the re-check: the oldest stays. With a signing key, a re-check without the
    key's signature is not the tool's and is neither kept nor deleted."""
    first = _recheck(key=KEY)
    second = replace(_recheck(key=KEY), id="12", created=first.created + timedelta(minutes=1))
    ticket = _ticket(_result(key=KEY), first, second, reporter="alice")
    assert _later_results(ticket, "12", SIGNED, FAILED, None) == ["12"]
    assert _later_results(ticket, "11", SIGNED, FAILED, None) == []
    assert _later_results(ticket, "", SIGNED, FAILED, None) == ["12"]
    unsigned = replace(_recheck(), id="9", created=first.created - timedelta(minutes=1))
    with_unsigned = _ticket(_result(key=KEY), unsigned, first, second, reporter="alice")
    assert _later_results(with_unsigned, "", SIGNED, FAILED, None) == ["12"]
    assert _later_results(with_unsigned, "", POLICY, FAILED, None) == ["11", "12"]  # no key: all three are ours
