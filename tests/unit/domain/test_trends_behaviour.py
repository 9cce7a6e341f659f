"""The fix-hold trend through its own functions: which results fall in which week, and the report section exactly
as it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT
from tests.unit.test_report import make
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.trends import WEEK, Trend, as_markdown
from verifier.domain.verdicts import Outcome, Verdict

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OWN = frozenset({BOT})


def _judged(key: str, *results: tuple[datetime, Outcome]) -> Ticket:
    ticket = make(key, "checkout", created_days=200, resolved_days=100)
    assert ticket.resolved_at is not None
    comments = tuple(
        Comment(f"{key}-{i}", BOT, render_result(Verdict(outcome, "x"), ticket.resolved_at, Flavour.MARKDOWN), at)
        for i, (at, outcome) in enumerate(results)
    )
    return Ticket(**{**ticket.__dict__, "comments": comments})


def _rates(trend: Trend) -> list[tuple[int, int]]:
    return [(w.verified, w.failed) for w in trend.groups.get("checkout", [])]


def test_a_one_week_trend_is_the_last_week() -> None:
    assert Trend.ending(NOW, 1).starts == [NOW - WEEK]


def test_a_result_at_the_first_instant_counts_and_one_at_the_reports_end_does_not() -> None:
    trend = Trend.ending(NOW, 2)
    trend.add(_judged("T-1", (NOW - 2 * WEEK, Outcome.FAILED)), ["checkout"], OWN)
    trend.add(_judged("T-2", (NOW, Outcome.VERIFIED)), ["checkout"], OWN)
    assert _rates(trend) == [(0, 1), (0, 0)]


def test_every_regressed_fix_of_a_week_counts() -> None:
    trend = Trend.ending(NOW, 1)
    for key in ("T-1", "T-2", "T-3"):
        trend.add(_judged(key, (NOW - timedelta(days=1), Outcome.FAILED)), ["checkout"], OWN)
    assert _rates(trend) == [(0, 3)]


def test_the_trend_section_reads_as_documented() -> None:
    trend = Trend.ending(NOW, 3)
    trend.add(_judged("T-1", (NOW - timedelta(days=1), Outcome.VERIFIED)), ["checkout"], OWN)
    trend.add(_judged("T-2", (NOW - timedelta(days=16), Outcome.FAILED)), ["checkout"], OWN)
    assert as_markdown(trend, "service", lambda name: f"*{name}*") == [
        "",
        "### Fix-hold trend, 3 weeks",
        "",
        "One block a week, oldest first (weeks starting 2026-11-05 to 2026-11-19): ▁ no fix held, █ every fix held, "
        "· nothing judged.",
        "",
        "| service | trend | last judged week |",
        "|---|---|---|",
        "| *checkout* | `▁·█` | 100% (1 held, 0 regressed) |",
    ]
