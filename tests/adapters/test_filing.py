"""Filing action items through the real clients (jira, PyGithub, the Prometheus adapter) against the sandboxes.

Every exchange with a tracker sandbox is validated against the official API description (see conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs

from tests.adapters.test_github_adapter import FakeClock
from verifier.adapters.github import GitHubTracker, WritePacer
from verifier.adapters.jira import JiraTracker, seed_comment
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.adapters.retry import RetryPolicy
from verifier.connections import GitHubConnection, JiraConnection
from verifier.domain.action_items import fingerprint_in, incident_facts
from verifier.domain.filing import FilingDocument, parse_filing
from verifier.domain.formats import find_config
from verifier.domain.labels import fit_label
from verifier.domain.selection import select_config
from verifier.domain.tickets import Filed
from verifier.errors import ConfigError, TrackerError
from verifier.services.filing import file_items
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Reply
from verifier_sandbox.jira import JiraSandbox
from verifier_sandbox.prometheus import Counter, Histogram, MetricsStore, PrometheusSandbox

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/api"
TRIGGERED = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
LATENCY = "http_server_request_duration_seconds"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def action_items(**incident: Any) -> dict[str, Any]:
    return {
        "incident": {
            "id": "INC-2041",
            "alert_name": "CheckoutLatencyHigh",
            "metric_name": LATENCY,
            "threshold_value": 0.5,
            "actual_value": 1.84,
            "service_name": "checkout",
            "environment": "production",
            "triggered_at": TRIGGERED.isoformat(),
            "sample_trace_ids": ["4bf92f3577b34da6a3ce929d0e0e4736"],
            "related_metrics": {"db connections pending": 212},
            "affected_components": ["checkout-api"],
            **incident,
        },
        "items": [
            {
                "title": "Add connection pooling to the payments client",
                "description": "Pool connections {so} that [bursts] do not exhaust sockets.",
                "priority": "P1",
                "assignee": "alice",
                "labels": ["team-payments"],
                "verification": {
                    "metric": "http.server.request.duration",
                    "unit": "s",
                    "condition": "< 250ms p99",
                    "labels": {"service": "checkout"},
                    "delay": "48h",
                    "window": "24h",
                },
            },
            {
                "title": "Stop OOM kills in checkout",
                "priority": "P3",
                "verification": {"metric": "checkout_oom_kills_total", "condition": "< 1", "delay_hours": 48},
            },
        ],
    }


def parsed(doc: dict[str, Any] | None = None) -> FilingDocument:
    return parse_filing(yaml.safe_dump(doc or action_items(), sort_keys=False))


def jira_tracker(server: JiraSandbox, **overrides: object) -> JiraTracker:
    auth: dict[str, object] = (
        {"email": server.email, "api_token": server.api_token} if server.cloud else {"pat": server.pat}
    )
    connection = JiraConnection.model_validate({"url": server.url, "project": "OPS", **auth, **overrides})
    return JiraTracker(connection, retry=RetryPolicy(backoff_seconds=0.01, sleep=lambda _: None))


def github_tracker(server: GitHubSandbox, clock: FakeClock | None = None) -> GitHubTracker:
    pace = clock or FakeClock()
    connection = GitHubConnection.model_validate(
        {"api_url": server.url, "repositories": (REPO,), "token": server.token}
    )
    return GitHubTracker(
        connection, pacer=WritePacer(clock=pace, sleep=pace.sleep), sleep=lambda _: None, backoff_factor=0.01
    )


def created(server: JiraSandbox | GitHubSandbox) -> list[dict[str, Any]]:
    """The bodies of the issue-creating requests the sandbox received."""
    return [r.json() for r in server.writes() if r.method == "POST" and r.path.endswith(("/issue", "/issues"))]


# -- Jira -------------------------------------------------------------------------------------------------------
def test_jira_files_every_field(jira: JiraSandbox) -> None:
    alice = jira.user("alice")
    jira.user("alice-smith")  # "Alice Smith" also matches the query "alice": the exact display name decides
    document = parsed()
    report = file_items(document, jira_tracker(jira), None, dry_run=False)

    assert [(i.status, i.key) for i in report.items] == [("created", "OPS-1"), ("created", "OPS-2")]
    first, _ = created(jira)
    fields = first["fields"]
    assert fields["project"] == {"key": "OPS"}
    assert fields["summary"] == "[Post-Incident] Add connection pooling to the payments client"
    assert (fields["issuetype"], fields["priority"]) == ({"name": "Bug"}, {"name": "High"})
    assert fields["labels"] == ["post-incident", "incident-INC-2041", "auto-generated", "team-payments"]
    searches = [r for r in jira.requests if r.path.endswith("/user/search")]
    if jira.cloud:
        assert fields["assignee"] == {"accountId": alice.account_id}
        assert [r.param("query") for r in searches] == ["alice"]
    else:
        assert fields["assignee"] == {"name": "alice"}
        assert searches == []
    issue = jira.issue("OPS-1")
    assert (issue.priority, issue.issue_type, issue.assignee, issue.category) == ("High", "Bug", alice, "new")
    assert jira.issue("OPS-2").priority == "Low" and jira.issue("OPS-2").assignee is None

    ticket = jira_tracker(jira).get_ticket("OPS-1")
    assert ticket.body == fields["description"] and ticket.url == report.items[0].url
    assert find_config(ticket.body) == document.items[0].verification
    assert fingerprint_in(ticket.body) == report.items[0].fingerprint
    facts = incident_facts(ticket.body)
    assert (facts.actual_value, facts.triggered_at) == (1.84, TRIGGERED)
    assert "\\{so\\} that \\[bursts\\]" in ticket.body  # wiki macros in the description are escaped


def test_jira_writes_the_seed_comment_only_when_it_says_what_the_body_says(jira: JiraSandbox) -> None:
    jira.user("alice")
    document = parsed()
    file_items(document, jira_tracker(jira), None, dry_run=False)
    assert jira.issue("OPS-1").comments == []  # unit, labels and a window: the seed's three fields cannot say it
    (comment,) = jira.issue("OPS-2").comments
    assert comment.body == (
        "*Automated Verification Config*\n{code}\nmetric: checkout_oom_kills_total\ncondition: < 1\n"
        "delay_hours: 48\n{code}"
    )
    assert comment.author == jira.bot and find_config(comment.body) == document.items[1].verification
    tracker = jira_tracker(jira)
    selection = select_config(tracker.get_ticket("OPS-2"), frozenset({tracker.account()}))
    assert selection.choice is not None and selection.choice.config == document.items[1].verification
    assert seed_comment(document.items[0].verification) is None


def test_jira_priorities_and_issue_type_by_id(jira_cloud: JiraSandbox) -> None:
    jira_cloud.user("alice")
    tracker = jira_tracker(jira_cloud, priorities={"P1": "2", "P3": "Lowest"}, issue_type="10003")
    file_items(parsed(), tracker, None, dry_run=False, config_comment=False)
    first, second = (body["fields"] for body in created(jira_cloud))
    assert (first["priority"], first["issuetype"], second["priority"]) == (
        {"id": "2"},
        {"id": "10003"},
        {"name": "Lowest"},
    )
    assert (jira_cloud.issue("OPS-1").priority, jira_cloud.issue("OPS-1").issue_type) == ("High", "Story")
    assert jira_cloud.issue("OPS-2").comments == []  # config_comment off


def test_jira_cloud_assignee_by_email_or_account_id_and_an_unknown_one(jira_cloud: JiraSandbox) -> None:
    bob = jira_cloud.user("bob")
    doc = action_items()
    doc["items"][0]["assignee"] = "bob@example.com"
    doc["items"][1]["assignee"] = bob.account_id
    file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)
    assert [i.assignee for i in jira_cloud.issues.values()] == [bob, bob]
    assert [r.param("query") for r in jira_cloud.requests if r.path.endswith("/user/search")] == ["bob@example.com"]

    jira_cloud.user("bobby")
    doc["incident"]["id"] = "INC-2042"
    doc["items"][0]["assignee"] = "bo"  # Bob and Bobby, neither exactly
    report = file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)
    assert "the assignee 'bo' matches 3 users (Verifier Bot, Bob, Bobby)" in str(report.error)

    doc["items"][0]["assignee"] = "nobody"
    report = file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)
    assert report.exit_code == 1
    assert "item 1" in str(report.error) and "'nobody' matches no active user" in str(report.error)
    assert len(jira_cloud.issues) == 2


def test_jira_data_center_refuses_an_unknown_user_name(jira_dc: JiraSandbox) -> None:
    report = file_items(parsed(), jira_tracker(jira_dc), None, dry_run=False)
    assert report.exit_code == 1 and "User 'alice' does not exist" in str(report.error)
    assert jira_dc.issues == {}


def test_filing_needs_a_jira_project(jira_cloud: JiraSandbox) -> None:
    tracker = jira_tracker(jira_cloud, project=None)
    report = file_items(parsed(), tracker, None, dry_run=False)
    assert "VERIFIER_JIRA_PROJECT" in str(report.error) and jira_cloud.writes() == []


@pytest.mark.parametrize("tracker_name", ["jira-cloud", "jira-dc", "github"])
def test_filing_the_same_file_twice_creates_each_ticket_once(tracker_name: str, request: pytest.FixtureRequest) -> None:
    server, tracker = _server_and_tracker(tracker_name, request)
    document = parsed()
    first = file_items(document, tracker, None, dry_run=False)
    writes = len(server.writes())
    _resolve_first(server)  # done tickets are found too
    second = file_items(document, tracker, None, dry_run=False)
    assert [i.status for i in first.items] == ["created", "created"]
    assert [(i.status, i.key, i.url) for i in second.items] == [("already filed", i.key, i.url) for i in first.items]
    assert len(created(server)) == 2 and len(server.writes()) == writes
    renamed = action_items()
    renamed["items"][0]["title"] = "Add connection pooling to the payments client (v2)"
    third = file_items(parsed(renamed), tracker, None, dry_run=False)
    assert [i.status for i in third.items] == ["created", "already filed"]  # the fingerprint, not the label


@pytest.mark.parametrize("tracker_name", ["jira-cloud", "jira-dc", "github"])
def test_dry_run_writes_nothing(tracker_name: str, request: pytest.FixtureRequest) -> None:
    server, tracker = _server_and_tracker(tracker_name, request)
    report = file_items(parsed(), tracker, None, dry_run=True)
    assert [i.status for i in report.items] == ["would create", "would create"]
    assert server.writes() == []


@pytest.mark.parametrize("tracker_name", ["jira-cloud", "github"])
def test_one_bad_item_files_nothing(
    tracker_name: str, request: pytest.FixtureRequest, prometheus: PrometheusSandbox
) -> None:
    server, tracker = _server_and_tracker(tracker_name, request)
    doc = action_items()
    doc["items"][1]["verification"]["condition"] = "< 5ms"
    doc["items"][1]["verification"]["metric"] = "checkout_heap_bytes"
    with pytest.raises(ConfigError, match=r'item 2 \("Stop OOM kills in checkout"\).*verification.condition'):
        parsed(doc)
    doc = action_items()
    doc["items"][1]["verification"]["metric"] = "sum(rate(checkout_oom_kills_total[$window]))"  # not in the sandbox
    with (
        PrometheusMetrics(PrometheusConnection(url=prometheus.url, retries=0)) as metrics,
        pytest.raises(ConfigError, match=r"item 2 .*'verification.metric': the backend refused its query"),
    ):
        file_items(parsed(doc), tracker, metrics, dry_run=False)
    assert server.writes() == [] and created(server) == []


# -- GitHub -----------------------------------------------------------------------------------------------------
def test_github_files_every_field(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    clock = FakeClock()
    document = parsed()
    report = file_items(document, github_tracker(github, clock), None, dry_run=False)
    assert [i.key for i in report.items] == [f"{REPO}#1", f"{REPO}#2"]
    first, second = created(github)
    assert first["title"] == "[Post-Incident] Add connection pooling to the payments client"
    assert first["labels"] == ["post-incident", "priority:P1", "incident:INC-2041", "team-payments"]
    assert (first["assignees"], second["assignees"]) == (["alice"], [])
    issue = github.issue(REPO, 1)
    assert (issue.assignees, issue.labels, issue.user) == (["alice"], first["labels"], github.login)
    assert find_config(issue.body or "") == document.items[0].verification
    assert incident_facts(issue.body or "").actual_value == 1.84
    assert "`4bf92f3577b34da6a3ce929d0e0e4736`" in (issue.body or "")
    assert issue.comments == []  # the seed's GitHub filing writes no config comment
    assert clock.sleeps == [1.0]  # two issue creations, paced one second apart
    assert report.items[0].url == f"{github.root}/{REPO}/issues/1"


def test_github_finds_its_filed_issue_on_the_third_page_and_stops_at_the_page_cap(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    for n in range(200):  # the incident's label on others' issues, opened before: two full pages first
        github.add_issue(REPO, title=f"noise {n}", labels=["incident:INC-2041"], user="mallory", created_at=TRIGGERED)
    first = file_items(parsed(), github_tracker(github), None, dry_run=False)
    assert [i.key for i in first.items] == [f"{REPO}#201", f"{REPO}#202"]
    fingerprint = fingerprint_in(github.issue(REPO, 201).body or "")
    assert fingerprint is not None
    before = len(github.requests)

    filed = github_tracker(github).find_filed("INC-2041", fingerprint)

    assert filed.ticket is not None and filed.squatted == ()
    ticket = filed.ticket
    assert (ticket.key, ticket.kind, ticket.reporter) == (f"{REPO}#201", "issue", github.login)
    assert ticket.title == "[Post-Incident] Add connection pooling to the payments client"
    pages = [r.param("page") for r in github.requests[before:] if r.path == f"/repos/{REPO}/issues"]
    assert pages == [None, "2", "3"]
    connection = GitHubConnection.model_validate(
        {"api_url": github.url, "repositories": (REPO,), "token": github.token}
    )
    capped = GitHubTracker(connection, pacer=WritePacer(sleep=lambda _: None), max_pages=2)
    with pytest.raises(TrackerError) as caught:
        capped.find_filed("INC-2041", fingerprint)
    assert str(caught.value) == f"GitHub list {REPO} issues: stopped at the cap of 2 pages (the listing did not end)"


def test_github_a_listing_of_filed_issues_that_fails_names_the_repository(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    github.fail(times=10, status=502, match=lambda r: r.path == f"/repos/{REPO}/issues" and r.method == "GET")

    with pytest.raises(TrackerError) as caught:
        github_tracker(github).find_filed("INC-2041", "0" * 16)

    assert str(caught.value) == f"GitHub list {REPO} issues failed: HTTP 502: sandbox: injected failure"


def test_github_the_filed_issue_is_the_oldest_of_the_tools_own_and_copies_by_others_are_named(
    github: GitHubSandbox,
) -> None:
    github.add_repo(REPO)
    file_items(parsed(), github_tracker(github), None, dry_run=False)
    ours, other = github.issue(REPO, 1), github.issue(REPO, 2)
    fingerprint = fingerprint_in(ours.body or "")
    assert fingerprint is not None
    label = ["incident:INC-2041"]
    # a pull request of the tool's account and someone's copy, both older; a second copy of the tool's, newer
    github.add_issue(REPO, body=ours.body, labels=label, user=github.login, created_at=TRIGGERED, pull_request=True)
    copy = github.add_issue(REPO, body=ours.body, labels=label, user="mallory", created_at=TRIGGERED)
    github.add_issue(REPO, body=ours.body, labels=label, user=github.login, created_at=datetime.now(UTC))
    gh = github_tracker(github)

    filed = gh.find_filed("INC-2041", fingerprint)

    assert filed.ticket is not None and filed.ticket.key == f"{REPO}#1" and filed.squatted == (f"{REPO}#{copy}",)
    # the second item's issue lost its label; a copy of it by someone else is all there is: named, not taken
    other.labels = []
    squat = github.add_issue(REPO, body=other.body, labels=label, user="mallory")
    assert gh.find_filed("INC-2041", fingerprint_in(other.body or "") or "") == Filed(None, (f"{REPO}#{squat}",))


def test_github_logs_each_issue_it_created_and_each_label_it_shortened(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    incident = "INC-2041-" + "checkout-" * 5  # its label, incident:<id>, 63 characters: GitHub takes 50
    long = f"incident:{incident}"
    doc = action_items(id=incident)

    with capture_logs() as logs:
        report = file_items(parsed(doc), github_tracker(github), None, dry_run=False)

    keys = [i.key for i in report.items]
    prints = [fingerprint_in(github.issue(REPO, n).body or "") for n in (1, 2)]
    assert [(e["ticket"], e["fingerprint"]) for e in logs if e["event"] == "github.created"] == list(
        zip(keys, prints, strict=True)
    )
    shortened = [e for e in logs if e["event"] == "github.label_shortened"]
    assert shortened == 2 * [
        {
            "event": "github.label_shortened",
            "log_level": "warning",
            "label": long,
            "shortened": fit_label(long, 50),
            "limit": 50,
        }
    ]
    assert github.issue(REPO, 1).labels[2] == fit_label(long, 50)


def _strange(github: GitHubSandbox, number: int, *, listing: bool) -> Reply:
    """The issue's JSON with a time that is none: PyGithub refuses it when read (`BadAttributeException`)."""
    payload = {**github.payloads.issue(github.repos[REPO], github.issue(REPO, number)), "created_at": "yesterday"}
    return Reply.json(200, [payload]) if listing else Reply.json(201, payload)


def test_github_a_created_issue_answered_strangely_is_refused_naming_it() -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answers break the schema on purpose
        github.add_repo(REPO)
        created_here = lambda r: r.method == "POST" and r.path == f"/repos/{REPO}/issues"  # noqa: E731
        github.faults.inject_after(lambda: _strange(github, 1, listing=False), match=created_here)

        report = file_items(parsed(), github_tracker(github), None, dry_run=False)

        assert str(report.error) == (
            f'item 1 ("Add connection pooling to the payments client"): {REPO}#1: GitHub read failed: unexpected answer:'
            " BadAttributeException"
        )


def test_github_a_found_issue_answered_strangely_is_refused_naming_it() -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answers break the schema on purpose
        github.add_repo(REPO)
        file_items(parsed(), github_tracker(github), None, dry_run=False)
        listed = lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues"  # noqa: E731
        github.faults.inject(lambda: _strange(github, 1, listing=True), match=listed)

        with pytest.raises(TrackerError) as caught:
            github_tracker(github).find_filed("INC-2041", fingerprint_in(github.issue(REPO, 1).body or "") or "")

        assert caught.value.ticket == f"{REPO}#1"
        assert str(caught.value) == f"{REPO}#1: GitHub read failed: unexpected answer: BadAttributeException"


def test_github_refuses_an_assignee_who_cannot_be_assigned(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    github.assignable = {"bob"}
    report = file_items(parsed(), github_tracker(github), None, dry_run=False)
    assert report.exit_code == 1 and "HTTP 422" in str(report.error) and "item 1" in str(report.error)
    assert github.repos[REPO].issues == {}


# -- the CLI ----------------------------------------------------------------------------------------------------
@pytest.fixture
def prometheus() -> Iterator[PrometheusSandbox]:
    start = TRIGGERED.timestamp() - 3600
    store = MetricsStore(scrape_seconds=60)
    store.add(
        Histogram(
            LATENCY, (("service", "checkout"),), BUCKETS, 600, lambda t: {1.8: 1.0} if t < start + 7200 else {0.04: 1.0}
        ),
        Counter("checkout_oom_kills_total", (("service", "checkout"),), lambda t: 0.2),
    )
    with PrometheusSandbox(store) as server:
        yield server


def cli(path: Path | str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERIFIER_")}
    env.update(VERIFIER_SECRETS_DIR=str(ROOT / "no-such-secrets-dir"), VERIFIER_LOG_LEVEL="warning", **settings)
    return subprocess.run(
        [sys.executable, "-m", "verifier", "file", str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def jira_env(server: JiraSandbox, **more: str) -> dict[str, str]:
    return {
        "VERIFIER_TRACKER": "jira",
        "VERIFIER_JIRA_URL": server.url,
        "VERIFIER_JIRA_EMAIL": server.email,
        "VERIFIER_JIRA_API_TOKEN": server.api_token,
        "VERIFIER_JIRA_PROJECT": "OPS",
        **more,
    }


def test_cli_files_with_the_context_from_the_metrics_backend(
    jira_cloud: JiraSandbox, prometheus: PrometheusSandbox, tmp_path: Path
) -> None:
    jira_cloud.user("alice")
    payload = json.loads((ROOT / "examples" / "alertmanager-webhook.json").read_text())
    alert = payload["alerts"][0]
    del alert["annotations"]["value"]  # measured instead
    alert["startsAt"] = TRIGGERED.isoformat().replace("+00:00", "Z")
    (tmp_path / "webhook.json").write_text(json.dumps(payload))
    query = f'histogram_quantile(0.99, sum by (le) (increase({LATENCY}_bucket{{service="checkout"}}[5m])))'
    doc = action_items(alertmanager="webhook.json", query=query)
    for name in ("alert_name", "service_name", "environment", "triggered_at", "threshold_value", "actual_value"):
        del doc["incident"][name]
    del doc["incident"]["related_metrics"]
    doc["related_queries"] = {"oom kills per hour": "sum(increase(checkout_oom_kills_total[1h]))"}
    (tmp_path / "items.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    env = jira_env(jira_cloud, VERIFIER_PROMETHEUS_URL=prometheus.url)

    done = cli(tmp_path / "items.yaml", "--json", **env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(i["status"], i["key"]) for i in report["items"]] == [("created", "OPS-1"), ("created", "OPS-2")]
    assert report["items"][0]["url"] == f"{jira_cloud.url}/browse/OPS-1"
    context = report["context"]
    assert (context["alert_name"], context["environment"], context["threshold_value"]) == (
        "CheckoutLatencyHigh",
        "production",
        0.5,
    )
    assert 1.7 < context["actual_value"] <= 2.5  # the p99 the backend holds at the trigger time
    assert context["related_metrics"] == {"oom kills per hour": format(0.2 * 59, ".4g")}
    body = jira_cloud.issue("OPS-1").description or ""
    assert incident_facts(body).actual_value == pytest.approx(context["actual_value"])
    assert "*oom kills per hour*: 11.8" in body
    asked = [r.param("query") for r in prometheus.requests if r.path == "/api/v1/query"]
    assert query in asked and any("[24h]" in (q or "") for q in asked)  # the verification query, tried now

    again = cli(tmp_path / "items.yaml", **env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("ALREADY FILED") == 2 and f"{jira_cloud.url}/browse/OPS-2" in again.stdout
    assert len(jira_cloud.issues) == 2


def test_cli_exit_codes(jira_cloud: JiraSandbox, prometheus: PrometheusSandbox, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(action_items()))
    bad_doc = action_items()
    bad_doc["items"][1]["priority"] = "urgent"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bad_doc))

    broken = cli(bad, **jira_env(jira_cloud))
    assert broken.returncode == 2 and broken.stdout == ""
    assert broken.stderr.count("\n") == 1
    assert "item 2 (\"Stop OOM kills in checkout\"): config field 'priority'" in broken.stderr

    no_project = cli(good, **{**jira_env(jira_cloud), "VERIFIER_JIRA_PROJECT": ""})
    assert no_project.returncode == 2 and "VERIFIER_JIRA_PROJECT" in no_project.stderr

    assert cli(tmp_path / "missing.yaml", **jira_env(jira_cloud)).returncode == 2
    assert "VERIFIER_TRACKER" in cli(good).stderr

    refused = action_items()
    refused["items"][0]["verification"] = {"metric": "rate(x[$window])", "condition": "< 1"}
    (tmp_path / "refused.yaml").write_text(yaml.safe_dump(refused))
    rejected = cli(tmp_path / "refused.yaml", **jira_env(jira_cloud, VERIFIER_PROMETHEUS_URL=prometheus.url))
    assert rejected.returncode == 2 and "item 1" in rejected.stderr and "nothing was filed" in rejected.stderr

    denied = cli(good, **{**jira_env(jira_cloud), "VERIFIER_JIRA_API_TOKEN": "wrong"})
    assert denied.returncode == 1 and "HTTP 401" in denied.stderr
    assert jira_cloud.writes() == []

    dry = cli(ROOT / "examples" / "action-items.yaml", "--dry-run", **jira_env(jira_cloud))
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("WOULD CREATE") == 4 and jira_cloud.writes() == []


# -- helpers ----------------------------------------------------------------------------------------------------
def _server_and_tracker(name: str, request: pytest.FixtureRequest) -> tuple[Any, Any]:
    if name == "github":
        server: Any = request.getfixturevalue("github")
        server.add_repo(REPO)
        return server, github_tracker(server)
    server = request.getfixturevalue("jira_cloud" if name == "jira-cloud" else "jira_dc")
    server.user("alice")
    return server, jira_tracker(server)


def _resolve_first(server: JiraSandbox | GitHubSandbox) -> None:
    """Close the first filed ticket as a fix would (sandbox state: no request)."""
    if isinstance(server, GitHubSandbox):
        issue = server.issue(REPO, 1)
        issue.state, issue.state_reason, issue.closed_at = "closed", "completed", datetime.now(UTC)
        return
    jira_issue = server.issue("OPS-1")
    jira_issue.status, jira_issue.category, jira_issue.resolution = "Done", "done", "Done"
    jira_issue.resolved = datetime.now(UTC)
