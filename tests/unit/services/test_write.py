"""The run's write phase: oldest due first, the budget charged for what is written, nothing written to a ticket
that changed after it was listed, and the result comment saying what was judged.

The write phase when the run is cut short while it re-reads tickets: a stop or the tracker's rate limit leaves
the rest for the next run, and says why.

More of the write phase (verifier/services/write.py): what a rate limit or a stop does to the tickets re-read at
the same time, that nothing more is read once the writing stops, the budget at its edges (the note after an
impossible reopen, a ticket needing a single write), and the log lines an operator reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import structlog

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, HELD, NOW, QUERY, done, jobs, tracker_with, write_phase
from verifier.domain.actions import REOPEN_FAILED_NOTE
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import TrackerError, TrackerThrottled
from verifier.services.run import RunOptions, run
from verifier.services.write import BUDGET_SPENT, Budget, Job, Phase


def written(tracker: FakeTracker) -> list[str]:
    return [key for key, *_ in tracker.writes]


def test_the_budget_goes_to_the_oldest_due_ticket_whatever_the_listing_order() -> None:
    for order in (("NEW", "MID", "OLD"), ("OLD", "NEW", "MID"), ("MID", "OLD", "NEW")):
        ages = {"NEW": 3, "MID": 6, "OLD": 9}
        tracker = tracker_with(*(done(key, ages[key]) for key in order))
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW)
        assert written(tracker) == ["OLD", "OLD"], order
        assert sorted(r.key for r in report.results if r.deferred) == ["MID", "NEW"]


def test_a_ticket_that_needs_more_writes_than_are_left_waits_and_a_smaller_one_behind_it_goes() -> None:
    failed_old = done("OLD", 9)  # comment + label + reopen: 3 writes
    tracker = tracker_with(failed_old, done("NEW", 3, body=BLOCK.replace("latency", "other")))
    metrics = FakeMetrics({QUERY: instant(0.4)})  # OLD fails; NEW's query has no data: inconclusive, 2 writes
    report = run(tracker, metrics, RunOptions(max_writes=2), NOW)
    assert written(tracker) == ["NEW", "NEW"]
    assert {r.key: r.deferred for r in report.results} == {"OLD": "the write budget is used up", "NEW": ""}


def test_an_already_recorded_result_is_charged_only_for_the_label_still_missing() -> None:
    resolved = NOW - timedelta(days=9)
    comment = Comment("1", BOT, render_result(Verdict(Outcome.VERIFIED, "held"), resolved, Flavour.MARKDOWN), NOW)
    recorded = done("OLD", 9, comments=(comment,))  # killed after its comment: only the label is missing
    tracker = tracker_with(recorded, done("NEW", 3))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=3), NOW)
    assert sorted((k, kind) for k, kind, _ in tracker.writes) == [
        ("NEW", "comment"),
        ("NEW", "label"),
        ("OLD", "label"),
    ]
    assert {r.key: r.writes for r in report.results} == {"OLD": 1, "NEW": 2}
    assert report.writes == 3


def test_an_exactly_sufficient_budget_writes_everything() -> None:
    tracker = tracker_with(done("A", 9), done("B", 6))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=4), NOW)
    assert len(tracker.writes) == 4 and not any(r.deferred for r in report.results)


def test_a_dry_run_charges_the_budget_as_a_real_run_would() -> None:
    tracker = tracker_with(done("OLD", 9), done("NEW", 3))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=3, dry_run=True), NOW)
    assert tracker.writes == []
    assert {r.key: (r.actions, r.deferred) for r in report.results} == {
        "OLD": (["comment", "label verified-by-otel"], ""),
        # Listed with what it would write (the first-run plan counts it), but left for a later run.
        "NEW": (["comment", "label verified-by-otel"], "the write budget is used up"),
    }


@dataclass
class ChangesAfterListing(FakeTracker):
    """Someone reopens and resolves the ticket again between the run's listing and its write."""

    def get_ticket(self, key: str) -> Ticket:
        ticket = super().get_ticket(key)
        if ticket.resolved_at is not None and not ticket.comments:
            ticket = replace(ticket, resolved_at=NOW - timedelta(minutes=5))
            self.tickets[key] = ticket
        return ticket


def test_a_ticket_resolved_again_after_it_was_listed_is_left_for_the_next_run() -> None:
    tracker = ChangesAfterListing(clock=NOW)
    tracker.add(done("A-1", 3))
    report = run(tracker, FakeMetrics({QUERY: instant(0.4)}), RunOptions(), NOW)
    assert tracker.writes == []
    assert report.results[0].reason.endswith("; the ticket changed since it was listed, left for the next run")
    assert report.results[0].writes == 0 and report.exit_code == 0


def test_a_result_comment_written_by_another_run_meanwhile_is_not_written_again() -> None:
    resolved = NOW - timedelta(days=3)
    body = render_result(Verdict(Outcome.VERIFIED, "held"), resolved, Flavour.MARKDOWN)

    @dataclass
    class OtherRunWroteFirst(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            if not ticket.comments:
                ticket = replace(ticket, comments=(Comment("1", BOT, body, NOW),))
                self.tickets[key] = ticket
            return ticket

    tracker = OtherRunWroteFirst(clock=NOW)
    tracker.add(done("A-1", 3))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert [kind for _, kind, _ in tracker.writes] == ["label"]
    assert report.results[0].actions == ["label verified-by-otel"]


def test_the_result_comment_shows_the_operator_as_written_and_the_worst_series() -> None:
    above = BLOCK.replace("latency_seconds", "availability_ratio").replace("< 100ms p99", '"> 99%"')
    tracker = tracker_with(done("A-1", 3, body=above))
    series = instant(0.995, 0.97, 0.999)
    run(tracker, FakeMetrics({"avg_over_time(availability_ratio[48h])": series}), RunOptions(), NOW)
    comment = tracker.writes[0][2]
    assert "| Condition | > 0.99 ratio |" in comment
    assert '| Measured | 0.97 ratio (series {instance="1"}) |' in comment
    assert "1 of 3 series broke the condition" in comment


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
    """Sends each comment twice, as an adapter retrying after a refusal does: each request passes the write gate,
    as the guarded transport has it do (`verifier.adapters.http`)."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        from verifier.ports import WRITE_GATE

        gate = WRITE_GATE.get()
        assert gate is not None and gate.charge() and gate.charge()
        return super().comment(key, body, labels)


def test_writes_left_without_budget_after_a_retry_wait_for_the_next_run() -> None:
    tracker = RetryingComments(clock=NOW)
    budget = Budget(2)  # the comment and the label, but not the comment's retry as well
    phase = write_phase(tracker, jobs(tracker, "A-1"), budget)
    assert [kind for _, kind, _ in tracker.writes] == ["comment"]
    assert phase.written["A-1"].deferred == "the write budget is used up"
    assert phase.written["A-1"].writes == 2
    assert budget.left == 0


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
