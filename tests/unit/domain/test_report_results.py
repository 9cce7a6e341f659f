"""The weekly report's reading of results: the newest of the tool's results counts, early (`--now`) results and
results before the period do not, and the listing label is not a group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import BOT
from verifier.domain.render import render_result
from verifier.domain.report import DEFAULT_SLA_DAYS, as_markdown, build_report, due_date
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)
RESOLVED = NOW - timedelta(days=6)
POLICY = Policy(frozenset({BOT}), frozenset({BOT}), frozenset({"won't do"}))


def result(cid: str, outcome: Outcome, at: datetime, *, early: bool = False, author: str = BOT) -> Comment:
    body = render_result(Verdict(outcome, "x", early=early), RESOLVED, Flavour.MARKDOWN)
    return Comment(cid, author, body, at)


def ticket(*comments: Comment, labels: tuple[str, ...] = ("post-incident",), **kw: object) -> Ticket:
    fields: dict[str, object] = {
        "key": "A-1",
        "url": "https://t/A-1",
        "title": "Fix",
        "status": "Done",
        "resolved_at": RESOLVED,
        "resolution": "Done",
        "labels": frozenset(labels),
        "body": "**Service**: checkout",
        "reporter": BOT,
        "comments": comments,
        "created": NOW - timedelta(days=10),
        "priority": "P2",
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


def outcome_counted(t: Ticket) -> tuple[int, int, int, int]:
    o = build_report([t], since=SINCE, now=NOW, policy=POLICY).overall
    return o.verified, o.failed, o.inconclusive, o.invalid


def test_the_newest_result_counts_whatever_order_the_tracker_lists_comments_in() -> None:
    older = result("1", Outcome.VERIFIED, RESOLVED + timedelta(days=2))
    newer = result("2", Outcome.FAILED, RESOLVED + timedelta(days=3))
    assert outcome_counted(ticket(older, newer)) == (0, 1, 0, 0)
    assert outcome_counted(ticket(newer, older)) == (0, 1, 0, 0)
    assert outcome_counted(ticket(result("3", Outcome.INVALID, RESOLVED + timedelta(days=1)), older)) == (1, 0, 0, 0)


def test_an_early_result_is_not_counted_in_the_fix_hold_rate() -> None:
    early = result("1", Outcome.FAILED, RESOLVED + timedelta(days=1), early=True)
    assert outcome_counted(ticket(early)) == (0, 0, 0, 0)
    scheduled = result("2", Outcome.VERIFIED, RESOLVED + timedelta(days=2))
    later_early = result("3", Outcome.FAILED, RESOLVED + timedelta(days=3), early=True)
    assert outcome_counted(ticket(scheduled, later_early)) == (1, 0, 0, 0)


def test_a_result_written_before_the_period_is_not_counted() -> None:
    before = result("1", Outcome.VERIFIED, SINCE - timedelta(seconds=1))
    assert outcome_counted(ticket(before)) == (0, 0, 0, 0)
    at_start = result("2", Outcome.VERIFIED, SINCE)
    assert outcome_counted(ticket(at_start)) == (1, 0, 0, 0)


def test_a_result_by_another_author_is_not_counted() -> None:
    assert outcome_counted(ticket(result("1", Outcome.FAILED, RESOLVED + timedelta(days=2), author="mallory"))) == (
        0,
        0,
        0,
        0,
    )


@pytest.mark.parametrize(("outcome", "index"), [(Outcome.INCONCLUSIVE, 2), (Outcome.INVALID, 3)])
def test_each_outcome_has_its_own_column(outcome: Outcome, index: int) -> None:
    counted = outcome_counted(ticket(result("1", outcome, RESOLVED + timedelta(days=2))))
    assert counted == tuple(1 if i == index else 0 for i in range(4))


def test_the_listing_label_is_not_a_group_and_a_ticket_counts_in_each_of_its_labels() -> None:
    t = ticket(result("1", Outcome.VERIFIED, RESOLVED + timedelta(days=2)), labels=("post-incident", "db", "api"))
    report = build_report([t], since=SINCE, now=NOW, policy=POLICY, group_by="label")
    assert list(report.groups) == ["api", "db"]
    assert report.groups["api"].verified == report.groups["db"].verified == report.overall.verified == 1
    alone = build_report([ticket()], since=SINCE, now=NOW, policy=POLICY, group_by="label")
    assert list(alone.groups) == ["(no other label)"]
    custom = build_report([t], since=SINCE, now=NOW, policy=POLICY, group_by="label", label="db")
    assert list(custom.groups) == ["api", "post-incident"]


def test_team_labels_in_both_spellings_group_by_team() -> None:
    t = ticket(labels=("post-incident", "team-payments", "team:search", "teamwork"))
    report = build_report([t], since=SINCE, now=NOW, policy=POLICY, group_by="team")
    assert list(report.groups) == ["payments", "search"]


def test_filed_and_completed_count_from_the_start_of_the_period() -> None:
    on_the_line = ticket(created=SINCE, resolved_at=SINCE)
    before = ticket(created=SINCE - timedelta(seconds=1), resolved_at=SINCE - timedelta(seconds=1))
    o = build_report([on_the_line, before], since=SINCE, now=NOW, policy=POLICY).overall
    assert (o.filed, o.completed) == (1, 1)


def test_a_ticket_resolved_as_not_a_fix_is_not_completed_but_a_fix_is() -> None:
    o = build_report([ticket(resolution="Won't Do"), ticket()], since=SINCE, now=NOW, policy=POLICY).overall
    assert o.completed == 1


def test_an_open_ticket_is_overdue_only_after_its_due_date() -> None:
    created = NOW - timedelta(days=30)  # P2: 30 days
    due = due_date(ticket(created=created), DEFAULT_SLA_DAYS)
    assert due == NOW
    on_time = ticket(created=created, resolved_at=None, resolution=None, status="To Do")
    late = ticket(created=created - timedelta(seconds=1), resolved_at=None, resolution=None, status="To Do")
    closed_late = ticket(created=created - timedelta(days=5))
    report = build_report([on_time, late, closed_late], since=SINCE, now=NOW, policy=POLICY)
    assert report.overall.overdue == 1 and len(report.overdue) == 1
    assert (report.overdue[0].detail, report.overdue[0].group) == ("P2, due 2026-11-26, 0 days late", "checkout")


def test_an_unknown_or_missing_priority_takes_the_default_sla() -> None:
    created = NOW - timedelta(days=10)
    assert due_date(ticket(created=created, priority=None), DEFAULT_SLA_DAYS) == created + timedelta(days=30)
    assert due_date(ticket(created=created, priority="P0"), DEFAULT_SLA_DAYS) == created + timedelta(days=3)
    assert due_date(ticket(created=created, priority="P9"), {"P2": 12}) == created + timedelta(days=12)
    assert due_date(ticket(created=created, priority="P9"), {}) == created + timedelta(days=30)
    assert due_date(ticket(created=None), DEFAULT_SLA_DAYS) is None


def test_the_markdown_shows_no_rate_when_nothing_was_judged() -> None:
    report = build_report([ticket()], since=SINCE, now=NOW, policy=POLICY)
    assert report.overall.fix_hold_rate is None
    assert "Fix-hold rate: **n/a** (0 held, 0 regressed)" in as_markdown(report)
    assert "### Failed verification\n\n- none" in as_markdown(report)


def test_a_team_label_keeps_everything_after_its_first_colon() -> None:
    t = ticket(labels=("post-incident", "team:sre:on-call", "team-data-platform"))
    report = build_report([t], since=SINCE, now=NOW, policy=POLICY, group_by="team")
    assert list(report.groups) == ["data-platform", "sre:on-call"]


def test_an_overdue_ticket_without_a_priority_is_listed_with_the_default_one() -> None:
    late = ticket(resolved_at=None, resolution=None, status="To Do", created=NOW - timedelta(days=31), priority=None)
    report = build_report([late], since=SINCE, now=NOW, policy=POLICY)
    assert report.overdue[0].detail == "P2, due 2026-11-25, 1 days late"
