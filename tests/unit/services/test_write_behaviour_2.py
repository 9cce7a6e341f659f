"""More of the write phase (verifier/services/write.py): what a rate limit or a stop does to the tickets re-read at
the same time, that nothing more is read once the writing stops, the budget at its edges (the note after an
impossible reopen, a ticket needing a single write), and the log lines an operator reads."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from tests.unit.fakes import BOT, FakeTracker
from tests.unit.run_tickets import BLOCK, HELD, NOW, done, jobs, write_phase
from verifier.domain.actions import REOPEN_FAILED_NOTE
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.services.write import BUDGET_SPENT, Budget, Job, Phase

RATE_LIMITED = "the tracker's rate limit stopped the writing"
STOPPED = "the run was stopped"
BROKEN = Verdict(Outcome.FAILED, "p99 was 400ms")


@dataclass
class Rereads(FakeTracker):
    """Re-reading a key in `throttle` is refused with a rate limit, one in `fail` with an error, and re-reading
    `stop_at` stands for a stop signal arriving meanwhile. `reads` lists every ticket read."""

    throttle: frozenset[str] = frozenset()
    fail: frozenset[str] = frozenset()
    stop_at: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    reads: list[str] = field(default_factory=list)
    together: threading.Barrier | None = None  # re-reads answer only once this many are in flight

    def get_ticket(self, key: str) -> Ticket:
        self.reads.append(key)
        if self.together is not None:
            self.together.wait(10)
        if key in self.throttle:
            raise TrackerThrottled("HTTP 429: retry after 60 s", ticket=key)
        if key in self.fail:
            raise TrackerError("HTTP 502", ticket=key)
        if key == self.stop_at:
            self.stop.set()
        return super().get_ticket(key)


def _write(tracker: Rereads, due: list[Job], budget: Budget, concurrency: int = 1) -> Phase:
    return write_phase(tracker, due, budget, concurrency=concurrency, stop=tracker.stop)


def test_a_rate_limit_on_one_re_read_defers_the_tickets_not_started() -> None:
    tracker = Rereads(clock=NOW, throttle=frozenset({"A-1"}))
    phase = _write(tracker, jobs(tracker, "A-1", "A-2", "A-3"), Budget(10))
    assert tracker.writes == []
    assert phase.written["A-1"].error == "throttled: A-1: HTTP 429: retry after 60 s"
    assert phase.written["A-2"].deferred == RATE_LIMITED
    assert phase.written["A-3"].deferred == RATE_LIMITED
    assert phase.throttled == phase.written["A-1"].error
    assert not phase.interrupted


def test_every_re_read_refused_while_in_flight_is_reported_as_refused() -> None:
    tracker = Rereads(clock=NOW, throttle=frozenset({"A-1", "A-2"}), fail=frozenset({"A-3"}))
    tracker.together = threading.Barrier(3)
    phase = _write(tracker, jobs(tracker, "A-1", "A-2", "A-3"), Budget(10), concurrency=3)
    assert {key: (w.error, w.deferred) for key, w in phase.written.items()} == {
        "A-1": ("throttled: A-1: HTTP 429: retry after 60 s", ""),
        "A-2": ("throttled: A-2: HTTP 429: retry after 60 s", ""),
        "A-3": ("tracker read before writing failed: A-3: HTTP 502", ""),
    }


def test_a_stop_while_another_re_read_is_throttled_is_reported_as_a_stop() -> None:
    tracker = Rereads(clock=NOW, throttle=frozenset({"A-1"}), stop_at="A-2")
    tracker.together = threading.Barrier(2)
    phase = _write(tracker, jobs(tracker, "A-1", "A-2"), Budget(10), concurrency=2)
    assert phase.written["A-2"].deferred == STOPPED
    assert phase.interrupted


def test_once_the_tracker_throttles_no_further_ticket_is_read() -> None:
    tracker = Rereads(clock=NOW, throttle=frozenset({"A-1"}))
    phase = _write(tracker, jobs(tracker, "A-1", "A-2", "A-3"), Budget(10))
    assert tracker.reads == ["A-1"]
    assert [phase.written[key].deferred for key in ("A-2", "A-3")] == [RATE_LIMITED, RATE_LIMITED]


def test_once_the_budget_is_spent_no_further_ticket_is_read_and_each_says_why() -> None:
    tracker = Rereads(clock=NOW)
    phase = _write(tracker, jobs(tracker, "A-1", "A-2", "A-3"), Budget(2))
    assert [key for key, *_ in tracker.writes] == ["A-1", "A-1"]
    assert "A-2" not in tracker.reads and "A-3" not in tracker.reads
    assert [phase.written[key].deferred for key in ("A-2", "A-3")] == [BUDGET_SPENT, BUDGET_SPENT]


def test_a_ticket_missing_only_its_label_is_written_with_the_last_write_of_the_budget() -> None:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    result = Comment("1", BOT, render_result(HELD, resolved, Flavour.MARKDOWN), NOW)
    tracker = Rereads(clock=NOW)
    tracker.add(done("A-1", comments=(result,)))
    phase = _write(tracker, [Job(done("A-1"), HELD, already_written=True)], Budget(1))
    assert [kind for _, kind, _ in tracker.writes] == ["label"]
    assert phase.written["A-1"].writes == 1


def test_a_result_the_listing_saw_is_not_written_again_when_the_re_read_does_not_show_it() -> None:
    tracker = Rereads(clock=NOW)
    tracker.add(done("A-1"))  # a tracker may return a ticket without its older comments
    phase = _write(tracker, [Job(done("A-1"), HELD, already_written=True)], Budget(10))
    assert [kind for _, kind, _ in tracker.writes] == ["label"]
    assert phase.written["A-1"].actions == ["label verified-by-otel"]


def test_the_note_after_an_impossible_reopen_is_written_when_the_budget_has_room() -> None:
    tracker = Rereads(clock=NOW, reopenable=False)
    budget = Budget(4)  # comment, label, the note and its label; the impossible reopen sends nothing
    phase = _write(tracker, jobs(tracker, "A-1", verdict=BROKEN), budget)
    assert [(kind, body) for _, kind, body in tracker.writes][2:] == [
        ("comment", REOPEN_FAILED_NOTE),
        ("label", "reopen-failed"),
    ]
    assert phase.written["A-1"].actions[2:] == ["reopen impossible: comment", "label reopen-failed"]
    assert phase.written["A-1"].writes == 4
    assert not phase.written["A-1"].deferred
    assert budget.left == 0


def test_the_note_after_an_impossible_reopen_waits_when_the_budget_has_no_room() -> None:
    tracker = Rereads(clock=NOW, reopenable=False)
    budget = Budget(3)
    phase = _write(tracker, jobs(tracker, "A-1", verdict=BROKEN), budget)
    assert [kind for _, kind, _ in tracker.writes] == ["comment", "label"]
    assert phase.written["A-1"].deferred == "the note that the reopen is impossible: " + BUDGET_SPENT
    assert phase.written["A-1"].writes == 2
    assert budget.left == 1  # the reopen's reservation, not sent, is given back


def test_a_refused_re_read_is_logged_with_its_ticket_and_error() -> None:
    tracker = Rereads(clock=NOW, throttle=frozenset({"A-1"}), fail=frozenset({"A-2"}))
    tracker.together = threading.Barrier(2)
    with structlog.testing.capture_logs() as logs:
        _write(tracker, jobs(tracker, "A-1", "A-2"), Budget(10), concurrency=2)
    assert {
        "event": "tracker_throttled",
        "log_level": "error",
        "ticket": "A-1",
        "error": "A-1: HTTP 429: retry after 60 s",
    } in logs
    assert {"event": "write_failed", "log_level": "error", "ticket": "A-2", "error": "A-2: HTTP 502"} in logs


@dataclass
class TwoRacers(FakeTracker):
    """Two other runs write the same result just before ours."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        if not any(c.author == BOT for c in self.get_ticket(key).comments):
            super().comment(key, body, labels)
            super().comment(key, body, labels)
        return super().comment(key, body, labels)


def test_when_two_runs_wrote_the_same_result_first_only_ours_is_deleted() -> None:
    tracker = TwoRacers(clock=NOW)
    phase = write_phase(tracker, jobs(tracker, "A-1"))
    assert [(kind, body) for _, kind, body in tracker.writes if kind == "delete"] == [("delete", "1002")]  # ours
    assert [c.id for c in tracker.get_ticket("A-1").comments] == ["1000", "1001"]
    assert phase.written["A-1"].actions == ["comment", "deleted: a concurrent run wrote the same result first"]


def test_when_our_result_cannot_be_told_apart_every_later_duplicate_is_deleted_and_listed() -> None:
    tracker = TwoRacers(clock=NOW, labels_with=frozenset({"comment"}))  # the comment's id is not returned
    phase = write_phase(tracker, jobs(tracker, "A-1"))
    assert [kind for _, kind, _ in tracker.writes].count("delete") == 2
    assert len(tracker.get_ticket("A-1").comments) == 1
    assert phase.written["A-1"].actions == [
        "comment + label verified-by-otel",
        "delete",
        "deleted: a concurrent run wrote the same result first",
    ]
    assert phase.written["A-1"].writes == 3


@dataclass
class OneRacer(FakeTracker):
    """Another run writes the same result just before ours, once."""

    raced: bool = False

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        if not self.raced:
            self.raced = True
            super().comment(key, body, labels)
        return super().comment(key, body, labels)


def test_a_result_written_in_the_same_second_as_the_config_it_judged_counts_as_a_duplicate() -> None:
    config = Comment("c1", BOT, BLOCK, NOW + timedelta(seconds=1))
    tracker = OneRacer(clock=NOW)  # the other run's result is stamped NOW + 1 s: the config's second
    tracker.add(done("A-1", body="The fix is deployed.", comments=(config,)))
    phase = write_phase(tracker, [Job(done("A-1", body="The fix is deployed.", comments=(config,)), HELD)])
    results = [c for c in tracker.get_ticket("A-1").comments if c.id != "c1"]
    assert [c.created for c in results] == [NOW + timedelta(seconds=1)]  # the other run's stays, ours is deleted
    assert phase.written["A-1"].actions[-1] == "deleted: a concurrent run wrote the same result first"


@dataclass
class DeletedFirst(OneRacer):
    """The other run deletes our duplicate before we do: our delete is refused, the comment is gone."""

    def delete_comment(self, key: str, comment_id: str) -> None:
        super().delete_comment(key, comment_id)
        raise TrackerError("comment not found (HTTP 404)", ticket=key)


def test_a_duplicate_the_other_run_deleted_first_is_no_failure() -> None:
    tracker = DeletedFirst(clock=NOW)
    phase = write_phase(tracker, jobs(tracker, "A-1"))
    assert len(tracker.get_ticket("A-1").comments) == 1
    assert phase.written["A-1"].error == ""
    assert phase.written["A-1"].actions[-1] == "deleted: a concurrent run wrote the same result first"
