"""The write phase when the run is cut short while it re-reads tickets: a stop or the tracker's rate limit leaves
the rest for the next run, and says why."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.unit.fakes import BOT, FakeTracker
from tests.unit.run_tickets import NOW, done, jobs, write_phase
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.services.write import Budget, Job


@dataclass
class Interrupting(FakeTracker):
    """Re-reading `at` throttles, or (with `stop`) stands for a stop signal arriving during the re-read."""

    at: str = ""
    stop: threading.Event | None = None
    reads: list[str] = field(default_factory=list)

    def get_ticket(self, key: str) -> Ticket:
        self.reads.append(key)
        if key == self.at:
            if self.stop is None:
                raise TrackerThrottled("HTTP 429: retry after 3600 s", ticket=key)
            self.stop.set()
        return super().get_ticket(key)


def test_a_stop_during_the_re_read_writes_nothing_more_and_says_so() -> None:
    stop = threading.Event()
    tracker = Interrupting(clock=NOW, at="A-1", stop=stop)
    budget = Budget(10)
    phase = write_phase(tracker, jobs(tracker, "A-1"), budget, stop=stop)
    assert tracker.writes == []
    assert phase.written["A-1"].deferred == "the run was stopped"
    assert phase.interrupted
    assert budget.left == 10  # the reservation is given back


def test_after_the_tracker_throttles_the_other_tickets_wait_for_its_rate_limit() -> None:
    tracker = Interrupting(clock=NOW, at="A-1")
    phase = write_phase(tracker, jobs(tracker, "A-1", "A-2"))
    assert tracker.writes == []
    assert phase.written["A-1"].error == "throttled: A-1: HTTP 429: retry after 3600 s"
    assert phase.written["A-2"].deferred == "the tracker's rate limit stopped the writing"
    assert phase.throttled == phase.written["A-1"].error
    assert not phase.interrupted


def test_a_signed_result_is_not_taken_for_a_duplicate_of_an_unsigned_one_from_before_signing() -> None:
    from datetime import timedelta

    from verifier.domain.render import render_result
    from verifier.domain.tickets import Comment, Flavour

    listed = done("A-1", 5)
    assert listed.resolved_at is not None
    unsigned = render_result(Verdict(Outcome.VERIFIED, "held"), listed.resolved_at, Flavour.MARKDOWN)
    old = Comment("1", BOT, unsigned, listed.resolved_at + timedelta(days=2))
    tracker = FakeTracker(clock=NOW)
    tracker.add(Ticket(**{**listed.__dict__, "comments": (old,)}))
    signed = Policy(frozenset({BOT}), frozenset({BOT}), frozenset(), signing_key=b"k" * 32)
    phase = write_phase(tracker, [Job(listed, Verdict(Outcome.VERIFIED, "held"))], policy=signed)
    assert [kind for _, kind, _ in tracker.writes] == ["comment", "label"]
    assert not any("deleted" in action for action in phase.written["A-1"].actions)


@dataclass
class Racing(FakeTracker):
    """Another run writes the same result just before ours; deleting ours then fails."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        if not any(c.author == BOT for c in self.get_ticket(key).comments):
            super().comment(key, body, labels)
        return super().comment(key, body, labels)

    def delete_comment(self, key: str, comment_id: str) -> None:
        raise TrackerError("delete failed with HTTP 500", ticket=key)


def test_a_duplicate_result_that_cannot_be_deleted_is_reported_as_a_failed_write() -> None:
    tracker = Racing(clock=NOW)
    phase = write_phase(tracker, jobs(tracker, "A-1"))
    assert phase.written["A-1"].error == "tracker write failed: A-1: delete failed with HTTP 500"
    assert len(tracker.get_ticket("A-1").comments) == 2


@dataclass
class ThrottlingWrites(FakeTracker):
    """Refuses the first comment with a rate limit."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        raise TrackerThrottled("HTTP 429: retry after 3600 s", ticket=key)


def test_a_write_refused_by_the_rate_limit_stops_the_writing_and_is_logged_with_its_ticket() -> None:
    import structlog

    tracker = ThrottlingWrites(clock=NOW)
    with structlog.testing.capture_logs() as logs:
        phase = write_phase(tracker, jobs(tracker, "A-1"))
    assert phase.written["A-1"].error == "throttled: A-1: HTTP 429: retry after 3600 s"
    assert phase.written["A-1"].writes == 1  # the refused request reached the tracker
    assert phase.throttled == phase.written["A-1"].error
    assert {
        "event": "tracker_throttled",
        "log_level": "error",
        "ticket": "A-1",
        "error": "A-1: HTTP 429: retry after 3600 s",
    } in logs


@dataclass
class RetryingComments(FakeTracker):
    """Sends each comment twice, as an adapter retrying after a refusal does, charging the retry."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        from verifier.ports import RESEND_WRITE

        resend = RESEND_WRITE.get()
        assert resend is not None and resend()
        return super().comment(key, body, labels)


def test_writes_left_without_budget_after_a_retry_wait_for_the_next_run() -> None:
    tracker = RetryingComments(clock=NOW)
    budget = Budget(2)  # the comment and the label, but not the comment's retry as well
    phase = write_phase(tracker, jobs(tracker, "A-1"), budget)
    assert [kind for _, kind, _ in tracker.writes] == ["comment"]
    assert phase.written["A-1"].deferred == "the write budget is used up"
    assert phase.written["A-1"].writes == 2
    assert budget.left == 0
