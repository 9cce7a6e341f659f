"""The result comment as people read it in each tracker: headline, summary, the table of what was judged, the
query, the next step, the marker; times in UTC whatever the machine's zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta, timezone

import pytest

from tests.unit.helpers import RESOLVED, config, instant, judge
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.render import marker_line, render_result
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Verdict

QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"


def judged(value: float = 0.082, **fields: object) -> Verdict:
    fields.setdefault("metric", "latency_seconds")
    fields.setdefault("condition", "< 100ms p99")
    p = plan(config(**fields), RESOLVED, RESOLVED + timedelta(days=3))
    assert isinstance(p, QueryPlan)
    return judge(p, instant(value))


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_markdown_comment(far_from_utc: None) -> None:
    text = render_result(judged(), RESOLVED.astimezone(timezone(timedelta(hours=-5))), Flavour.MARKDOWN)
    assert text.startswith("### ✅ Verified: the fix held\nThe condition held.\n\n|  |  |\n|---|---|\n")
    assert (
        "| Verdict | VERIFIED |\n"
        "| Measured | 0.082 seconds |\n"
        "| Condition | < 0.1 seconds |\n"
        "| Window | 2026-11-01T12:00:00Z to 2026-11-03T12:00:00Z (48h) |"
    ) in text
    assert f"\n\n```promql\n{QUERY}\n```\n\nLabelled as verified; nothing more to do.\n\n" in text
    assert text.endswith(
        "<sub>action-item-verifier result v1; verdict=VERIFIED; resolved=2026-11-01T12:00:00Z; config=7d872958b6d405e9</sub>"
    )


def test_the_jira_comment(far_from_utc: None) -> None:
    text = render_result(judged(0.25), RESOLVED, Flavour.JIRA_WIKI)
    assert text.startswith("h3. (x) Verification failed: the fix did not hold\nThe condition broke.\n\n")
    assert (
        "||Verdict|FAILED|\n"
        "||Measured|0.25 seconds|\n"
        "||Condition|< 0.1 seconds|\n"
        "||Window|2026-11-01T12:00:00Z to 2026-11-03T12:00:00Z (48h)|"
    ) in text
    assert f"\n{{noformat}}\n{QUERY}\n{{noformat}}\n\nReopened for investigation:" in text
    assert text.endswith(
        "\n\naction-item-verifier result v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z; config=7d872958b6d405e9"
    )


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_verdict_without_a_query_or_window_shows_neither(flavour: Flavour) -> None:
    text = render_result(Verdict(Outcome.INVALID, "config field 'condition': cannot read"), RESOLVED, flavour)
    assert "noformat" not in text and "promql" not in text and "Window" not in text and "Condition" not in text
    assert "XX" not in text and "Config field 'condition': cannot read." in text


def test_an_early_result_says_so_and_its_marker_is_marked() -> None:
    verdict = Verdict(Outcome.VERIFIED, "the condition held", early=True)
    text = render_result(verdict, RESOLVED, Flavour.MARKDOWN)
    assert "The condition held. Judged early, on the window so far; the scheduled run judges the whole window." in text
    assert marker_line(verdict, RESOLVED).endswith("resolved=2026-11-01T12:00:00Z; early")
    assert marker_line(Verdict(Outcome.VERIFIED, "x"), RESOLVED).endswith("resolved=2026-11-01T12:00:00Z")


def test_the_worst_series_is_named_and_an_unknown_unit_is_left_out() -> None:
    verdict = judge(_plan("queue_depth", "< 100"), instant(10, 150))
    text = render_result(verdict, RESOLVED, Flavour.MARKDOWN)
    assert '| Measured | 150 (series {instance="1"}) |' in text and "| Condition | < 100 |" in text


def _plan(metric: str, condition: str) -> QueryPlan:
    p = plan(config(metric=metric, condition=condition), RESOLVED, RESOLVED + timedelta(days=3))
    assert isinstance(p, QueryPlan)
    return p
