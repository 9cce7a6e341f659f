"""The weekly report as a review document (Markdown) and as a dashboard's JSON: counts that add up, a table that
stays a table, and the keys a dashboard reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT
from verifier.domain.render import render_result
from verifier.domain.report import as_json, as_markdown, build_report
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict

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
