import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT
from verifier.domain.formats import find_config
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.reminders import breach, render_reminder
from verifier.domain.render import render_result
from verifier.domain.report import as_json, as_markdown, build_report
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
