"""`action-item-verifier report` and the overdue reminders of `run`, end to end: the CLI as a subprocess against a
sandbox tracker (Jira Cloud, Jira Data Center, GitHub; every exchange contract-validated) running in the test.

No metrics backend is needed: the report reads only the tracker, and the reminders' runs have nothing to measure
(VERIFIER_PROMETHEUS_URL points at a closed port, so a query would fail the run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import TRACKERS, make_desk
from tests.e2e.seed import BOT, LABEL, REPO_ROOT, Desk, GitHubDesk, JiraDesk, base_env, run_cli
from verifier.domain.action_items import ActionItem, IncidentContext, render_body
from verifier.domain.formats import find_config
from verifier.domain.render import render_result
from verifier.domain.verdicts import Outcome, Verdict

CONFIG = find_config("```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s p99\ndelay: 48h\n```")
JIRA_PRIORITY = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}


@dataclass(frozen=True)
class Item:
    """One seeded ticket, its times in days before now. `resolved` None: open; `result`: the tool's result
    comment, written two days after the resolution (or still there after a reopen)."""

    service: str
    created: float
    resolved: float | None = None
    result: Outcome | None = None
    priority: str = "P2"
    labels: tuple[str, ...] = ()
    updated: float | None = None  # when the tracker last changed it; default: now (Jira) or its last event
    label: str = LABEL
    pull_request: bool = False


# A quarter across three services, and tickets the report must leave out.
QUARTER: dict[str, Item] = {
    "c1": Item("checkout", 80, 70, Outcome.VERIFIED, labels=("team-payments",)),
    "c2": Item("checkout", 60, None, Outcome.FAILED, priority="P1"),  # reopened by a run: open, 53 days late;
    # still completed in the quarter, when it was resolved
    "c3": Item("checkout", 30, 20, Outcome.VERIFIED),
    "c4": Item("checkout", 10, 1),  # its 48 h window ends tomorrow: pending
    "s1": Item("search", 100, 45, Outcome.VERIFIED),  # filed before the quarter
    "s2": Item("search", 40, 35, Outcome.INCONCLUSIVE),
    "s3": Item("search", 20, priority="P2"),  # open, 10 days left
    "s4": Item("search", 50, priority="P3"),  # open, 40 days left
    "p1": Item("payments", 70, 65, Outcome.INVALID),
    "p2": Item("payments", 12, priority="P1"),  # open, 5 days late
    # regressed, left closed (no way to reopen); of two teams, listed once
    "p4": Item("payments", 25, 15, Outcome.FAILED, labels=("team-payments", "team-search")),
    "old": Item("payments", 200, 150, Outcome.VERIFIED, updated=148),  # outside the quarter: not even listed
    "other_label": Item("checkout", 5, label="chore"),
    "pull_request": Item("checkout", 5, pull_request=True),  # GitHub only
}

ROWS = [
    "| checkout | 4 | 4 | 2 | 1 | 0 | 0 | 1 | 1 | 67% |",
    "| payments | 3 | 2 | 0 | 1 | 0 | 1 | 0 | 1 | 0% |",
    "| search | 3 | 2 | 1 | 0 | 1 | 0 | 0 | 0 | 100% |",
    "| **all** | 10 | 8 | 3 | 2 | 1 | 1 | 1 | 2 | 60% |",
]
OVERALL = {
    "filed": 10,
    "completed": 8,
    "verified": 3,
    "failed": 2,
    "inconclusive": 1,
    "invalid": 1,
    "pending": 1,
    "overdue": 2,
    "elsewhere": 0,
    "regressed_later": 0,
    "fix_hold_rate": 0.6,
}


@pytest.fixture(params=TRACKERS)
def desk(request: pytest.FixtureRequest) -> Desk:
    return make_desk(request, request.param)


def seed(desk: Desk, items: Mapping[str, Item], now: datetime) -> dict[str, str]:
    keys = {}
    for name, item in items.items():
        if item.pull_request and desk.is_jira:
            continue
        keys[name] = _file(desk, name, item, now)
    return keys


def _file(desk: Desk, name: str, item: Item, now: datetime) -> str:
    def ago(days: float) -> datetime:
        return (now - timedelta(days=days)).replace(microsecond=0)

    assert CONFIG is not None
    context = IncidentContext("Alert", "x_seconds", 1, 2, item.service, "production", ago(item.created + 1))
    action = ActionItem(f"Fix {name}", f"Fix {name}.", item.priority, None, "INC-9", context, CONFIG)
    body = render_body(action, desk.flavour)
    resolved = ago(item.resolved) if item.resolved is not None else None
    labels = [item.label, *item.labels]
    if isinstance(desk, JiraDesk):
        key = desk.jira.add_issue(
            summary=f"[Post-Incident] Fix {name}",
            description=body,
            status="Done" if resolved else "In Progress",
            resolved=resolved,
            labels=labels,
            reporter=BOT,
            created=ago(item.created),
            priority=JIRA_PRIORITY[item.priority],
        )
    else:
        assert isinstance(desk, GitHubDesk)
        number = desk.gh.add_issue(
            desk.repo,
            title=f"[Post-Incident] Fix {name}",
            body=body,
            user=BOT,
            labels=[*labels, f"priority:{item.priority}"],
            state="closed" if resolved else "open",
            closed_at=resolved,
            created_at=ago(item.created),
            pull_request=item.pull_request,
        )
        key = f"{desk.repo}#{number}"
    if item.result is not None:
        judged = ago((item.resolved if item.resolved is not None else item.created - 5) - 2)
        text = render_result(Verdict(item.result, "seeded"), judged - timedelta(days=2), desk.flavour)
        if isinstance(desk, JiraDesk):
            desk.jira.add_comment(key, text, author=BOT, created=judged)
        else:
            desk.gh.add_comment(desk.repo, number, text, user=BOT, created_at=judged)
    if item.updated is not None:
        if isinstance(desk, JiraDesk):
            desk.jira.issue(key).updated = ago(item.updated)
        else:
            desk.gh.issue(desk.repo, number).updated_at = ago(item.updated)
    return key


def report_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "report", *args],
        env=dict(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_a_quarter_gives_the_expected_counts_and_fix_hold_rate_in_both_formats(desk: Desk) -> None:
    keys = seed(desk, QUARTER, datetime.now(UTC))
    env = {**base_env("http://127.0.0.1:9"), **desk.env()}
    writes = desk.writes()

    markdown = report_cli(env, "--since", "90d")
    as_json = report_cli(env, "--since", "90d", "--format", "json")
    by_team = report_cli(env, "--since", "90d", "--format", "json", "--group-by", "team")

    assert (markdown.returncode, as_json.returncode, by_team.returncode) == (0, 0, 0), markdown.stderr
    assert desk.writes() == writes  # reads only
    out = markdown.stdout
    assert "Fix-hold rate: **60%** (3 held, 2 regressed). 2 open past their due date." in out
    period = out.split("### Failed verification")[0]
    table = [line for line in period.splitlines() if line.startswith("| ") and not line.startswith("| service")]
    assert table == ROWS
    trend = out.split("### Fix-hold trend, 8 weeks")[1]
    assert "| checkout | `" in trend and "| search | `" in trend
    failed = out.split("### Failed verification")[1].split("### Overdue")[0]
    assert [line.split("]")[0].removeprefix("- [") for line in failed.split("\n") if line.startswith("- [")] == [
        keys["c2"],
        keys["p4"],
    ]
    overdue = out.split("### Overdue")[1]
    assert f"[{keys['c2']}]" in overdue and "(checkout): P1, due " in overdue and ", 53 days late" in overdue
    assert f"[{keys['p2']}]" in overdue and "(payments): P1, due " in overdue and ", 5 days late" in overdue
    for name in ("old", "other_label", "pull_request"):
        if name in keys:
            assert keys[name] + "]" not in out, name

    data: dict[str, Any] = json.loads(as_json.stdout)
    assert data["overall"] == OVERALL
    assert data["group_by"] == "service"
    assert data["groups"]["checkout"]["fix_hold_rate"] == pytest.approx(2 / 3)
    assert data["groups"]["payments"] == {**data["groups"]["payments"], "invalid": 1, "failed": 1, "overdue": 1}
    assert [line["key"] for line in data["failed_verification"]] == [keys["c2"], keys["p4"]]
    assert [line["key"] for line in data["overdue"]] == [keys["c2"], keys["p2"]]
    assert datetime.fromisoformat(data["until"]) - datetime.fromisoformat(data["since"]) == timedelta(days=90)
    assert len(data["trend"]["weeks"]) == 8
    assert all(len(series) == 8 for series in data["trend"]["groups"].values())

    teams: dict[str, Any] = json.loads(by_team.stdout)
    assert teams["overall"] == OVERALL
    assert teams["groups"]["payments"]["verified"] == 1
    assert teams["groups"]["(no team label)"]["verified"] == 2
    assert (teams["groups"]["payments"]["failed"], teams["groups"]["search"]["failed"]) == (1, 1)
    assert [line["key"] for line in teams["failed_verification"]] == [keys["c2"], keys["p4"]]
    assert teams["failed_verification"][1]["group"] == "payments, search"


def test_report_exits_1_when_the_tracker_fails_and_2_for_bad_settings(desk: Desk) -> None:
    env = {**base_env("http://127.0.0.1:9"), **desk.env()}
    broken = {k: v for k, v in env.items() if k not in ("VERIFIER_JIRA_URL", "VERIFIER_GITHUB_REPOSITORY")}
    assert report_cli(broken).returncode == 2
    wrong = {k: "wrong-credential" for k in env if k.endswith(("_TOKEN", "_PAT"))}
    failed = report_cli({**env, **wrong})
    assert failed.returncode == 1 and "error: " in failed.stderr and "HTTP 401" in failed.stderr, failed.stderr
    assert report_cli(env, "--since", "soon").returncode == 2


def test_three_runs_over_an_overdue_ticket_write_one_reminder_and_a_dry_run_none(desk: Desk) -> None:
    now = datetime.now(UTC)
    keys = seed(
        desk,
        {
            "late": Item("search", 10, priority="P1"),
            "in_time": Item("search", 3, priority="P1"),
            "recorded": Item("checkout", 20, 10, Outcome.VERIFIED, labels=("verified-by-otel",)),
        },
        now,
    )
    env = {**base_env("http://127.0.0.1:9"), **desk.env(), "VERIFIER_OVERDUE_REMINDERS": "true"}

    dry = run_cli(env, "--dry-run")
    assert dry.code == 0, dry
    assert desk.writes() == 0
    assert "[would write: reminder, label overdue]" in dry.line(keys["late"])

    runs = [run_cli(env) for _ in range(3)]

    assert [r.code for r in runs] == [0, 0, 0], runs
    late = desk.state(keys["late"])
    assert len(late.bot_comments) == 1 and "overdue" in late.labels
    due = (now - timedelta(days=3)).date().isoformat()
    assert f"action-item-verifier reminder v1; due={due}" in late.bot_comments[0]
    assert "is 3 days late" in late.bot_comments[0]
    assert desk.writes() == 2  # one comment, one label, in three runs
    assert desk.state(keys["in_time"]).bot_comments == ()
    assert "OVERDUE       P1 due " in runs[0].line(keys["late"])
    assert "[wrote: reminder, label overdue]" in runs[0].line(keys["late"])
    assert runs[0].out.endswith("1 open ticket overdue: 1 reminded now\n")
    assert "reminded already" in runs[2].line(keys["late"])
    assert "VERIFIED" in runs[2].line(keys["recorded"])
