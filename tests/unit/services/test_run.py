import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from verifier.domain.measurement import Measurement
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import BackendUnavailable, QueryRejected
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
