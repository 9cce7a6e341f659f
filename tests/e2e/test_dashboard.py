"""The chart's Grafana dashboard against real data: two real runs push their metrics to a real Pushgateway, a real
Prometheus scrapes it (honor_labels, as the chart's docs require), and every panel's PromQL returns data."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.e2e.seed import BOT, LABEL, SPECS, Desk, Timeline, base_env, cases_for, render, run_cli
from tests.integration.backends import PrometheusServer, Pushgateway
from verifier.domain.tickets import Flavour

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[2] / "helm" / "action-item-verifier" / "dashboards"
JOB = "action-item-verifier-e2e"


def _targets() -> list[tuple[str, str]]:
    board = json.loads((DASHBOARD / "action-item-verifier.json").read_text())
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]


def _query(prometheus: PrometheusServer, expr: str) -> list[object]:
    answer = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    result: list[object] = answer["data"]["result"]
    return result


def test_every_panel_returns_data_after_two_runs(
    jira_desk: Desk, t: Timeline, live_prometheus: PrometheusServer, gateway: Pushgateway, scraper: PrometheusServer
) -> None:
    jira_desk.seed(t, cases_for(jira_desk, ["held", "regressed", "no_data"]))
    jira = jira_desk.jira  # type: ignore[attr-defined]
    jira.add_issue(  # open twelve days, P1 (due after seven): overdue
        summary="[Post-Incident] overdue",
        description=render(SPECS["held"], "overdue", t, Flavour.JIRA_WIKI),
        status="To Do",
        resolution=None,
        labels=[LABEL],
        reporter=BOT,
        created=datetime.now(UTC) - timedelta(days=12),
        priority="High",
    )
    env = {
        **base_env(live_prometheus.url),
        **jira_desk.env(),
        "VERIFIER_PUSHGATEWAY_URL": gateway.url,
        "VERIFIER_PUSHGATEWAY_JOB": JOB,
        "VERIFIER_OVERDUE_REMINDERS": "true",
    }
    for _ in range(2):
        done = run_cli(env)
        assert done.code == 0, done.err
    deadline = time.monotonic() + 20
    while not _query(scraper, f'action_item_verifier_overdue{{job="{JOB}"}}') and time.monotonic() < deadline:
        time.sleep(0.5)

    empty = []
    for title, expr in _targets():
        concrete = expr.replace("$job", JOB)  # a Grafana variable: the value, as the regex =~ takes it
        if not _query(scraper, concrete):
            empty.append(f"{title}: {concrete}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
    rate = _query(scraper, next(e for title, e in _targets() if "Fix-hold" in title).replace("$job", JOB))
    # The last run's figures: the regressed ticket was reopened by the first run, so the second judged only the held.
    assert [float(s["value"][1]) for s in rate] == [1.0]  # type: ignore[index]
