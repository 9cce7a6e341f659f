"""The weekly report at the edges of its period, with signed results, and with tickets it leaves out.

The weekly report as a review document (Markdown) and as a dashboard's JSON: counts that add up, a table that
stays a table, and the keys a dashboard reads.

The weekly report's reading of results: the newest of the tool's results counts, early (`--now`) results and
results before the period do not, and the listing label is not a group.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.domain.test_reminders import breach
from tests.unit.fakes import BOT
from verifier.domain.formats import find_config
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.protocol import result_signature
from verifier.domain.reminders import LABEL, Owed, owed, render_reminder
from verifier.domain.render import render_recheck, render_result
from verifier.domain.report import DEFAULT_SLA_DAYS, as_json, as_markdown, build_report, due_date
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WEEK_AGO = NOW - timedelta(days=7)
POLICY = Policy(frozenset({BOT}), frozenset({BOT}), frozenset())
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s p99\ndelay: 48h\n```"


def make(
    key: str,
    service: str,
    *,
    created_days: float,
    resolved_days: float | None = None,
    result: Outcome | None = None,
    priority: str = "P2",
    labels: tuple[str, ...] = (),
) -> Ticket:
    resolved = NOW - timedelta(days=resolved_days) if resolved_days is not None else None
    comments: tuple[Comment, ...] = ()
    if result is not None and resolved is not None:
        body = render_result(Verdict(result, "x"), resolved, Flavour.MARKDOWN)
        comments = (Comment("c-" + key, BOT, body, resolved + timedelta(days=2)),)
    return Ticket(
        key=key,
        url=f"https://t/{key}",
        title=f"Fix {key}",
        status="Done" if resolved else "To Do",
        resolved_at=resolved,
        resolution="Done" if resolved else None,
        labels=frozenset({"post-incident", *labels}),
        body=f"**Service**: {service}\n\n{BLOCK}",
        reporter=BOT,
        comments=comments,
        created=NOW - timedelta(days=created_days),
        priority=priority,
        labelled_by=tuple((label, BOT) for label in labels),  # added by a trusted account
    )


QUARTER = [
    make("A-1", "checkout", created_days=5, resolved_days=3, result=Outcome.VERIFIED, labels=("team-payments",)),
    make("A-2", "checkout", created_days=6, resolved_days=4, result=Outcome.FAILED, labels=("team-payments",)),
    make("A-3", "checkout", created_days=40, resolved_days=2.5, result=Outcome.VERIFIED),
    make("A-4", "search", created_days=3, resolved_days=1),  # pending: the window ends tomorrow
    make("A-5", "search", created_days=20, resolved_days=5, result=Outcome.INCONCLUSIVE),
    make("A-6", "search", created_days=10, priority="P1"),  # open, 3 days past its 7-day SLA
    make("A-7", "search", created_days=80, priority="P3"),  # open, within its 90 days
    make("A-8", "payments", created_days=60, resolved_days=30, result=Outcome.VERIFIED),  # result before the week
    make("A-9", "payments", created_days=5, resolved_days=4.5, result=Outcome.INVALID),
]


def test_counts_and_fix_hold_rate_over_a_seeded_set() -> None:
    report = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY)
    o = report.overall
    assert (o.filed, o.completed, o.verified, o.failed, o.inconclusive, o.invalid, o.pending, o.overdue) == (
        4,
        6,
        2,
        1,
        1,
        1,
        1,
        1,
    )
    assert o.fix_hold_rate == 2 / 3
    assert report.groups["checkout"].verified == 2
    assert report.groups["checkout"].failed == 1
    assert report.groups["search"].overdue == 1
    assert report.groups["payments"].fix_hold_rate is None
    assert [line.key for line in report.failed] == ["A-2"]
    assert [line.key for line in report.overdue] == ["A-6"]
    assert "3 days late" in report.overdue[0].detail


def test_group_by_team_and_label() -> None:
    by_team = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY, group_by="team")
    assert by_team.groups["payments"].failed == 1
    assert "(no team label)" in by_team.groups
    by_label = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY, group_by="label")
    assert by_label.groups["team-payments"].verified == 1


def test_markdown_and_json_agree() -> None:
    report = build_report(QUARTER, since=WEEK_AGO, now=NOW, policy=POLICY)
    md = as_markdown(report)
    data = json.loads(json.dumps(as_json(report)))
    assert "Fix-hold rate: **67%** (2 held, 1 regressed)" in md
    assert "| **all** | 4 | 6 | 2 | 1 | 1 | 1 | 1 | 1 | 67% |" in md
    assert "[A-2](https://t/A-2)" in md
    assert data["overall"]["fix_hold_rate"] == 2 / 3
    assert data["overall"]["overdue"] == 1
    assert [t["key"] for t in data["overdue"]] == ["A-6"]


def test_reminder_once_per_breach() -> None:
    overdue = make("A-6", "search", created_days=10, priority="P1")
    due = breach(overdue, frozenset({BOT}), {"P1": 7}, NOW)
    assert due == overdue.created + timedelta(days=7)  # type: ignore[operator]
    text = render_reminder(overdue, due, NOW, Flavour.JIRA_WIKI)
    reminded = Ticket(**{**overdue.__dict__, "comments": (Comment("r1", BOT, text, NOW),)})
    assert breach(reminded, frozenset({BOT}), {"P1": 7}, NOW + timedelta(days=1)) is None
    # a new priority is a new breach
    escalated = Ticket(**{**reminded.__dict__, "priority": "P0"})
    assert breach(escalated, frozenset({BOT}), {"P0": 3, "P1": 7}, NOW) is not None
    # someone else's copy of the marker does not count
    copied = Ticket(**{**overdue.__dict__, "comments": (Comment("r2", "mallory", text, NOW),)})
    assert breach(copied, frozenset({BOT}), {"P1": 7}, NOW) is not None


def test_a_reminder_without_its_label_owes_the_label_alone() -> None:
    overdue = make("A-6", "search", created_days=10, priority="P1")
    own, sla = frozenset({BOT}), {"P1": 7}
    due = overdue.created + timedelta(days=7)  # type: ignore[operator]
    assert owed(overdue, own, sla, NOW) == Owed(due, reminder=True, label=True)
    text = render_reminder(overdue, due, NOW, Flavour.MARKDOWN)
    reminded = replace(overdue, comments=(Comment("r1", BOT, text, NOW),))
    assert owed(reminded, own, sla, NOW) == Owed(due, reminder=False, label=True)  # a run stopped between the two
    assert owed(reminded, own, sla, NOW).writes == ["label overdue"]  # type: ignore[union-attr]
    labelled = replace(reminded, labels=reminded.labels | {LABEL})
    assert owed(labelled, own, sla, NOW) is None
    escalated = replace(labelled, priority="P0")  # a new breach: its reminder, the label being there
    assert owed(escalated, own, {"P0": 3, "P1": 7}, NOW) == Owed(overdue.created + timedelta(days=3), True, False)  # type: ignore[operator]
    assert owed(replace(overdue, resolved_at=NOW), own, sla, NOW) is None
    assert owed(overdue, own, sla, due) is None  # due now is not overdue yet


def test_pending_uses_the_real_plan() -> None:
    ticket = QUARTER[3]
    assert ticket.resolved_at is not None
    config = find_config(BLOCK)
    assert config is not None
    assert not isinstance(plan(config, ticket.resolved_at, NOW), QueryPlan)


def test_a_ticket_closed_as_not_a_fix_is_not_completed() -> None:
    wont_do = Ticket(
        **{**make("W-1", "search", created_days=3, resolved_days=1).__dict__, "resolution": "Won\u2019t Do"}
    )
    policy = Policy(frozenset({BOT}), frozenset({BOT}), frozenset({"won't do"}))
    report = build_report([wont_do], since=WEEK_AGO, now=NOW, policy=policy)
    assert (report.overall.filed, report.overall.completed) == (1, 0)


def test_a_fix_reopened_by_the_run_still_counts_as_completed_when_it_was_resolved() -> None:
    failed = make("A-1", "checkout", created_days=6, resolved_days=4, result=Outcome.FAILED)
    reopened = Ticket(**{**failed.__dict__, "resolved_at": None, "resolution": None, "status": "To Do"})
    report = build_report([reopened], since=WEEK_AGO, now=NOW, policy=POLICY)
    assert (report.overall.completed, report.overall.failed) == (1, 1)
    assert (report.groups["checkout"].completed, report.groups["checkout"].failed) == (1, 1)
    earlier = build_report([reopened], since=NOW - timedelta(days=3), now=NOW, policy=POLICY)
    assert earlier.overall.completed == 0  # completed before the period


def test_a_ticket_of_two_teams_counts_in_each_row_and_is_listed_once() -> None:
    both = make("A-1", "x", created_days=6, resolved_days=4, result=Outcome.FAILED, labels=("team-a", "team-b"))
    late = make("A-2", "x", created_days=20, priority="P1", labels=("team-a", "team-b"))
    report = build_report([both, late], since=WEEK_AGO, now=NOW, policy=POLICY, group_by="team")
    assert (report.groups["a"].failed, report.groups["b"].failed, report.overall.failed) == (1, 1, 1)
    assert [(line.key, line.group) for line in report.failed] == [("A-1", "a, b")]
    assert [(line.key, line.group) for line in report.overdue] == [("A-2", "a, b")]


def test_judged_elsewhere_is_counted_and_said() -> None:
    labelled = make("A-1", "checkout", created_days=6, resolved_days=4, labels=("verified-by-otel",))
    policy = Policy(frozenset({BOT}), frozenset({BOT}), frozenset(), judged_labels=frozenset({"verified-by-otel"}))
    report = build_report([labelled], since=WEEK_AGO, now=NOW, policy=policy)
    assert (report.overall.elsewhere, report.overall.verified) == (1, 0)
    assert "1 completed and judged elsewhere" in as_markdown(report)


def test_a_service_from_a_description_someone_untrusted_edited_is_not_its_group() -> None:
    honest = make("A-1", "checkout", created_days=5, resolved_days=3, result=Outcome.VERIFIED)
    moved = replace(make("A-2", "payments", created_days=5, resolved_days=3), body_edited_by=("mallory",))
    report = build_report([honest, moved], since=WEEK_AGO, now=NOW, policy=POLICY)
    assert sorted(report.groups) == ["(no service recorded)", "checkout"]


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


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)
POLICY = Policy(frozenset({BOT}), frozenset({BOT}), frozenset())
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s p99\ndelay: 48h\n```"


def ticket(
    key: str, outcome: Outcome | None, *, service: str = "checkout", title: str = "Fix it", **kw: object
) -> Ticket:
    resolved = NOW - timedelta(days=3)
    comments = ()
    if outcome is not None:
        body = render_result(Verdict(outcome, "x"), resolved, Flavour.MARKDOWN)
        comments = (Comment("c", BOT, body, NOW - timedelta(days=1)),)
    fields: dict[str, object] = {
        "key": key,
        "url": f"https://t/{key}",
        "title": title,
        "status": "Done",
        "resolved_at": resolved,
        "resolution": "Done",
        "labels": frozenset({"post-incident"}),
        "body": f"**Service**: {service}\n\n{BLOCK}" if service else BLOCK,
        "reporter": BOT,
        "comments": comments,
        "created": NOW - timedelta(days=5),
        "priority": "P2",
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


def test_every_outcome_is_counted_once_per_ticket() -> None:
    tickets = [ticket(f"A-{i}", outcome) for i, outcome in enumerate([*[Outcome.VERIFIED] * 3, *[Outcome.FAILED] * 2])]
    tickets += [ticket("B-1", Outcome.INCONCLUSIVE), ticket("B-2", Outcome.INCONCLUSIVE)]
    tickets += [ticket("C-1", Outcome.INVALID), ticket("C-2", Outcome.INVALID)]
    tickets += [ticket("D-1", None, resolved_at=NOW - timedelta(hours=1)), ticket("D-2", None, resolved_at=NOW)]
    late = {"resolved_at": None, "resolution": None, "status": "To Do", "created": NOW - timedelta(days=40)}
    tickets += [ticket("E-1", None, **late), ticket("E-2", None, **late)]
    o = build_report(tickets, since=SINCE, now=NOW, policy=POLICY).overall
    assert (o.verified, o.failed, o.inconclusive, o.invalid, o.pending, o.overdue) == (3, 2, 2, 2, 2, 2)
    assert (o.filed, o.completed) == (11, 11)
    assert o.fix_hold_rate == 3 / 5


def test_the_markdown_table_and_lists() -> None:
    tickets = [
        ticket("A-1", Outcome.FAILED, title="Fix the | pool\n  size"),
        ticket("A-2", Outcome.VERIFIED, service=""),
        ticket("A-3", None, resolved_at=None, resolution=None, status="To Do", created=NOW - timedelta(days=33)),
    ]
    md = as_markdown(build_report(tickets, since=SINCE, now=NOW, policy=POLICY))
    assert md.startswith("## Post-incident action items, 2026-11-19 to 2026-11-26\n\nFix-hold rate: **50%** ")
    assert "(1 held, 1 regressed). 1 open past their due date.\n\n" in md
    assert (
        "| service | filed | completed | verified | failed | inconclusive | invalid | pending | overdue | fix-hold |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        "| (no service recorded) | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 100% |\n"
        "| checkout | 1 | 1 | 0 | 1 | 0 | 0 | 0 | 1 | 0% |\n"
        "| **all** | 2 | 2 | 1 | 1 | 0 | 0 | 0 | 1 | 50% |\n"
    ) in md
    assert (
        "\n\n### Failed verification\n\n"
        "- [A-1](https://t/A-1) Fix the \\| pool size (checkout): failed verification; reopened for investigation\n"
        "\n### Overdue\n\n"
        "- [A-3](https://t/A-3) Fix it (checkout): P2, due 2026-11-23, 3 days late\n"
    ) in md
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_empty_lists_say_none() -> None:
    md = as_markdown(build_report([], since=SINCE, now=NOW, policy=POLICY))
    assert "Fix-hold rate: **n/a** (0 held, 0 regressed). 0 open past their due date." in md
    assert md.endswith("### Failed verification\n\n- none\n\n### Overdue\n\n- none\n")


def test_the_json_a_dashboard_reads() -> None:
    tickets = [ticket("A-1", Outcome.FAILED), ticket("A-2", Outcome.VERIFIED, service="search")]
    data = json.loads(json.dumps(as_json(build_report(tickets, since=SINCE, now=NOW, policy=POLICY))))
    assert set(data) == {
        "since",
        "until",
        "group_by",
        "overall",
        "groups",
        "failed_verification",
        "regressed_later",
        "overdue",
        "left_out",
    }
    assert (data["since"], data["until"], data["group_by"]) == (SINCE.isoformat(), NOW.isoformat(), "service")
    assert data["groups"]["search"] == {
        "filed": 1,
        "completed": 1,
        "verified": 1,
        "failed": 0,
        "inconclusive": 0,
        "invalid": 0,
        "pending": 0,
        "overdue": 0,
        "elsewhere": 0,
        "regressed_later": 0,
        "fix_hold_rate": 1.0,
    }
    assert data["failed_verification"] == [
        {
            "key": "A-1",
            "url": "https://t/A-1",
            "title": "Fix it",
            "group": "checkout",
            "detail": "failed verification; reopened for investigation",
        }
    ]
    assert data["overdue"] == [] and data["overall"]["fix_hold_rate"] == 0.5


def test_the_overall_row_is_not_listed_again_as_a_group() -> None:
    report = build_report([ticket("A-1", Outcome.FAILED)], since=SINCE, now=NOW, policy=POLICY)
    assert [line.group for line in report.failed] == ["checkout"]
    assert list(report.groups) == ["checkout"]


def test_a_regression_found_by_a_later_re_check_is_counted_and_listed_apart() -> None:
    """VERIFIED at its window, FAILED at the re-check (#24): verified for the fix-hold rate, regressed later apart;
    a re-check that still held, an old one before the period, or one by someone else is not counted."""
    resolved = NOW - timedelta(days=3)

    def rechecked(key: str, outcome: Outcome, *, author: str = BOT, days_ago: float = 1) -> Ticket:
        base = ticket(key, Outcome.VERIFIED)
        body = render_recheck(Verdict(outcome, "x"), resolved, Flavour.MARKDOWN, None, reopens=False)
        later = Comment("r", author, body, NOW - timedelta(days=days_ago))
        return ticket(key, Outcome.VERIFIED, comments=(*base.comments, later))

    tickets = [
        rechecked("R-1", Outcome.FAILED),
        rechecked("R-2", Outcome.VERIFIED),
        rechecked("R-3", Outcome.FAILED, author="mallory"),
        rechecked("R-4", Outcome.FAILED, days_ago=30),
    ]
    report = build_report(tickets, since=SINCE, now=NOW, policy=POLICY)
    o = report.overall
    assert (o.verified, o.failed, o.regressed_later, o.fix_hold_rate) == (4, 0, 1, 1.0)
    assert [line.key for line in report.regressed_later] == ["R-1"]
    data = as_json(report)
    assert data["overall"]["regressed_later"] == 1 and data["groups"]["checkout"]["regressed_later"] == 1
    assert data["regressed_later"][0]["detail"] == "verified at its window; regressed at the re-check"
    md = as_markdown(report)
    assert "1 verified earlier but regressed at a later re-check (recheck_after), counted apart." in md
    assert "### Regressed later (re-check)\n\n- [R-1](https://t/R-1) Fix it (checkout): verified at its window" in md


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)
RESOLVED = NOW - timedelta(days=6)
POLICY_RESULTS = Policy(frozenset({BOT}), frozenset({BOT}), frozenset({"won't do"}))


def result(cid: str, outcome: Outcome, at: datetime, *, early: bool = False, author: str = BOT) -> Comment:
    body = render_result(Verdict(outcome, "x", early=early), RESOLVED, Flavour.MARKDOWN)
    return Comment(cid, author, body, at)


def ticket_results(*comments: Comment, labels: tuple[str, ...] = ("post-incident",), **kw: object) -> Ticket:
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
    o = build_report([t], since=SINCE, now=NOW, policy=POLICY_RESULTS).overall
    return o.verified, o.failed, o.inconclusive, o.invalid


def test_the_newest_result_counts_whatever_order_the_tracker_lists_comments_in() -> None:
    older = result("1", Outcome.VERIFIED, RESOLVED + timedelta(days=2))
    newer = result("2", Outcome.FAILED, RESOLVED + timedelta(days=3))
    assert outcome_counted(ticket_results(older, newer)) == (0, 1, 0, 0)
    assert outcome_counted(ticket_results(newer, older)) == (0, 1, 0, 0)
    assert outcome_counted(ticket_results(result("3", Outcome.INVALID, RESOLVED + timedelta(days=1)), older)) == (
        1,
        0,
        0,
        0,
    )


def test_an_early_result_is_not_counted_in_the_fix_hold_rate() -> None:
    early = result("1", Outcome.FAILED, RESOLVED + timedelta(days=1), early=True)
    assert outcome_counted(ticket_results(early)) == (0, 0, 0, 0)
    scheduled = result("2", Outcome.VERIFIED, RESOLVED + timedelta(days=2))
    later_early = result("3", Outcome.FAILED, RESOLVED + timedelta(days=3), early=True)
    assert outcome_counted(ticket_results(scheduled, later_early)) == (1, 0, 0, 0)


def test_a_result_written_before_the_period_is_not_counted() -> None:
    before = result("1", Outcome.VERIFIED, SINCE - timedelta(seconds=1))
    assert outcome_counted(ticket_results(before)) == (0, 0, 0, 0)
    at_start = result("2", Outcome.VERIFIED, SINCE)
    assert outcome_counted(ticket_results(at_start)) == (1, 0, 0, 0)


def test_a_result_by_another_author_is_not_counted() -> None:
    assert outcome_counted(
        ticket_results(result("1", Outcome.FAILED, RESOLVED + timedelta(days=2), author="mallory"))
    ) == (
        0,
        0,
        0,
        0,
    )


@pytest.mark.parametrize(("outcome", "index"), [(Outcome.INCONCLUSIVE, 2), (Outcome.INVALID, 3)])
def test_each_outcome_has_its_own_column(outcome: Outcome, index: int) -> None:
    counted = outcome_counted(ticket_results(result("1", outcome, RESOLVED + timedelta(days=2))))
    assert counted == tuple(1 if i == index else 0 for i in range(4))


def test_the_listing_label_is_not_a_group_and_a_ticket_counts_in_each_of_its_labels() -> None:
    t = ticket_results(
        result("1", Outcome.VERIFIED, RESOLVED + timedelta(days=2)), labels=("post-incident", "db", "api")
    )
    report = build_report([t], since=SINCE, now=NOW, policy=POLICY_RESULTS, group_by="label")
    assert list(report.groups) == ["api", "db"]
    assert report.groups["api"].verified == report.groups["db"].verified == report.overall.verified == 1
    alone = build_report([ticket_results()], since=SINCE, now=NOW, policy=POLICY_RESULTS, group_by="label")
    assert list(alone.groups) == ["(no other label)"]
    custom = build_report([t], since=SINCE, now=NOW, policy=POLICY_RESULTS, group_by="label", label="db")
    assert list(custom.groups) == ["api", "post-incident"]


def test_team_labels_in_both_spellings_group_by_team() -> None:
    t = ticket_results(labels=("post-incident", "team-payments", "team:search", "teamwork"))
    report = build_report([t], since=SINCE, now=NOW, policy=POLICY_RESULTS, group_by="team")
    assert list(report.groups) == ["payments", "search"]


def test_filed_and_completed_count_from_the_start_of_the_period() -> None:
    on_the_line = ticket_results(created=SINCE, resolved_at=SINCE)
    before = ticket_results(created=SINCE - timedelta(seconds=1), resolved_at=SINCE - timedelta(seconds=1))
    o = build_report([on_the_line, before], since=SINCE, now=NOW, policy=POLICY_RESULTS).overall
    assert (o.filed, o.completed) == (1, 1)


def test_a_ticket_resolved_as_not_a_fix_is_not_completed_but_a_fix_is() -> None:
    o = build_report(
        [ticket_results(resolution="Won't Do"), ticket_results()], since=SINCE, now=NOW, policy=POLICY_RESULTS
    ).overall
    assert o.completed == 1


def test_an_open_ticket_is_overdue_only_after_its_due_date() -> None:
    created = NOW - timedelta(days=30)  # P2: 30 days
    due = due_date(ticket_results(created=created), DEFAULT_SLA_DAYS)
    assert due == NOW
    on_time = ticket_results(created=created, resolved_at=None, resolution=None, status="To Do")
    late = ticket_results(created=created - timedelta(seconds=1), resolved_at=None, resolution=None, status="To Do")
    closed_late = ticket_results(created=created - timedelta(days=5))
    report = build_report([on_time, late, closed_late], since=SINCE, now=NOW, policy=POLICY_RESULTS)
    assert report.overall.overdue == 1 and len(report.overdue) == 1
    assert (report.overdue[0].detail, report.overdue[0].group) == ("P2, due 2026-11-26, 0 days late", "checkout")


def test_an_unknown_or_missing_priority_takes_the_default_sla() -> None:
    created = NOW - timedelta(days=10)
    assert due_date(ticket_results(created=created, priority=None), DEFAULT_SLA_DAYS) == created + timedelta(days=30)
    assert due_date(ticket_results(created=created, priority="P0"), DEFAULT_SLA_DAYS) == created + timedelta(days=3)
    assert due_date(ticket_results(created=created, priority="P9"), {"P2": 12}) == created + timedelta(days=12)
    assert due_date(ticket_results(created=created, priority="P9"), {}) == created + timedelta(days=30)
    assert due_date(ticket_results(created=None), DEFAULT_SLA_DAYS) is None


def test_the_markdown_shows_no_rate_when_nothing_was_judged() -> None:
    report = build_report([ticket_results()], since=SINCE, now=NOW, policy=POLICY_RESULTS)
    assert report.overall.fix_hold_rate is None
    assert "Fix-hold rate: **n/a** (0 held, 0 regressed)" in as_markdown(report)
    assert "### Failed verification\n\n- none" in as_markdown(report)


def test_a_team_label_keeps_everything_after_its_first_colon() -> None:
    t = ticket_results(labels=("post-incident", "team:sre:on-call", "team-data-platform"))
    report = build_report([t], since=SINCE, now=NOW, policy=POLICY_RESULTS, group_by="team")
    assert list(report.groups) == ["data-platform", "sre:on-call"]


def test_an_overdue_ticket_without_a_priority_is_listed_with_the_default_one() -> None:
    late = ticket_results(
        resolved_at=None, resolution=None, status="To Do", created=NOW - timedelta(days=31), priority=None
    )
    report = build_report([late], since=SINCE, now=NOW, policy=POLICY_RESULTS)
    assert report.overdue[0].detail == "P2, due 2026-11-25, 1 days late"
