"""The write phase when the run is cut short while it re-reads tickets: a stop or the tracker's rate limit leaves
the rest for the next run, and says why."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tests.unit.fakes import BOT, FakeTracker
from tests.unit.test_write_phase import NOW, done
from verifier.domain.actions import Labels
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import TrackerThrottled
from verifier.services.write import Budget, Job, write_all

POLICY = Policy(frozenset({BOT}), frozenset({BOT}), frozenset())


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


def _jobs(tracker: FakeTracker, *keys: str) -> list[Job]:
    jobs = []
    for days, key in enumerate(keys, start=3):
        tracker.add(done(key, days))
        jobs.append(Job(done(key, days), Verdict(Outcome.VERIFIED, "held")))
    return jobs


def test_a_stop_during_the_re_read_writes_nothing_more_and_says_so() -> None:
    stop = threading.Event()
    tracker = Interrupting(clock=NOW, at="A-1", stop=stop)
    budget = Budget(10)
    phase = write_all(tracker, _jobs(tracker, "A-1"), POLICY, Labels(), budget, concurrency=1, dry_run=False, stop=stop)
    assert tracker.writes == []
    assert phase.written["A-1"].deferred == "the run was stopped"
    assert phase.interrupted
    assert budget.left == 10  # the reservation is given back


def test_after_the_tracker_throttles_the_other_tickets_wait_for_its_rate_limit() -> None:
    tracker = Interrupting(clock=NOW, at="A-1")
    phase = write_all(
        tracker,
        _jobs(tracker, "A-1", "A-2"),
        POLICY,
        Labels(),
        Budget(10),
        concurrency=1,
        dry_run=False,
        stop=threading.Event(),
    )
    assert tracker.writes == []
    assert phase.written["A-1"].error == "throttled: A-1: HTTP 429: retry after 3600 s"
    assert phase.written["A-2"].deferred == "the tracker's rate limit stopped the writing"
    assert phase.throttled == phase.written["A-1"].error
    assert not phase.interrupted
