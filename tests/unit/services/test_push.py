"""What a run pushes for dashboards and alerts: its own figures, and tickets by service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.unit.services.test_remind import NOW, REMIND, open_ticket, setup
from tests.unit.services.test_run import ticket
from tests.unit.test_bootstrap import Built, github_env
from verifier.cli import main
from verifier.errors import MetricsError, VerifierError
from verifier.services.push import by_service, push_metrics
from verifier.services.run import RunReport, TicketResult, run

STARTED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class RecordingSink:
    """A RunMetrics that keeps what it was given, or fails as a Pushgateway that is down."""

    fail: VerifierError | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)

    def push_run(
        self,
        *,
        counts: Mapping[str, int],
        errors: int,
        writes: int,
        duration_seconds: float,
        finished_at: float,
        succeeded: bool,
        dry_run: bool,
    ) -> None:
        if self.fail:
            raise self.fail
        self.runs.append(
            {
                "counts": dict(counts),
                "errors": errors,
                "writes": writes,
                "duration_seconds": duration_seconds,
                "finished_at": finished_at,
                "succeeded": succeeded,
                "dry_run": dry_run,
            }
        )

    def push_services(
        self, *, results: Mapping[str, Mapping[str, int]], overdue: Mapping[str, int] | None, dry_run: bool
    ) -> None:
        self.services.append({"results": results, "overdue": overdue, "dry_run": dry_run})


def result(key: str, outcome: str, service: str | None = None, writes: int = 0) -> TicketResult:
    return TicketResult(key, f"https://tracker/{key}", outcome, "why", service=service, writes=writes)


def test_a_run_pushes_its_counts_errors_writes_duration_and_success() -> None:
    report = RunReport(
        STARTED,
        dry_run=False,
        results=[result("A-1", "VERIFIED", "checkout", writes=2), result("A-2", "VERIFIED", "checkout")],
        duration_seconds=4.5,
    )
    sink = RecordingSink()
    push_metrics(sink, report, finished_at=1_700_000_000.0)
    assert sink.runs == [
        {
            "counts": {"VERIFIED": 2},
            "errors": 0,
            "writes": 2,
            "duration_seconds": 4.5,
            "finished_at": 1_700_000_000.0,
            "succeeded": True,
            "dry_run": False,
        }
    ]
    assert sink.services == [{"results": {"checkout": {"VERIFIED": 2}}, "overdue": None, "dry_run": False}]


def test_a_dry_run_pushes_like_a_real_one_marked_as_dry() -> None:
    report = RunReport(STARTED, dry_run=True, results=[result("A-1", "FAILED", "checkout")], duration_seconds=1.0)
    sink = RecordingSink()
    push_metrics(sink, report, finished_at=5.0)
    assert sink.runs == [
        {
            "counts": {"FAILED": 1},
            "errors": 0,
            "writes": 0,
            "duration_seconds": 1.0,
            "finished_at": 5.0,
            "succeeded": True,
            "dry_run": True,
        }
    ]
    assert sink.services == [{"results": {"checkout": {"FAILED": 1}}, "overdue": None, "dry_run": True}]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_run_started_by_hand_pushes_nothing_and_says_so(dry_run: bool) -> None:
    report = RunReport(STARTED, dry_run=dry_run, results=[result("A-1", "VERIFIED", "checkout")])
    sink = RecordingSink()
    with capture_logs() as logs:
        push_metrics(sink, report, finished_at=5.0, by_hand=True)
    assert (sink.runs, sink.services) == ([], [])
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [("metrics_not_pushed", "info")]


def test_errors_pushed_are_the_tickets_in_error_and_the_runs_own_failures() -> None:
    report = RunReport(
        STARTED,
        dry_run=False,
        results=[result("A-1", "ERROR"), result("A-2", "ERROR"), result("A-3", "FAILED")],
        errors=["listing the tracker failed"],
    )
    sink = RecordingSink()
    push_metrics(sink, report, finished_at=0.0)
    assert sink.runs[0]["errors"] == 3 and sink.runs[0]["succeeded"] is False


def test_a_run_with_no_error_ticket_pushes_only_its_own_failures() -> None:
    report = RunReport(STARTED, dry_run=False, results=[result("A-1", "FAILED")], errors=["one", "two"])
    sink = RecordingSink()
    push_metrics(sink, report, finished_at=0.0)
    assert sink.runs[0]["errors"] == 2


def test_an_interrupted_run_is_not_pushed_as_succeeded() -> None:
    sink = RecordingSink()
    push_metrics(sink, RunReport(STARTED, dry_run=False, interrupted=True), finished_at=0.0)
    assert sink.runs[0]["succeeded"] is False


def test_a_reminder_that_could_not_be_written_is_pushed_as_an_error_of_the_failed_run() -> None:
    tracker, metrics = setup(open_ticket("A-1", created_days=10))
    tracker.fail_on = {"comment"}
    report = run(tracker, metrics, REMIND, NOW)
    sink = RecordingSink()
    push_metrics(sink, report, finished_at=0.0)
    assert (sink.runs[0]["errors"], sink.runs[0]["succeeded"]) == (1, False)
    assert sink.services[0]["overdue"] == {"search": 1}  # still overdue


def test_overdue_tickets_are_pushed_by_service_when_the_run_listed_them() -> None:
    report = RunReport(
        STARTED,
        dry_run=False,
        results=[result("A-1", "FAILED", "search")],
        overdue=[result("B-1", "OVERDUE", "search"), result("B-2", "OVERDUE", "search"), result("B-3", "OVERDUE")],
        reminders_checked=True,
    )
    sink = RecordingSink()
    push_metrics(sink, report, finished_at=0.0)
    assert sink.services == [
        {"results": {"search": {"FAILED": 1}}, "overdue": {"search": 2, "unknown": 1}, "dry_run": False}
    ]


def test_a_pushgateway_that_is_down_is_logged_and_the_run_goes_on() -> None:
    sink = RecordingSink(fail=MetricsError("connection refused"))
    with capture_logs() as logs:
        push_metrics(sink, RunReport(STARTED, dry_run=False), finished_at=0.0)
    assert logs == [{"event": "metrics_push_failed", "error": "connection refused", "log_level": "warning"}]
    assert sink.services == []


def test_tickets_are_counted_by_service_then_outcome() -> None:
    results = [
        result("A-1", "VERIFIED", "checkout"),
        result("A-2", "FAILED", "checkout"),
        result("A-3", "FAILED", "checkout"),
        result("A-4", "VERIFIED", ""),
        result("A-5", "PENDING"),
    ]
    assert by_service(results) == {
        "checkout": {"VERIFIED": 1, "FAILED": 2},
        "unknown": {"VERIFIED": 1, "PENDING": 1},
    }


@pytest.mark.parametrize(
    ("args", "env_dry_run", "pushed"),
    [
        ([], "false", [False]),  # the scheduled run
        ([], "true", [True]),  # the scheduled run of a dry-run install: pushed, marked
        (["--now"], "false", []),
        (["--issue", "acme/api#1"], "false", []),
        (["--issue", "acme/api#1", "--now"], "false", []),
        (["--dry-run"], "false", []),
        (["--rejudge"], "false", [False]),  # a whole run: it is the scheduled run's figures
    ],
)
def test_which_runs_of_the_cli_push(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], env_dry_run: str, pushed: list[bool]
) -> None:
    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))
    github_env(monkeypatch)
    monkeypatch.setenv("VERIFIER_DRY_RUN", env_dry_run)
    built = Built()
    built.tracker.add(ticket("acme/api#1", resolved_at=datetime.now(UTC) - timedelta(days=3)))
    sink = RecordingSink()
    assert main(["run", *args], adapters=replace(built.adapters(), run_metrics=lambda _: sink)) == 0
    assert [r["dry_run"] for r in sink.runs] == [s["dry_run"] for s in sink.services] == pushed
