"""Fixtures for the end-to-end tests: a real Prometheus per module, contract-validated sandbox trackers, and a
misbehaving proxy in front of Prometheus for the fault suite.

The tracker sandboxes come from tests/adapters/conftest.py, so every exchange the CLI subprocess has with them is
validated against the official API descriptions, as in the adapter tests.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.adapters.conftest import (  # noqa: F401  (fixtures, re-exported for this directory)
    contracts,
    github,
    github_contract,
    jira_cloud,
    jira_contract,
    jira_dc,
)
from tests.e2e.seed import Desk, GitHubDesk, JiraDesk, Timeline, base_env, history, timeline
from tests.integration.backends import PrometheusServer, Pushgateway

TRACKERS = ("jira-cloud", "jira-dc", "github")
_SANDBOX_FIXTURE = {"jira-cloud": "jira_cloud", "jira-dc": "jira_dc", "github": "github"}


@pytest.fixture(scope="session")
def t() -> Timeline:
    return timeline()


@pytest.fixture(scope="module")
def prometheus(t: Timeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus holding the backfilled history; restarted by the fixture if a test left it stopped."""
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"))
    server.load(history(t))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_prometheus(prometheus: PrometheusServer) -> PrometheusServer:
    """The module's Prometheus, started again if an earlier test stopped it."""
    if prometheus.process is None:
        prometheus.start()
    return prometheus


def make_desk(request: pytest.FixtureRequest, tracker: str) -> Desk:
    server = request.getfixturevalue(_SANDBOX_FIXTURE[tracker])
    return GitHubDesk(server) if tracker == "github" else JiraDesk(server)


@pytest.fixture(params=TRACKERS)
def desk(request: pytest.FixtureRequest) -> Desk:
    return make_desk(request, request.param)


@pytest.fixture
def jira_desk(request: pytest.FixtureRequest) -> Desk:
    return make_desk(request, "jira-cloud")


@pytest.fixture
def env(desk: Desk, live_prometheus: PrometheusServer) -> dict[str, str]:
    return {**base_env(live_prometheus.url), **desk.env()}


# ------------------------------------------------------------------------------------------ metrics proxy


@dataclass
class Fault:
    """What the proxy does with a matching query: answer `status`/`body` itself, or forward it after `delay`
    seconds and add `warnings` to the answer; with `trickle`, send the answer's body one byte every `trickle`
    seconds (a read timeout restarts on every byte, so the client never times out)."""

    match: str | None  # a substring of the PromQL; None: every query
    times: int  # how many matching requests; -1: all of them
    status: int | None = None
    body: str = ""
    delay: float = 0.0
    warnings: tuple[str, ...] = ()
    trickle: float = 0.0


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]  # names in lower case
    at: float  # time.monotonic() on arrival
    peer_cert: dict[str, Any] | None  # the client's certificate, over TLS


class MetricsProxy:
    """A loopback HTTP proxy in front of a Prometheus API that misbehaves on demand, per query.

    Faults are taken in the order they were added; a request no fault matches is forwarded unchanged.
    `queries` records the PromQL of every query received; `seen` every request (path, headers, arrival, client
    certificate); `most_at_once` the most requests it was answering at one time. With `tls` it serves HTTPS.
    """

    def __init__(self, upstream: str, tls: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.queries: list[str] = []
        self.trickling = threading.Event()  # set once an answer has begun trickling
        self.seen: list[Seen] = []
        self.most_at_once = 0
        self._at_once = 0
        self._scheme = "https" if tls else "http"
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._serve(self)

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        if tls is not None:
            self._http.socket = tls.wrap_socket(self._http.socket, server_side=True, do_handshake_on_connect=False)
            self._http.handle_error = lambda *_: None  # type: ignore[method-assign]  # refused handshakes
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._http.server_address[1]}"

    def add(self, match: str | None = None, times: int = -1, **what: Any) -> None:
        with self._lock:
            self.faults.append(Fault(match, times, **what))

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _take(self, query: str) -> Fault | None:
        with self._lock:
            self.queries.append(query)
            for fault in self.faults:
                if fault.times != 0 and (fault.match is None or fault.match in query):
                    fault.times -= 1 if fault.times > 0 else 0
                    return fault
        return None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        peer = handler.connection.getpeercert() if isinstance(handler.connection, ssl.SSLSocket) else None
        with self._lock:
            self.seen.append(
                Seen(handler.path, {k.lower(): v for k, v in handler.headers.items()}, time.monotonic(), peer)
            )
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            self._answer(handler)
        finally:
            with self._lock:
                self._at_once -= 1

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = parse_qs(parts.query)
        query = (params.get("query") or params.get("match[]") or [""])[0]  # match[]: the name lookup first
        fault = self._take(query) if parts.path.startswith(("/api/v1/query", "/api/v1/label/")) else None
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            status, body = fault.status, fault.body.encode()
        else:
            try:
                answer = requests.get(self.upstream + handler.path, timeout=10)
                status, body = answer.status_code, answer.content
            except requests.RequestException as error:
                status, body = 502, json.dumps({"status": "error", "error": str(error)}).encode()
            if fault is not None and fault.warnings and status == 200:
                data = json.loads(body)
                data["warnings"] = list(fault.warnings)
                body = json.dumps(data).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if fault is not None and fault.trickle:
                self.trickling.set()
                for i in range(len(body)):
                    handler.wfile.write(body[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(fault.trickle)
            else:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def metrics_proxy(live_prometheus: PrometheusServer) -> Iterator[MetricsProxy]:
    proxy = MetricsProxy(live_prometheus.url)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    """A real Pushgateway with its own persistence file, shared by a module's tests."""
    with Pushgateway(tmp_path_factory.mktemp("pushgateway")) as server:
        yield server


@pytest.fixture(scope="module")
def scraper(gateway: Pushgateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A second real Prometheus, scraping the Pushgateway every second with the pushed labels kept."""
    server = PrometheusServer(tmp_path_factory.mktemp("scraper"))
    target = gateway.url.removeprefix("http://")
    server.config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n"
        f"    static_configs:\n      - targets: [{json.dumps(target)}]\n"
    )
    with server:
        yield server
