"""Every answer bounded (#22), through the CLI against a real Prometheus behind a hostile proxy and the
contract-validated tracker sandboxes: a query answered a byte a second, JSON nested 200,000 deep from the backend
and from a Jira search, tens of megabytes of series (peak RSS measured), endless pages and page tokens, and a
16 KB label value in the worst series."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests

from tests.adapters.contract import MALFORMED
from tests.e2e.conftest import MetricsProxy, make_desk
from tests.e2e.seed import (
    FAILED,
    LATENCY,
    REPO_ROOT,
    SPECS,
    VERIFIED,
    Desk,
    Spec,
    Timeline,
    base_env,
    block,
    held,
    regressed,
    run_cli,
)
from tests.hostile.hostile_backend import HostileBackend, Rule, deep, many_series, trickle
from tests.integration.backends import PrometheusServer
from verifier import defaults
from verifier.adapters.github.graphql_queries import LIST_ISSUES
from verifier_sandbox.http import Reply

pytestmark = pytest.mark.integration

CHART_MEMORY_LIMIT = 384 * 1024 * 1024  # helm/action-item-verifier/values.yaml: resources.limits.memory 384Mi
MALFORMED_JSON = (("Content-Type", "application/json;charset=UTF-8"), (MALFORMED, "nested 200,000 deep"))


@pytest.fixture
def hostile(live_prometheus: PrometheusServer) -> Iterator[HostileBackend]:
    backend = HostileBackend(live_prometheus.url)
    try:
        yield backend
    finally:
        backend.close()


def env_for(desk: Desk, metrics_url: str, **extra: str) -> dict[str, str]:
    return {**base_env(metrics_url, VERIFIER_PROMETHEUS_RETRIES="0"), **desk.env(), **extra}


def seed(desk: Desk, t: Timeline, specs: Mapping[str, Spec]) -> dict[str, str]:
    SPECS.update({f"bounds-{name}": spec for name, spec in specs.items()})
    try:
        keys = desk.seed(t, [f"bounds-{name}" for name in specs])
    finally:
        for name in specs:
            del SPECS[f"bounds-{name}"]
    return {name.removeprefix("bounds-"): key for name, key in keys.items()}


def evaluate(metrics_url: str, t: Timeline, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**base_env(metrics_url, VERIFIER_PROMETHEUS_RETRIES="0"), **extra}
    config = block(LATENCY, "< 100ms p99", {"service": "checkout"})
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "evaluate", "--config", "-", "--resolved-at", t.resolved.isoformat()],
        env=env,
        cwd=REPO_ROOT,
        input=config,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


# -- a total deadline per request --------------------------------------------------------------------------------


def test_evaluate_against_a_backend_trickling_a_byte_a_second_ends_by_the_deadline(
    hostile: HostileBackend, t: Timeline
) -> None:
    hostile.rules.append(trickle(b'{"status":"success","data":{"resultType":"vector","result":[]}}'))
    started = time.monotonic()
    done = evaluate(hostile.url, t, VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="2")
    elapsed = time.monotonic() - started
    assert done.returncode == 5, (done.stdout, done.stderr)
    assert "the metrics backend's answer did not arrive whole within 2s" in done.stdout
    assert elapsed < 20, elapsed  # the answer alone would take 64 s; each read restarting the timeout, forever


def test_run_with_one_query_trickling_writes_the_healthy_tickets_and_exits_0(
    jira: Desk, hostile: HostileBackend, t: Timeline
) -> None:
    keys = seed(jira, t, {"held": held(), "stuck": regressed()})
    hostile.rules.append(Rule('service="inventory"', *_trickled_empty()))
    started = time.monotonic()
    done = run_cli(env_for(jira, hostile.url, VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="2"))
    assert time.monotonic() - started < 40
    assert done.code == 0, done  # one ticket's ERROR is recorded, not a failed run (README's exit table)
    assert jira.state(keys["held"]).results == ["VERIFIED"] and VERIFIED in jira.state(keys["held"]).labels
    stuck = done.line(keys["stuck"])
    assert "  ERROR " in stuck and "did not arrive whole within 2s" in stuck, stuck
    assert jira.state(keys["stuck"]).bot_comments == () and not jira.state(keys["stuck"]).open


def _trickled_empty() -> tuple[int, Any, float]:
    rule = trickle(b'{"status":"success","data":{"resultType":"vector","result":[]}}')
    return rule.length, rule.body, rule.pause


# -- JSON depth --------------------------------------------------------------------------------------------------


def test_evaluate_against_json_nested_200000_deep_is_a_clean_backend_error(
    hostile: HostileBackend, t: Timeline
) -> None:
    body = deep()
    hostile.rules.append(Rule("", len(body), lambda: iter([body])))
    done = evaluate(hostile.url, t)
    assert done.returncode == 5, (done.stdout, done.stderr)
    assert f"the metrics backend's answer nests JSON deeper than the cap of {defaults.MAX_JSON_DEPTH} levels" in (
        done.stdout
    )
    assert "RecursionError" not in done.stdout + done.stderr


def test_run_whose_jira_search_answers_json_nested_200000_deep_prints_its_summary_and_exits_1(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    seed(jira, t, {"held": held()})
    body = deep().replace(b'"status":"success","data":{"resultType":"vector","result":', b'"issues":')
    jira.server.faults.inject(Reply(200, body, MALFORMED_JSON), match=lambda r: r.path.endswith("/search/jql"))
    done = run_cli(env_for(jira, live_prometheus.url))
    assert done.code == 1, done  # the listing failed before any write: the Job tries again
    lines = done.out.splitlines()
    assert lines[0].startswith("0 tickets: ")  # the summary, then the error naming the cap
    assert lines[1] == (
        "error: listing tickets stopped: Jira search failed: Jira's answer nests JSON deeper than the cap of 64 levels"
    )
    assert jira.writes() == 0


# -- size --------------------------------------------------------------------------------------------------------


def test_four_tickets_answered_60_mb_each_stay_under_the_chart_memory_limit(
    jira: Desk, hostile: HostileBackend, t: Timeline
) -> None:
    keys = seed(jira, t, {f"wide{n}": held() for n in range(4)})
    length, body = many_series(60 * 1024 * 1024)
    hostile.rules.append(Rule("", length, body))
    env = env_for(jira, hostile.url, VERIFIER_CONCURRENCY="4", VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="60")
    # The child's own peak (VmHWM): ru_maxrss survives exec, so it would count this test process's peak too (a
    # full suite's pytest grows past the limit by itself).
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['verifier', 'run']\n"
        "try:\n    runpy.run_module('verifier', run_name='__main__')\n"
        "finally:\n    hwm = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "    print('maxrss-kib', hwm, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    peak = int(done.stderr.rsplit("maxrss-kib ", 1)[1].split()[0]) * 1024
    print(f"peak RSS of `run` with four 60 MB answers: {peak / 1024 / 1024:.0f} MiB")
    assert peak < CHART_MEMORY_LIMIT, peak
    assert done.returncode == 1, (done.stdout, done.stderr)  # every measurement failed, nothing written: retried
    for key in keys.values():
        line = next(line for line in done.stdout.splitlines() if line.startswith(key + " "))
        assert "  ERROR " in line and "is larger than the cap of 8 MiB" in line, line
    assert jira.writes() == 0


# -- pagination --------------------------------------------------------------------------------------------------


def test_a_jira_next_page_token_leading_back_stops_the_listing_with_an_error(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    seed(jira, t, {"held": held()})
    for token in ("t1", "t2", "t1"):
        page = {"issues": [], "nextPageToken": token, "isLast": False}
        jira.server.faults.inject(Reply.json(200, page), match=lambda r: r.path.endswith("/search/jql"))
    done = run_cli(env_for(jira, live_prometheus.url))
    assert done.code == 1, done
    assert "page 3 leads back to an earlier page token; stopped (a cycle)" in done.out, done.out
    assert jira.server.faults.pending == 0 and jira.writes() == 0


def test_endless_github_pages_stop_with_an_error_naming_the_repeat(
    gh: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed(gh, t, {"held": held()})["held"]
    env = env_for(gh, live_prometheus.url)
    repo = key.rsplit("#", 1)[0]
    owner, name = repo.split("/")
    variables = {"owner": owner, "name": name, "first": 1, "comments": 1, "labels": None, "states": None}
    issue = requests.post(
        f"{gh.server.root}/graphql",
        json={"query": LIST_ISSUES, "variables": {**variables, "order": None, "since": None, "after": None}},
        headers={"Authorization": f"Bearer {env['VERIFIER_GITHUB_TOKEN']}"},
        timeout=10,
    ).json()["data"]["repository"]["issues"]["nodes"][0]
    # A full page of issues closed as not planned (skipped by the run, so the page is cheap), the same page
    # whatever is asked, always with a next page.
    nodes = [{**issue, "number": 1000 + n, "stateReason": "NOT_PLANNED"} for n in range(100)]
    info = {"hasNextPage": True, "endCursor": "Y3Vyc29yOnYyOjk5"}
    page = {"data": {"repository": {"issues": {"pageInfo": info, "nodes": nodes}}}}
    listing = lambda r: r.method == "POST" and b"ListIssues" in r.body  # noqa: E731
    gh.server.faults.inject(Reply.json(200, page), times=10_000, match=listing)
    gh.server.clear_requests()
    done = run_cli(env)
    assert done.code == 1, done
    assert f"GitHub list {repo} issues: page 2 repeats an earlier page; stopped" in done.out, done.out
    assert len([r for r in gh.server.requests if listing(r)]) == 2


# -- comment length --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tracker", ["jira-cloud", "github"])
def test_a_16_kb_label_value_in_the_worst_series_still_writes_the_failed_comment_and_reopens(
    request: pytest.FixtureRequest, metrics_proxy: MetricsProxy, t: Timeline, tracker: str
) -> None:
    desk = make_desk(request, tracker)
    key = seed(desk, t, {"regressed": regressed()})["regressed"]
    route = "[" * 16_384  # 16 KB that both trackers' markup escapes: 32,768 characters once written inert
    answer = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"service": "inventory", "route": route}, "value": [1, "0.5"]},
        {"metric": {"service": "inventory", "route": route + "2"}, "value": [1, "0.3"]},
    ]}}  # fmt: skip
    metrics_proxy.add(match="histogram_quantile(", status=200, body=json.dumps(answer))
    done = run_cli(env_for(desk, metrics_proxy.url))
    assert done.code == 0, done
    state = desk.state(key)
    assert state.results == ["FAILED"] and FAILED in state.labels and state.open
    [comment] = state.bot_comments
    assert "\\[" * 400 in comment and "\\[" * 500 not in comment and "…" in comment  # cut to 500 characters
    assert len(comment.encode("utf-16-le")) // 2 <= (32_767 if desk.is_jira else 65_536)
