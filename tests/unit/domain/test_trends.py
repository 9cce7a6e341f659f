"""The report's fix-hold trend: week by week, from the tickets' own result comments.

The fix-hold trend through its own functions: which results fall in which week, and the report section exactly
as it reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.unit.domain.test_report import NOW, POLICY, QUARTER, WEEK_AGO, make
from tests.unit.fakes import BOT, FakeTracker
from verifier.domain.render import render_result
from verifier.domain.report import as_json, as_markdown, build_report, listing_since
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.trends import WEEK, Trend
from verifier.domain.trends import as_markdown as trend_markdown
from verifier.domain.verdicts import Outcome, Verdict
from verifier.services.report import make_report
from verifier.services.run import RunOptions


def judged(key: str, service: str, *results: tuple[float, Outcome], author: str = BOT, early: bool = False) -> Ticket:
    """A done ticket with one result comment per (days ago, outcome)."""
    ticket = make(key, service, created_days=200, resolved_days=100)
    assert ticket.resolved_at is not None
    comments = tuple(
        Comment(
            f"{key}-{i}",
            author,
            render_result(Verdict(outcome, "x", early=early), ticket.resolved_at, Flavour.MARKDOWN),
            NOW - timedelta(days=days),
        )
        for i, (days, outcome) in enumerate(results)
    )
    return Ticket(**{**ticket.__dict__, "comments": comments})


TICKETS = [
    judged("T-1", "checkout", (50, Outcome.VERIFIED), (20, Outcome.VERIFIED)),
    judged("T-2", "checkout", (20, Outcome.FAILED), (2, Outcome.VERIFIED)),
    judged("T-3", "checkout", (19, Outcome.FAILED), (18, Outcome.VERIFIED)),  # the same week: the last counts
    judged("T-4", "search", (3, Outcome.FAILED)),
    judged("T-5", "search", (4, Outcome.INCONCLUSIVE)),  # neither held nor regressed
    judged("T-6", "search", (3, Outcome.VERIFIED), author="mallory"),  # not the tool's: ignored
    judged("T-7", "search", (3, Outcome.VERIFIED), early=True),  # on-call's --now: not a result
    judged("T-8", "payments", (70, Outcome.VERIFIED)),  # before the eight weeks
]


def test_weekly_fix_hold_rate_per_service_oldest_first() -> None:
    report = build_report(TICKETS, since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=8)
    trend = report.trend
    assert trend is not None
    assert trend.starts[0] == NOW - timedelta(weeks=8)
    assert trend.starts[-1] == WEEK_AGO
    assert set(trend.groups) == {"checkout", "search"}
    rates = {name: [w.fix_hold_rate for w in weeks] for name, weeks in trend.groups.items()}
    assert rates["checkout"] == [1.0, None, None, None, None, 2 / 3, None, 1.0]
    assert rates["search"] == [None] * 7 + [0.0]
    assert trend.sparkline("checkout") == "█····▆·█"
    assert trend.sparkline("search") == "·······▁"


def test_markdown_shows_a_sparkline_row_per_service_and_json_carries_the_series() -> None:
    report = build_report(TICKETS, since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=8)
    text = as_markdown(report)
    assert "### Fix-hold trend, 8 weeks" in text
    assert "| checkout | `█····▆·█` | 100% (1 held, 0 regressed) |" in text
    assert "| search | `·······▁` | 0% (0 held, 1 regressed) |" in text
    data = json.loads(json.dumps(as_json(report)))
    assert len(data["trend"]["weeks"]) == 8
    checkout = data["trend"]["groups"]["checkout"]
    assert [w["fix_hold_rate"] for w in checkout][5] == 2 / 3
    assert checkout[5] == {"week": data["trend"]["weeks"][5], "verified": 2, "failed": 1, "fix_hold_rate": 2 / 3}


def test_without_trend_weeks_the_report_is_unchanged() -> None:
    plain = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY)
    with_trend = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=8)
    assert plain.trend is None
    assert "trend" not in as_json(plain)
    assert "Fix-hold trend" not in as_markdown(plain)
    assert as_json(plain) == {k: v for k, v in as_json(with_trend).items() if k != "trend"}


def test_tickets_listed_only_for_the_trend_leave_the_period_figures_alone() -> None:
    old = judged("T-9", "checkout", (30, Outcome.FAILED))  # done and quiet since long before the week
    pending_long = make("T-10", "checkout", created_days=40, resolved_days=30)
    with_old = build_report([*QUARTER, old, pending_long], since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=8)
    plain = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=8)
    assert with_old.overall == plain.overall
    assert with_old.groups == plain.groups
    assert with_old.trend is not None
    assert with_old.trend.groups["checkout"][3].failed == 1


def test_the_service_lists_back_far_enough_for_the_trend() -> None:
    assert listing_since(WEEK_AGO, NOW, 8) == NOW - timedelta(weeks=8)
    assert listing_since(NOW - timedelta(weeks=10), NOW, 8) == NOW - timedelta(weeks=10)
    assert listing_since(WEEK_AGO, NOW, 0) == WEEK_AGO
    tracker = FakeTracker()
    for ticket in TICKETS:
        tracker.add(ticket)
    report = make_report(tracker, RunOptions(), since=WEEK_AGO, now=NOW, trend_weeks=8)
    assert report.trend is not None
    assert report.trend.sparkline("checkout") == "█····▆·█"


def test_an_empty_trend_is_still_a_valid_report() -> None:
    trend = Trend.ending(NOW, 4)
    assert trend.sparkline("nobody") == ""
    report = build_report([], since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=4)
    assert "| service | trend | last judged week |" in as_markdown(report)


NOW_BEHAVIOUR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
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
    assert Trend.ending(NOW_BEHAVIOUR, 1).starts == [NOW_BEHAVIOUR - WEEK]


def test_a_result_at_the_first_instant_counts_and_one_at_the_reports_end_does_not() -> None:
    trend = Trend.ending(NOW_BEHAVIOUR, 2)
    trend.add(_judged("T-1", (NOW_BEHAVIOUR - 2 * WEEK, Outcome.FAILED)), ["checkout"], OWN)
    trend.add(_judged("T-2", (NOW_BEHAVIOUR, Outcome.VERIFIED)), ["checkout"], OWN)
    assert _rates(trend) == [(0, 1), (0, 0)]


def test_every_regressed_fix_of_a_week_counts() -> None:
    trend = Trend.ending(NOW_BEHAVIOUR, 1)
    for key in ("T-1", "T-2", "T-3"):
        trend.add(_judged(key, (NOW_BEHAVIOUR - timedelta(days=1), Outcome.FAILED)), ["checkout"], OWN)
    assert _rates(trend) == [(0, 3)]


def test_the_trend_section_reads_as_documented() -> None:
    trend = Trend.ending(NOW_BEHAVIOUR, 3)
    trend.add(_judged("T-1", (NOW_BEHAVIOUR - timedelta(days=1), Outcome.VERIFIED)), ["checkout"], OWN)
    trend.add(_judged("T-2", (NOW_BEHAVIOUR - timedelta(days=16), Outcome.FAILED)), ["checkout"], OWN)
    assert trend_markdown(trend, "service", lambda name: f"*{name}*") == [
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
