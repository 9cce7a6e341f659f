"""The guarded transport (#22) in each adapter, over loopback HTTP: each timeout setting is a total deadline that
reaches the adapter's requests (a server trickling a byte every 0.2 s is cut off at it), the size cap holds with
the deadline out of the way, and the depth check agrees with a real count of nesting."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import certifi
import pytest
import requests
import requests.adapters
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tls import private_ca
from verifier.adapters.github import GitHubTracker
from verifier.adapters.http import (
    AnswerTooDeep,
    AnswerTooLarge,
    DeadlinePassed,
    GuardedAdapter,
    OriginBoundSession,
    guard,
    too_deep,
)
from verifier.adapters.jira import JiraTracker
from verifier.adapters.prometheus import PrometheusMetrics
from verifier.adapters.pushgateway import push_run_metrics
from verifier.adapters.retry import RetryPolicy
from verifier.connections import GitHubConnection, JiraConnection, PrometheusConnection
from verifier.errors import BackendUnavailable, TrackerError, VerifierError
from verifier_sandbox.jira import JiraSandbox

ANSWER = b'{"status":"success","data":{"resultType":"vector","result":[]}}'


class Trickler:
    """Answers every request with `body`, `chunk` bytes every `pause` seconds (Content-Length sent first)."""

    def __init__(self, body: bytes = ANSWER, chunk: int = 1, pause: float = 0.2) -> None:
        owner = self
        self.requests = 0
        self.methods: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                owner.requests += 1
                owner.methods.append(self.command)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for start in range(0, len(body), chunk):
                        self.wfile.write(body[start : start + chunk])
                        self.wfile.flush()
                        time.sleep(pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler()
    try:
        yield server
    finally:
        server.close()


def timed(call: Callable[[], object]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(VerifierError) as caught:
        call()
    return caught.value, time.monotonic() - started


def test_the_prometheus_timeout_is_a_total_deadline(trickler: Trickler) -> None:
    metrics = PrometheusMetrics(PrometheusConnection(url=trickler.url, timeout_seconds=1, retries=0))
    error, elapsed = timed(lambda: metrics.label_names("up", *_window()))
    assert type(error) is BackendUnavailable  # not AnswerTooLarge, which the run would ask again by aggregation
    assert "the metrics backend's answer did not arrive whole within 1s" in str(error)
    assert 0.9 < elapsed < 3  # the whole answer would take 13 s, each byte well within a read timeout


def test_a_prometheus_query_too_long_for_a_url_is_posted_under_the_same_total_deadline(trickler: Trickler) -> None:
    """A query past the GET limit goes as a form (POST): with the connection's deadline, not the default 30 s."""
    metrics = PrometheusMetrics(PrometheusConnection(url=trickler.url, timeout_seconds=1, retries=0))
    query = 'up{job="' + "x" * 5000 + '"}'
    error, elapsed = timed(lambda: metrics.instant(query, datetime.now(UTC)))
    assert type(error) is BackendUnavailable
    assert str(error).startswith(
        f"{trickler.url}/api/v1/query: the metrics backend's answer did not arrive whole within 1s (query: up{{job="
    )
    assert 0.9 < elapsed < 3
    assert (trickler.requests, trickler.methods) == (1, ["POST"])


def test_the_jira_timeout_is_a_total_deadline(trickler: Trickler) -> None:
    connection = JiraConnection(url=trickler.url, pat="p" * 20, timeout_seconds=1)
    jira = JiraTracker(connection, retry=RetryPolicy(attempts=1))
    error, elapsed = timed(jira.account)
    assert isinstance(error, TrackerError)
    assert str(error) == "Jira read the signed-in user failed: Jira's answer did not arrive whole within 1s"
    assert 0.9 < elapsed < 3


def test_the_github_timeout_is_a_total_deadline(trickler: Trickler) -> None:
    connection = GitHubConnection(api_url=trickler.url, repositories=("o/r",), token="t" * 20, timeout_seconds=1)
    github = GitHubTracker(connection, retries=0)
    error, elapsed = timed(github.account)
    assert isinstance(error, TrackerError)
    assert str(error) == "GitHub read the signed-in user failed: GitHub's answer did not arrive whole within 1s"
    assert 0.9 < elapsed < 3


def test_the_pushgateway_push_has_a_total_deadline(trickler: Trickler) -> None:
    push = lambda: push_run_metrics(  # noqa: E731
        trickler.url, "job", counts={}, errors=0, writes=0, duration_seconds=1, finished_at=1, succeeded=True,
        dry_run=False,
        timeout_seconds=1,
    )  # fmt: skip
    error, elapsed = timed(push)
    assert "the Pushgateway's answer did not arrive whole within 1s" in str(error)
    assert 0.9 < elapsed < 3


def test_the_size_cap_holds_with_the_deadline_out_of_the_way() -> None:
    body = json.dumps({"status": "success", "data": ["x" * 1000] * 3000}).encode()  # ~3 MB, fast
    server = Trickler(body, chunk=256 * 1024, pause=0)
    try:
        metrics = PrometheusMetrics(
            PrometheusConnection(url=server.url, timeout_seconds=60, retries=0), max_answer_bytes=1024 * 1024
        )
        with pytest.raises(BackendUnavailable, match="the metrics backend's answer is larger than the cap of 1 MiB"):
            metrics.label_names("up", *_window())
        session = guard(requests.Session(), GuardedAdapter(max_bytes=4 * 1024 * 1024))
        assert len(session.get(server.url, timeout=60).content) == len(body)  # under the cap: read whole
        exact = guard(requests.Session(), GuardedAdapter(max_bytes=len(body)))
        assert exact.get(server.url, timeout=60).content == body  # exactly the cap: still whole
        with pytest.raises(AnswerTooLarge) as raised:
            guard(requests.Session(), GuardedAdapter(max_bytes=len(body) - 1)).get(server.url, timeout=60)
        assert raised.value.response is not None and raised.value.response.status_code == 200
    finally:
        server.close()


def _window() -> tuple[Any, Any]:
    from datetime import UTC, datetime, timedelta

    end = datetime.now(UTC)
    return end - timedelta(hours=1), end


# -- the depth check ---------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=3),
    max_leaves=40,
)


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, cap=st.integers(1, 8))
def test_the_depth_check_agrees_with_a_real_count(value: object, cap: int) -> None:
    assert too_deep(json.dumps(value).encode(), cap) is (depth(value) > cap)


@pytest.mark.parametrize("levels", [65, 200_000])
def test_deep_and_unclosed_nesting_is_too_deep(levels: int) -> None:
    assert too_deep(b"[" * levels + b"]" * levels, 64) and too_deep(b"[" * levels, 64)
    assert not too_deep(b"[" * 64 + b"]" * 64, 64)


def test_brackets_that_are_not_json_are_counted_as_they_stand() -> None:
    """No pair to remove (`[}` never closes): the depth is the most brackets open at once, one for each `[` or `{`
    and one fewer for each closing one, whatever its kind."""
    assert not too_deep(b"[}" * 6, 5)  # six opened, never more than one at once
    assert not too_deep(b"[}" * 6, 1)  # exactly the cap
    assert too_deep(b"[[}}[[[", 2)  # three open at the end
    assert not too_deep(b"[[}}[[[", 3)


def test_an_answer_nested_past_the_cap_is_refused_in_the_default_wording_with_its_response() -> None:
    deep = b"[" * 65 + b"]" * 65
    server = Trickler(deep, chunk=len(deep), pause=0)
    try:
        session = guard(requests.Session(), GuardedAdapter())
        with pytest.raises(AnswerTooDeep) as raised:
            session.get(server.url, timeout=5)
        assert str(raised.value) == "the answer nests JSON deeper than the cap of 64 levels"
        assert raised.value.response is not None and raised.value.response.status_code == 200
    finally:
        server.close()


def test_answers_read_whole_leave_the_connection_to_be_kept_alive() -> None:
    server = Trickler(ANSWER, chunk=len(ANSWER), pause=0)
    ports: set[int] = set()
    original = server._http.RequestHandlerClass.handle

    def handle(self: BaseHTTPRequestHandler) -> None:
        ports.add(self.client_address[1])
        original(self)

    server._http.RequestHandlerClass.handle = handle  # type: ignore[method-assign]
    try:
        session = guard(requests.Session(), GuardedAdapter())
        assert [session.get(server.url, timeout=5).json()["status"] for _ in range(3)] == ["success"] * 3
        assert len(ports) == 1  # one TCP connection for the three requests
    finally:
        server.close()


def test_the_deadlines_of_many_requests_start_no_thread_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait for headers is kept by one watchdog thread, not a timer thread started for each request (#26:
    about 0.2 ms each, thousands of times a run, under the one interpreter lock)."""
    server = Trickler(ANSWER, chunk=len(ANSWER), pause=0)
    started: list[str] = []
    start = threading.Thread.start

    def counted(self: threading.Thread) -> None:
        started.append(f"{type(self).__name__} {self.name}")
        start(self)

    session = guard(requests.Session(), GuardedAdapter())
    try:
        session.get(server.url, timeout=5)  # the watchdog, started once (or already running)
        monkeypatch.setattr(threading.Thread, "start", counted)
        assert [session.get(server.url, timeout=5).status_code for _ in range(40)] == [200] * 40
        # Only the test server's threads (one a connection) start; no timer or watchdog thread per request.
        assert [name for name in started if "process_request_thread" not in name] == []
    finally:
        server.close()


def test_one_guarded_session_sends_each_request_to_the_origin_it_names() -> None:
    """The pool key is kept per origin (#26): a session talking to two servers never sends one's request into the
    other's pool."""
    first = Trickler(b'{"server":1}', chunk=64, pause=0)
    second = Trickler(b'{"server":2}', chunk=64, pause=0)
    try:
        session = guard(requests.Session(), GuardedAdapter())
        urls = [first.url, second.url, first.url, second.url]
        assert [session.get(url, timeout=5).json()["server"] for url in urls] == [1, 2, 1, 2]
        assert (first.requests, second.requests) == (2, 2)
    finally:
        first.close()
        second.close()


@contextlib.contextmanager
def _refusing_ports(count: int) -> Iterator[list[int]]:
    """Loopback ports bound but not listening, held while the test runs (so no other process takes one): a
    connection there is refused at once."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        yield [sock.getsockname()[1] for sock in sockets]


def test_the_pool_key_is_worked_out_once_per_origin_and_tls_setting_and_kept_for_64_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """requests parses the URL and asks the file system about the CA bundle for every request's pool key; the
    guarded adapter asks once per origin, CA bundle and client certificate (#26), and keeps no more than 64 (a
    session talks to a few origins: memory stays bounded whatever it is sent to)."""
    server = Trickler(ANSWER, chunk=len(ANSWER), pause=0)
    asked: list[str] = []
    real = requests.adapters.HTTPAdapter.build_connection_pool_key_attributes

    def counted(
        self: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        asked.append(f"{request.url} {verify}")
        return real(self, request, verify, cert)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "build_connection_pool_key_attributes", counted)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # `verify` stays the session's True
        monkeypatch.delenv(name, raising=False)
    adapter = GuardedAdapter()
    session = guard(requests.Session(), adapter)
    try:
        for n in range(3):
            assert session.get(f"{server.url}/{n}", timeout=5).status_code == 200
        assert session.get(f"{server.url}/3", timeout=5, verify=False).status_code == 200
        assert asked == [f"{server.url}/0 True", f"{server.url}/3 False"]
        with _refusing_ports(70) as ports:  # the key is worked out before connecting: a refused origin counts too
            for port in ports:
                with pytest.raises(requests.exceptions.ConnectionError):
                    session.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert len(adapter._pool_keys) == 64
    finally:
        server.close()


def test_a_request_that_skipped_verification_leaves_no_connection_a_verifying_one_reuses(tmp_path: Any) -> None:
    """The TLS settings are part of the pool key (requests' CVE-2024-35195): after a request with `verify=False`,
    one that verifies gets a connection of its own, and a server its bundle does not trust is refused."""
    ca = private_ca(tmp_path)
    with JiraSandbox("cloud").use_tls(ca.server_context()) as server:
        page = f"{server.url}/_edge/tenant_info"  # public: no credentials needed
        session = guard(requests.Session(), GuardedAdapter())
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert session.get(page, timeout=5, verify=False).json() == {"cloudId": server.cloud_id}
        with pytest.raises(requests.exceptions.SSLError):
            session.get(page, timeout=5, verify=certifi.where())  # the system's CAs: this private CA unknown there
        assert session.get(page, timeout=5, verify=str(ca.ca_bundle)).json() == {"cloudId": server.cloud_id}


def test_a_request_without_the_client_certificate_does_not_ride_a_connection_made_with_it(tmp_path: Any) -> None:
    """Mutual TLS: the client certificate is part of the pool key, so a request that presents none gets a
    connection of its own, which the server refuses."""
    ca = private_ca(tmp_path)
    with JiraSandbox("cloud").use_tls(ca.mutual_context()) as server:
        page = f"{server.url}/_edge/tenant_info"
        session = guard(OriginBoundSession(), GuardedAdapter())  # its `verify` wins over the environment's
        session.verify = str(ca.ca_bundle)
        pair = (str(ca.client_cert), str(ca.client_key))
        assert session.get(page, timeout=5, cert=pair).json() == {"cloudId": server.cloud_id}
        with pytest.raises(requests.exceptions.RequestException):
            session.get(page, timeout=5)


def test_a_ca_bundle_given_as_a_path_object_is_kept_apart_per_client_certificate_too(tmp_path: Any) -> None:
    """A bundle given as a path object (requests takes any path `ssl` does) goes through requests' own pool key,
    not the kept one: it verifies, and a request without the client certificate still gets a connection of its
    own, which a mutual-TLS server refuses."""
    ca = private_ca(tmp_path)
    with JiraSandbox("cloud").use_tls(ca.mutual_context()) as server:
        page = f"{server.url}/_edge/tenant_info"
        session = guard(requests.Session(), GuardedAdapter())
        pair = (str(ca.client_cert), str(ca.client_key))
        assert session.get(page, timeout=5, verify=ca.ca_bundle, cert=pair).json() == {"cloudId": server.cloud_id}
        with pytest.raises(requests.exceptions.RequestException):
            session.get(page, timeout=5, verify=ca.ca_bundle)


@pytest.mark.parametrize("tracker", ["jira", "github"])
def test_an_answer_over_a_cap_is_asked_for_once_not_retried(tracker: str) -> None:
    body = b'{"a":' + b"[" * 100 + b"]" * 100 + b"}"
    server = Trickler(body, chunk=len(body), pause=0)
    try:
        if tracker == "jira":
            connection = JiraConnection(url=server.url, pat="p" * 20, timeout_seconds=5)
            call: Callable[[], object] = JiraTracker(connection, retry=RetryPolicy(sleep=lambda _: None)).account
            name = "Jira's answer"
        else:
            gh = GitHubConnection(api_url=server.url, repositories=("o/r",), token="t" * 20, timeout_seconds=5)
            call = GitHubTracker(gh, sleep=lambda _: None).account
            name = "GitHub's answer"
        with pytest.raises(TrackerError, match=f"{name} nests JSON deeper than the cap of 64 levels"):
            call()
        assert server.requests == 1
    finally:
        server.close()


class HeaderTrickler:
    """Answers with a status line, then one byte of a header every 0.2 s, never ending the headers; after `hold`
    seconds it closes the connection, so a client with no watchdog on the headers fails (late, or with an answer)
    rather than hangs for the hours http.client's header-line limit would take."""

    hold = 4.0

    def __init__(self) -> None:
        import socket

        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(client,), daemon=True).start()

    def _trickle(self, client: Any) -> None:
        try:
            client.recv(65536)
            client.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            ends = time.monotonic() + self.hold
            while not self._stop.is_set() and time.monotonic() < ends:
                client.sendall(b"x")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            client.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


def test_headers_trickled_a_byte_at_a_time_end_at_the_deadline_too() -> None:
    server = HeaderTrickler()
    try:
        session = guard(requests.Session(), GuardedAdapter(max_retries=0))
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.get(server.url, timeout=1)
        assert 0.9 < time.monotonic() - started < 2.5
        metrics = PrometheusMetrics(PrometheusConnection(url=server.url, timeout_seconds=1, retries=1))
        error, elapsed = timed(lambda: metrics.label_names("up", *_window()))
        assert "timed out" in str(error) and 1.9 < elapsed < 4  # each of the two tries gets its own second
    finally:
        server.close()


def test_headers_that_never_end_stop_at_a_deadline_under_a_second_too() -> None:
    server = HeaderTrickler()
    try:
        session = guard(requests.Session(), GuardedAdapter(max_retries=0))
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.get(server.url, timeout=0.4)
        assert 0.3 < time.monotonic() - started < 0.9
    finally:
        server.close()


@pytest.mark.parametrize(("timeout", "deadline"), [((0.3, 0.4), "0.7s"), ((0.6, None), "0.6s"), (0.7, "0.7s")])
def test_a_connect_and_read_pair_is_one_deadline_of_their_sum(timeout: Any, deadline: str) -> None:
    server = Trickler()  # 62 bytes, one every 0.2 s
    try:
        session = guard(requests.Session(), GuardedAdapter(max_retries=0))
        with pytest.raises(DeadlinePassed) as raised:
            session.get(server.url, timeout=timeout)
        assert str(raised.value) == f"the answer did not arrive whole within {deadline}"
    finally:
        server.close()


def test_no_timeout_or_no_parts_is_the_default_deadline() -> None:
    server = Trickler(ANSWER, chunk=len(ANSWER), pause=0)
    try:
        session = guard(requests.Session(), GuardedAdapter(max_retries=0))
        assert session.get(server.url, timeout=None).content == ANSWER  # the default 30 s: answered at once
        assert session.get(server.url, timeout=(None, None)).content == ANSWER
    finally:
        server.close()


class Staller:
    """Sends the headers at once, the first byte of the body after `first` seconds, then nothing until `hold`
    seconds have passed (then closes): an answer that stops in the middle."""

    def __init__(self, first: float, hold: float = 6.0) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ANSWER)))
                self.end_headers()
                self.wfile.flush()
                try:
                    time.sleep(first)
                    self.wfile.write(ANSWER[:1])
                    self.wfile.flush()
                    time.sleep(hold - first)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True  # then the connection ends: a client that waits is not held forever

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def test_an_answer_that_stops_midway_ends_at_the_deadline_not_a_read_timeout_later() -> None:
    """The last wait for bytes is cut to what is left of the deadline: a byte at 0.9 s of a 1 s deadline, then
    silence, ends at 1 s, not at the read timeout (another second) after that byte."""
    server = Staller(first=0.9)
    try:
        session = guard(requests.Session(), GuardedAdapter(what="the test answer"))
        started = time.monotonic()
        with pytest.raises(DeadlinePassed) as raised:
            session.get(server.url, timeout=1)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert str(raised.value) == "the test answer did not arrive whole within 1s"
    assert raised.value.response is not None and raised.value.response.status_code == 200
    assert 0.9 < elapsed < 1.6


def test_a_deadline_already_passed_when_the_body_is_read_refuses_it_naming_the_answer() -> None:
    """The deadline is checked before each read, not only when a read waits: an answer whose headers used the
    whole deadline is refused with its response, not read."""
    fast = Trickler(ANSWER, chunk=len(ANSWER), pause=0)
    try:
        response = requests.get(fast.url, stream=True, timeout=5)
        adapter = GuardedAdapter(what="the late answer")
        with pytest.raises(DeadlinePassed) as raised:
            adapter._read(response, time.monotonic() - 0.001, 2.5)
        response.close()
    finally:
        fast.close()
    assert str(raised.value) == "the late answer did not arrive whole within 2.5s"
    assert raised.value.response is response


def gzip_server(plain: bytes) -> tuple[ThreadingHTTPServer, str]:
    """Answers `plain` gzip-compressed (`Content-Encoding: gzip`), as a proxy or a backend may."""
    packed = gzip.compress(plain)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(packed)))
            self.end_headers()
            self.wfile.write(packed)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_a_compressed_answer_is_read_decoded_and_the_cap_counts_what_it_unpacks_to() -> None:
    """A gzip answer is decoded as it is read: the JSON is the one sent, and the size cap holds against what it
    unpacks to (8 MiB of zeros is 8 KiB on the wire), so a small compressed answer cannot fill memory."""
    server, url = gzip_server(ANSWER)
    try:
        assert guard(requests.Session(), GuardedAdapter()).get(url, timeout=5).json() == json.loads(ANSWER)
    finally:
        server.shutdown()
    bomb = b'{"x": "' + b"0" * (8 * 1024 * 1024) + b'"}'
    server, url = gzip_server(bomb)
    try:
        with pytest.raises(AnswerTooLarge, match=r"^the answer is larger than the cap of 1 MiB$"):
            guard(requests.Session(), GuardedAdapter(max_bytes=1024 * 1024)).get(url, timeout=5)
    finally:
        server.shutdown()
