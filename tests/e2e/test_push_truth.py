"""What the Pushgateway tells the alerts, through the CLI: real runs push to a real Pushgateway that a real
Prometheus scrapes (honor_labels, as the chart's docs require).

An on-call run (`run --issue KEY --now`), or a `run --dry-run` by hand, between two scheduled runs leaves the
scheduled run's series as they were, in the Pushgateway and in Prometheus; a scheduled run in dry-run mode
(VERIFIER_DRY_RUN) pushes, every series marked dry_run="true"."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.e2e.seed import REPO_ROOT as ROOT
from tests.e2e.seed import Desk, Timeline, base_env, cases_for, run_cli
from tests.integration.backends import PrometheusServer, Pushgateway

pytestmark = pytest.mark.integration

Series = dict[tuple[tuple[str, str], ...], float]


def _query(prometheus: PrometheusServer, expr: str) -> Series:
    answer = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in answer["data"]["result"]}


def _scraped(prometheus: PrometheusServer, job: str) -> Series:
    """Every series of `job` as Prometheus holds it now, after a scrape that began after this call."""
    asked = time.time()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        last = _query(prometheus, 'timestamp(up{job="pushgateway"})')
        if last and min(last.values()) > asked + 0.1:
            break
        time.sleep(0.2)
    else:
        pytest.fail("Prometheus did not scrape the Pushgateway within 20 s")
    return _query(prometheus, f'{{job="{job}"}}')


def _pushed(gateway: Pushgateway, job: str) -> list[str]:
    """The Pushgateway's own exposition lines of `job`'s series (push times included)."""
    text = requests.get(f"{gateway.url}/metrics", timeout=5).text
    return sorted(line for line in text.splitlines() if f'job="{job}"' in line and not line.startswith("#"))


def _value(series: Series, name: str, **labels: str) -> float:
    found = [v for k, v in series.items() if dict(k).get("__name__") == name and labels.items() <= dict(k).items()]
    assert len(found) == 1, (name, labels, series)
    return found[0]


def test_an_on_call_run_between_two_scheduled_runs_leaves_the_scheduled_series_unchanged(
    jira_desk: Desk, t: Timeline, live_prometheus: PrometheusServer, gateway: Pushgateway, scraper: PrometheusServer
) -> None:
    job = "verifier-e2e-oncall"
    keys = jira_desk.seed(t, cases_for(jira_desk, ["held", "regressed"]))
    env = {
        **base_env(live_prometheus.url),
        **jira_desk.env(),
        "VERIFIER_PUSHGATEWAY_URL": gateway.url,
        "VERIFIER_PUSHGATEWAY_JOB": job,
    }
    first = run_cli(env)
    assert first.code == 0, first.err
    scheduled = _scraped(scraper, job)
    assert _value(scheduled, "action_item_verifier_results", service="checkout", verdict="FAILED") == 1
    assert _value(scheduled, "action_item_verifier_results", service="checkout", verdict="VERIFIED") == 1
    first_success = _value(scheduled, "action_item_verifier_last_success_timestamp_seconds", dry_run="false")
    pushed = _pushed(gateway, job)

    on_call = run_cli({**env, "VERIFIER_LOG_LEVEL": "info"}, "--issue", keys["held"], "--now")
    assert on_call.code == 0, on_call.err
    assert '"event": "metrics_not_pushed"' in on_call.err  # says so in its log
    assert _pushed(gateway, job) == pushed
    assert _scraped(scraper, job) == scheduled
    by_hand = run_cli(env, "--dry-run")  # a look at what a run would do, by hand: no push either
    assert by_hand.code == 0, by_hand.err
    assert _pushed(gateway, job) == pushed
    assert _scraped(scraper, job) == scheduled

    second = run_cli(env)  # the next scheduled run does replace them
    assert second.code == 0, second.err
    after = _scraped(scraper, job)
    assert _value(after, "action_item_verifier_last_success_timestamp_seconds", dry_run="false") > first_success
    assert _pushed(gateway, job) != pushed


def test_a_dry_run_pushes_its_series_marked_dry(
    jira_desk: Desk, t: Timeline, live_prometheus: PrometheusServer, gateway: Pushgateway, scraper: PrometheusServer
) -> None:
    job = "verifier-e2e-dry"
    jira_desk.seed(t, cases_for(jira_desk, ["held", "regressed"]))
    env = {
        **base_env(live_prometheus.url),
        **jira_desk.env(),
        "VERIFIER_PUSHGATEWAY_URL": gateway.url,
        "VERIFIER_PUSHGATEWAY_JOB": job,
        "VERIFIER_DRY_RUN": "true",
    }
    writes = jira_desk.writes()
    done = run_cli(env)
    assert done.code == 0, done.err
    assert jira_desk.writes() == writes  # a dry run: nothing written...
    series = _scraped(scraper, job)  # ...and yet pushed, each series marked
    names = {dict(k)["__name__"] for k in series}
    assert {
        "action_item_verifier_last_run_timestamp_seconds",
        "action_item_verifier_last_success_timestamp_seconds",
        "action_item_verifier_tickets",
        "action_item_verifier_writes",
        "action_item_verifier_results",
    } <= names
    marks = {dict(k).get("dry_run") for k in series if dict(k)["__name__"].startswith("action_item_verifier_")}
    assert marks == {"true"}
    assert _value(series, "action_item_verifier_writes") == 0
    assert _value(series, "action_item_verifier_results", service="checkout", verdict="FAILED") >= 1
    # The dashboard's panel for it shows the last run as a dry one.
    board = json.loads(
        (ROOT / "helm" / "action-item-verifier" / "dashboards" / "action-item-verifier.json").read_text()
    )
    (expr,) = [t["expr"] for p in board["panels"] if p["title"] == "Last run, dry or writing" for t in p["targets"]]
    assert [dict(k)["dry_run"] for k in _query(scraper, expr.replace("$job", job))] == ["true"]
    # What the chart's alerts read: the absence alert has its series; FixesFailed leaves dry runs out.
    assert _query(scraper, f'absent(action_item_verifier_last_success_timestamp_seconds{{job="{job}"}})') == {}
    assert _query(scraper, f'action_item_verifier_results{{job="{job}",verdict="FAILED",dry_run="false"}} > 0') == {}
