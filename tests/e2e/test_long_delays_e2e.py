"""Delays longer than the lookback (#21), end to end: the CLI as a subprocess, the real jira / PyGithub clients
against the contract-validated sandboxes (their JQL and `closed_at` filtering), a real Prometheus.

Under the default 90-day lookback, a ticket resolved 99 days before its window ended (`delay: 99d`) is listed and
judged once the window is over, and one with `delay: 120d` waits, PENDING, instead of never being listed. A
ticket whose window ended 93 days ago is left alone. The judged windows are the seeded history's
([anchor-3h30, anchor-30m], see seed.py), so the verdicts are real ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.e2e.seed import VERIFIED, Desk, Spec, Timeline, block, run_cli

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class LongAgo(Timeline):
    """The seeded timeline, plus resolutions long before the history's window."""

    @property
    def window_end(self) -> datetime:
        return self.anchor - timedelta(minutes=30)

    @property
    def resolved_99_days_before(self) -> datetime:
        return self.window_end - timedelta(days=99)

    @property
    def resolved_100_days_ago(self) -> datetime:
        return self.anchor - timedelta(days=100)

    @property
    def resolved_95_days_ago(self) -> datetime:
        return self.anchor - timedelta(days=95)


def config(delay: str) -> str:
    text = block("http_server_request_duration_seconds", "< 100ms p99", {"service": "checkout"}, delay=delay)
    return text.replace("\n```", '\nwindow: "3h"\n```')


def test_a_99_day_delay_is_judged_a_120_day_delay_waits_an_old_window_is_left_alone(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    long_ago = LongAgo(t.anchor)
    keys = {
        name: desk.file(spec, name, long_ago)
        for name, spec in {
            "delay_99d": Spec(body=config("99d"), resolved="resolved_99_days_before"),
            "delay_120d": Spec(body=config("120d"), resolved="resolved_100_days_ago"),
            "ended_93_days_ago": Spec(body=config("2d"), resolved="resolved_95_days_ago"),
        }.items()
    }

    done = run_cli(env)

    assert done.code == 0, done
    judged = desk.state(keys["delay_99d"])
    assert judged.results == ["VERIFIED"] and VERIFIED in judged.labels
    assert done.line(keys["delay_99d"]).split()[1] == "VERIFIED"
    assert done.line(keys["delay_120d"]).split()[1] == "PENDING"
    assert desk.state(keys["delay_120d"]).bot_comments == ()
    assert keys["ended_93_days_ago"] not in done.out  # outside the lookback: not judged, not listed
    assert desk.state(keys["ended_93_days_ago"]).bot_comments == ()
