"""Whose words count: result markers only from the tool's own account, the incident baseline only from a body a
trusted reporter wrote, configs only from trusted authors. Anyone who can comment on a ticket is an attacker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT
from verifier.domain.render import render_result
from verifier.domain.report import build_report
from verifier.domain.selection import own_results, recorded_result, select_config
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, triage
from verifier.domain.verdicts import Outcome, Verdict

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RESOLVED = NOW - timedelta(days=5)
LEAD = "alice"  # a trusted author, not the tool
POLICY = Policy(frozenset({BOT, LEAD}), frozenset({BOT}), frozenset())
ABSOLUTE = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"
RELATIVE = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 50% of baseline p99\n```"
CONTEXT = "**Actual Value**: 0.8\n**Triggered At**: 2026-11-18T09:00:00+00:00\n"


def ticket(body: str = ABSOLUTE, reporter: str = BOT, comments: tuple[Comment, ...] = ()) -> Ticket:
    return Ticket(
        "A-1", "https://t/A-1", "Fix", "Done", RESOLVED, "Done", frozenset({"post-incident"}), body, reporter, comments
    )


def result(outcome: Outcome, author: str, at: datetime, cid: str = "9") -> Comment:
    return Comment(cid, author, render_result(Verdict(outcome, "x"), RESOLVED, Flavour.MARKDOWN), at)


def test_a_result_marker_copied_by_someone_else_does_not_stop_the_measurement() -> None:
    forged = ticket(comments=(result(Outcome.VERIFIED, "mallory", RESOLVED + timedelta(days=3)),))
    assert isinstance(triage(forged, NOW, POLICY), Measure)
    assert own_results(forged, POLICY.own) == []
    genuine = ticket(comments=(result(Outcome.VERIFIED, BOT, RESOLVED + timedelta(days=3)),))
    decision = triage(genuine, NOW, POLICY)
    assert isinstance(decision, AlreadyRecorded) and decision.recorded.marker.verdict is Outcome.VERIFIED


def test_a_trusted_author_who_is_not_the_tool_cannot_record_a_result_either() -> None:
    by_lead = ticket(comments=(result(Outcome.VERIFIED, LEAD, RESOLVED + timedelta(days=3)),))
    assert isinstance(triage(by_lead, NOW, POLICY), Measure)


def test_the_report_counts_only_the_tools_own_results() -> None:
    forged = ticket(comments=(result(Outcome.VERIFIED, "mallory", RESOLVED + timedelta(days=3)),))
    report = build_report([forged], since=NOW - timedelta(days=30), now=NOW, policy=POLICY)
    assert (report.overall.verified, report.overall.failed) == (0, 0)


def test_the_incident_value_counts_from_a_trusted_reporters_body() -> None:
    decision = triage(ticket(body=CONTEXT + RELATIVE, reporter=LEAD), NOW, POLICY)
    assert isinstance(decision, Measure)
    assert decision.plan.threshold is not None and decision.plan.threshold.value == 0.4


def test_the_incident_value_in_an_untrusted_reporters_body_is_not_a_baseline() -> None:
    """Mallory files the ticket with `Actual Value: 1e9`; a lead adds the relative config in a comment."""
    body = "**Actual Value**: 1000000000\n**Triggered At**: 2026-11-18T09:00:00+00:00\n"
    config = Comment("5", LEAD, RELATIVE, RESOLVED - timedelta(days=1))
    decision = triage(ticket(body=body, reporter="mallory", comments=(config,)), NOW, POLICY)
    assert isinstance(decision, Judged) and decision.verdict.outcome is Outcome.INVALID
    assert decision.verdict.reason == (  # named as refused, and why (#20)
        "A-1: the baseline (the incident's value and time) is refused: the description is by mallory, "
        "not a trusted author"
    )


def test_a_config_in_an_untrusted_body_or_comment_is_ignored_and_named() -> None:
    by_mallory = ticket(reporter="mallory", comments=(Comment("7", "eve", ABSOLUTE, RESOLVED),))
    decision = triage(by_mallory, NOW, POLICY)
    assert isinstance(decision, Skip) and decision.reason == "no trusted config"
    assert decision.ignored_authors == ("mallory", "eve")


def test_the_newest_trusted_config_wins_and_an_untrusted_later_one_does_not_replace_it() -> None:
    newer = ABSOLUTE.replace("100ms", "250ms")
    comments = (
        Comment("2", LEAD, newer, RESOLVED - timedelta(hours=2)),
        Comment("3", "mallory", ABSOLUTE.replace("100ms", "10s"), RESOLVED - timedelta(hours=1)),
    )
    choice = select_config(ticket(comments=comments), POLICY.trusted).choice
    assert choice is not None and choice.where == "comment 2" and choice.config is not None
    assert choice.config.condition.text == "< 250ms p99"
    assert choice.created == RESOLVED - timedelta(hours=2)


def test_a_result_older_than_the_chosen_config_is_not_a_result_for_it() -> None:
    old = result(Outcome.INVALID, BOT, RESOLVED + timedelta(days=1), cid="4")
    fixed = Comment("6", LEAD, ABSOLUTE, RESOLVED + timedelta(days=2))
    t = ticket(body="broken", comments=(old, fixed))
    choice = select_config(t, POLICY.trusted).choice
    assert recorded_result(t, POLICY.own, choice, early=False) is None
    assert isinstance(triage(t, NOW, POLICY), Measure)
