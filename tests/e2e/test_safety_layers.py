"""Safety layers end to end, each with the layers before it switched off, and trust with the awkward data real
services give (#27).

- `run --report FILE` (and comments, logs, stdout) masks a secret the Prometheus adapter did not scrub: the adapter's
  own scrubbing is switched off in the CLI process, and the backend echoes a secret header in its error text.
- GitHub logins with capitals: the tool's own account and a trusted author are recognised whatever the case.
- `VERIFIER_DRY_RUN` from the environment reaches the run: nothing written, the report says dry.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.conftest import _validated
from tests.e2e.conftest import MetricsProxy
from tests.e2e.seed import (
    REPO_ROOT,
    Desk,
    Done,
    GitHubDesk,
    State,
    Timeline,
    base_env,
    cases_for,
    held,
    regressed,
    run_cli,
)
from tests.integration.backends import PrometheusServer
from verifier.redaction import MASK
from verifier_sandbox.github import GitHubSandbox

pytestmark = pytest.mark.integration

# The CLI with the Prometheus adapter's own scrubbing switched off: what is left are the later layers.
NO_ADAPTER_SCRUB = (
    "import verifier.adapters.prometheus as p; p.redact = lambda text, secrets=None: text; "
    "from verifier.cli import main; raise SystemExit(main())"
)


def run_without_adapter_scrub(env: dict[str, str], *args: str) -> Done:
    done = subprocess.run(
        [sys.executable, "-c", NO_ADAPTER_SCRUB, "run", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Done(done.returncode, done.stdout, done.stderr)


def test_a_secret_the_adapter_did_not_scrub_is_masked_in_comments_logs_stdout_and_the_report_file(
    jira_desk: Desk, metrics_proxy: MetricsProxy, t: Timeline, tmp_path: Path
) -> None:
    secret = "tenant-7f3a9c2e81d4"  # sent as a header; a proxy in front of the backend echoes it back
    keys = jira_desk.seed(t, ["held", "regressed"])
    echo = json.dumps(
        {"status": "error", "errorType": "bad_data", "error": f"tenant {secret} is not allowed on this query"}
    )
    metrics_proxy.add('service="checkout"', status=400, body=echo)  # held: its verdict's query
    metrics_proxy.add('service="inventory"}[3h]')  # regressed: its verdict's queries pass...
    metrics_proxy.add('service="inventory"', status=400, body=echo)  # ...its sparkline's fails, into a log line
    env = {
        **base_env(metrics_proxy.url),
        **jira_desk.env(),
        "VERIFIER_PROMETHEUS_HEADERS": json.dumps({"X-Scope-OrgID": secret}),
        "VERIFIER_LOG_LEVEL": "debug",
    }
    report_file = tmp_path / "report.json"

    done = run_without_adapter_scrub(env, "--report", str(report_file))

    report_text = report_file.read_text()
    comments = "\n".join(jira_desk.state(keys["held"]).bot_comments)
    outputs = {"stdout": done.out, "stderr (logs)": done.err, "report file": report_text, "comment": comments}
    leaked = [where for where, text in outputs.items() if secret in text]
    assert not leaked, f"the secret reached: {leaked}"
    # The echoed error did reach each of them, masked: the layers were exercised, not bypassed.
    reason = next(x["reason"] for x in json.loads(report_text)["tickets"] if x["key"] == keys["held"])
    assert f"tenant {MASK} is not allowed" in reason, reason
    assert f"tenant {MASK} is not allowed" in comments
    assert f"tenant {MASK}" in done.out
    assert f"tenant {MASK}" in done.err
    # The other ticket was judged as usual.
    assert "verification-failed" in jira_desk.state(keys["regressed"]).labels


# ------------------------------------------------------------------------------------- logins with capitals


class CapitalDesk(GitHubDesk):
    """A GitHub whose tool account signs in as `Verifier-Bot`: logins keep the case they were created with."""

    def __init__(self, server: GitHubSandbox) -> None:
        self.server = self.gh = server
        server.add_repo(self.repo)

    def state(self, key: str) -> State:
        issue = self._issue(key)
        bot = tuple(c.body for c in issue.comments if c.user == self.gh.login)
        return State(frozenset(issue.labels), issue.state == "open", bot)


@pytest.fixture
def capital_github(github_contract: object) -> Iterator[GitHubSandbox]:
    server = GitHubSandbox(login="Verifier-Bot")
    for _ in _validated(server, github_contract):  # type: ignore[arg-type]
        yield server


def test_github_logins_with_capitals_are_the_tool_own_and_trusted_whatever_their_case(
    capital_github: GitHubSandbox, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    desk = CapitalDesk(capital_github)
    mine = desk.file(held(reporter="Verifier-Bot"), "mine", t)  # filed by the tool's account
    trents = desk.file(regressed(reporter="Trent"), "trents", t)  # filed by a trusted person
    env = {**base_env(live_prometheus.url), **desk.env(), "VERIFIER_TRUSTED_AUTHORS": "TRENT"}

    first = run_cli(env)

    assert first.code == 0, first
    assert re.search(r"\bVERIFIED\b", first.line(mine)), first.line(mine)
    assert re.search(r"\bFAILED\b", first.line(trents)), first.line(trents)
    assert "verified-by-otel" in desk.state(mine).labels and len(desk.state(mine).bot_comments) == 1
    assert "verification-failed" in desk.state(trents).labels and desk.state(trents).open
    writes = desk.writes()

    second = run_cli(env)  # the tool recognises its own results, signed in as Verifier-Bot

    assert second.code == 0, second
    assert desk.writes() == writes
    assert len(desk.state(mine).bot_comments) == 1 and len(desk.state(trents).bot_comments) == 1


# ------------------------------------------------------------------------------------------------ dry run


def test_verifier_dry_run_from_the_environment_reaches_the_run_and_nothing_is_written(
    desk: Desk, env: dict[str, str], t: Timeline, tmp_path: Path
) -> None:
    keys = desk.seed(t, cases_for(desk, ["held", "errors_regressed"]))
    before = desk.writes()
    report_file = tmp_path / "report.json"

    done = run_cli({**env, "VERIFIER_DRY_RUN": "true"}, "--report", str(report_file))

    assert done.code == 0, done
    assert desk.writes() == before, [r.path for r in desk.server.writes()]
    assert json.loads(report_file.read_text())["dry_run"] is True
    for key in keys.values():
        assert desk.state(key).bot_comments == ()
    # ...and the same environment without it writes: the test's seed would have been written to.
    done = run_cli({**env, "VERIFIER_DRY_RUN": "false"})
    assert done.code == 0, done
    assert desk.writes() > before
