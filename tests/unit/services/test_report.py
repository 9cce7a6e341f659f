"""The weekly review without `--trend-weeks`: no trend section, and the period's figures as usual."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.run_tickets import NOW, done, tracker_with
from verifier.services.report import make_report
from verifier.services.run import RunOptions


def test_a_report_without_trend_weeks_has_no_trend() -> None:
    report = make_report(tracker_with(done("A", 2)), RunOptions(), since=NOW - timedelta(days=7), now=NOW)
    assert report.trend is None and report.overall.completed == 1
