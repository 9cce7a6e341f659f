"""`run` at VERIFIER_CONCURRENCY=32 against the Jira Cloud and Prometheus sandboxes, every request answered after a
little latency so that 32 are in flight at once (#26): no ticket is lost to a connection error, each gets exactly
one result, and the tracker sees about one TCP connection per request in flight, not one per request beyond a
pool of 10."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.seed import REPO_ROOT, run_cli
from verifier.exit_codes import ExitCode
from verifier_sandbox.jira import JiraSandbox
from verifier_sandbox.prometheus import Counter, MetricsStore, PrometheusSandbox

pytestmark = pytest.mark.integration

BOT = "action-item-verifier"
TICKETS = 300
WIDTH = 32
BODY = '{code:yaml}\n# action-item-verifier: v1\nmetric: "e2e_errors_total"\ncondition: "< 1"\ndelay: "6h"\n{code}'


@pytest.fixture
def servers() -> Iterator[tuple[JiraSandbox, PrometheusSandbox]]:
    now = datetime.now(UTC)
    store = MetricsStore(scrape_seconds=60)
    store.add(Counter("e2e_errors_total", (), lambda t: 0.0))
    prometheus = PrometheusSandbox(store).start()
    jira = JiraSandbox("cloud", bot_name=BOT).start()
    for i in range(TICKETS):
        resolved = now - timedelta(hours=7, minutes=i % 600)
        jira.add_issue(summary=f"item {i}", description=BODY, resolved=resolved, labels=["post-incident"], reporter=BOT)
    jira.set_latency(0.02)
    prometheus.set_latency(0.02)
    try:
        yield jira, prometheus
    finally:
        jira.stop()
        prometheus.stop()


def test_concurrency_32_loses_no_ticket(servers: tuple[JiraSandbox, PrometheusSandbox]) -> None:
    jira, prometheus = servers
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERIFIER_", "JIRA_", "GITHUB_"))}
    env.update(
        {
            "VERIFIER_SECRETS_DIR": str(REPO_ROOT / "tests" / "e2e" / "no-secrets-here"),
            "VERIFIER_TRACKER": "jira",
            "VERIFIER_JIRA_URL": jira.url,
            "VERIFIER_JIRA_EMAIL": jira.email,
            "VERIFIER_JIRA_API_TOKEN": jira.api_token,
            "VERIFIER_PROMETHEUS_URL": prometheus.url,
            "VERIFIER_CONCURRENCY": str(WIDTH),
            "VERIFIER_MAX_WRITES": "100000",
            "VERIFIER_LOG_LEVEL": "warning",
            "VERIFIER_LOG_FORMAT": "json",
        }
    )

    done = run_cli(env, "--json", timeout=240)

    assert done.code == ExitCode.OK, done.err[-2000:]
    assert done.report()["counts"] == {"VERIFIED": TICKETS}
    results = [c for issue in jira.issues.values() for c in issue.comments if c.author.name == BOT]
    assert len(results) == TICKETS
    # One connection per request in flight (and a few for signing in), not one per request beyond a pool of 10.
    assert jira.connections <= WIDTH + 8, jira.connections
    assert prometheus.connections <= WIDTH + 8, prometheus.connections
