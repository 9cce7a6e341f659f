"""Markers read back as each tracker returns them, and resolution times with sub-second parts.

Jira Cloud keeps comments as ADF and hands them back as wiki markup with characters backslash-escaped; GitHub
returns a comment edited in its web editor with CRLF line ends; Jira reports resolution times to the millisecond.
A marker that is not recognised on the way back means the same result or reminder is written on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import config, instant
from verifier.domain.planning import IncidentFacts, QueryPlan, plan
from verifier.domain.reminders import Owed, owed, render_reminder
from verifier.domain.render import parse_marker, render_result
from verifier.domain.selection import own_results
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict
from verifier.services.run import RunOptions, run

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"


def jira_cloud(text: str) -> str:
    """What Jira Cloud's v2 API gives back for a comment posted as wiki markup: markup characters escaped."""
    return re.sub(r"([-_*+^~{}\[\]|!#=])", r"\\\1", text)


def github_web_edit(text: str) -> str:
    return text.replace("\n", "\r\n")


RETURNED = {Flavour.JIRA_WIKI: jira_cloud, Flavour.MARKDOWN: github_web_edit}


@dataclass
class EchoingTracker(FakeTracker):
    """Stores each comment the way the real tracker of its flavour returns it."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        return super().comment(key, RETURNED[self.flavour](body), labels)


def done(key: str, resolved_at: datetime, **kw: object) -> Ticket:
    fields: dict[str, object] = {
        "key": key,
        "url": f"https://tracker/{key}",
        "title": f"Fix {key}",
        "status": "Done",
        "resolved_at": resolved_at,
        "resolution": "Done",
        "labels": frozenset({"post-incident"}),
        "body": BLOCK,
        "reporter": BOT,
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", list(Flavour))
@pytest.mark.parametrize("outcome", [Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE])
def test_a_result_marker_is_recognised_as_the_tracker_returns_it(flavour: Flavour, outcome: Outcome) -> None:
    resolved = datetime(2026, 11, 20, 8, 30, 15, tzinfo=UTC)
    text = RETURNED[flavour](render_result(Verdict(outcome, "x", early=True), resolved, flavour))
    marker = parse_marker(text)
    assert marker is not None and (marker.verdict, marker.resolved_at, marker.early) == (outcome, resolved, True)


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_result_is_written_once_when_the_tracker_returns_it_escaped(flavour: Flavour) -> None:
    tracker = EchoingTracker(clock=NOW, flavour=flavour)
    tracker.add(done("A-1", NOW - timedelta(days=3)))
    metrics = FakeMetrics({QUERY: instant(0.05)})
    run(tracker, metrics, RunOptions(), NOW)
    again = run(tracker, metrics, RunOptions(), NOW + timedelta(hours=6))
    assert [kind for _, kind, _ in tracker.writes] == ["comment", "label"]
    assert again.writes == 0 and again.counts() == {"VERIFIED": 1}
    assert "\\-" in tracker.tickets["A-1"].comments[0].body or flavour is Flavour.MARKDOWN


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_reminder_is_recognised_as_the_tracker_returns_it(flavour: Flavour) -> None:
    overdue = done("A-2", None, status="To Do", resolution=None, created=NOW - timedelta(days=40), priority="P2")  # type: ignore[arg-type]
    owes = owed(overdue, frozenset({BOT}), {"P2": 30}, NOW)
    assert owes is not None and owes.reminder
    due = owes.due
    assert due == NOW - timedelta(days=10)
    echoed = RETURNED[flavour](render_reminder(overdue, due, NOW, flavour))
    reminded = replace(overdue, comments=(Comment("1", BOT, echoed, NOW),))
    assert owed(reminded, frozenset({BOT}), {"P2": 30}, NOW + timedelta(days=1)) == Owed(
        due, reminder=False, label=True
    )


def test_an_overdue_ticket_is_reminded_once_when_jira_returns_the_reminder_escaped() -> None:
    tracker = EchoingTracker(clock=NOW, flavour=Flavour.JIRA_WIKI)
    tracker.add(done("A-2", None, status="To Do", resolution=None, created=NOW - timedelta(days=40), priority="P2"))  # type: ignore[arg-type]
    options = RunOptions(overdue_reminders=True)
    run(tracker, FakeMetrics(), options, NOW)
    run(tracker, FakeMetrics(), options, NOW + timedelta(days=1))
    assert [kind for _, kind, _ in tracker.writes] == ["comment", "label"]


@pytest.mark.parametrize("fraction", [1, 123_000, 999_999])
def test_a_resolution_time_with_a_sub_second_part_is_recorded_once(fraction: int) -> None:
    """Jira reports `2026-11-23T12:00:00.123+0000`; the marker carries whole seconds and must still match."""
    tracker = FakeTracker(clock=NOW)
    tracker.add(done("A-3", (NOW - timedelta(days=3)).replace(microsecond=fraction)))
    metrics = FakeMetrics({QUERY: instant(0.05)})
    run(tracker, metrics, RunOptions(), NOW)
    again = run(tracker, metrics, RunOptions(), NOW + timedelta(hours=1))
    assert again.writes == 0 and len(tracker.writes) == 2
    assert len(own_results(tracker.tickets["A-3"], frozenset({BOT}))) == 1


def test_a_sub_second_resolution_plans_a_window_on_whole_seconds() -> None:
    resolved = datetime(2026, 11, 20, 8, 30, 15, 640_000, tzinfo=UTC)
    planned = plan(config(metric="latency_seconds", condition="< 100ms p99"), resolved, NOW)
    assert isinstance(planned, QueryPlan)
    whole = resolved.replace(microsecond=0)
    assert (planned.start, planned.end, planned.due_at) == (whole, whole + timedelta(hours=48), planned.end)
    early = plan(
        config(metric="latency_seconds", condition="< 100ms p99"),
        resolved,
        whole + timedelta(hours=5, microseconds=900),
        early=True,
    )
    assert isinstance(early, QueryPlan)
    assert early.end == whole + timedelta(hours=5) and early.early


def test_a_sub_second_trigger_time_places_the_baseline_on_whole_seconds() -> None:
    triggered = datetime(2026, 11, 18, 9, 0, 0, 250_000, tzinfo=UTC)
    cfg = config(metric="latency_seconds", condition="< 50% of baseline p99", baseline_window="1h")
    planned = plan(cfg, NOW - timedelta(days=3), NOW, incident=IncidentFacts(triggered_at=triggered))
    assert isinstance(planned, QueryPlan) and planned.baseline_query is not None
    assert planned.baseline_query.at == datetime(2026, 11, 18, 10, 0, 0, tzinfo=UTC)
