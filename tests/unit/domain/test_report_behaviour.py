"""The weekly report at the edges of its period, with signed results, and with tickets it leaves out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.unit.fakes import BOT
from tests.unit.test_report import NOW, POLICY, WEEK_AGO, make
from verifier.domain.protocol import result_signature
from verifier.domain.render import render_result
from verifier.domain.report import as_markdown, build_report
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict

KEY = b"k" * 32
SIGNED = replace(POLICY, signing_key=KEY)
JUDGED = replace(POLICY, judged_labels=frozenset({"verified-by-otel"}))


def _reopened_after_failing(key: str, resolved_days: float, signed: bool) -> Ticket:
    """A fix resolved `resolved_days` ago, judged FAILED by the tool two days later and reopened by it."""
    resolved = NOW - timedelta(days=resolved_days)
    signature = result_signature(KEY, key, Outcome.FAILED, resolved, early=False) if signed else None
    body = render_result(Verdict(Outcome.FAILED, "the condition broke"), resolved, Flavour.MARKDOWN, signature)
    ticket = make(key, "checkout", created_days=resolved_days + 5)
    return replace(ticket, comments=(Comment("c-" + key, BOT, body, resolved + timedelta(days=2)),))


def test_tickets_not_filed_by_a_trusted_reporter_are_all_left_out_and_the_rest_still_counted() -> None:
    stranger = replace(make("X-1", "checkout", created_days=2), reporter="mallory")
    tickets = [stranger, replace(stranger, key="X-2"), make("A-1", "checkout", created_days=2)]
    report = build_report(tickets, since=WEEK_AGO, now=NOW, policy=POLICY)
    assert report.left_out == 2
    assert report.overall.filed == 1
    assert "2 ticket(s) with the label left out: not filed by the tool or a trusted reporter." in as_markdown(report)


def test_a_ticket_resolved_at_the_very_start_of_the_period_and_labelled_elsewhere_counts_as_judged_elsewhere() -> None:
    at_start = make("A-1", "checkout", created_days=20, resolved_days=7, labels=("verified-by-otel",))
    before = make("A-2", "checkout", created_days=20, resolved_days=8, labels=("verified-by-otel",))
    assert build_report([at_start], since=WEEK_AGO, now=NOW, policy=JUDGED).overall.elsewhere == 1
    assert build_report([before], since=WEEK_AGO, now=NOW, policy=JUDGED).overall.elsewhere == 0


def test_with_a_trend_the_periods_first_moment_belongs_to_the_period() -> None:
    resolved_at_start = make("A-1", "checkout", created_days=20, resolved_days=7)
    judged_at_start = make("A-2", "search", created_days=20, resolved_days=9, result=Outcome.VERIFIED)
    report = build_report([resolved_at_start, judged_at_start], since=WEEK_AGO, now=NOW, policy=POLICY, trend_weeks=2)
    assert report.groups["checkout"].completed == 1
    assert report.groups["search"].verified == 1


def test_a_fix_resolved_at_the_periods_start_that_failed_and_was_reopened_was_completed_in_the_period() -> None:
    report = build_report([_reopened_after_failing("A-1", 7, signed=False)], since=WEEK_AGO, now=NOW, policy=POLICY)
    assert (report.overall.completed, report.overall.failed) == (1, 1)


def test_with_a_signing_key_only_signed_results_count() -> None:
    unsigned = build_report([_reopened_after_failing("A-1", 5, signed=False)], since=WEEK_AGO, now=NOW, policy=SIGNED)
    assert (unsigned.overall.completed, unsigned.overall.failed, unsigned.failed) == (0, 0, [])
    signed = build_report([_reopened_after_failing("A-1", 5, signed=True)], since=WEEK_AGO, now=NOW, policy=SIGNED)
    assert (signed.overall.completed, signed.overall.failed) == (1, 1)
    assert [line.key for line in signed.failed] == ["A-1"]


def test_group_names_are_shown_not_rendered_and_the_trend_follows_the_table() -> None:
    ticket = make("A-1", "checkout", created_days=2, labels=("pay*ments_eu",))
    report = build_report([ticket], since=WEEK_AGO, now=NOW, policy=POLICY, group_by="label", trend_weeks=2)
    text = as_markdown(report)
    lines = text.splitlines()
    assert lines[0] == f"## Post-incident action items, {WEEK_AGO.date().isoformat()} to {NOW.date().isoformat()}"
    assert any(line.startswith("| pay\\*ments\\_eu | 1 |") for line in lines)
    assert "### Fix-hold trend, 2 weeks" in lines
