"""One test per attack of issue #12, through the CLI on the tracker test servers, asserting what a user expects.

Anyone who can comment on a ticket (on GitHub: anyone who can open an issue), file a ticket with the label, emit a
metric, or answer as the metrics backend is an attacker here. Each attack must end with the trusted config still
judged, no traceback, `report` working, nothing rendered as a mention, image, link or HTML, and no secret shown.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MetricsProxy, make_desk
from tests.e2e.seed import (
    BOT,
    COMMENTER,
    LATENCY,
    REPO_ROOT,
    REPORTER,
    SPECS,
    VERIFIED,
    Desk,
    Spec,
    Timeline,
    base_env,
    block,
    held,
    incident,
    run_cli,
    wiki,
)
from tests.integration.backends import PrometheusServer
from verifier.domain.action_items import ActionItem, render_body
from verifier.domain.binding import signed_body
from verifier.domain.formats import find_config
from verifier.domain.neutral import ZWSP

pytestmark = pytest.mark.integration

TOKEN = "tok-4f9a8b7c6d5e"  # the metrics backend's bearer token
HEADER = "tenant-secret-77aa"  # a custom header's value


def cli(env: Mapping[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "verifier", *args],
        env=dict(env),
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def env_for(desk: Desk, metrics_url: str, **extra: str) -> dict[str, str]:
    return {**base_env(metrics_url), **desk.env(), **extra}


def seed_one(desk: Desk, t: Timeline, spec: Spec, name: str = "held") -> str:
    SPECS[f"hostile-{name}"] = spec
    try:
        return desk.seed(t, [f"hostile-{name}"])[f"hostile-{name}"]
    finally:
        del SPECS[f"hostile-{name}"]


# -- 1. huge numbers in an untrusted block ----------------------------------------------------------------------


@pytest.mark.parametrize("line", ["delay: 99999999999999999999d", "delay_hours: " + "9" * 400])
def test_huge_numbers_in_an_untrusted_comment_do_not_stop_the_trusted_config(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline, line: str, tmp_path: Path
) -> None:
    hostile = "```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\n" + line + "\n```"
    key = seed_one(jira, t, held(comment=(COMMENTER, hostile)))
    env = env_for(jira, live_prometheus.url)

    run = run_cli(env, "--json")
    report = cli(env, "report", "--since", "30d")
    (tmp_path / "comment.txt").write_text(hostile)
    check = cli(env, "check-config", str(tmp_path / "comment.txt"))

    assert run.code == 0, run.err
    assert jira.state(key).results == ["VERIFIED"] and VERIFIED in jira.state(key).labels
    assert report.returncode == 0, report.stderr
    assert check.returncode == 2 and check.stderr.count("\n") == 1 and "config field 'delay" in check.stderr


# -- 2. long repetitive fence text -----------------------------------------------------------------------------

FENCE_FLOODS = ["~~~\n" * 16_000, "```   \n" * 9_000, "{code:" * 10_000, "{code:yaml}\n" * 5_000]


def test_comments_of_repeated_fences_leave_the_trusted_config_judged(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, held())
    for flood in FENCE_FLOODS:
        jira.add_comment(key, flood, COMMENTER)  # untrusted: looked at, never parsed
        jira.add_comment(key, flood, REPORTER)  # trusted: parsed, in linear time

    run = run_cli(env_for(jira, live_prometheus.url, VERIFIER_TRUSTED_AUTHORS=jira.identity(REPORTER)), timeout=60)

    assert run.code == 0, run.err
    assert jira.state(key).results == ["VERIFIED"]


# -- 5. label values reach result comments inert ----------------------------------------------------------------

EVIL = "@org/team ![x](https://e.vil/p.png) <img src=x> [~admin] !https://e.vil/i.png! [l|https://e.vil]"


@pytest.mark.parametrize("tracker", ["github", "jira-cloud"])
def test_metric_label_values_do_not_render_in_result_comments(
    request: pytest.FixtureRequest, metrics_proxy: MetricsProxy, t: Timeline, tracker: str
) -> None:
    desk = make_desk(request, tracker)
    key = seed_one(desk, t, held())
    series = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"service": "checkout", "route": EVIL}, "value": [1, "0.5"]},
        {"metric": {"service": "checkout", "route": EVIL + "2"}, "value": [1, "0.6"]},
    ]}}  # fmt: skip
    metrics_proxy.add(match="histogram_quantile(", status=200, body=json.dumps(series))

    run = run_cli(env_for(desk, metrics_proxy.url))

    assert run.code == 0, run.err
    [comment] = desk.state(key).bot_comments
    live = re.sub(r"\\.", "", comment)  # what a renderer reads as markup: escaped characters are text
    live = re.sub(r"(?m)^\[Graph of the window.*$", "", live)  # the tool's own link, from its settings
    assert "@org" not in live and "https://" not in live
    if desk.is_jira:  # Jira wiki renders no HTML; its images, links and mentions need ! and [
        live = re.sub(r"\{noformat\}.*?\{noformat\}", "", live, flags=re.S)  # the query, shown verbatim
        assert "[" not in live and "!" not in live
    else:
        assert "![" not in live and "](" not in live and "<img" not in live
    assert "org/team" in comment.replace(ZWSP, "")  # shown, as text


# -- 6. a backend that echoes the request's headers -------------------------------------------------------------


class EchoingBackend:
    """Answers every request with an error whose text repeats the request's headers, as some proxies do."""

    def __init__(self, status: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"status": "error", "errorType": "bad_data", "error": f"denied: {self.headers}"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def echoing() -> Iterator[EchoingBackend]:
    backend = EchoingBackend(400)  # 400: the query is "rejected", so the verdict (and its reason) is written
    yield backend
    backend.http.shutdown()


def test_no_secret_from_an_echoing_backend_reaches_any_output(
    jira: Desk, echoing: EchoingBackend, t: Timeline, tmp_path: Path
) -> None:
    key = seed_one(jira, t, held())
    secrets = {"VERIFIER_PROMETHEUS_BEARER_TOKEN": TOKEN, "VERIFIER_PROMETHEUS_HEADERS": json.dumps({"X-Org": HEADER})}
    env = env_for(jira, echoing.url, **secrets, VERIFIER_LOG_LEVEL="debug")
    config = tmp_path / "config.md"
    config.write_text(block(LATENCY, "< 100ms p99"))

    text = cli(env, "run")
    as_json = cli(env, "run", "--json", "--report", str(tmp_path / "report.json"))
    doctor = cli(env, "doctor")
    evaluate = cli(env, "evaluate", "--json", "--config", str(config), "--resolved-at", "2026-01-01T00:00:00Z")

    assert "denied" in text.stdout + text.stderr  # the backend's text is shown...
    outputs = [p.stdout + p.stderr for p in (text, as_json, doctor, evaluate)]
    outputs += [(tmp_path / "report.json").read_text(), *jira.state(key).bot_comments]
    for output in outputs:
        assert TOKEN not in output and HEADER not in output, output  # ...but not the secrets in it
    assert jira.state(key).results == ["INVALID"]


# -- 7. GitHub logins are case-insensitive ----------------------------------------------------------------------


def test_a_trusted_author_matches_a_github_login_in_any_case(
    gh: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(gh, t, held(reporter=REPORTER))

    run = run_cli(env_for(gh, live_prometheus.url, VERIFIER_TRUSTED_AUTHORS=REPORTER.title()))

    assert run.code == 0, run.err
    assert gh.state(key).results == ["VERIFIED"]


# -- 8. anyone can add a ticket with the label ------------------------------------------------------------------


def test_report_counts_only_trusted_filings_and_shows_titles_inert(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    seed_one(jira, t, held())
    body = "**Service**: @org/team ![x](https://e.vil/p.png)\n"
    for n in range(3):
        key = seed_one(jira, t, Spec(reporter=COMMENTER, body=body), name=f"spam{n}")
        jira.server.issue(key).summary = "[click](https://e.vil) <b>x</b> @org/team"  # type: ignore[attr-defined]

    markdown = cli(env_for(jira, live_prometheus.url), "report", "--since", "30d")
    as_json = cli(env_for(jira, live_prometheus.url), "report", "--since", "30d", "--format", "json")

    assert markdown.returncode == as_json.returncode == 0, markdown.stderr
    assert json.loads(as_json.stdout)["left_out"] == 3
    assert json.loads(as_json.stdout)["overall"]["filed"] == 1
    assert "3 ticket(s) with the label left out" in markdown.stdout
    live = re.sub(r"\\.", "", markdown.stdout)
    assert "@org" not in live and "https://" not in live and "<b>" not in live and "](https" not in live


# -- 4. edited results and configs -------------------------------------------------------------------------------


def _close_again(desk: Desk, key: str, at: datetime) -> None:
    """Someone closes the reopened ticket again: a new resolution, which no result covers yet."""
    if desk.is_jira:
        issue = desk.server.issue(key)  # type: ignore[attr-defined]
        issue.status, issue.category, issue.resolution, issue.resolved = "Done", "done", "Done", at
    else:
        issue = desk.server.issue("acme/api", int(key.rsplit("#", 1)[1]))  # type: ignore[attr-defined]
        issue.state, issue.state_reason, issue.closed_at = "closed", "completed", at


def _forge(body: str, old: datetime, new: datetime) -> str:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return body.replace("verdict=FAILED", "verdict=VERIFIED").replace(old.strftime(stamp), new.strftime(stamp))


def test_an_edited_failed_result_is_not_taken_for_the_tools_verdict(
    gh: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(gh, t, SPECS["regressed"])
    env = env_for(gh, live_prometheus.url)
    assert run_cli(env).code == 0 and gh.state(key).results == ["FAILED"] and gh.state(key).open
    again = (t.resolved + timedelta(minutes=5)).replace(microsecond=0)
    _close_again(gh, key, again)
    [result] = [c for c in gh.server.issue("acme/api", int(key.rsplit("#", 1)[1])).comments if c.user == BOT]  # type: ignore[attr-defined]
    forged, later = _forge(result.body, t.resolved, again), datetime.now(UTC) + timedelta(minutes=1)
    gh.server.edit_comment("acme/api", int(key.rsplit("#", 1)[1]), result.id, forged, at=later)  # type: ignore[attr-defined]

    run = run_cli(env)
    report = json.loads(cli(env, "report", "--since", "30d", "--format", "json").stdout)

    assert run.code == 0, run.err
    assert gh.state(key).results == ["VERIFIED", "FAILED"]  # the forged one, then the tool's own new judgement
    assert gh.state(key).open  # reopened again
    assert report["overall"]["verified"] == 0 and report["overall"]["failed"] == 1


def test_with_a_signing_key_a_marker_changed_without_a_trace_is_not_the_tools(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_filed(jira, t, b"k" * 40, "inventory")
    env = env_for(jira, live_prometheus.url, VERIFIER_SIGNING_KEY="k" * 40)
    assert run_cli(env).code == 0 and jira.state(key).results == ["FAILED"]
    again = (t.resolved + timedelta(minutes=5)).replace(microsecond=0)
    _close_again(jira, key, again)
    [result] = [c for c in jira.server.issue(key).comments if c.author.name == BOT]  # type: ignore[attr-defined]
    result.body = _forge(result.body, t.resolved, again)  # no `updated` stamp: only the signature tells

    run = run_cli(env)

    assert run.code == 0, run.err
    assert jira.state(key).results == ["VERIFIED", "FAILED"] and jira.state(key).open
    assert "; sig=" in jira.state(key).bot_comments[-1]


def test_a_trusted_config_edited_by_someone_else_is_not_trusted(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, held())
    comment = jira.server.add_comment(
        key, wiki(block(LATENCY, "< 100ms p99", {"service": "checkout"})), author=REPORTER
    )  # type: ignore[attr-defined]
    regressing = wiki(block(LATENCY, "< 100ms p99", {"service": "inventory"}))
    later = datetime.now(UTC) + timedelta(minutes=1)
    jira.server.edit_comment(key, comment, regressing, editor=COMMENTER, at=later)  # type: ignore[attr-defined]

    run = run_cli(env_for(jira, live_prometheus.url, VERIFIER_TRUSTED_AUTHORS=jira.identity(REPORTER)))

    assert run.code == 0, run.err
    assert jira.state(key).results == ["INVALID"]  # neither the edited comment's config nor the older body's (#20)
    assert f"but it was edited by {jira.identity(COMMENTER)}" in run.line(key)


def seed_filed(desk: Desk, t: Timeline, key: bytes, service: str, name: str = "held") -> str:
    """A ticket as `file` leaves it with a signing key: created, then its body's config block signed for it."""
    config = find_config(block(LATENCY, "< 100ms p99", {"service": service}, "3h"))
    assert config is not None
    item = ActionItem("Fix it", "Fix it.", "P1", None, "INC-7", incident(t), config)
    ticket = seed_one(desk, t, Spec(body=render_body(item, desk.flavour)), name=name)
    set_body(desk, ticket, signed_body(key, ticket, item, desk.flavour))
    return ticket


def set_body(desk: Desk, ticket: str, body: str) -> None:
    """Change the stored body without a trace (no changelog item, no `updated_at`), as only a signature can tell."""
    if desk.is_jira:
        desk.server.issue(ticket).description = body  # type: ignore[attr-defined]
    else:
        desk.server.issue("acme/api", int(ticket.rsplit("#", 1)[1])).body = body  # type: ignore[attr-defined]


@pytest.mark.parametrize("tracker", ["github", "jira-cloud"])
def test_with_a_signing_key_an_edited_filed_config_is_not_trusted(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tracker: str
) -> None:
    desk, key = make_desk(request, tracker), b"k" * 40
    intact = seed_filed(desk, t, key, "checkout", name="intact")
    edited = seed_filed(desk, t, key, "checkout", name="edited")
    if desk.is_jira:  # someone with edit rights points the filed config at another service
        issue = desk.server.issue(edited)  # type: ignore[attr-defined]
        issue.description = issue.description.replace('"checkout"', '"inventory"')
    else:
        issue = desk.server.issue("acme/api", int(edited.rsplit("#", 1)[1]))  # type: ignore[attr-defined]
        issue.body = issue.body.replace('"checkout"', '"inventory"')

    run = run_cli(env_for(desk, live_prometheus.url, VERIFIER_SIGNING_KEY="k" * 40))

    assert run.code == 0, run.err
    assert desk.state(intact).results == ["VERIFIED"]
    assert desk.state(edited).results == ["INVALID"]  # refused out loud, never skipped over (#20)
    assert "not signed with the signing key" in run.line(edited)


def test_a_description_changed_by_someone_untrusted_is_not_trusted(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, held())  # filed by the tool: its config holds
    issue = jira.server.issue(key)  # type: ignore[attr-defined]
    regressing = issue.description.replace('"checkout"', '"inventory"')
    assert regressing != issue.description
    jira.server.edit_description(key, regressing, editor=COMMENTER)  # type: ignore[attr-defined]

    run = run_cli(env_for(jira, live_prometheus.url))

    assert run.code == 0, run.err
    assert jira.state(key).results == ["INVALID"]  # refused out loud, never skipped over (#20)
    assert "the description was edited by" in run.line(key)


def test_no_secret_from_backend_warnings_reaches_a_result_comment(
    jira: Desk, metrics_proxy: MetricsProxy, t: Timeline
) -> None:
    key = seed_one(jira, t, held())
    metrics_proxy.add(match=LATENCY, warnings=(f"partial answer for Authorization: Bearer {TOKEN}, X-Org: {HEADER}",))
    env = env_for(
        jira,
        metrics_proxy.url,
        VERIFIER_PROMETHEUS_BEARER_TOKEN=TOKEN,
        VERIFIER_PROMETHEUS_HEADERS=json.dumps({"X-Org": HEADER}),
    )

    run = run_cli(env, "--json")

    assert run.code == 0, run.err
    [comment] = jira.state(key).bot_comments
    assert "partial answer" in comment
    assert TOKEN not in comment + run.out + run.err and HEADER not in comment + run.out + run.err
