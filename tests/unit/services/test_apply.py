"""`services.apply`: `write_safely` (the reminders' writes, with the write phase's handling) and the duplicate check."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from tests.unit.domain.test_recheck import FAILED, KEY, POLICY, SIGNED, _recheck, _result, _ticket
from tests.unit.fakes import FakeTracker
from tests.unit.run_tickets import NOW, jobs, write_phase
from verifier.domain.tickets import Ticket
from verifier.errors import TrackerError
from verifier.ports import WRITE_GATE
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


@dataclass
class CheckReadFails(FakeTracker):
    """The read after a result comment (the check for a concurrent run's duplicate) fails once."""

    failing: bool = False

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        sent = super().comment(key, body, labels)
        self.failing = True
        return sent

    def get_ticket(self, key: str) -> Ticket:
        if self.failing:
            self.failing = False
            raise TrackerError("HTTP 502", ticket=key)
        return super().get_ticket(key)


def test_a_failed_read_after_the_result_comment_ends_the_tickets_writes_there() -> None:
    """The rest (the label) waits for the next run, which first sees whether another run's result came first: a
    ticket whose check failed is not checked again and written on in this run."""
    tracker = CheckReadFails(clock=NOW)
    phase = write_phase(tracker, jobs(tracker, "A-1"))
    assert [kind for _, kind, _ in tracker.writes] == ["comment"]
    written = phase.written["A-1"]
    assert (written.error, written.writes, written.deferred) == ("tracker write failed: A-1: HTTP 502", 1, "")


@dataclass
class StoppedWhileRetrying(FakeTracker):
    """The first request of each comment is refused, and the stop signal arrives meanwhile. As the adapters do
    (`verifier.adapters.retry`, `verifier.adapters.http`), a retry is sent only when the write gate says the run
    goes on and charges it."""

    stop: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        gate = WRITE_GATE.get()
        assert gate is not None and gate.charge()
        self.requests += 1
        self.stop.set()
        if gate.stopped() or not gate.charge():
            raise TrackerError("HTTP 503: gave up after 1 attempt", ticket=key)
        self.requests += 1
        return super().comment(key, body, labels)


def test_a_stop_while_a_write_is_retried_sends_no_retry() -> None:
    tracker = StoppedWhileRetrying(clock=NOW)
    budget = Budget(10)
    phase = write_phase(tracker, jobs(tracker, "A-1"), budget, stop=tracker.stop)
    assert (tracker.requests, tracker.writes) == (1, [])
    written = phase.written["A-1"]
    assert (written.error, written.writes) == ("tracker write failed: A-1: HTTP 503: gave up after 1 attempt", 1)
    assert budget.left == 9  # the one request sent
    assert phase.interrupted
