"""Attacks of issue #20 on signatures, the judged config, filing and output hygiene, through the CLI on the
tracker test servers and a real Prometheus. Each test names the attack; each failed on the main of its day."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import MetricsProxy, make_desk
from tests.e2e.seed import (
    COMMENTER,
    LATENCY,
    REPO_ROOT,
    REPORTER,
    Desk,
    Timeline,
    base_env,
    block,
    held,
    on_request,
    regressed,
    run_cli,
    wiki,
)
from tests.hostile.test_hostile import seed_one
from tests.integration.backends import PrometheusServer
from verifier.domain.neutral import ZWSP
from verifier.domain.protocol import fingerprint_line

pytestmark = pytest.mark.integration

TOKEN = "tok-redirect-9f8e7d6c"
API_KEY = "key-redirect-1a2b3c4d"
TENANT = "tenant-redirect-5e6f"


# -- a metrics backend answering 307 to another origin -----------------------------------------------------------


class _Loopback:
    """A loopback HTTP server that records the headers of every request it gets and answers with `answer`."""

    def __init__(self, answer: Any) -> None:
        self.seen: list[dict[str, str]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(dict(self.headers.items()))
                status, headers, body = answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def redirected(live_prometheus: PrometheusServer) -> Iterator[tuple[_Loopback, _Loopback]]:
    """`first` answers every request with 307 to `other` (another origin: another port), which relays it to the
    real Prometheus and records what it was sent."""

    def relay(path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(live_prometheus.url + path, timeout=10) as answer:
            return answer.status, {"Content-Type": "application/json"}, answer.read()

    other = _Loopback(relay)
    first = _Loopback(lambda path: (307, {"Location": other.url + path}, b""))
    yield first, other
    first.http.shutdown()
    other.http.shutdown()


def test_no_credential_or_tenant_header_follows_a_redirect_to_another_origin(
    jira: Desk, redirected: tuple[_Loopback, _Loopback], t: Timeline
) -> None:
    first, other = redirected
    key = seed_one(jira, t, held())
    env = {
        **base_env(first.url),
        **jira.env(),
        "VERIFIER_PROMETHEUS_BEARER_TOKEN": TOKEN,
        "VERIFIER_PROMETHEUS_HEADERS": json.dumps({"X-Api-Key": API_KEY, "X-Scope-OrgID": TENANT}),
    }

    run = run_cli(env)

    assert run.code == 0, run.err
    assert jira.state(key).results == ["VERIFIED"]  # the redirect is followed...
    assert first.seen and all(h.get("X-Scope-OrgID") == TENANT for h in first.seen)  # (the headers were set)
    assert other.seen
    for headers in other.seen:  # ...without a credential or a tenant header
        assert {"Authorization", "X-Api-Key", "X-Scope-OrgID"}.isdisjoint(headers), headers
        assert TOKEN not in str(headers) and API_KEY not in str(headers) and TENANT not in str(headers)


# -- terminal escapes in backend error text ------------------------------------------------------------------

ESCAPES = "\x1b]52;c;ZXZpbA==\x07 \x1b]8;;https://e.vil\x1b\\link\x1b]8;;\x1b\\ \x1b[2J\x1b[31m red\rover \x9b1m"


@pytest.fixture
def escaping() -> Iterator[_Loopback]:
    """A backend refusing every query with an error text full of terminal escapes (clipboard, link, clear)."""
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": f"parse error: {ESCAPES}"}).encode()
    backend = _Loopback(lambda _: (400, {"Content-Type": "application/json"}, body))
    yield backend
    backend.http.shutdown()


def _raw_controls(text: str) -> list[str]:
    """Control characters a terminal would act on: C0 but newline and tab, DEL, C1, and a CR not ending a line."""
    return [c for i, c in enumerate(text) if (c < " " and c not in "\n\t\r") or "\x7f" <= c <= "\x9f"] + [
        "\\r" for i, c in enumerate(text) if c == "\r" and text[i + 1 : i + 2] != "\n"
    ]


def test_terminal_escapes_in_backend_error_text_never_reach_the_terminal_raw(
    jira: Desk, escaping: _Loopback, t: Timeline, tmp_path: Any
) -> None:
    key = seed_one(jira, t, held())
    env = {**base_env(escaping.url), **jira.env(), "VERIFIER_LOG_LEVEL": "debug", "VERIFIER_LOG_FORMAT": "console"}
    config = tmp_path / "config.md"
    config.write_text('```yaml\n# action-item-verifier: v1\nmetric: "x"\ncondition: "< 1"\ndelay: "1h"\n```\n')

    run = run_cli(env)
    evaluate = subprocess.run(
        [
            sys.executable,
            "-m",
            "verifier",
            "evaluate",
            "--config",
            str(config),
            "--resolved-at",
            "2026-01-01T00:00:00Z",
        ],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert jira.state(key).results == ["INVALID"]
    assert "parse error" in run.out and "parse error" in evaluate.stdout  # the text is shown...
    for output in (run.out, run.err, evaluate.stdout, evaluate.stderr):
        assert _raw_controls(output) == [], repr(output)  # ...with no escape a terminal would act on
    assert "\\x1b]52;c;" in run.out  # visibly, as text


# -- markup from the metrics backend in the bodies `file` writes ------------------------------------------------

EVIL = "@org/team ![x](https://e.vil/p.png) <img src=x> [~admin] !https://e.vil/i.png! [l|https://e.vil]"


def _file_env(desk: Desk, metrics_url: str) -> dict[str, str]:
    return {**base_env(metrics_url), **desk.env(), "VERIFIER_JIRA_PROJECT": "OPS"}


def _action_items(tmp_path: Any, t: Timeline, **incident: Any) -> Any:
    doc = {
        "incident": {
            "id": "INC-7",
            "alert_name": "CheckoutLatencyHigh",
            "metric_name": "evil_incident_metric",
            "threshold_value": 0.5,
            "actual_value": 1.84,
            "service_name": "checkout",
            "environment": "production",
            "triggered_at": t.start.isoformat(),
            **incident,
        },
        "items": [
            {
                "title": "Pool connections",
                "priority": "P1",
                "verification": {
                    "metric": LATENCY,
                    "condition": "< 100ms p99",
                    "labels": {"service": "checkout"},
                    "delay": "3h",
                },
            }
        ],
    }
    path = tmp_path / "items.yaml"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("tracker", ["github", "jira-cloud"])
def test_markup_from_exemplars_and_label_values_is_inert_in_filed_bodies(
    request: pytest.FixtureRequest, metrics_proxy: MetricsProxy, t: Timeline, tracker: str, tmp_path: Any
) -> None:
    desk = make_desk(request, tracker)
    path = _action_items(tmp_path, t)
    doc = json.loads(path.read_text())
    doc["related_queries"] = {"by route": "evil_related_query"}
    path.write_text(json.dumps(doc))
    related = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"route": EVIL}, "value": [1, "0.5"]}, {"metric": {"route": "b"}, "value": [1, "0.6"]},
    ]}}  # fmt: skip
    exemplars = {"status": "success", "data": [{"seriesLabels": {}, "exemplars": [
        {"labels": {"trace_id": EVIL}, "value": "1", "timestamp": t.start.timestamp()},
        {"labels": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, "value": "1", "timestamp": t.start.timestamp()},
    ]}]}  # fmt: skip
    metrics_proxy.add(match="evil_related_query", status=200, body=json.dumps(related))
    metrics_proxy.add(match="evil_incident_metric", status=200, body=json.dumps(exemplars))

    done = subprocess.run(
        [sys.executable, "-m", "verifier", "file", str(path)],
        env=_file_env(desk, metrics_proxy.url),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "CREATED" in done.stdout
    body = _filed_bodies(desk)[0]
    assert "org/team" in body.replace(ZWSP, "") and "4bf92f3577b34da6a3ce929d0e0e4736" in body  # shown, as text
    live = re.sub(r"\\.", "", body)  # what a renderer reads as markup: escaped characters are text
    assert "@org" not in live and "https://e.vil" not in live
    if desk.is_jira:
        assert "[~" not in live and "!https" not in live and "[l|" not in live
    else:
        assert "![" not in live and "](" not in live and "<img" not in live


def _filed_bodies(desk: Desk) -> list[str]:
    if desk.is_jira:
        return [i.description for i in desk.server.issues.values()]  # type: ignore[attr-defined]
    return [i.body for i in desk.server.repos["acme/api"].issues.values()]  # type: ignore[attr-defined]


# -- filing squatted by an untrusted ticket carrying the fingerprint -------------------------------------------


@pytest.mark.parametrize("tracker", ["github", "jira-cloud"])
def test_a_ticket_squatting_a_fingerprint_does_not_stop_the_filing_and_is_named(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tracker: str, tmp_path: Any
) -> None:
    desk = make_desk(request, tracker)
    path = _action_items(tmp_path, t)
    fingerprint = hashlib.sha256(b"INC-7\npool connections").hexdigest()[:16]
    squat = f"Nothing to see.\n\n{fingerprint_line(fingerprint)}\n"
    if desk.is_jira:
        squatter = desk.server.add_issue(  # type: ignore[attr-defined]
            summary="[Post-Incident] Pool connections", description=squat, status="To Do",
            labels=["incident-INC-7"], reporter=COMMENTER,
        )  # fmt: skip
    else:
        number = desk.server.add_issue(  # type: ignore[attr-defined]
            "acme/api", title="[Post-Incident] Pool connections", body=squat, user=COMMENTER,
            labels=["incident:INC-7"],
        )  # fmt: skip
        squatter = f"acme/api#{number}"

    done = subprocess.run(
        [sys.executable, "-m", "verifier", "file", str(path), "--json"],
        env=_file_env(desk, live_prometheus.url),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [item] = report["items"]
    assert (item["status"], item["fingerprint"], item["squatted"]) == ("created", fingerprint, [squatter])
    assert item["key"] != squatter
    assert any(squatter in note and "squatted" in note for note in report["notes"]), report["notes"]
    assert len(_filed_bodies(desk)) == 2  # the squatter's and the tool's own


# -- signatures bound to their ticket and the body's facts ------------------------------------------------------

SIGNING_KEY = "s" * 40


def _file(desk: Desk, path: Any, metrics_url: str, **extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "file", str(path), "--json"],
        env={**_file_env(desk, metrics_url), **extra},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _items(path: Any, *verifications: tuple[str, str, str]) -> None:
    """Rewrite the action-items file with one item per (title, service, condition)."""
    doc = json.loads(path.read_text())
    doc["items"] = [
        {
            "title": title,
            "priority": "P1",
            "verification": {"metric": LATENCY, "condition": condition, "labels": {"service": service}, "delay": "3h"},
        }
        for title, service, condition in verifications
    ]
    path.write_text(json.dumps(doc))


def _close(desk: Desk, key: str, at: Any) -> None:
    """Someone closes the filed ticket as a fix would (sandbox state: no request)."""
    if desk.is_jira:
        issue = desk.server.issue(key)  # type: ignore[attr-defined]
        issue.status, issue.category, issue.resolution, issue.resolved = "Done", "done", "Done", at
    else:
        issue = desk.server.issue("acme/api", int(key.rsplit("#", 1)[1]))  # type: ignore[attr-defined]
        issue.state, issue.state_reason, issue.closed_at = "closed", "completed", at.replace(microsecond=0)


def _stored(desk: Desk, key: str) -> Any:
    if desk.is_jira:
        return desk.server.issue(key)  # type: ignore[attr-defined]
    return desk.server.issue("acme/api", int(key.rsplit("#", 1)[1]))  # type: ignore[attr-defined]


def _body(desk: Desk, key: str) -> str:
    stored = _stored(desk, key)
    return str(stored.description if desk.is_jira else stored.body)


def _set_body(desk: Desk, key: str, body: str) -> None:
    """Change the body without a trace (as on GitHub, whose API does not say who edited a body)."""
    stored = _stored(desk, key)
    if desk.is_jira:
        stored.description = body
    else:
        stored.body = body


_BLOCK = re.compile(r"(```yaml\n|\{code:yaml\}\n).*?(\n```|\n\{code\})", re.S)


@pytest.mark.parametrize("tracker", ["github", "jira-cloud"])
def test_a_signed_config_block_copied_from_another_filed_ticket_is_not_the_tools(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tracker: str, tmp_path: Any
) -> None:
    desk = make_desk(request, tracker)
    path = _action_items(tmp_path, t)
    _items(path, ("Held fix", "checkout", "< 100ms p99"), ("Regressed fix", "inventory", "< 100ms p99"))
    filed = _file(desk, path, live_prometheus.url, VERIFIER_SIGNING_KEY=SIGNING_KEY)
    held_key, regressed_key = (item["key"] for item in filed["items"])
    for key in (held_key, regressed_key):
        _close(desk, key, t.resolved)
    # Someone with edit rights replaces the regressed fix's block with the held one's, signature and all.
    [copied] = [m.group(0) for m in _BLOCK.finditer(_body(desk, held_key))]
    _set_body(desk, regressed_key, _BLOCK.sub(lambda _: copied, _body(desk, regressed_key)))
    assert "# sig: " in _body(desk, regressed_key)

    run = run_cli({**_file_env(desk, live_prometheus.url), "VERIFIER_SIGNING_KEY": SIGNING_KEY})

    assert run.code == 0, run.err
    assert desk.state(held_key).results == ["VERIFIED"]  # its own block, signed for it
    assert "VERIFIED" not in desk.state(regressed_key).results
    assert "not signed with the signing key" in run.line(regressed_key)


def test_a_filed_body_whose_baseline_was_changed_is_not_the_tools(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tmp_path: Any
) -> None:
    desk = make_desk(request, "github")
    path = _action_items(tmp_path, t, actual_value=0.3)  # p99 0.22 s now: not under half of 0.3 s
    _items(path, ("Halve the latency", "inventory", "< 50% of baseline p99"))
    filed = _file(desk, path, live_prometheus.url, VERIFIER_SIGNING_KEY=SIGNING_KEY)
    key = filed["items"][0]["key"]
    _close(desk, key, t.resolved)
    body = _body(desk, key)
    assert "**Actual Value**: 0.3\n" in body
    _set_body(desk, key, body.replace("**Actual Value**: 0.3\n", "**Actual Value**: 1000\n"))  # untraceable

    run = run_cli({**_file_env(desk, live_prometheus.url), "VERIFIER_SIGNING_KEY": SIGNING_KEY})

    assert run.code == 0, run.err
    assert "VERIFIED" not in desk.state(key).results
    assert "not signed with the signing key" in run.line(key)


def test_a_filed_body_with_its_facts_intact_is_judged_on_them(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tmp_path: Any
) -> None:
    desk = make_desk(request, "github")  # the same filing, untouched: the baseline counts and the fix failed
    path = _action_items(tmp_path, t, actual_value=0.3)
    _items(path, ("Halve the latency", "inventory", "< 50% of baseline p99"))
    key = _file(desk, path, live_prometheus.url, VERIFIER_SIGNING_KEY=SIGNING_KEY)["items"][0]["key"]
    _close(desk, key, t.resolved)

    run = run_cli({**_file_env(desk, live_prometheus.url), "VERIFIER_SIGNING_KEY": SIGNING_KEY})

    assert run.code == 0, run.err
    assert desk.state(key).results == ["FAILED"], run.out + "\n".join(desk.state(key).bot_comments)


# -- a config replaced during a run ------------------------------------------------------------------------------


def _is_listing(desk: Desk, request: Any) -> bool:
    if desk.is_jira:
        return request.method in ("GET", "POST") and request.path.endswith(("/search/jql", "/search"))
    return request.method == "POST" and request.path.endswith("/graphql") and b"ListIssues" in request.body


@pytest.mark.parametrize("tracker", ["github", "jira-cloud"])
def test_a_config_replaced_while_the_run_measures_is_judged_by_the_next_run(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tracker: str
) -> None:
    desk = make_desk(request, tracker)
    key = seed_one(desk, t, held())  # filed by the tool: its config holds
    stricter = block(LATENCY, "< 100ms p99", {"service": "inventory"})  # a trusted author's newer config: fails
    text = wiki(stricter) if desk.is_jira else stricter
    on_request(desk, lambda r: _is_listing(desk, r), lambda: desk.add_comment(key, text, REPORTER))
    env = {**base_env(live_prometheus.url), **desk.env(), "VERIFIER_TRUSTED_AUTHORS": desk.identity(REPORTER)}

    first = run_cli(env)  # lists the ticket with the old config, and measures it; the new one arrives meanwhile

    assert first.code == 0, first.err
    assert desk.state(key).results == [], (
        first.out + first.err
    )  # the old config's verdict is not written over the new config
    assert "the config changed since it was judged" in first.line(key)

    second = run_cli(env)

    assert second.code == 0, second.err
    assert desk.state(key).results == ["FAILED"] and desk.state(key).open  # the new config, judged


# -- identity by immutable id: a renamed and re-registered login ------------------------------------------------


def test_a_login_renamed_and_re_registered_by_someone_else_does_not_inherit_trust(
    gh: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    held_config = block(LATENCY, "< 100ms p99", {"service": "checkout"})  # would verify a regressed fix
    kept = seed_one(gh, t, regressed(), name="kept")  # filed by the tool; its config (inventory) regressed
    gh.add_comment(kept, held_config, REPORTER)  # the trusted author's own config, before the rename
    taken = seed_one(gh, t, regressed(), name="taken")
    env = {**base_env(live_prometheus.url), **gh.env(), "VERIFIER_TRUSTED_AUTHORS": REPORTER}
    doctor = subprocess.run(
        [sys.executable, "-m", "verifier", "doctor"], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    [pin] = re.findall(rf"{REPORTER} -> (\d+)", doctor.stdout)  # doctor shows the id each trusted login has now
    gh.server.rename_user(REPORTER, f"{REPORTER}-new")  # type: ignore[attr-defined]  # and someone signs up as trent
    gh.add_comment(taken, held_config, REPORTER)  # the impostor's config, under the trusted login
    env["VERIFIER_TRUSTED_AUTHORS"] = f"{REPORTER}={pin}"  # pinned as doctor showed it

    run = run_cli(env)

    assert run.code == 0, run.err
    assert gh.state(taken).results == ["FAILED"]  # judged on the tool's config, not the impostor's
    assert gh.state(kept).results == ["VERIFIED"]  # the real author, renamed, keeps trust by id
