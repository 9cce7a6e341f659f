"""Overdue reminders in the run, the SLA setting, and the per-service figures the run reports."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.errors import SettingsError
from verifier.services.apply import BUDGET_SPENT, STOPPED
from verifier.services.budget import Budget
from verifier.services.push import by_service
from verifier.services.remind import remind
from verifier.services.run import RunOptions, run
from verifier.services.run_report import RunReport
from verifier.services.summary import as_json, as_text
from verifier.settings import RunSettings, load

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"
REMIND = RunOptions(overdue_reminders=True)


def open_ticket(key: str, *, created_days: float, priority: str | None = "P1", **kw: object) -> Ticket:
    fields: dict[str, object] = {
        "key": key,
        "url": f"https://tracker/{key}",
        "title": f"Fix {key}",
        "status": "In Progress",
        "resolved_at": None,
        "resolution": None,
        "labels": frozenset({"post-incident"}),
        "body": f"**Service**: search\n\n{BLOCK}",
        "reporter": BOT,
        "created": NOW - timedelta(days=created_days),
        "priority": priority,
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


def done_ticket(key: str, service: str = "checkout") -> Ticket:
    return open_ticket(
        key,
        created_days=5,
        status="Done",
        resolved_at=NOW - timedelta(days=3),
        resolution="Done",
        body=f"**Service**: {service}\n\n{BLOCK}",
    )


def setup(*tickets: Ticket, value: float = 0.05) -> tuple[FakeTracker, FakeMetrics]:
    tracker = FakeTracker(clock=NOW)
    for ticket in tickets:
        tracker.add(ticket)
    return tracker, FakeMetrics({QUERY: instant(value)})


def writes(tracker: FakeTracker, key: str) -> list[str]:
    return [kind + (f":{detail}" if kind == "label" else "") for k, kind, detail in tracker.writes if k == key]


def test_one_reminder_per_breach_over_three_runs() -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10), open_ticket("A-2", created_days=3))
    reports = [run(tracker, metrics, REMIND, NOW + timedelta(hours=6 * n)) for n in range(3)]
    assert writes(tracker, "A-1") == ["comment", "label:overdue"]
    assert writes(tracker, "A-2") == []  # within its 7 days
    body = tracker.writes[0][2]
    assert "due on 2026-11-23 and is 3 days late" in body and "action-item-verifier reminder v1; due=2026-11-23" in body
    first, second, third = reports
    assert [(r.key, r.outcome, r.actions) for r in first.overdue] == [("A-1", "OVERDUE", ["reminder", "label overdue"])]
    assert first.writes == 2 and first.exit_code == 0
    assert [r.reason for r in second.overdue] == ["P1 due 2026-11-23, 3 days late; reminded already"]
    assert third.writes == 0 and second.writes == 0
    assert "A-1  OVERDUE       P1 due 2026-11-23, 3 days late [wrote: reminder, label overdue]" in as_text(first)
    assert as_text(first).endswith("1 open ticket overdue: 1 reminded now")
    assert as_json(first)["overdue"][0]["service"] == "search"


def test_a_new_priority_is_a_new_breach_and_the_label_is_not_added_twice() -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10, priority="P1"))
    run(tracker, metrics, REMIND, NOW)
    tracker.tickets["A-1"] = open_ticket(
        "A-1",
        created_days=10,
        priority="P0",
        comments=tracker.tickets["A-1"].comments,
        labels=frozenset({"post-incident", "overdue"}),
    )
    run(tracker, metrics, REMIND, NOW)
    assert writes(tracker, "A-1") == ["comment", "label:overdue", "comment"]
    assert "due=2026-11-19" in tracker.writes[-1][2]


def test_dry_run_and_reminders_off_write_nothing() -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10))
    dry = run(tracker, metrics, RunOptions(overdue_reminders=True, dry_run=True), NOW)
    assert tracker.writes == []
    assert dry.overdue[0].actions == ["reminder", "label overdue"]
    assert "[would write: reminder, label overdue]" in as_text(dry)
    off = run(tracker, metrics, RunOptions(), NOW)
    assert tracker.writes == [] and off.overdue == [] and not off.reminders_checked
    assert "overdue" not in as_text(off) and as_json(off)["overdue"] is None
    one = run(tracker, metrics, RunOptions(overdue_reminders=True, issues=("A-1",)), NOW)
    assert tracker.writes == [] and one.overdue == []


def test_reminders_share_the_write_budget_longest_overdue_first() -> None:
    tracker, metrics = setup(
        done_ticket("D-1"),
        open_ticket("A-1", created_days=10),
        open_ticket("A-2", created_days=20),
        open_ticket("A-3", created_days=9, labels=frozenset({"post-incident", "overdue"})),
    )
    report = run(tracker, metrics, RunOptions(overdue_reminders=True, max_writes=5), NOW)
    assert writes(tracker, "D-1") == ["comment", "label:verified-by-otel"]
    assert writes(tracker, "A-2") == ["comment", "label:overdue"]  # 19 days late: first
    assert writes(tracker, "A-1") == []  # two writes, one left
    assert writes(tracker, "A-3") == ["comment"]  # already labelled: one write
    deferred = {r.key: r.deferred for r in report.overdue}
    assert deferred == {"A-1": "the write budget is used up", "A-2": "", "A-3": ""}
    assert report.writes == 5


def test_a_ticket_the_run_just_reopened_is_reminded_next_run() -> None:
    old = done_ticket("A-1")
    tracker, metrics = setup(Ticket(**{**old.__dict__, "created": NOW - timedelta(days=30)}), value=0.4)
    first = run(tracker, metrics, REMIND, NOW)
    assert writes(tracker, "A-1") == ["comment", "label:verification-failed", "reopen"]
    assert [(r.key, r.deferred) for r in first.overdue] == [("A-1", "written to by this run; reminded next run")]
    run(tracker, metrics, REMIND, NOW + timedelta(hours=6))
    assert writes(tracker, "A-1")[3:] == ["comment", "label:overdue"]


def test_a_failed_reminder_is_an_error_and_the_next_run_tries_again() -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10))
    tracker.fail_on = {"comment"}
    failed = run(tracker, metrics, REMIND, NOW)
    assert failed.exit_code == 74 and not failed.complete and failed.overdue[0].outcome == "ERROR"
    run(tracker, metrics, REMIND, NOW)
    assert writes(tracker, "A-1") == ["comment", "label:overdue"]


def test_a_run_stopped_between_the_reminder_and_its_label_adds_the_label_next_time() -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10))
    tracker.fail_on = {"label"}  # as a run killed after the reminder was stored
    run(tracker, metrics, REMIND, NOW)
    assert writes(tracker, "A-1") == ["comment"]
    plan = run(tracker, metrics, RunOptions(overdue_reminders=True, dry_run=True), NOW)
    assert plan.overdue[0].actions == ["label overdue"]  # the first-run plan counts the label alone
    second = run(tracker, metrics, REMIND, NOW + timedelta(hours=6))
    assert writes(tracker, "A-1") == ["comment", "label:overdue"]  # no second reminder
    assert second.overdue[0].actions == ["label overdue"] and second.writes == 1
    third = run(tracker, metrics, REMIND, NOW + timedelta(hours=12))
    assert third.writes == 0 and third.overdue[0].reason.endswith("reminded already")


def test_breaches_due_at_the_same_moment_are_written_in_the_order_listed_whatever_each_owes() -> None:
    tracker, metrics = setup(open_ticket("A-2", created_days=10))
    tracker.fail_on = {"label"}
    run(tracker, metrics, REMIND, NOW)  # A-2 now owes its label alone
    tracker.add(open_ticket("A-1", created_days=10))  # due at the same moment, owes both
    report = run(tracker, metrics, RunOptions(overdue_reminders=True, max_writes=1), NOW)
    assert [(r.key, r.actions, r.deferred) for r in report.overdue] == [
        ("A-2", ["label overdue"], ""),
        ("A-1", [], BUDGET_SPENT),
    ]


@pytest.mark.parametrize(("failing", "written"), [("comment", []), ("label", ["reminder"])])
def test_a_reminder_write_that_failed_is_not_reported_as_written(failing: str, written: list[str]) -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10))
    tracker.fail_on = {failing}
    report = run(tracker, metrics, REMIND, NOW)
    assert report.overdue[0].outcome == "ERROR" and report.overdue[0].actions == written
    reminded = 1 if written else 0
    assert f"1 open ticket overdue: {reminded} reminded now" in as_text(report).splitlines()


def test_results_carry_the_service_and_are_counted_by_service() -> None:
    tracker, metrics = setup(
        done_ticket("D-1", "checkout"), done_ticket("D-2", "search"), open_ticket("A-1", created_days=10)
    )
    report = run(tracker, metrics, REMIND, NOW)
    assert by_service(report.results) == {"checkout": {"VERIFIED": 1}, "search": {"VERIFIED": 1}}
    assert by_service(report.overdue) == {"search": {"OVERDUE": 1}}
    no_service = Ticket(**{**done_ticket("X-1").__dict__, "body": BLOCK})
    assert by_service(run(*setup(no_service), RunOptions(), NOW).results) == {"unknown": {"VERIFIED": 1}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"P0": 3, "P1": 7, "P2": 30, "P3": 90}),
        ("p1=5, P3=100", {"P0": 3, "P1": 5, "P2": 30, "P3": 100}),
    ],
)
def test_sla_days_setting(value: str | None, expected: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/api")
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent")
    if value is not None:
        monkeypatch.setenv("VERIFIER_SLA_DAYS", value)
    settings = load(RunSettings)
    assert settings.sla_days == expected and settings.overdue_reminders is False


@pytest.mark.parametrize(
    ("value", "message"), [("P5=3", "unknown priority 'P5'"), ("P1=x", "'P1=x' is not"), ("P1=0", "at least 1")]
)
def test_bad_sla_days_name_the_variable(value: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/api")
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent")
    monkeypatch.setenv("VERIFIER_SLA_DAYS", value)
    with pytest.raises(SettingsError, match="VERIFIER_SLA_DAYS: .*" + message):
        load(RunSettings)


def test_a_run_stopped_while_a_reminder_is_written_is_reported_interrupted() -> None:
    """The stop comes after the reminder was started (the ticket re-read): nothing is sent, the reminder is left
    for the next run, and the run says it was interrupted, so it does not look complete."""
    stop = threading.Event()

    class StoppedOnReread(FakeTracker):
        def get_ticket(self, key: str) -> Ticket:
            stop.set()  # SIGTERM arrives while the ticket is re-read
            return super().get_ticket(key)

    tracker = StoppedOnReread(clock=NOW)
    tracker.add(open_ticket("A-1", created_days=10))
    report = RunReport(started=NOW, dry_run=False)
    budget = Budget(10)
    remind(tracker, REMIND, Policy(frozenset({BOT}), frozenset({BOT}), frozenset()), report, budget, NOW, stop)
    (result,) = report.overdue
    assert (result.deferred, result.actions, result.writes) == (STOPPED, [], 0)
    assert report.interrupted is True
    assert budget.left == 10 and tracker.writes == []
