"""Connection pools sized to the run's concurrency (#26): at the largest concurrency the settings allow, every
adapter's requests in flight reuse their connections instead of opening a new one per request beyond the
libraries' default pool of 10. Counted by the sandboxes, which see each TCP connection accepted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from tests.adapters import test_github_adapter as gh
from tests.adapters import test_jira_adapter as jr
from verifier import defaults
from verifier.adapters.jira import JiraTracker
from verifier.adapters.prometheus import PrometheusMetrics
from verifier.adapters.retry import RetryPolicy
from verifier.connections import JiraConnection, PrometheusConnection
from verifier.errors import QueryRejected, TrackerError
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import SandboxServer
from verifier_sandbox.jira import JiraSandbox
from verifier_sandbox.prometheus import MetricsStore, PrometheusSandbox

WIDTH = 32  # requests in flight at once, twice in a row: well past the libraries' default pool of 10
ROUNDS = 2


def _in_flight(server: SandboxServer, call: Callable[[], object]) -> int:
    """`call` from WIDTH threads at once, ROUNDS times; the connections the server accepted meanwhile."""
    server.set_latency(0.05)  # every request is still in flight when the others start
    before = server.connections
    for _ in range(ROUNDS):
        threads = [threading.Thread(target=call) for _ in range(WIDTH)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    return server.connections - before


def test_the_pools_hold_the_most_requests_a_run_sends_at_once() -> None:
    assert defaults.POOL_SIZE > defaults.MAX_CONCURRENCY


def test_jira_reuses_one_connection_per_request_in_flight(jira_cloud: JiraSandbox) -> None:
    key = jira_cloud.add_issue(summary="Add retries", labels=[jr.LABEL])
    tracker = jr.tracker(jira_cloud)
    tracker.get_ticket(key)  # signs in and learns the deployment first
    opened = _in_flight(jira_cloud, lambda: tracker.get_ticket(key))
    # With the default pool of 10 the second round opens 22 more; sized, it reuses the first round's.
    assert opened <= WIDTH, opened


def test_github_reuses_one_connection_per_request_in_flight(github: GitHubSandbox) -> None:
    number = github.add_issue(gh.REPO, labels=[gh.LABEL], state="closed")
    tracker = gh.tracker(github)
    opened = _in_flight(github, lambda: tracker.get_ticket(f"{gh.REPO}#{number}"))
    assert opened <= WIDTH, opened


def test_prometheus_reuses_one_connection_per_query_in_flight() -> None:
    with PrometheusSandbox(MetricsStore()) as server:
        metrics = PrometheusMetrics(PrometheusConnection(url=server.url))

        def query() -> None:
            try:
                metrics.instant("up", datetime.now(UTC))
            except QueryRejected:  # the sandbox evaluates only its own series; the exchange is what counts
                pass

        opened = _in_flight(server, query)
    assert opened <= WIDTH, opened


def test_a_write_whose_connection_never_opened_is_sent_again_like_any_refusal() -> None:
    """A comment with labels is a PUT that adds a comment: not sent twice after an answer may have been lost, but a
    connection that never opened carried nothing, so it is tried again (here: up to the attempts, then named)."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    adapter = JiraTracker(
        JiraConnection(url=f"http://127.0.0.1:{port}", pat=SecretStr("p")),
        retry=RetryPolicy(backoff_seconds=0.01, sleep=sleeps.append),
    )
    with pytest.raises(TrackerError, match=r"NewConnectionError \(after 4 attempts\)"):
        adapter.comment("OPS-1", "hello", labels=["verified-by-otel"])
    assert sleeps == [0.02, 0.04]
