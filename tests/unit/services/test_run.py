"""What an operator reads off a run's report: the dry run's first-run plan against what real runs then do, what a
stop or the tracker's rate limit leaves behind, and the query and graph link a result names.

What the run reports per ticket and per run, and the order it writes in when configs have different delays.

The run at its edges: crashes and stops mid-way, trackers of each flavour, reminders sharing the budget, and the
log events an operator alerts on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import done, tracker_with
from tests.unit.services.test_measure import Catalog
from verifier.domain.evidence import GraphLinks
from verifier.domain.measurement import Measurement
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import BackendUnavailable, QueryRejected, TrackerError, TrackerThrottled
from verifier.exit_codes import ExitCode
from verifier.services.run import RunOptions, run

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"


def ticket(key: str, *, resolved_days_ago: float = 3, body: str = BLOCK, reporter: str = BOT, **kw: object) -> Ticket:
    resolved = NOW - timedelta(days=resolved_days_ago)
    fields: dict[str, object] = {
        "key": key,
        "url": f"https://tracker/{key}",
        "title": f"Fix {key}",
        "status": "Done",
        "resolved_at": resolved,
        "resolution": "Done",
        "labels": frozenset({"post-incident"}),
        "body": body,
        "reporter": reporter,
        "comments": (),
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


def setup(*tickets: Ticket, answer: object = None) -> tuple[FakeTracker, FakeMetrics]:
    tracker = FakeTracker(clock=NOW)
    for t in tickets:
        tracker.add(t)
    metrics = FakeMetrics({QUERY: answer if answer is not None else instant(0.05)})  # type: ignore[dict-item]
    return tracker, metrics


def kinds(tracker: FakeTracker, key: str) -> list[str]:
    return [kind + (f":{detail}" if kind == "label" else "") for k, kind, detail in tracker.writes if k == key]


def test_verified_writes_comment_and_label_once() -> None:
    tracker, metrics = setup(ticket("A-1"))
    report = run(tracker, metrics, RunOptions(), NOW)
    assert report.exit_code == 0
    assert kinds(tracker, "A-1") == ["comment", "label:verified-by-otel"]
    assert "Verified" in tracker.writes[0][2]
    second = run(tracker, metrics, RunOptions(), NOW + timedelta(hours=6))
    assert second.writes == 0
    assert len(tracker.writes) == 2
    assert second.counts() == {"VERIFIED": 1}


def test_failed_reopens_with_label_and_comment() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    report = run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verification-failed", "reopen"]
    assert report.counts() == {"FAILED": 1}
    assert tracker.tickets["A-1"].resolved_at is None


def test_reopen_impossible_says_so_in_comment_and_label_once() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    tracker.reopenable = False
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verification-failed", "comment", "label:reopen-failed"]
    assert "reopen it by hand" in tracker.writes[2][2]
    run(tracker, metrics, RunOptions(), NOW)
    assert len(tracker.writes) == 4


def test_a_run_stopped_between_the_impossible_reopens_note_and_its_label_adds_the_label_next_time() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    tracker.reopenable, tracker.labels_with = False, frozenset({"comment"})  # Jira: the result's label rides along
    tracker.fail_on = {"label"}  # the one label request: reopen-failed, after the note
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "comment"]
    assert "reopen-failed" not in tracker.tickets["A-1"].labels
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "comment", "label:reopen-failed"]  # no second note
    run(tracker, metrics, RunOptions(), NOW)
    assert len(tracker.writes) == 3


def test_the_labels_that_were_to_ride_with_an_impossible_reopen_go_with_its_label() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    tracker.reopenable, tracker.labels_with = False, frozenset({"reopen"})  # GitHub's one update, refused here
    report = run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "comment", "label:reopen-failed,verification-failed"]
    assert report.results[0].actions == [
        "comment",
        "reopen impossible: comment",
        "label reopen-failed, verification-failed",
    ]
    run(tracker, metrics, RunOptions(), NOW)
    assert len(tracker.writes) == 3


def test_a_run_killed_between_comment_and_reopen_reopens_next_time_without_a_second_comment() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    tracker.fail_on = {"reopen"}
    first = run(tracker, metrics, RunOptions(), NOW)
    assert first.exit_code == 74  # its only ticket failed after writing: the run failed, not to be retried
    assert kinds(tracker, "A-1") == ["comment", "label:verification-failed"]
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verification-failed", "reopen"]


@pytest.mark.parametrize(
    ("failing", "written"),
    [("comment", []), ("label", ["comment"]), ("reopen", ["comment", "label verification-failed"])],
)
def test_a_write_that_failed_is_not_reported_as_written(failing: str, written: list[str]) -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    tracker.fail_on = {failing}
    result = run(tracker, metrics, RunOptions(), NOW).results[0]
    assert (result.outcome, result.actions) == ("ERROR", written)  # the summary's "[wrote: ...]"


@pytest.mark.parametrize(
    ("answer", "outcome", "writes"),
    [
        (BackendUnavailable("HTTP 503"), "ERROR", []),
        (QueryRejected("parse error at char 3"), "INVALID", ["comment", "label:verification-config-invalid"]),
        (Measurement(()), "INCONCLUSIVE", ["comment", "label:needs-human"]),
    ],
)
def test_backend_outcomes(answer: object, outcome: str, writes: list[str]) -> None:
    tracker, metrics = setup(ticket("A-1"), answer=answer)
    report = run(tracker, metrics, RunOptions(), NOW)
    assert report.counts() == {outcome: 1}
    assert kinds(tracker, "A-1") == writes
    assert tracker.tickets["A-1"].resolved_at is not None  # never reopened by a backend problem
    assert report.exit_code == (1 if outcome == "ERROR" else 0) and report.complete is (outcome != "ERROR")


def test_pending_and_untrusted_and_not_a_fix_are_untouched() -> None:
    untrusted = ticket("A-2", reporter="mallory")
    comment_by_mallory = ticket(
        "A-3", body="no config", comments=(Comment("1", "mallory", BLOCK.replace("latency", "evil"), NOW),)
    )
    wont_do = ticket("A-4", resolution="Won't Do")
    tracker, metrics = setup(ticket("A-1", resolved_days_ago=1), untrusted, comment_by_mallory, wont_do)
    report = run(tracker, metrics, RunOptions(not_a_fix=frozenset({"won't do"})), NOW)
    assert tracker.writes == []
    assert metrics.asked == []
    reasons = {r.key: (r.outcome, r.reason) for r in report.results}
    assert reasons["A-1"][0] == "PENDING"
    assert reasons["A-2"] == ("SKIPPED", "no trusted config (ignored configs by untrusted mallory)")
    assert reasons["A-3"] == ("SKIPPED", "no trusted config (ignored configs by untrusted mallory)")
    assert "A-4" not in reasons  # the tracker leaves not-a-fix tickets out of the listing (tests/ports)


def test_trusted_author_comment_config_counts() -> None:
    t = ticket("A-1", body="no config", reporter="someone", comments=(Comment("1", "sre-lead", BLOCK, NOW),))
    tracker, metrics = setup(t)
    run(tracker, metrics, RunOptions(trusted_authors=frozenset({"sre-lead"})), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verified-by-otel"]


def test_invalid_config_is_written_once_then_a_corrected_config_is_verified() -> None:
    broken = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: soon\n```"
    tracker, metrics = setup(ticket("A-1", body=broken))
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verification-config-invalid"]
    assert "condition" in tracker.writes[0][2]
    run(tracker, metrics, RunOptions(), NOW)
    assert len(tracker.writes) == 2
    fixed = Comment("c9", BOT, BLOCK, NOW + timedelta(hours=1))
    current = tracker.tickets["A-1"]
    tracker.tickets["A-1"] = type(current)(**{**current.__dict__, "comments": (*current.comments, fixed)})
    tracker.clock = NOW + timedelta(hours=2)
    run(tracker, metrics, RunOptions(), NOW + timedelta(hours=2))
    assert kinds(tracker, "A-1")[2:] == ["comment", "label:verified-by-otel"]


def test_write_budget_handles_oldest_due_first_and_the_rest_next_run() -> None:
    tracker, metrics = setup(ticket("OLD", resolved_days_ago=9), ticket("MID", resolved_days_ago=6), ticket("NEW"))
    report = run(tracker, metrics, RunOptions(max_writes=4), NOW)
    assert sorted(k for k, *_ in tracker.writes) == ["MID", "MID", "OLD", "OLD"]  # tickets are written in parallel
    assert [(r.key, r.deferred) for r in report.results if r.deferred] == [("NEW", "the write budget is used up")]
    run(tracker, metrics, RunOptions(max_writes=4), NOW)
    assert [k for k, *_ in tracker.writes][4:] == ["NEW", "NEW"]


def test_dry_run_writes_nothing_but_says_what_it_would_write() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    report = run(tracker, metrics, RunOptions(dry_run=True), NOW)
    assert tracker.writes == []
    assert report.results[0].actions == ["comment", "label verification-failed", "reopen"]


def test_issue_and_early_mode() -> None:
    tracker, metrics = setup(ticket("A-1", resolved_days_ago=0.5), ticket("A-2"))
    metrics.answers["histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[715m])))"] = instant(
        0.05
    )  # up to 5 minutes before NOW: the settling delay
    report = run(tracker, metrics, RunOptions(issues=("A-1",), early=True), NOW)
    assert [r.key for r in report.results] == ["A-1"]
    assert "Judged early" in tracker.writes[0][2]
    # the scheduled run, once the window is over, judges the whole window and writes its own result
    later = NOW + timedelta(days=2)
    run(tracker, metrics, RunOptions(), later)
    assert kinds(tracker, "A-1") == ["comment", "label:verified-by-otel", "comment"]


def test_unknown_issue_is_an_error_and_others_still_run() -> None:
    tracker, metrics = setup(ticket("A-1"))
    report = run(tracker, metrics, RunOptions(issues=("NOPE-1", "A-1")), NOW)
    assert report.exit_code == 74  # a run-level error after A-1 was written: not retried
    assert kinds(tracker, "A-1") == ["comment", "label:verified-by-otel"]


def test_a_failing_write_marks_that_ticket_only() -> None:
    tracker, metrics = setup(ticket("A-1"), ticket("A-2", resolved_days_ago=4))
    tracker.fail_on = {"comment"}
    report = run(tracker, metrics, RunOptions(), NOW)
    outcomes = {r.key: r.outcome for r in report.results}
    # Writes start as verdicts come in: whichever comment went first failed, and only that ticket is an ERROR.
    failed = next(key for key, outcome in outcomes.items() if outcome == "ERROR")
    held = next(key for key, outcome in outcomes.items() if outcome == "VERIFIED")
    assert kinds(tracker, failed) == []
    assert kinds(tracker, held) == ["comment", "label:verified-by-otel"]
    assert report.exit_code == 0 and not report.complete


def test_stop_requested_takes_no_new_ticket() -> None:
    tracker, metrics = setup(ticket("A-1"), ticket("A-2"))
    stop = threading.Event()
    stop.set()
    report = run(tracker, metrics, RunOptions(), NOW, stop=stop)
    assert report.interrupted
    assert report.exit_code == 143
    assert tracker.writes == []


def test_reopened_and_resolved_again_is_verified_anew() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    run(tracker, metrics, RunOptions(), NOW)
    assert tracker.tickets["A-1"].resolved_at is None
    current = tracker.tickets["A-1"]
    tracker.tickets["A-1"] = type(current)(
        **{**current.__dict__, "resolved_at": NOW, "status": "Done", "resolution": "Done"}
    )
    metrics.answers[QUERY] = instant(0.05)
    later = NOW + timedelta(days=3)
    run(tracker, metrics, RunOptions(), later)
    assert kinds(tracker, "A-1")[-2:] == ["comment", "label:verified-by-otel"]


class RacingTracker(FakeTracker):
    """Another run writes the same result at a chosen moment: before our re-read, or just before our comment."""

    def __init__(self, moment: str, labels_with: frozenset[str] = frozenset()) -> None:
        super().__init__(clock=NOW, labels_with=labels_with)
        self.moment = moment
        self.raced = False

    def _other_run_writes(self, key: str) -> None:
        if not self.raced:
            self.raced = True
            self.moment = ""
            other = FakeTracker(
                tickets=dict(self.tickets), clock=NOW - timedelta(seconds=30), labels_with=self.labels_with
            )
            other._ids = iter(range(500, 600))  # one tracker: comment ids never repeat
            run(other, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
            self.tickets[key] = other.tickets[key]
            self.writes.extend(other.writes)

    def get_ticket(self, key: str) -> Ticket:
        if self.moment == "before-reread":
            self._other_run_writes(key)
        return super().get_ticket(key)

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        if self.moment == "before-comment":
            self._other_run_writes(key)
        return super().comment(key, body, labels)


@pytest.mark.parametrize("labels_with", [frozenset(), frozenset({"comment"})])  # the comment's id known, or not
@pytest.mark.parametrize("moment", ["before-reread", "before-comment"])
def test_two_runs_at_once_leave_one_result(moment: str, labels_with: frozenset[str]) -> None:
    tracker = RacingTracker(moment, labels_with)
    tracker.add(ticket("A-1"))
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    results = [c for c in tracker.tickets["A-1"].comments if "action-item-verifier result" in c.body]
    assert len(results) == 1
    assert "verified-by-otel" in tracker.tickets["A-1"].labels


def test_a_typographic_apostrophe_in_wont_do_is_still_not_a_fix() -> None:
    tracker, metrics = setup(ticket("A-1", resolution="Won\u2019t Do"), answer=instant(0.4))
    report = run(tracker, metrics, RunOptions(issues=("A-1",), not_a_fix=frozenset({"Won't Do"})), NOW)
    assert tracker.writes == []
    assert report.results[0].reason == "not a fix: Won\u2019t Do"


def test_a_stale_reopen_failed_label_does_not_stop_the_reopen_of_a_new_resolution() -> None:
    stale = ticket("A-1", labels=frozenset({"post-incident", "reopen-failed"}))
    tracker, metrics = setup(stale, answer=instant(0.4))
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verification-failed", "reopen"]


def test_a_ticket_that_cannot_be_reopened_is_tried_again_without_new_comments() -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(0.4))
    tracker.reopenable = False
    run(tracker, metrics, RunOptions(), NOW)
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1") == ["comment", "label:verification-failed", "comment", "label:reopen-failed"]
    tracker.reopenable = True  # the workflow gained its way back
    run(tracker, metrics, RunOptions(), NOW)
    assert kinds(tracker, "A-1")[-1] == "reopen"


def test_a_pull_request_named_with_issue_is_left_alone() -> None:
    tracker, metrics = setup(ticket("acme/api#7", kind="pull request"))
    report = run(tracker, metrics, RunOptions(issues=("acme/api#7",)), NOW)
    assert tracker.writes == []
    assert report.results[0].reason == "a pull request, not an action item"


def test_judged_elsewhere_is_skipped_and_shown_then_rejudge_writes() -> None:
    from verifier.services.summary import as_text

    labelled = ticket(
        "A-1", labels=frozenset({"post-incident", "verified-by-otel"}), labelled_by=(("verified-by-otel", BOT),)
    )
    tracker, metrics = setup(labelled)
    report = run(tracker, metrics, RunOptions(), NOW)
    assert tracker.writes == [] and metrics.asked == []
    assert report.counts() == {"ELSEWHERE": 1}
    assert "1 ticket: 1 judged elsewhere" in as_text(report)
    run(tracker, metrics, RunOptions(rejudge=True), NOW)
    assert kinds(tracker, "A-1") == ["comment"]  # the label is there already


@pytest.mark.parametrize(
    ("labels_with", "answer", "requests"),
    [
        (frozenset({"comment"}), 0.05, ["comment + label verified-by-otel"]),
        (frozenset({"comment"}), 0.4, ["comment + label verification-failed", "reopen"]),
        (frozenset({"reopen"}), 0.05, ["comment", "label verified-by-otel"]),
        (frozenset({"reopen"}), 0.4, ["comment", "reopen + label verification-failed"]),
    ],
)
def test_labels_ride_with_a_comment_or_a_reopen_where_the_tracker_allows(
    labels_with: frozenset[str], answer: float, requests: list[str]
) -> None:
    tracker, metrics = setup(ticket("A-1"), answer=instant(answer))
    tracker.labels_with = labels_with
    report = run(tracker, metrics, RunOptions(), NOW)
    assert report.results[0].actions == requests and report.writes == len(requests)
    label = "verified-by-otel" if answer < 0.1 else "verification-failed"
    assert label in tracker.tickets["A-1"].labels
    assert run(tracker, metrics, RunOptions(), NOW).writes == 0


def test_the_service_shown_comes_only_from_a_trusted_body() -> None:
    body = "**Service**: checkout\n\n" + BLOCK
    tracker, metrics = setup(
        ticket("A-1", body=body),
        ticket("A-2", body=body, body_edited_by=("mallory",)),
        ticket("A-3", body=body, reporter="mallory"),
    )
    report = run(tracker, metrics, RunOptions(dry_run=True), NOW)
    assert {r.key: r.service for r in report.results} == {"A-1": "checkout", "A-2": None, "A-3": None}


OTHER = QUERY.replace("latency", "errors")
METRICS = {QUERY: instant(0.05), OTHER: instant(0.5)}


def backlog() -> FakeTracker:
    """Four due tickets, listed in this order, with their writes: a result recorded without its label (1 write,
    resolved 8 days ago), an invalid config (2, resolved 9 days ago), a held fix due 4 days ago (2) and a broken
    one due 3 days ago (3)."""
    recorded = render_result(Verdict(Outcome.VERIFIED, "the condition held"), NOW - timedelta(days=8), Flavour.MARKDOWN)
    return tracker_with(
        done("RECORDED", 8, comments=(Comment("1", BOT, recorded, NOW - timedelta(days=1)),)),
        done("INVALID", 9, body=BLOCK.replace("100ms", "100kB")),
        done("HELD", 6),
        done("BROKE", 5, body=BLOCK.replace("latency", "errors")),
    )


def test_the_first_run_plan_counts_the_runs_real_runs_take() -> None:
    """Real runs write the measured tickets oldest due first, then the judged ones oldest resolved first; the
    plan packs them in that order too, whatever order the tracker listed them in."""
    dry = run(backlog(), FakeMetrics(METRICS), RunOptions(dry_run=True, max_writes=4), NOW)
    tracker, runs = backlog(), 0
    while runs < 5:
        before = len(tracker.writes)
        run(tracker, FakeMetrics(METRICS), RunOptions(max_writes=4), NOW)
        if len(tracker.writes) == before:
            break
        runs += 1
    assert dry.plan is not None and (dry.plan.writes, runs) == (8, 2)
    assert dry.plan.runs == runs
    assert {r.key: r.deferred for r in dry.results} == {
        "RECORDED": "the write budget is used up",
        "INVALID": "",
        "HELD": "",
        "BROKE": "the write budget is used up",
    }


def _stopped_while_measuring(*tickets: Ticket) -> tuple[FakeTracker, FakeMetrics, threading.Event]:
    """The tickets in a tracker whose listing ends with a stop signal once the first measurement has begun; that
    measurement (latency) waits for the stop, the other (errors) answers at once."""
    stop, measuring = threading.Event(), threading.Event()

    def slow(at: datetime) -> Measurement:
        measuring.set()
        stop.wait(10)
        return instant(0.05)

    @dataclass
    class StopsAfterListing(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            yield from super().resolved_tickets(label, lookback_days)
            measuring.wait(10)
            stop.set()

    tracker = StopsAfterListing(clock=NOW)
    for ticket in tickets:
        tracker.add(ticket)
    return tracker, FakeMetrics({QUERY: slow, OTHER: instant(0.5)}), stop


def test_a_dry_run_stopped_while_measuring_says_it_was_interrupted() -> None:
    """Its plan leaves out the tickets it could not judge: the operator must not take it for the whole backlog."""
    tracker, metrics, stop = _stopped_while_measuring(
        done("A", 5), done("B", 4, body=BLOCK.replace("latency", "errors"))
    )
    report = run(tracker, metrics, RunOptions(concurrency=1, dry_run=True), NOW, stop=stop)
    # A's measurement was under way: a stop does not wait for it (it could be stuck on a slow backend).
    assert [(r.key, r.outcome) for r in report.results] == [("A", "SKIPPED"), ("B", "SKIPPED")]
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED


def test_a_dry_run_stopped_while_listing_says_it_was_interrupted() -> None:
    stop = threading.Event()

    @dataclass
    class StopsWhileListing(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            for ticket in super().resolved_tickets(label, lookback_days):
                yield ticket
                stop.set()

    tracker = StopsWhileListing(clock=NOW)
    tracker.add(done("A"))
    tracker.add(done("B"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(dry_run=True), NOW, stop=stop)
    assert [r.key for r in report.results] == ["A"]
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED


def late(key: str, created_days: float, **kw: object) -> Ticket:
    """An open P1 ticket created `created_days` ago (its SLA is 7 days)."""
    fields: dict[str, object] = {"resolved_at": None, "resolution": None, "status": "To Do", "priority": "P1"}
    fields.update(kw)
    return done(key, 3, created=NOW - timedelta(days=created_days), **fields)


REMIND = RunOptions(overdue_reminders=True)


def test_a_dry_run_says_which_reminders_the_budget_leaves_for_a_later_run() -> None:
    tracker = tracker_with(late("OLDEST", 30), late("NEWER", 10))
    report = run(tracker, FakeMetrics(), replace(REMIND, dry_run=True, max_writes=3), NOW)
    assert {r.key: r.deferred for r in report.overdue} == {"OLDEST": "", "NEWER": "the write budget is used up"}
    assert report.plan is not None and (report.plan.writes, report.plan.runs) == (4, 2)


@dataclass
class ThrottlesComments(FakeTracker):
    """A tracker whose rate limit refuses every comment."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        raise TrackerThrottled("rate limited (HTTP 429), retry after 3600 s", ticket=key)


def test_a_rate_limit_while_reminding_stops_the_reminders_and_says_so() -> None:
    tracker = ThrottlesComments(clock=NOW)
    tracker.add(late("OLDEST", 30))
    tracker.add(late("NEWER", 10))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), REMIND, NOW)
    refused = "throttled: OLDEST: rate limited (HTTP 429), retry after 3600 s"
    assert {r.key: (r.outcome, r.reason.split("; ")[-1], r.deferred, r.writes) for r in report.overdue} == {
        "OLDEST": ("ERROR", refused, "", 1),
        "NEWER": ("OVERDUE", "P1 due 2026-11-23, 3 days late", "the tracker's rate limit stopped the writing", 0),
    }
    assert report.throttled == refused and report.exit_code == ExitCode.THROTTLED
    assert report.errors == [f"writing stopped: {refused}; the next run writes the rest"]
    assert {
        "event": "tracker_throttled",
        "ticket": "OLDEST",
        "error": "OLDEST: rate limited (HTTP 429), retry after 3600 s",
        "log_level": "error",
    } in logs


def test_an_overdue_label_removed_since_the_listing_is_left_for_the_next_run_when_the_budget_is_spent() -> None:
    """The listing showed the `overdue` label (one write: the reminder); the ticket as re-read has lost it, and the
    budget has no write left for it."""
    labelled = frozenset({"post-incident", "overdue"})

    @dataclass
    class LabelRemoved(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            return replace(ticket, labels=ticket.labels - {"overdue"})

    tracker = LabelRemoved(clock=NOW)
    tracker.add(late("A", 30, labels=labelled))
    report = run(tracker, FakeMetrics(), replace(REMIND, max_writes=1), NOW)
    (result,) = report.overdue
    assert [kind for _, kind, _ in tracker.writes] == ["comment"]
    assert (result.actions, result.writes, result.deferred) == (
        ["reminder"],
        1,
        "label overdue: the write budget is used up",
    )


def test_a_result_links_the_judged_query_on_the_graph_ui_when_links_are_on() -> None:
    links = GraphLinks("https://prometheus.example.com", sparkline=False)
    tracker = tracker_with(done("A"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(links=links), NOW)
    (result,) = report.results
    assert result.graph is not None and result.graph.startswith("https://prometheus.example.com/graph?")
    (comment,) = [body for _, kind, body in tracker.writes if kind == "comment"]
    assert f"[Graph of the window in Prometheus]({result.graph})" in comment


def test_a_result_shows_the_query_as_resolved_against_the_backend() -> None:
    resolved = 'histogram_quantile(0.99, sum by (le) (increase({"http.server.request.duration_bucket"}[48h])))'
    tracker = tracker_with(done("A", body=BLOCK.replace("latency_seconds", "http.server.request.duration")))
    report = run(tracker, Catalog({resolved: instant(0.05)}), RunOptions(), NOW)
    (result,) = report.results
    assert (result.outcome, result.value, result.query) == ("VERIFIED", 0.05, resolved)


def test_a_rate_limit_while_listing_keeps_what_was_listed_and_says_so() -> None:
    @dataclass
    class ListingThrottled(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            yield from list(super().resolved_tickets(label, lookback_days))[:1]
            raise TrackerThrottled("rate limited (HTTP 429)")

    tracker = ListingThrottled(clock=NOW)
    tracker.add(done("A"))
    tracker.add(done("B"))
    tracker.add(late("LATE", 30))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), REMIND, NOW)
    assert [(r.key, r.outcome) for r in report.results] == [("A", "VERIFIED")]
    assert report.throttled == "rate limited (HTTP 429)" and report.exit_code == ExitCode.THROTTLED
    assert report.errors == ["listing tickets stopped: rate limited (HTTP 429)"]
    assert {"event": "listing_failed", "error": "rate limited (HTTP 429)", "log_level": "error"} in logs
    # Reminders would only earn more refusals: the open tickets are not even listed.
    assert not report.reminders_checked and report.overdue == []


def test_a_stop_cancels_the_queued_measurements_and_still_reports_every_due_ticket() -> None:
    """One measurement at a time: A is being measured when the stop comes, B is still queued, and C (an invalid
    config) needs no measurement. The stop does not wait for A's answer; nothing is written; each result says what
    became of it."""
    tracker, metrics, stop = _stopped_while_measuring(
        done("A", 5),
        done("B", 4, body=BLOCK.replace("latency", "errors")),
        done("C", 3, body=BLOCK.replace("100ms", "100kB")),
    )
    report = run(tracker, metrics, RunOptions(concurrency=1), NOW, stop=stop)
    asked = [q for q, _ in metrics.asked]
    # A's query was under way (its events count may follow before the stop is seen); B's was never sent.
    assert tracker.writes == [] and asked[0] == QUERY and not [q for q in asked if "errors" in q], asked
    assert {r.key: (r.outcome, r.deferred) for r in report.results} == {
        "A": ("SKIPPED", ""),
        "B": ("SKIPPED", ""),
        "C": ("INVALID", "the run was stopped"),
    }
    assert report.results[0].reason == report.results[1].reason == "not judged: the run was stopped first"
    assert report.interrupted and report.exit_code == ExitCode.INTERRUPTED


def test_a_rate_limit_while_writing_results_stops_the_run_before_any_reminder() -> None:
    tracker = ThrottlesComments(clock=NOW)
    tracker.add(done("A"))
    tracker.add(late("LATE", 30))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), REMIND, NOW)
    refused = "throttled: A: rate limited (HTTP 429), retry after 3600 s"
    assert [(r.key, r.outcome, r.reason) for r in report.results] == [("A", "ERROR", refused)]
    assert report.throttled == refused and report.exit_code == ExitCode.THROTTLED
    assert report.errors == [f"writing stopped: {refused}; the next run writes the rest"]
    assert not report.reminders_checked and report.overdue == []


def test_with_a_signing_key_results_are_signed_and_an_unsigned_one_is_not_taken_for_ours() -> None:
    """A result comment anyone could have pasted (the bot's marker, no signature) does not count as recorded: the
    run writes its own, signed, result; the next run finds that one and writes nothing."""
    pasted = render_result(Verdict(Outcome.VERIFIED, "the condition held"), NOW - timedelta(days=3), Flavour.MARKDOWN)
    tracker = tracker_with(done("A", reporter="alice", comments=(Comment("1", BOT, pasted, NOW - timedelta(days=1)),)))
    signed = RunOptions(signing_key=b"k" * 32, trusted_authors=frozenset({"alice"}))
    first = run(tracker, FakeMetrics({QUERY: instant(0.05)}), signed, NOW)
    assert first.results[0].actions == ["comment", "label verified-by-otel"]
    (comment,) = [body for _, kind, body in tracker.writes if kind == "comment"]
    assert "; sig=" in comment.splitlines()[-1]
    again = run(tracker, FakeMetrics({QUERY: instant(0.05)}), signed, NOW)
    assert [(r.reason, r.actions) for r in again.results] == [("already recorded", [])]


def test_a_result_carries_the_value_threshold_query_and_link() -> None:
    report = run(tracker_with(done("A")), FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    (result,) = report.results
    assert (result.url, result.value, result.threshold, result.query) == ("https://tracker/A", 0.05, 0.1, QUERY)
    assert (result.outcome, result.reason) == ("VERIFIED", "the condition held")
    assert 0 <= report.duration_seconds < 60


def test_the_oldest_due_goes_first_even_when_it_was_resolved_later() -> None:
    """A's window (8 days) ends a day ago; B, resolved later with a 48 h window, has been due for three days."""
    long_window = BLOCK.replace("p99\n", "p99\ndelay: 8d\n")
    slow = done("A", 9, body=long_window)
    tracker = tracker_with(slow, done("B", 5))
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW)
    assert [key for key, *_ in tracker.writes] == ["B", "B"]


def test_judged_tickets_without_a_due_time_go_oldest_resolved_first() -> None:
    broken = BLOCK.replace("100ms", "100kB")
    tracker = tracker_with(done("NEW", 3, body=broken), done("OLD", 9, body=broken))
    run(tracker, FakeMetrics(), RunOptions(max_writes=2), NOW)
    assert [key for key, *_ in tracker.writes] == ["OLD", "OLD"]


def test_a_second_run_reports_the_result_as_already_recorded() -> None:
    tracker = tracker_with(done("A"))
    metrics = FakeMetrics({QUERY: instant(0.05)})
    run(tracker, metrics, RunOptions(), NOW)
    again = run(tracker, metrics, RunOptions(), NOW)
    assert [(r.outcome, r.reason, r.writes) for r in again.results] == [("VERIFIED", "already recorded", 0)]


def test_every_untrusted_author_is_named() -> None:
    comments = (Comment("1", "mallory", BLOCK, NOW), Comment("2", "eve", BLOCK, NOW))
    report = run(tracker_with(done("A", reporter="trudy", comments=comments)), FakeMetrics(), RunOptions(), NOW)
    assert report.results[0].reason == "no trusted config (ignored configs by untrusted trudy, mallory, eve)"


def test_a_tracker_that_refuses_the_sign_in_is_a_run_error() -> None:
    @dataclass
    class Refuses(FakeTracker):
        def account(self) -> str:
            raise TrackerError("HTTP 401")

    report = run(Refuses(clock=NOW), FakeMetrics(), RunOptions(), NOW)
    assert report.errors == ["signing in to the tracker failed: HTTP 401"] and report.exit_code == 1
    assert report.duration_seconds >= 0


def test_an_unreadable_issue_and_a_failed_listing_are_named_in_the_errors() -> None:
    report = run(tracker_with(), FakeMetrics(), RunOptions(issues=("NOPE-1",)), NOW)
    assert len(report.errors) == 1 and report.errors[0].startswith("NOPE-1: no such ticket")

    @dataclass
    class ListingFails(FakeTracker):
        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            raise TrackerError("HTTP 502")

    report = run(ListingFails(clock=NOW), FakeMetrics(), RunOptions(), NOW)
    assert report.errors == ["listing tickets stopped: HTTP 502"]


def test_the_listing_asks_for_the_configured_label_and_lookback() -> None:
    @dataclass
    class Recording(FakeTracker):
        asked: list[tuple[str, int]] = field(default_factory=list)

        def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
            self.asked.append((label, lookback_days))
            return super().resolved_tickets(label, lookback_days)

    tracker = Recording(clock=NOW)
    run(tracker, FakeMetrics(), RunOptions(label="pir", lookback_days=30), NOW)
    assert tracker.asked == [("pir", 30 + 366)]  # the lookback plus the longest delay a config may have (#21)


def test_each_measured_ticket_is_logged_with_its_verdict() -> None:
    with structlog.testing.capture_logs() as logs:
        run(tracker_with(done("A")), FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    (event,) = [e for e in logs if e["event"] == "ticket"]
    seconds = event.pop("query_seconds")
    assert event == {
        "event": "ticket",
        "ticket": "A",
        "verdict": "VERIFIED",
        "value": 0.05,
        "threshold": 0.1,
        "log_level": "info",
    }
    assert 0 <= seconds < 2.5


def test_a_config_removed_before_the_write_gets_no_result_on_the_config_it_no_longer_has() -> None:
    @dataclass
    class ConfigRemoved(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            return replace(ticket, body="config moved to the wiki")

    tracker = ConfigRemoved(clock=NOW)
    tracker.add(done("A"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert report.results[0].outcome == "VERIFIED" and tracker.writes == []  # judged, but not written:
    assert report.results[0].reason.endswith(
        "; the config changed since it was judged: nothing written, the next run judges the new one"
    )


@dataclass
class CountsInFlight(FakeTracker):
    in_flight: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_labels(self, key: str, labels: object) -> None:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        super().add_labels(key, labels)  # type: ignore[arg-type]


def test_a_concurrency_of_one_measures_and_writes_one_ticket_at_a_time() -> None:
    in_flight, most, lock = [0], [0], threading.Lock()

    def counted(at: datetime) -> Measurement:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return instant(0.05)

    tracker = CountsInFlight(clock=NOW)
    for key in ("A", "B", "C"):
        tracker.add(done(key))
    run(tracker, FakeMetrics({QUERY: counted}), RunOptions(concurrency=1), NOW)
    assert most == [1] and tracker.most == 1 and len(tracker.writes) == 6


def test_measured_tickets_get_the_budget_before_tickets_judged_without_measuring() -> None:
    """A broken config resolved long ago waits behind a measurement that fell due more recently."""
    broken = done("BROKEN", 9, body=BLOCK.replace("100ms", "100kB"))
    tracker = tracker_with(broken, done("MEASURED", 3))
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW)
    assert [key for key, *_ in tracker.writes] == ["MEASURED", "MEASURED"]


def test_running_out_of_budget_is_logged_per_ticket() -> None:
    with structlog.testing.capture_logs() as logs:
        run(
            tracker_with(done("A", 9), done("B", 3)), FakeMetrics({QUERY: instant(0.05)}), RunOptions(max_writes=2), NOW
        )
    assert [e for e in logs if e["event"] == "write_budget_exhausted"] == [
        {"event": "write_budget_exhausted", "ticket": "B", "budget": 2, "log_level": "info"}
    ]


def test_a_dry_run_lists_every_reminder_it_would_write() -> None:
    late = {"resolved_at": None, "resolution": None, "status": "To Do", "priority": "P1"}
    tracker = tracker_with(
        done("A", 0, created=NOW - timedelta(days=20), **late), done("B", 0, created=NOW - timedelta(days=10), **late)
    )
    report = run(tracker, FakeMetrics(), RunOptions(overdue_reminders=True, dry_run=True), NOW)
    assert tracker.writes == []
    assert {r.key: r.actions for r in report.overdue} == {
        "A": ["reminder", "label overdue"],
        "B": ["reminder", "label overdue"],
    }


REMIND = RunOptions(overdue_reminders=True)


def late_edges(key: str, created_days: float, **kw: object) -> Ticket:
    fields: dict[str, object] = {"resolved_at": None, "resolution": None, "status": "To Do", "priority": "P1"}
    fields.update(kw)
    return done(key, 3, created=NOW - timedelta(days=created_days), **fields)


def test_tickets_with_the_same_outcome_are_counted_together() -> None:
    report = run(tracker_with(done("A"), done("B")), FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert report.counts() == {"VERIFIED": 2}


def test_accepting_warnings_reaches_the_verdict() -> None:
    warned = Measurement(instant(0.05).series, warnings=("partial response",))
    report = run(tracker_with(done("A")), FakeMetrics({QUERY: warned}), RunOptions(accept_warnings=True), NOW)
    assert report.counts() == {"VERIFIED": 1}


def test_a_crash_while_measuring_is_an_error_for_that_ticket_only() -> None:
    def boom(at: datetime) -> Measurement:
        raise ValueError("boom")

    tracker = tracker_with(done("A"), done("B", body=BLOCK.replace("latency", "other")))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: boom}), RunOptions(), NOW)
    results = {r.key: (r.outcome, r.reason) for r in report.results}
    assert results["A"] == ("ERROR", "internal error: boom") and results["B"][0] == "INCONCLUSIVE"
    assert {"event": "measure_crashed", "ticket": "A", "log_level": "error", "exc_info": True} in logs
    assert [key for key, *_ in tracker.writes] == ["B", "B"] and report.exit_code == 0 and not report.complete


def test_a_stop_during_measuring_writes_nothing_and_says_so() -> None:
    stop = threading.Event()

    def stopping(at: datetime) -> Measurement:
        stop.set()
        return instant(0.4)

    tracker = tracker_with(done("A"))
    report = run(tracker, FakeMetrics({QUERY: stopping}), RunOptions(), NOW, stop=stop)
    assert tracker.writes == [] and report.interrupted and report.exit_code == 143
    assert report.results[0].deferred == "the run was stopped"


def test_a_crash_while_writing_is_an_error_for_that_ticket_and_is_logged() -> None:
    @dataclass
    class LabelsCrash(FakeTracker):
        def add_labels(self, key: str, labels: object) -> None:
            raise RuntimeError("label API changed")

    tracker = LabelsCrash(clock=NOW)
    tracker.add(done("A"))
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert (report.results[0].outcome, report.results[0].reason) == ("ERROR", "internal error: label API changed")
    assert {"event": "write_crashed", "ticket": "A", "log_level": "error", "exc_info": True} in logs


def test_a_failed_write_is_logged_with_the_ticket_and_the_error() -> None:
    tracker = tracker_with(done("A"))
    tracker.fail_on = {"comment"}
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.05)}), RunOptions(), NOW)
    assert report.results[0].reason == "tracker write failed: A: comment failed with HTTP 500"
    failed = [e for e in logs if e["event"] == "write_failed"]
    assert failed == [
        {"event": "write_failed", "ticket": "A", "error": "A: comment failed with HTTP 500", "log_level": "error"}
    ]


def test_a_jira_tracker_gets_wiki_markup_results_and_reminders() -> None:
    tracker = tracker_with(done("A"), late_edges("B", 10), flavour=Flavour.JIRA_WIKI)
    run(tracker, FakeMetrics({QUERY: instant(0.05)}), REMIND, NOW)
    comments = {key: body for key, kind, body in tracker.writes if kind == "comment"}
    assert comments["A"].startswith("h3. (/) Verified") and comments["B"].startswith("h3. (!) Overdue")


def test_a_ticket_that_cannot_be_reopened_counts_its_writes_and_says_why() -> None:
    tracker = tracker_with(done("A"))
    tracker.reopenable = False
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics({QUERY: instant(0.4)}), RunOptions(), NOW)
    # A workflow with no way back takes no transition request: comment, label, then the note and its label.
    assert report.results[0].writes == 4 and report.writes == 4
    assert report.results[0].actions == [
        "comment",
        "label verification-failed",
        "reopen impossible: comment",
        "label reopen-failed",
    ]
    assert {"event": "reopen_impossible", "ticket": "A", "log_level": "warning"} in logs


def test_a_ticket_changed_since_listing_keeps_its_verdict_and_says_why_nothing_was_written() -> None:
    @dataclass
    class ReResolved(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            ticket = super().get_ticket(key)
            return done(key, 0.1) if ticket.resolved_at == NOW - timedelta(days=3) else ticket

    tracker = ReResolved(clock=NOW)
    tracker.add(done("A"))
    report = run(tracker, FakeMetrics({QUERY: instant(0.4)}), RunOptions(), NOW)
    assert (report.results[0].outcome, report.results[0].reason) == (
        "FAILED",
        "the condition broke; the ticket changed since it was listed, left for the next run",
    )


def test_an_overdue_ticket_is_reported_with_its_link_and_due_date() -> None:
    tracker = tracker_with(late_edges("B", 10))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    (overdue,) = report.overdue
    assert (overdue.url, overdue.due_at, overdue.reason) == (
        "https://tracker/B",
        NOW - timedelta(days=3),
        overdue.reason,
    )
    assert overdue.reason.startswith("P1 due 2026-11-23, 3 days late") and overdue.writes == 2


def test_a_ticket_due_exactly_now_is_not_overdue_yet() -> None:
    report = run(tracker_with(late_edges("B", 7)), FakeMetrics(), REMIND, NOW)
    assert report.overdue == [] and report.reminders_checked


def test_open_pull_requests_are_never_reminded() -> None:
    @dataclass
    class ListsPullRequests(FakeTracker):
        def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
            yield from self.tickets.values()

    tracker = ListsPullRequests(clock=NOW)
    tracker.add(late_edges("acme/api#7", 30, kind="pull request"))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert report.overdue == [] and tracker.writes == []


def test_reminders_due_on_the_same_day_are_all_written() -> None:
    tracker = tracker_with(late_edges("B", 10), late_edges("C", 10))
    report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert sorted(key for key, *_ in tracker.writes) == ["B", "B", "C", "C"] and report.writes == 4


def test_a_reminder_too_big_for_the_budget_waits_and_a_smaller_one_behind_it_goes() -> None:
    labelled = frozenset({"post-incident", "overdue"})
    tracker = tracker_with(late_edges("OLDEST", 20), late_edges("NEWER", 10, labels=labelled))
    report = run(tracker, FakeMetrics(), RunOptions(overdue_reminders=True, max_writes=1), NOW)
    assert [(key, kind) for key, kind, _ in tracker.writes] == [("NEWER", "comment")]
    assert {r.key: r.deferred for r in report.overdue} == {"OLDEST": "the write budget is used up", "NEWER": ""}


def test_a_failure_to_list_open_tickets_is_a_run_error() -> None:
    @dataclass
    class OpenListingFails(FakeTracker):
        def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
            raise TrackerError("search failed with HTTP 502")

    tracker = OpenListingFails(clock=NOW)
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert report.errors == ["listing open tickets stopped: search failed with HTTP 502"] and report.exit_code == 1
    assert {
        "event": "listing_failed",
        "error": "search failed with HTTP 502",
        "listing": "open tickets",
        "log_level": "error",
    } in logs


def test_a_stop_before_reminding_writes_no_reminder() -> None:
    stop = threading.Event()

    @dataclass
    class StopsWhileListing(FakeTracker):
        def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
            for ticket in super().post_incident_tickets(label, since):
                stop.set()
                yield ticket

    tracker = StopsWhileListing(clock=NOW)
    tracker.add(late_edges("B", 10))
    tracker.add(late_edges("C", 20))
    report = run(tracker, FakeMetrics(), REMIND, NOW, stop=stop)
    assert tracker.writes == [] and report.interrupted


def test_a_failed_reminder_is_logged_and_a_crash_is_an_internal_error() -> None:
    tracker = tracker_with(late_edges("B", 10))
    tracker.fail_on = {"comment"}
    with structlog.testing.capture_logs() as logs:
        report = run(tracker, FakeMetrics(), REMIND, NOW)
    assert report.overdue[0].outcome == "ERROR" and report.overdue[0].reason == (
        "tracker write failed: B: comment failed with HTTP 500"
    )
    assert {
        "event": "write_failed",
        "ticket": "B",
        "error": "B: comment failed with HTTP 500",
        "log_level": "error",
    } in logs

    @dataclass
    class CommentCrash(FakeTracker):
        def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
            raise RuntimeError("bad body")

    crashing = CommentCrash(clock=NOW)
    crashing.add(late_edges("B", 10))
    with structlog.testing.capture_logs() as logs:
        report = run(crashing, FakeMetrics(), REMIND, NOW)
    assert (report.overdue[0].outcome, report.overdue[0].reason) == ("ERROR", "internal error: bad body")
    assert {"event": "write_crashed", "ticket": "B", "log_level": "error", "exc_info": True} in logs


def test_reminding_and_running_out_of_budget_are_logged() -> None:
    tracker = tracker_with(late_edges("B", 10), late_edges("C", 20))
    with structlog.testing.capture_logs() as logs:
        run(tracker, FakeMetrics(), RunOptions(overdue_reminders=True, max_writes=2), NOW)
    assert {"event": "reminded", "ticket": "C", "due": "2026-11-13", "log_level": "info"} in logs
    assert {"event": "write_budget_exhausted", "ticket": "B", "budget": 2, "log_level": "info"} in logs
