"""The run's write phase: oldest due first, the budget charged for what is written, nothing written to a ticket
that changed after it was listed, and the result comment saying what was judged."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done, tracker_with
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
from verifier.services.run import RunOptions, run


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
