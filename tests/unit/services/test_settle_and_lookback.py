"""The run waits for late data, and reaches back far enough for every delay (#21 deliverables 2 and 3).

Settings in, behaviour out: VERIFIER_SETTLE_SECONDS and VERIFIER_LOOKBACK_DAYS go through the CLI and the
composition root, and what the tracker was asked and written shows their effect."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.services.test_run import NOW, setup, ticket
from tests.unit.test_bootstrap import Built, clean_env, github_env
from verifier import logs
from verifier.cli import main
from verifier.domain.tickets import Ticket
from verifier.exit_codes import ExitCode
from verifier.services.run import RunOptions, run

__all__ = ["clean_env"]  # the fixture, applied to every test here


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    """The CLI points the logs at the captured output; later tests must not write to it once it is closed."""
    yield
    logs.configure(json=True, stream=io.StringIO())


def block(delay: str, window: str = "1h") -> str:
    return (
        "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n"
        f"delay: {delay}\nwindow: {window}\n```"
    )


ONE_HOUR = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[1h])))"


# --------------------------------------------------------------------------------------------- settling delay


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], built: Built) -> dict[str, object]:
    github_env(monkeypatch)
    assert main(["run", "--json"], adapters=built.adapters()) == ExitCode.OK
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return report


def just_due(minutes_ago: float) -> Built:
    """A ticket whose 1-hour window ended `minutes_ago` minutes ago (real time: the CLI's clock)."""
    built = Built(metrics=FakeMetrics({ONE_HOUR: instant(0.05)}))
    resolved = datetime.now(UTC) - timedelta(hours=2, minutes=minutes_ago)
    built.tracker.add(ticket("acme/api#1", body=block("2h"), resolved_at=resolved))
    return built


def test_by_default_a_window_that_ended_three_minutes_ago_waits_for_late_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built = just_due(3)
    report = run_cli(monkeypatch, capsys, built)
    assert report["counts"] == {"PENDING": 1}
    tickets = report["tickets"]
    assert isinstance(tickets, list)
    assert "once late data has arrived (5 min settling delay)" in tickets[0]["reason"]
    assert built.metrics.asked == [] and built.tracker.writes == []


def test_the_settling_delay_is_a_setting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VERIFIER_SETTLE_SECONDS", "60")
    built = just_due(3)
    report = run_cli(monkeypatch, capsys, built)
    assert report["counts"] == {"VERIFIED": 1}
    tickets = report["tickets"]
    assert isinstance(tickets, list)
    assert tickets[0]["data"]["summary"] == "1 of 1 step with data; 10,000 requests in the window (needs 100)"
    monkeypatch.setenv("VERIFIER_SETTLE_SECONDS", "600")
    assert run_cli(monkeypatch, capsys, just_due(8))["counts"] == {"PENDING": 1}


def test_a_negative_settling_delay_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github_env(monkeypatch)
    monkeypatch.setenv("VERIFIER_SETTLE_SECONDS", "-1")
    assert main(["run"], adapters=Built().adapters()) == ExitCode.INVALID
    assert "VERIFIER_SETTLE_SECONDS" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- lookback


def test_a_99_day_delay_resolved_100_days_ago_is_judged_under_the_default_lookback() -> None:
    tracker, metrics = _tracker(ticket("A-99", resolved_days_ago=100, body=block("99d")))
    report = run(tracker, metrics, RunOptions(), NOW)
    assert [(r.key, r.outcome) for r in report.results] == [("A-99", "VERIFIED")]
    assert [kind for key, kind, _ in tracker.writes if key == "A-99"] == ["comment", "label"]


def test_a_120_day_delay_waits_then_is_judged_when_due() -> None:
    tracker, metrics = _tracker(ticket("A-120", resolved_days_ago=100, body=block("120d")))
    waiting = run(tracker, metrics, RunOptions(), NOW)
    assert [(r.key, r.outcome) for r in waiting.results] == [("A-120", "PENDING")]
    due = run(tracker, metrics, RunOptions(), NOW + timedelta(days=21))
    assert [(r.key, r.outcome) for r in due.results] == [("A-120", "VERIFIED")]


def test_the_longest_delay_a_config_may_have_is_judged_when_due() -> None:
    tracker, metrics = _tracker(ticket("A-366", resolved_days_ago=367, body=block("366d")))
    report = run(tracker, metrics, RunOptions(lookback_days=1), NOW)
    assert [(r.key, r.outcome) for r in report.results] == [("A-366", "VERIFIED")]


def test_a_window_that_ended_before_the_lookback_is_left_alone() -> None:
    old = ticket("OLD", resolved_days_ago=95, body=block("2d"))  # ended 93 days ago
    recent = ticket("NEW", resolved_days_ago=91, body=block("2d"))  # ended 89 days ago: inside
    broken = ticket("BROKEN", resolved_days_ago=91, body="```yaml\n# action-item-verifier: v1\nmetric: x\n```")
    no_config = ticket("PLAIN", resolved_days_ago=91, body="Tune the pool.")  # resolved before the lookback
    fresh = ticket("FRESH", resolved_days_ago=89, body="Tune the pool.")  # resolved inside it
    tracker, metrics = _tracker(old, recent, broken, no_config, fresh)
    report = run(tracker, metrics, RunOptions(), NOW)
    assert [(r.key, r.outcome) for r in report.results] == [("NEW", "VERIFIED"), ("FRESH", "SKIPPED")]
    assert {key for key, _, _ in tracker.writes} == {"NEW"}


def test_a_ticket_asked_for_by_key_is_judged_whatever_the_lookback() -> None:
    tracker, metrics = _tracker(ticket("OLD", resolved_days_ago=200, body=block("2d")))
    report = run(tracker, metrics, RunOptions(issues=("OLD",)), NOW)
    assert [(r.key, r.outcome) for r in report.results] == [("OLD", "VERIFIED")]


def test_the_lookback_setting_reaches_the_listing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_LOOKBACK_DAYS", "10")
    now = datetime.now(UTC)
    built = Built(metrics=FakeMetrics({ONE_HOUR: instant(0.05)}))
    built.tracker.clock = now
    built.tracker.add(ticket("acme/api#1", body=block("2d"), resolved_at=now - timedelta(days=13)))  # ended 11d ago
    built.tracker.add(ticket("acme/api#2", body=block("2d"), resolved_at=now - timedelta(days=11)))  # ended 9d ago
    report = run_cli(monkeypatch, capsys, built)
    tickets = report["tickets"]
    assert isinstance(tickets, list)
    assert [(t["key"], t["outcome"]) for t in tickets] == [("acme/api#2", "VERIFIED")]


def _tracker(*tickets: Ticket) -> tuple[FakeTracker, FakeMetrics]:
    tracker, metrics = setup(*tickets)
    metrics.answers[ONE_HOUR] = instant(0.05)
    return tracker, metrics
