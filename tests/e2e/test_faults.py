"""The fault suite: `run` as a subprocess while the tracker or the metrics backend misbehaves.

Each test checks the end state of every ticket (result comments, labels, status) after the faulty run and after a
re-run: nothing is reopened because of a backend fault, no comment is written twice, and the exit code is right.
Metrics faults come from `MetricsProxy` (conftest.py) in front of the module's real Prometheus, or from stopping
that Prometheus; tracker faults from the sandboxes' own fault injection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from functools import partial

import pytest
import requests

from tests.e2e.conftest import MetricsProxy
from tests.e2e.seed import (
    EXPECT,
    INCONCLUSIVE,
    JIRA_ONLY,
    REOPEN_FAILED,
    Desk,
    Expect,
    Timeline,
    base_env,
    check_end_state,
    command,
    on_request,
    run_cli,
    untouched,
)
from tests.integration.backends import PrometheusServer
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import RecordedRequest
from verifier_sandbox.jira import JiraSandbox

pytestmark = pytest.mark.integration

CASES = ["held", "regressed", "no_data", "invalid"]
HELD, REGRESSED = 'service="checkout"', 'service="inventory"'  # how the proxy tells their queries apart


def env_for(desk: Desk, metrics_url: str, **extra: str) -> dict[str, str]:
    return {**base_env(metrics_url, **extra), **desk.env()}


def queries_served(prometheus: PrometheusServer) -> float:
    """How many instant queries Prometheus has answered, by its own count."""
    text = requests.get(prometheus.url + "/metrics", timeout=5).text
    wanted = [line for line in text.splitlines() if line.startswith("prometheus_http_requests_total{")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in wanted if 'handler="/api/v1/query"' in line)


def failed_but_not_reopened(desk: Desk, key: str) -> None:
    state = desk.state(key)
    assert not state.open, f"{key} was reopened after a fault"
    assert state.results in ([], ["FAILED"]), state


# ------------------------------------------------------------------------------------------ tracker faults


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
def test_tracker_429_with_retry_after_then_success(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    if isinstance(desk.server, JiraSandbox):
        keys = desk.seed(t, CASES)
        desk.server.throttle(1, retry_after=1, match=lambda r: "/search" in r.path)
        desk.server.throttle(1, retry_after=1, match=lambda r: desk.is_comment_post(r, keys["regressed"]))
    else:
        assert isinstance(desk.server, GitHubSandbox)
        keys = desk.seed(t, ["held"])  # the GitHub adapter paces writes a second apart: one ticket
        desk.server.throttle(1, status=429, retry_after=1, match=lambda r: r.path.endswith("/graphql"))
        desk.server.throttle(1, status=403, retry_after=1, match=desk.is_comment_post)  # a secondary limit

    done = run_cli(env)

    assert done.code == 0, done
    assert desk.server.faults.pending == 0
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-dc"], indirect=True)
def test_tracker_5xx_burst_on_reads_is_retried(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    keys = desk.seed(t, CASES)
    desk.server.fail(2, status=502, match=lambda r: "/search" in r.path)
    desk.server.fail(1, status=500, match=lambda r: r.method == "GET" and r.path.endswith(keys["regressed"]))

    done = run_cli(env)

    assert done.code == 0, done
    assert desk.server.faults.pending == 0
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_tracker_5xx_on_writes_leaves_each_ticket_finishable(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    keys = desk.seed(t, [*CASES, "errors_regressed"])
    server = desk.server

    def on(key: str, method: str, suffix: str = "") -> Callable[[RecordedRequest], bool]:
        return lambda r: r.method == method and r.path.endswith(f"/issue/{keys[key]}{suffix}")

    server.fail(1, status=500, match=on("held", "PUT"))  # the edit adding the comment is not sent twice: ERROR
    server.fail(1, status=502, match=on("regressed", "POST", "/transitions"))  # commented, labelled, not reopened
    server.fail(1, status=503, match=on("no_data", "PUT"))  # refused before processing: retried
    server.fail(1, status=500, match=on("errors_regressed", "GET", "/transitions"))  # a read: retried

    first = run_cli(env)

    assert first.code == 0, first  # some tickets ERROR, the others written: recorded, not retried
    assert server.faults.pending == 0
    assert "  ERROR " in first.line(keys["held"]) and "  ERROR " in first.line(keys["regressed"])
    untouched(desk, keys, ["held"])
    regressed = desk.state(keys["regressed"])
    assert regressed.results == ["FAILED"] and not regressed.open
    check_end_state(desk, {k: keys[k] for k in ("no_data", "invalid", "errors_regressed")})

    second = run_cli(env)

    assert second.code == 0, second
    check_end_state(desk, keys)


# ------------------------------------------------------------------------------------------ metrics faults


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_metrics_5xx_bursts(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = desk.seed(t, CASES)
    env = env_for(desk, metrics_proxy.url, VERIFIER_PROMETHEUS_RETRIES="2")
    error = '{"status":"error","errorType":"unavailable","error":"store gateway overloaded"}'
    metrics_proxy.add(HELD, times=2, status=503, body=error)  # within the retries
    metrics_proxy.add(REGRESSED, status=502, body="<html>Bad Gateway</html>")  # beyond them
    metrics_proxy.add("order_worker_queue_depth", status=500, body=error)

    first = run_cli(env)

    assert first.code == 0, first  # some tickets ERROR, the others written: recorded, not retried
    check_end_state(desk, {k: keys[k] for k in ("held", "invalid")})
    untouched(desk, keys, ["regressed", "no_data"])
    failed_but_not_reopened(desk, keys["regressed"])
    assert "  ERROR " in first.line(keys["regressed"]) and "  ERROR " in first.line(keys["no_data"])
    assert sum(REGRESSED in q for q in metrics_proxy.queries) == 3  # one try and two retries

    metrics_proxy.clear()
    second = run_cli(env)

    assert second.code == 0, second
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_metrics_timeouts(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed", "errors_regressed"])
    env = env_for(desk, metrics_proxy.url, VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="0.5")
    metrics_proxy.add(HELD, times=1, delay=1.5)  # the first try times out, the retry answers
    metrics_proxy.add(REGRESSED, delay=1.5)  # every try times out

    started = time.monotonic()
    first = run_cli(env)

    assert time.monotonic() - started < 15
    assert first.code == 0, first  # some tickets ERROR, the others written: recorded, not retried
    check_end_state(desk, {k: keys[k] for k in ("held",)})
    untouched(desk, keys, ["regressed", "errors_regressed"])
    for name in ("regressed", "errors_regressed"):
        failed_but_not_reopened(desk, keys[name])
        assert "timed out" in first.line(keys[name]), first.line(keys[name])

    metrics_proxy.clear()
    second = run_cli(env)

    assert second.code == 0, second
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_metrics_malformed_json(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = desk.seed(t, CASES)
    env = env_for(desk, metrics_proxy.url)
    metrics_proxy.add(HELD, status=200, body="<html><body>Sign in</body></html>")
    metrics_proxy.add(REGRESSED, status=200, body='{"status":"success","data":{"resultType":"vector","result":[{"me')
    metrics_proxy.add("order_worker_queue_depth", status=200, body='{"status":"success"}')

    first = run_cli(env)

    assert first.code == 74, first  # every measurement failed, after a write (INVALID): not retried
    untouched(desk, keys, ["held", "regressed", "no_data"])
    failed_but_not_reopened(desk, keys["regressed"])
    check_end_state(desk, {"invalid": keys["invalid"]})
    for name in ("held", "regressed", "no_data"):
        assert "  ERROR " in first.line(keys[name]) and "malformed" in first.line(keys[name]), first.line(keys[name])

    metrics_proxy.clear()
    second = run_cli(env)

    assert second.code == 0, second
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_thanos_warnings_are_inconclusive_unless_accepted(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed"])
    env = env_for(desk, metrics_proxy.url)
    warning = "partial response: store gateway 10.0.0.7:10901 unavailable"
    metrics_proxy.add(None, warnings=(warning,))

    first = run_cli(env)

    assert first.code == 0, first
    warned = Expect("INCONCLUSIVE", INCONCLUSIVE)
    check_end_state(desk, keys, {"held": warned, "regressed": warned})
    assert "store gateway" in desk.state(keys["regressed"]).bot_comments[0]

    later = desk.seed(t, ["held", "regressed"])
    accepting = {**env, "VERIFIER_PROMETHEUS_ACCEPT_WARNINGS": "true"}
    second = run_cli(accepting, "--issue", later["held"], "--issue", later["regressed"])

    assert second.code == 0, second
    check_end_state(desk, later)
    check_end_state(desk, keys, {"held": warned, "regressed": warned})


@pytest.mark.parametrize("desk", ["jira-dc"], indirect=True)
def test_connection_refused_between_runs(
    desk: Desk, env: dict[str, str], live_prometheus: PrometheusServer, t: Timeline
) -> None:
    keys = desk.seed(t, CASES)
    live_prometheus.stop()

    first = run_cli(env)

    assert first.code == 74, first  # every measurement failed, after a write (INVALID): not retried
    untouched(desk, keys, ["held", "regressed", "no_data"])
    failed_but_not_reopened(desk, keys["regressed"])
    check_end_state(desk, {"invalid": keys["invalid"]})
    assert "Connection refused" in first.line(keys["held"]) or "refused" in first.line(keys["held"]).lower()

    live_prometheus.start()
    env = {**env, "VERIFIER_PROMETHEUS_URL": live_prometheus.url}  # the port may have changed
    second = run_cli(env)

    assert second.code == 0, second
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_prometheus_stopped_mid_run(
    desk: Desk, env: dict[str, str], live_prometheus: PrometheusServer, t: Timeline
) -> None:
    names = ["errors_regressed", "regressed", "held", "no_data"]
    keys = desk.seed(t, names)
    jira = desk.server
    assert isinstance(jira, JiraSandbox)
    jira.inline_comments = 0  # the listing reads each ticket's comments: one request per ticket, in key order
    for key in keys.values():
        desk.add_comment(key, "Deployed in build 4711.", "alice")

    served = queries_served(live_prometheus)

    def stop() -> None:  # once the first ticket's query has been answered
        deadline = time.monotonic() + 10
        while queries_served(live_prometheus) <= served and time.monotonic() < deadline:
            time.sleep(0.02)
        live_prometheus.stop()

    second_ticket = keys["regressed"]
    on_request(desk, lambda r: r.method == "GET" and r.path.endswith(f"/issue/{second_ticket}/comment"), stop)

    first = run_cli(env)

    assert live_prometheus.process is None, "the stop never happened"
    assert first.code == 0, first  # some tickets ERROR, the others written: recorded, not retried
    check_end_state(desk, {"errors_regressed": keys["errors_regressed"]})
    untouched(desk, keys, ["regressed", "held", "no_data"])
    failed_but_not_reopened(desk, keys["regressed"])

    live_prometheus.start()
    second = run_cli({**env, "VERIFIER_PROMETHEUS_URL": live_prometheus.url})

    assert second.code == 0, second
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
@pytest.mark.parametrize(
    ("victim", "note"),
    [
        ("regressed", False),  # right after its result comment is stored, before its label and reopen
        ("locked", True),  # right after the note that it cannot be reopened, before the note's label
    ],
)
def test_sigkill_mid_run_then_a_rerun_reopens_every_failed_ticket_without_a_second_comment(
    desk: Desk, env: dict[str, str], t: Timeline, victim: str, note: bool
) -> None:
    names = ["held", "regressed", "errors_regressed", "no_data", "locked"]
    keys = desk.seed(t, names)
    process = subprocess.Popen(command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def is_killing_point(r: RecordedRequest) -> bool:
        return desk.is_comment_post(r, keys[victim]) and (b"could not reopen" in r.body) == note

    on_request(desk, is_killing_point, lambda: os.kill(process.pid, signal.SIGKILL))
    try:
        process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == -signal.SIGKILL
    killed = desk.state(keys[victim])
    assert killed.results == ["FAILED"] and not killed.open
    assert (len(killed.notes), REOPEN_FAILED in killed.labels) == ((1, False) if note else (0, False))
    for name in names:  # other tickets were being written at the same time: each is whole, or on its way
        state = desk.state(keys[name])
        assert len(state.results) <= 1, name
        assert not state.open or (EXPECT[name].reopened and state.results == ["FAILED"]), name

    rerun = run_cli(env)

    assert rerun.code == 0, rerun
    check_end_state(desk, keys)


def is_change(request: RecordedRequest) -> bool:
    """A request that changes a ticket: GitHub's GraphQL and Jira's POST searches only read."""
    return request.is_write and not request.path.endswith(("/graphql", "/search", "/search/jql"))


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
def test_sigkill_after_any_write_then_a_rerun_ends_as_an_unkilled_run(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    """The run killed right after each of its writes in turn (one ticket at a time, so each kill falls between
    two writes of one ticket): the next run leaves every ticket as an unkilled run does, no comment twice."""
    names = [n for n in ("held", "regressed", "no_data", "locked") if desk.is_jira or n not in JIRA_ONLY]
    env = {**env, "VERIFIER_CONCURRENCY": "1"}
    unkilled = desk.seed(t, names)
    before = sum(map(is_change, desk.server.requests))
    assert run_cli(env).code == 0
    total = sum(map(is_change, desk.server.requests)) - before
    check_end_state(desk, unkilled)
    assert total >= (7 if desk.is_jira else 6)  # Jira's locked ticket: its result, the note, the note's label

    for cut in range(1, total + 1):
        keys = desk.seed(t, names)
        process = subprocess.Popen(command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []

        def is_killing_point(r: RecordedRequest, cut: int = cut, seen: list[bool] = seen) -> bool:
            seen.extend([True] if is_change(r) else [])
            return len(seen) == cut

        remove = on_request(desk, is_killing_point, partial(os.kill, process.pid, signal.SIGKILL))
        try:
            process.communicate(timeout=60)
        finally:
            process.kill()
            remove()
        assert process.returncode == -signal.SIGKILL, cut

        assert run_cli(env).code == 0, cut
        check_end_state(desk, keys)
