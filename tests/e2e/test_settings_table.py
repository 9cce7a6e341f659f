"""Every setting in README's settings table reaches the behaviour it names (#27): environment in, what the sandbox
servers (a contract-validated Jira or GitHub, a recording proxy in front of a real Prometheus) received, or what
the run did, out.

The table is read from README.md: a variable added to it without a check here, or a check for a variable no longer
in it, fails `test_every_setting_in_the_readme_table_has_a_check`. Each check runs the real CLI in a subprocess
with the variable set (and, where the difference is the point, without it). A setting whose effect this file does
not observe says so, with the reason and the named test that holds it end to end instead (`Elsewhere`): the test
checks that the named test exists, so the pointer cannot rot silently.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.adapters.conftest import _validated, github_enterprise  # noqa: F401  (a fixture)
from tests.e2e.conftest import MetricsProxy
from tests.e2e.seed import (
    BOT,
    FAILED,
    INCONCLUSIVE,
    INVALID,
    LABEL,
    REPO_ROOT,
    REPORTER,
    VERIFIED,
    Desk,
    Done,
    GitHubDesk,
    JiraDesk,
    Timeline,
    base_env,
    held,
    render,
    run_cli,
)
from tests.tls import PrivateCA, private_ca
from verifier_sandbox.jira import JiraSandbox

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
_PREFIXES = ("VERIFIER_PROMETHEUS_", "VERIFIER_JIRA_", "VERIFIER_GITHUB_", "VERIFIER_TRACKER_", "VERIFIER_")


def readme_settings() -> list[str]:
    """The variables README's settings table names, `…_X` written out with the prefix of the row's first one."""
    text = README.read_text()
    table = text[text.index("### Settings") :]
    table = table[: table.index("\n## ")]
    names: list[str] = []
    for row in (line for line in table.splitlines() if line.startswith("| `")):
        first = re.search(r"`((?:VERIFIER|JIRA)_[A-Z_]+)`", row)
        assert first is not None, row
        prefix = next(p for p in _PREFIXES if first.group(1).startswith(p))
        for short, full in re.findall(r"`(?:…_([A-Z_]+)|((?:VERIFIER|JIRA)_[A-Z_]+))`", row):
            name = prefix + short if short else full
            if name not in names:
                names.append(name)
    return names


# ---------------------------------------------------------------------------------------------- the harness


@dataclass
class World:
    """What a check works with: the Jira Cloud desk, the metrics proxy in front of the real Prometheus, the
    timeline, a temporary directory, and the pytest request (for more sandboxes)."""

    desk: Desk
    proxy: MetricsProxy
    t: Timeline
    tmp: Path
    request: pytest.FixtureRequest

    @property
    def jira(self) -> JiraSandbox:
        assert isinstance(self.desk.server, JiraSandbox)
        return self.desk.server

    def env(self, desk: Desk | None = None, **extra: str) -> dict[str, str]:
        return {**base_env(self.proxy.url), **(desk or self.desk).env(), **extra}

    def run(self, *args: str, desk: Desk | None = None, drop: tuple[str, ...] = (), **extra: str) -> Done:
        env = {k: v for k, v in self.env(desk).items() if k not in drop}
        return run_cli({**env, **extra}, *args)

    def report(self, *args: str, **extra: str) -> dict[str, Any]:
        path = self.tmp / f"report-{len(list(self.tmp.glob('report-*')))}.json"
        done = self.run("--report", str(path), *args, **extra)
        assert path.exists(), done
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def github(self, enterprise: bool = False) -> GitHubDesk:
        return GitHubDesk(self.request.getfixturevalue("github_enterprise" if enterprise else "github"))

    def jira_dc(self) -> JiraDesk:
        return JiraDesk(self.request.getfixturevalue("jira_dc"))

    def outcome(self, report: dict[str, Any], key: str) -> str | None:
        return next((x["outcome"] for x in report["tickets"] if x["key"] == key), None)

    def requests_text(self, server: Any) -> str:
        """Every request a sandbox received, as text: method, path, query and body."""
        return "\n".join(f"{r.method} {r.path}?{r.query} {r.body.decode(errors='replace')}" for r in server.requests)


@dataclass(frozen=True)
class Elsewhere:
    """Held end to end by another named test (`path::name`), for the reason given."""

    test: str
    why: str


Check = Callable[[World], None] | Elsewhere


# ------------------------------------------------------------------------------------------------- checks


def _tracker(w: World) -> None:
    gh = w.github()
    both = {**w.env(), **{k: v for k, v in gh.env().items() if k != "VERIFIER_TRACKER"}}
    jira_before, gh_before = len(w.jira.requests), len(gh.server.requests)
    assert run_cli({**both, "VERIFIER_TRACKER": "jira"}, "--dry-run").code == 0
    assert len(w.jira.requests) > jira_before and len(gh.server.requests) == gh_before
    assert run_cli({**both, "VERIFIER_TRACKER": "github"}, "--dry-run").code == 0
    assert len(gh.server.requests) > gh_before


def _jira_url(w: World, name: str = "VERIFIER_JIRA_URL") -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    done = w.run("--dry-run", drop=("VERIFIER_JIRA_URL",), **{name: w.jira.url})
    assert done.code == 0 and " VERIFIED " in done.line(key) + " ", done
    elsewhere = w.run("--dry-run", drop=("VERIFIER_JIRA_URL",), **{name: "http://127.0.0.1:9"})
    assert elsewhere.code != 0 and key not in elsewhere.out


def _jira_basic(w: World, email: str = "VERIFIER_JIRA_EMAIL", token: str = "VERIFIER_JIRA_API_TOKEN") -> None:
    before = len(w.jira.requests)
    env = w.env()
    values = {email: env.pop("VERIFIER_JIRA_EMAIL"), token: env.pop("VERIFIER_JIRA_API_TOKEN")}
    assert run_cli({**env, **values}, "--dry-run").code == 0
    sent = {r.headers.get("authorization") for r in w.jira.requests[before:]}
    basic = base64.b64encode(f"{values[email]}:{values[token]}".encode()).decode()
    assert sent == {f"Basic {basic}"}, sent
    wrong = run_cli({**env, **values, token: "not-the-token"}, "--dry-run")
    assert wrong.code != 0


def _jira_pat(w: World) -> None:
    dc = w.jira_dc()
    before = len(dc.server.requests)
    assert w.run("--dry-run", desk=dc).code == 0
    assert {r.headers.get("authorization") for r in dc.server.requests[before:]} == {f"Bearer {dc.jira.pat}"}
    assert w.run("--dry-run", desk=dc, VERIFIER_JIRA_PAT="not-the-pat").code != 0


def _jira_project(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    assert key.startswith("OPS-")
    assert " VERIFIED " in w.run("--dry-run", VERIFIER_JIRA_PROJECT="OPS").line(key) + " "
    other = w.run("--dry-run", VERIFIER_JIRA_PROJECT="ELSE")
    assert other.code == 0 and key not in other.out
    assert 'project = "ELSE"' in w.requests_text(w.jira) or "project = ELSE" in w.requests_text(w.jira)


def _jira_extra_jql(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    clause = 'labels = "not-on-any-ticket"'
    done = w.run("--dry-run", VERIFIER_JIRA_EXTRA_JQL=clause)
    assert done.code == 0 and key not in done.out, done
    assert clause in w.requests_text(w.jira).replace("\\", "")


def _not_fix(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]  # resolved Done
    assert w.outcome(w.report("--dry-run"), key) == "VERIFIED"
    assert w.outcome(w.report("--dry-run", VERIFIER_JIRA_NOT_FIX_RESOLUTIONS="Done,Won't Do"), key) is None


def _reopen_transition(w: World) -> None:
    keys = w.desk.seed(w.t, ["regressed", "errors_regressed"])
    done = w.run("--issue", keys["regressed"], VERIFIER_JIRA_REOPEN_TRANSITION="No such transition")
    assert "reopen-failed" in w.desk.state(keys["regressed"]).labels, done
    assert not w.desk.state(keys["regressed"]).open
    w.run("--issue", keys["errors_regressed"])
    assert w.desk.state(keys["errors_regressed"]).open


def _github_repository(w: World) -> None:
    gh = w.github()
    key = gh.seed(w.t, ["held"])["held"]
    gh.gh.add_repo("acme/other")
    assert " VERIFIED " in w.run("--dry-run", desk=gh).line(key) + " "
    other = w.run("--dry-run", desk=gh, VERIFIER_GITHUB_REPOSITORY="acme/other")
    assert other.code == 0 and key not in other.out
    listed = [json.loads(r.body)["variables"] for r in gh.server.requests if r.path.endswith("/graphql")]
    assert any((v["owner"], v["name"]) == ("acme", "other") for v in listed)


def _github_token(w: World) -> None:
    gh = w.github()
    assert w.run("--dry-run", desk=gh).code == 0
    assert {r.headers.get("authorization") for r in gh.server.requests} == {f"token {gh.gh.token}"} or {
        r.headers.get("authorization") for r in gh.server.requests
    } == {f"Bearer {gh.gh.token}"}
    assert w.run("--dry-run", desk=gh, VERIFIER_GITHUB_TOKEN="ghp_wrong").code != 0


def _app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def _github_app(w: World) -> None:
    gh = w.github()
    app = {
        "VERIFIER_GITHUB_APP_ID": str(gh.gh.app_id),
        "VERIFIER_GITHUB_APP_PRIVATE_KEY": _app_key(),
        "VERIFIER_GITHUB_INSTALLATION_ID": str(gh.gh.installation_id),
    }
    assert w.run("--dry-run", desk=gh, drop=("VERIFIER_GITHUB_TOKEN",), **app).code == 0
    minted = [r for r in gh.server.requests if r.path == f"/app/installations/{gh.gh.installation_id}/access_tokens"]
    assert minted and minted[0].method == "POST"
    jwt = minted[0].headers["authorization"].removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(jwt + "=" * (-len(jwt) % 4)))
    assert str(claims["iss"]) == str(gh.gh.app_id)
    assert any(r.path == "/app" for r in gh.server.requests)  # the App's slug, asked as no slug was set
    wrong = {**app, "VERIFIER_GITHUB_INSTALLATION_ID": "1"}
    assert w.run("--dry-run", desk=gh, drop=("VERIFIER_GITHUB_TOKEN",), **wrong).code != 0


def _github_app_slug(w: World) -> None:
    gh = w.github()
    app = {
        "VERIFIER_GITHUB_APP_ID": str(gh.gh.app_id),
        "VERIFIER_GITHUB_APP_PRIVATE_KEY": _app_key(),
        "VERIFIER_GITHUB_INSTALLATION_ID": str(gh.gh.installation_id),
        "VERIFIER_GITHUB_APP_SLUG": "verifier-app",
    }
    assert w.run("--dry-run", desk=gh, drop=("VERIFIER_GITHUB_TOKEN",), **app).code == 0
    assert not [r for r in gh.server.requests if r.path == "/app"]  # the slug given names the App's login
    assert w.run("--dry-run", desk=gh, drop=("VERIFIER_GITHUB_TOKEN", "VERIFIER_GITHUB_APP_SLUG"), **app).code == 0


def _filing(w: World) -> None:
    items = w.tmp / "items.yaml"

    def file(incident: str, **env: str) -> Any:
        items.write_text(ACTION_ITEMS.replace("INC-9", incident))
        done = subprocess.run(
            [sys.executable, "-m", "verifier", "file", str(items)],
            env={**w.env(), "VERIFIER_JIRA_PROJECT": "OPS", **env},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (key,) = set(re.findall(r"OPS-\d+", done.stdout))
        return w.jira.issue(key)

    plain = file("INC-8")
    assert (plain.issue_type, plain.priority, len(plain.comments)) == ("Bug", "High", 1)
    custom = file(
        "INC-9", VERIFIER_JIRA_ISSUE_TYPE="Task", VERIFIER_JIRA_PRIORITIES="P1=Low", VERIFIER_JIRA_SEED_COMMENT="false"
    )
    assert (custom.issue_type, custom.priority, len(custom.comments)) == ("Task", "Low", 0)


ACTION_ITEMS = """\
incident:
  id: INC-9
  alert_name: CheckoutLatencyHigh
  metric_name: http_server_request_duration_seconds
  service_name: checkout
  environment: production
  triggered_at: "2026-12-01T00:00:00Z"
  threshold_value: 0.5
  actual_value: 1.84
items:
  - title: Pool connections to the payments provider
    priority: P1
    verification:
      metric: http_server_request_duration_seconds
      condition: "< 250ms p99"
      delay: 48h
"""  # no labels: the seed's comment (metric, condition, delay_hours) can say the same, so it is written


def _github_api_url(w: World) -> None:
    gh = w.github(enterprise=True)
    key = gh.seed(w.t, ["held"])["held"]
    assert gh.env()["VERIFIER_GITHUB_API_URL"].endswith("/api/v3")
    assert " VERIFIED " in w.run("--dry-run", desk=gh).line(key) + " "
    # REST under /api/v3, GraphQL beside it at /api/graphql (as on GitHub Enterprise Server)
    paths = {"/api/graphql" if r.path == "/api/graphql" else r.path[:8] for r in gh.server.requests}
    assert paths == {"/api/v3/", "/api/graphql"}


def _label(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    assert w.outcome(w.report("--dry-run", VERIFIER_LABEL=LABEL), key) == "VERIFIED"
    assert w.outcome(w.report("--dry-run", VERIFIER_LABEL="some-other-label"), key) is None


def _result_labels(w: World) -> None:
    keys = w.desk.seed(w.t, ["held", "regressed", "no_data", "invalid"])
    custom = {
        "VERIFIER_VERIFIED_LABEL": "otel-ok",
        "VERIFIER_FAILED_LABEL": "otel-bad",
        "VERIFIER_INCONCLUSIVE_LABEL": "otel-unsure",
        "VERIFIER_INVALID_LABEL": "otel-invalid",
    }
    assert w.run(**custom).code == 0
    got = {name: w.desk.state(key).labels for name, key in keys.items()}
    assert "otel-ok" in got["held"] and VERIFIED not in got["held"]
    assert "otel-bad" in got["regressed"] and FAILED not in got["regressed"]
    assert "otel-unsure" in got["no_data"] and INCONCLUSIVE not in got["no_data"]
    assert "otel-invalid" in got["invalid"] and INVALID not in got["invalid"]


def _lookback(w: World) -> None:
    now = w.t.anchor + timedelta(hours=4)
    spec = held()
    key = w.jira.add_issue(
        summary="[Post-Incident] old",
        description=render(spec, "old", w.t, w.desk.flavour),  # type: ignore[attr-defined]
        resolved=now - timedelta(days=3),
        labels=[LABEL],
        reporter=BOT,
    )
    assert w.outcome(w.report("--dry-run", VERIFIER_LOOKBACK_DAYS="5"), key) is not None
    assert w.outcome(w.report("--dry-run", VERIFIER_LOOKBACK_DAYS="1"), key) is None


def _concurrency(w: World) -> None:
    w.desk.seed(w.t, ["held", "regressed", "errors_held", "errors_regressed"])
    w.proxy.add(None, delay=0.3)  # every query answers slowly: overlapping ones would be seen
    assert w.run("--dry-run", VERIFIER_CONCURRENCY="1").code == 0
    assert w.proxy.most_at_once == 1
    assert w.run("--dry-run", VERIFIER_CONCURRENCY="4").code == 0
    assert w.proxy.most_at_once >= 2


def _max_writes(w: World) -> None:
    keys = w.desk.seed(w.t, ["held", "errors_held"])
    before = w.desk.writes()
    report = w.report(VERIFIER_MAX_WRITES="1")
    assert w.desk.writes() - before == 1 and report["writes"] == 1, report
    assert sum(bool(w.desk.state(k).bot_comments) for k in keys.values()) == 1


def _trusted(w: World) -> None:
    key = w.desk.seed(w.t, ["untrusted_reporter"])["untrusted_reporter"]
    assert w.outcome(w.report("--dry-run"), key) == "SKIPPED"
    trusted = w.desk.identity(REPORTER)
    assert w.outcome(w.report("--dry-run", VERIFIER_TRUSTED_AUTHORS=trusted), key) == "VERIFIED"


def _signing_key(w: World) -> None:
    """The tickets' configs are a trusted person's (a config the tool files unsigned would not count with a key)."""
    keys = w.desk.seed(w.t, ["untrusted_reporter", "held"])
    trusted = {"VERIFIER_TRUSTED_AUTHORS": w.desk.identity(REPORTER)}
    w.run("--issue", keys["held"], **trusted)
    w.run("--issue", keys["untrusted_reporter"], VERIFIER_SIGNING_KEY="k" * 40, **trusted)
    unsigned, signed = (w.desk.state(keys[n]).bot_comments[0] for n in ("held", "untrusted_reporter"))
    marker = r"action-item-verifier result v1; verdict=VERIFIED; resolved=[0-9TZ:-]+"
    assert re.search(marker + r"(?!; sig=)", unsigned) and "; sig=" not in unsigned
    assert re.search(marker + r"; sig=[0-9a-f]{32}", signed), signed


def _overdue(w: World) -> None:
    """An open P1 action item (Jira priority High) created 5 days ago: overdue only with a P1 SLA under 5 days,
    and reminded only with reminders on."""
    now = w.t.anchor + timedelta(hours=4)
    key = w.jira.add_issue(
        summary="[Post-Incident] open",
        description=render(held(), "open", w.t, w.desk.flavour),  # type: ignore[attr-defined]
        status="To Do",
        resolution=None,
        created=now - timedelta(days=5),
        priority="High",
        labels=[LABEL],
        reporter=BOT,
    )
    w.run(VERIFIER_SLA_DAYS="P1=3")  # reminders off (the default)
    w.run(VERIFIER_OVERDUE_REMINDERS="true")  # the default P1 SLA: 7 days
    assert w.desk.state(key).bot_comments == ()
    w.run(VERIFIER_OVERDUE_REMINDERS="true", VERIFIER_SLA_DAYS="P1=3")
    (reminder,) = w.desk.state(key).bot_comments
    assert "action-item-verifier reminder v1" in reminder and "P1" in reminder, reminder


def _dry_run(w: World) -> None:
    keys = w.desk.seed(w.t, ["held", "regressed"])
    before = w.desk.writes()
    assert w.report(VERIFIER_DRY_RUN="true")["dry_run"] is True
    assert w.desk.writes() == before and not any(w.desk.state(k).bot_comments for k in keys.values())
    w.run(VERIFIER_DRY_RUN="false")
    assert w.desk.writes() > before


def _rejudge(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    w.jira.issue(key).labels.append(VERIFIED)  # judged by someone else
    assert w.outcome(w.report("--dry-run"), key) == "ELSEWHERE"
    assert w.outcome(w.report("--dry-run", VERIFIER_REJUDGE="true"), key) == "VERIFIED"


def _run_interval(w: World) -> None:
    w.desk.seed(w.t, ["held", "errors_held", "regressed"])
    plans = [
        w.report("--dry-run", VERIFIER_MAX_WRITES="2", VERIFIER_RUN_INTERVAL_SECONDS=s)["plan"]
        for s in ("3600", "7200")
    ]
    assert plans[0]["last_run_after_hours"] > 0
    assert plans[1]["last_run_after_hours"] == 2 * plans[0]["last_run_after_hours"], plans


def _log_level(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    debug = w.run("--dry-run", VERIFIER_LOG_LEVEL="debug", VERIFIER_LOG_FORMAT="json")
    error = w.run("--dry-run", VERIFIER_LOG_LEVEL="error", VERIFIER_LOG_FORMAT="json")
    levels = [{json.loads(x)["level"] for x in d.err.splitlines() if x.startswith("{")} for d in (debug, error)]
    assert "info" in levels[0] and levels[1] <= {"error", "critical"}, levels


def _log_format(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    as_json = w.run("--dry-run", VERIFIER_LOG_LEVEL="info", VERIFIER_LOG_FORMAT="json").err.splitlines()
    console = w.run("--dry-run", VERIFIER_LOG_LEVEL="info", VERIFIER_LOG_FORMAT="console").err.splitlines()
    assert as_json and all(json.loads(line)["event"] for line in as_json)
    assert console and not [line for line in console if line.startswith("{")]


# -- metrics


def _prometheus_url(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    assert " VERIFIED " in w.run("--dry-run").line(key) + " "
    assert w.proxy.queries  # the queries went to the URL given
    direct = w.run("--dry-run", VERIFIER_PROMETHEUS_URL="http://127.0.0.1:9")
    assert "VERIFIED" not in direct.line(key)


def _bearer(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    w.run("--dry-run", VERIFIER_PROMETHEUS_BEARER_TOKEN="bearer-token-1234")
    assert {s.headers.get("authorization") for s in w.proxy.seen} == {"Bearer bearer-token-1234"}


def _basic(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    w.run("--dry-run", VERIFIER_PROMETHEUS_USERNAME="tenant-1", VERIFIER_PROMETHEUS_PASSWORD="pass-1234")
    basic = base64.b64encode(b"tenant-1:pass-1234").decode()
    assert {s.headers.get("authorization") for s in w.proxy.seen} == {f"Basic {basic}"}


def _headers(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    w.run("--dry-run", VERIFIER_PROMETHEUS_HEADERS='{"X-Scope-OrgID":"ops"}')
    assert w.proxy.seen and {s.headers.get("x-scope-orgid") for s in w.proxy.seen} == {"ops"}


def _params(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    w.run("--dry-run", VERIFIER_PROMETHEUS_PARAMS='{"partial_response":"false"}')
    queries = [s for s in w.proxy.seen if "/api/v1/query" in s.path]
    assert queries and all("partial_response=false" in s.path for s in queries)


def _query_timeout(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    w.run("--dry-run", VERIFIER_PROMETHEUS_QUERY_TIMEOUT="17s")
    queries = [s for s in w.proxy.seen if s.path.startswith("/api/v1/query?")]
    assert queries and all("timeout=17s" in s.path for s in queries)


def _timeout(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    w.proxy.add(None, delay=1.5)
    slow = w.run("--dry-run", VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="0.5", VERIFIER_PROMETHEUS_RETRIES="0")
    assert "VERIFIED" not in slow.line(key) and "timed out" in slow.line(key).lower(), slow.line(key)
    patient = w.run("--dry-run", VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="10", VERIFIER_PROMETHEUS_RETRIES="0")
    assert " VERIFIED " in patient.line(key) + " "


def _retries(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    error = json.dumps({"status": "error", "errorType": "unavailable", "error": "overloaded"})
    w.proxy.add('service="checkout"', times=2, status=503, body=error)
    once = w.run("--dry-run", VERIFIER_PROMETHEUS_RETRIES="0")
    assert "VERIFIED" not in once.line(key)
    twice = w.run("--dry-run", VERIFIER_PROMETHEUS_RETRIES="2")  # one 503 left, then the answer
    assert " VERIFIED " in twice.line(key) + " ", twice.line(key)


def _backoff(w: World) -> None:
    """urllib3 retries the first failure at once and waits backoff x 2 before the second retry."""
    w.desk.seed(w.t, ["held"])
    error = json.dumps({"status": "error", "errorType": "unavailable", "error": "overloaded"})
    w.proxy.add('service="checkout"', times=2, status=503, body=error)
    w.run("--dry-run", VERIFIER_PROMETHEUS_RETRIES="2", VERIFIER_PROMETHEUS_BACKOFF_SECONDS="1.5")
    tries = [s.at for s in w.proxy.seen if "checkout" in unquote(s.path)]
    assert len(tries) >= 3 and tries[2] - tries[1] >= 2.5, tries  # a lower bound only: load makes it longer


def _accept_warnings(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    w.proxy.add(None, warnings=("partial response: store eu-1 unavailable",))
    assert w.outcome(w.report("--dry-run"), key) == "INCONCLUSIVE"
    assert w.outcome(w.report("--dry-run", VERIFIER_PROMETHEUS_ACCEPT_WARNINGS="true"), key) == "VERIFIED"


def _graph_url(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    w.run("--issue", key, VERIFIER_GRAPH_URL="https://graphs.example/prom")
    assert "https://graphs.example/prom/graph?" in w.desk.state(key).bot_comments[0]


def _grafana(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    w.run("--issue", key, VERIFIER_GRAFANA_URL="https://grafana.example", VERIFIER_GRAFANA_DATASOURCE_UID="prom-1")
    comment = w.desk.state(key).bot_comments[0]
    assert "https://grafana.example/explore?" in comment and "prom-1" in comment, comment


def _sparkline(w: World) -> None:
    keys = w.desk.seed(w.t, ["held", "errors_held"])
    w.run("--issue", keys["held"])
    ranges = sum("/api/v1/query_range" in s.path for s in w.proxy.seen)
    w.run("--issue", keys["errors_held"], VERIFIER_SPARKLINE="false")
    assert ranges >= 1 and sum("/api/v1/query_range" in s.path for s in w.proxy.seen) == ranges


def _tls_proxy(w: World, mutual: bool = False) -> tuple[PrivateCA, MetricsProxy]:
    ca = private_ca(w.tmp / "ca")
    upstream = w.proxy.upstream
    proxy = MetricsProxy(upstream, tls=ca.mutual_context() if mutual else ca.server_context())
    w.request.addfinalizer(proxy.close)
    return ca, proxy


def _prometheus_tls(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    ca, proxy = _tls_proxy(w)
    env = {"VERIFIER_PROMETHEUS_URL": proxy.url, "VERIFIER_PROMETHEUS_RETRIES": "0"}
    assert "certificate verify failed" in w.run("--dry-run", **env).line(key)
    assert " VERIFIED " in w.run("--dry-run", **env, VERIFIER_PROMETHEUS_CA_BUNDLE=str(ca.ca_bundle)).line(key) + " "
    assert " VERIFIED " in w.run("--dry-run", **env, VERIFIER_PROMETHEUS_VERIFY_TLS="false").line(key) + " "


def _client_cert(w: World) -> None:
    key = w.desk.seed(w.t, ["held"])["held"]
    ca, proxy = _tls_proxy(w, mutual=True)
    env = {
        "VERIFIER_PROMETHEUS_URL": proxy.url,
        "VERIFIER_PROMETHEUS_RETRIES": "0",
        "VERIFIER_PROMETHEUS_CA_BUNDLE": str(ca.ca_bundle),
    }
    assert "VERIFIED" not in w.run("--dry-run", **env).line(key)
    cert = {
        "VERIFIER_PROMETHEUS_CLIENT_CERT": str(ca.client_cert),
        "VERIFIER_PROMETHEUS_CLIENT_KEY": str(ca.client_key),
    }
    assert " VERIFIED " in w.run("--dry-run", **env, **cert).line(key) + " "
    subjects = {str(s.peer_cert["subject"]) for s in proxy.seen if s.peer_cert}
    assert subjects and all("verifier-client" in s for s in subjects)


def _tracker_tls(w: World) -> None:
    ca = private_ca(w.tmp / "tracker-ca")
    jira = JiraSandbox("cloud").use_tls(ca.server_context())
    gen = _validated(jira, w.request.getfixturevalue("jira_contract"))
    next(gen)
    w.request.addfinalizer(lambda: next(gen, None))
    desk = JiraDesk(jira)
    key = desk.seed(w.t, ["held"])["held"]
    fast = {"VERIFIER_TRACKER_TIMEOUT_SECONDS": "5"}
    assert w.run("--dry-run", desk=desk, **fast).code != 0
    trusted = w.run("--dry-run", desk=desk, **fast, VERIFIER_TRACKER_CA_BUNDLE=str(ca.ca_bundle))
    assert " VERIFIED " in trusted.line(key) + " "
    unverified = w.run("--dry-run", desk=desk, **fast, VERIFIER_TRACKER_VERIFY_TLS="false")
    assert " VERIFIED " in unverified.line(key) + " "


def _tracker_timeout(w: World) -> None:
    w.desk.seed(w.t, ["held"])
    w.jira.faults.latency_seconds = 2.0
    try:
        slow = w.run("--dry-run", VERIFIER_TRACKER_TIMEOUT_SECONDS="0.5")
        assert slow.code != 0 and "ReadTimeout" in slow.out, slow
        assert w.run("--dry-run", VERIFIER_TRACKER_TIMEOUT_SECONDS="10").code == 0
    finally:
        w.jira.faults.latency_seconds = 0.0


def _same(check: Callable[[World], None], **kw: str) -> Callable[[World], None]:
    return lambda w: check(w, **kw)  # type: ignore[call-arg]


CHECKS: dict[str, Check] = {
    "VERIFIER_TRACKER": _tracker,
    "VERIFIER_JIRA_URL": _jira_url,
    "JIRA_BASE_URL": _same(_jira_url, name="JIRA_BASE_URL"),
    "VERIFIER_JIRA_EMAIL": _jira_basic,
    "JIRA_EMAIL": _same(_jira_basic, email="JIRA_EMAIL"),
    "VERIFIER_JIRA_API_TOKEN": _jira_basic,
    "JIRA_API_TOKEN": _same(_jira_basic, token="JIRA_API_TOKEN"),
    "VERIFIER_JIRA_PAT": _jira_pat,
    "VERIFIER_JIRA_PROJECT": _jira_project,
    "VERIFIER_JIRA_EXTRA_JQL": _jira_extra_jql,
    "VERIFIER_JIRA_NOT_FIX_RESOLUTIONS": _not_fix,
    "VERIFIER_JIRA_REOPEN_TRANSITION": _reopen_transition,
    "VERIFIER_JIRA_ISSUE_TYPE": _filing,
    "VERIFIER_JIRA_PRIORITIES": _filing,
    "VERIFIER_JIRA_SEED_COMMENT": _filing,
    "VERIFIER_JIRA_FIELDS": Elsewhere(
        "tests/adapters/test_filing_jira_fields.py::test_file_sets_the_due_date_from_the_sla_and_the_mapped_custom_fields",
        "the CLI with the variable set, against a Jira sandbox whose create screen has the custom fields",
    ),
    "VERIFIER_JIRA_DUE_DATE": Elsewhere(
        "tests/adapters/test_filing_jira_fields.py::"
        "test_a_screen_without_due_date_refuses_it_as_jira_does_and_the_setting_files_without_it",
        "the CLI with the variable set, against a Jira sandbox whose create screen has no Due Date",
    ),
    "VERIFIER_GITHUB_REPOSITORY": _github_repository,
    "VERIFIER_GITHUB_TOKEN": _github_token,
    "VERIFIER_GITHUB_APP_ID": _github_app,
    "VERIFIER_GITHUB_APP_PRIVATE_KEY": _github_app,
    "VERIFIER_GITHUB_INSTALLATION_ID": _github_app,
    "VERIFIER_GITHUB_API_URL": _github_api_url,
    "VERIFIER_GITHUB_APP_SLUG": _github_app_slug,
    "VERIFIER_TRACKER_VERIFY_TLS": _tracker_tls,
    "VERIFIER_TRACKER_CA_BUNDLE": _tracker_tls,
    "VERIFIER_TRACKER_TIMEOUT_SECONDS": _tracker_timeout,
    "VERIFIER_PROMETHEUS_URL": _prometheus_url,
    "VERIFIER_PROMETHEUS_BEARER_TOKEN": _bearer,
    "VERIFIER_PROMETHEUS_USERNAME": _basic,
    "VERIFIER_PROMETHEUS_PASSWORD": _basic,
    "VERIFIER_PROMETHEUS_HEADERS": _headers,
    "VERIFIER_PROMETHEUS_PARAMS": _params,
    "VERIFIER_PROMETHEUS_CA_BUNDLE": _prometheus_tls,
    "VERIFIER_PROMETHEUS_CLIENT_CERT": _client_cert,
    "VERIFIER_PROMETHEUS_CLIENT_KEY": _client_cert,
    "VERIFIER_PROMETHEUS_VERIFY_TLS": _prometheus_tls,
    "VERIFIER_PROMETHEUS_TIMEOUT_SECONDS": _timeout,
    "VERIFIER_PROMETHEUS_QUERY_TIMEOUT": _query_timeout,
    "VERIFIER_PROMETHEUS_RETRIES": _retries,
    "VERIFIER_PROMETHEUS_BACKOFF_SECONDS": _backoff,
    "VERIFIER_PROMETHEUS_ACCEPT_WARNINGS": _accept_warnings,
    "VERIFIER_GRAPH_URL": _graph_url,
    "VERIFIER_GRAFANA_URL": _grafana,
    "VERIFIER_GRAFANA_DATASOURCE_UID": _grafana,
    "VERIFIER_SPARKLINE": _sparkline,
    "VERIFIER_LABEL": _label,
    "VERIFIER_VERIFIED_LABEL": _result_labels,
    "VERIFIER_FAILED_LABEL": _result_labels,
    "VERIFIER_INCONCLUSIVE_LABEL": _result_labels,
    "VERIFIER_INVALID_LABEL": _result_labels,
    "VERIFIER_LOOKBACK_DAYS": _lookback,
    "VERIFIER_CONCURRENCY": _concurrency,
    "VERIFIER_MAX_WRITES": _max_writes,
    "VERIFIER_TRUSTED_AUTHORS": _trusted,
    "VERIFIER_SIGNING_KEY": _signing_key,
    "VERIFIER_OVERDUE_REMINDERS": _overdue,
    "VERIFIER_SLA_DAYS": _overdue,
    "VERIFIER_DRY_RUN": _dry_run,
    "VERIFIER_REJUDGE": _rejudge,
    "VERIFIER_RUN_INTERVAL_SECONDS": _run_interval,
    "VERIFIER_PUSHGATEWAY_URL": Elsewhere(
        "tests/e2e/test_push_truth.py::test_a_dry_run_pushes_its_series_marked_dry", "needs a real Pushgateway"
    ),
    "VERIFIER_PUSHGATEWAY_JOB": Elsewhere(
        "tests/e2e/test_push_truth.py::test_a_dry_run_pushes_its_series_marked_dry", "needs a real Pushgateway"
    ),
    "VERIFIER_RUN_DEADLINE_SECONDS": Elsewhere(
        "tests/e2e/test_deadline_e2e.py::"
        "test_a_query_answered_a_byte_a_second_ends_the_run_at_its_deadline_with_the_healthy_tickets_written",
        "needs a backend that stalls past the deadline",
    ),
    "VERIFIER_SETTLE_SECONDS": Elsewhere(
        "tests/unit/services/test_settle_and_lookback.py::test_the_settling_delay_is_a_setting",
        "the CLI with the variable set, judged against the fakes at a fixed clock",
    ),
    "VERIFIER_RECHECK_ACTION": Elsewhere(
        "tests/e2e/test_no_data_recheck_e2e.py::test_the_recheck_action_setting_reaches_the_tracker_as_a_reopen",
        "a re-check needs its own history (a fix that held at its window and regressed later)",
    ),
    "VERIFIER_JIRA_CLOUD_ID": Elsewhere(
        "tests/adapters/test_jira_scoped_token.py::test_every_call_goes_through_the_gateway_and_links_keep_the_site",
        "the gateway is a second sandbox route (api.atlassian.com cannot be reached here)",
    ),
    "VERIFIER_JIRA_API_GATEWAY_URL": Elsewhere(
        "tests/adapters/test_jira_scoped_token.py::test_every_call_goes_through_the_gateway_and_links_keep_the_site",
        "it exists so that test can point the gateway at the sandbox",
    ),
    "VERIFIER_LOG_LEVEL": _log_level,
    "VERIFIER_LOG_FORMAT": _log_format,
}


def test_every_setting_in_the_readme_table_has_a_check() -> None:
    names = readme_settings()
    assert len(names) > 40, names  # the table was read
    assert sorted(set(names) - set(CHECKS)) == [], "README settings without a check here"
    assert sorted(set(CHECKS) - set(names)) == [], "checks of settings README no longer lists"


@pytest.fixture
def world(
    jira_desk: Desk, metrics_proxy: MetricsProxy, t: Timeline, tmp_path: Path, request: pytest.FixtureRequest
) -> World:
    return World(jira_desk, metrics_proxy, t, tmp_path, request)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_setting_reaches_its_behaviour(name: str, world: World) -> None:
    check = CHECKS[name]
    if isinstance(check, Elsewhere):
        path, _, test = check.test.partition("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert not test or callable(getattr(module, test, None)), f"{name}: {check.test} is gone ({check.why})"
        source = Path(path).read_text() if Path(path).is_file() else ""
        assert name.removeprefix("VERIFIER_").lower() in source.lower() or name in source, (
            f"{name}: {check.test} does not mention it ({check.why})"
        )
        return
    check(world)
