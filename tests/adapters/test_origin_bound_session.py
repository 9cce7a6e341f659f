"""OriginBoundSession: secret headers go only to the origin a request was first sent to, over real loopback HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests
import urllib3

from tests.tls import PrivateCA, private_ca
from verifier.adapters.http import AnswerTooLarge, GuardedAdapter, OriginBoundSession, guard, origin
from verifier_sandbox.jira import JiraSandbox


class _Server:
    def __init__(self, redirect_to: str | None = None) -> None:
        self.seen: list[dict[str, str]] = []
        seen, target = self.seen, redirect_to

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(dict(self.headers.items()))
                if target is not None and not self.path.startswith("/final"):
                    self.send_response(307)
                    self.send_header("Location", target + "/final")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server, _Server]]:
    other = _Server()
    elsewhere = _Server(redirect_to=other.url)  # 307 to another port: another origin
    itself = _Server(redirect_to="")  # 307 to a path of its own: the same origin
    yield elsewhere, other, itself
    for server in (other, elsewhere, itself):
        server.http.shutdown()


def _session() -> OriginBoundSession:
    session = OriginBoundSession(sensitive=["X-Tenant-Secret"])
    session.headers.update({"Authorization": "Bearer t", "X-Tenant-Secret": "s", "X-Scope-OrgID": "o", "Accept": "a"})
    return session


def test_secret_headers_are_stripped_on_a_redirect_to_another_origin(servers: Any) -> None:
    elsewhere, other, _ = servers
    answer = _session().get(elsewhere.url + "/api", timeout=5)
    assert answer.status_code == 200 and len(answer.history) == 1
    assert elsewhere.seen[0]["X-Tenant-Secret"] == "s" and elsewhere.seen[0]["Authorization"] == "Bearer t"
    [sent] = other.seen
    assert {"Authorization", "X-Tenant-Secret", "X-Scope-OrgID"}.isdisjoint(sent) and sent["Accept"] == "a"


def test_basic_auth_is_stripped_too(servers: Any) -> None:
    elsewhere, other, _ = servers
    session = OriginBoundSession()
    session.auth = ("user", "password")
    session.get(elsewhere.url + "/api", timeout=5)
    assert "Authorization" in elsewhere.seen[0] and "Authorization" not in other.seen[0]


def test_a_redirect_within_the_origin_keeps_them(servers: Any) -> None:
    _, _, itself = servers
    answer = _session().get(itself.url + "/api", timeout=5)
    assert answer.status_code == 200 and len(itself.seen) == 2
    assert all(h["X-Tenant-Secret"] == "s" and h["Authorization"] == "Bearer t" for h in itself.seen)


def test_the_origin_is_the_first_requests_over_a_chain_of_redirects(servers: Any) -> None:
    """A redirect within the origin, then one to another: the secrets reach every hop of the first origin and none
    of the other."""
    _, other, _ = servers
    hops: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hops.append(dict(self.headers.items()))
            self.send_response(307)
            self.send_header("Location", "/step" if self.path == "/api" else other.url + "/final")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    chain = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=chain.serve_forever, daemon=True).start()
    try:
        answer = _session().get(f"http://127.0.0.1:{chain.server_address[1]}/api", timeout=5)
    finally:
        chain.shutdown()
    assert answer.status_code == 200 and len(answer.history) == 2
    assert [(h["Authorization"], h["X-Tenant-Secret"]) for h in hops] == [("Bearer t", "s")] * 2
    [sent] = other.seen
    assert {"Authorization", "X-Tenant-Secret", "X-Scope-OrgID"}.isdisjoint(sent) and sent["Accept"] == "a"


def test_origin_is_scheme_host_and_port_with_default_ports() -> None:
    assert origin("https://Mimir.example/prometheus") == origin("https://mimir.example:443/x")
    assert origin("http://mimir.example") != origin("https://mimir.example")
    assert origin("http://127.0.0.1:9090/a") != origin("http://127.0.0.1:9091/a")
    assert origin("http://Mimir.example/a") == ("http", "mimir.example", 80) == origin("http://mimir.example:80/b")
    assert origin("http://mimir.example/a") != origin("http://evil.example/a")  # the host counts, not only the port


def test_the_environments_proxy_and_its_exceptions_still_apply_read_once_per_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment's proxies are read once per origin (#26: requests scans the environment twice a request),
    and still decide: a request goes through HTTP_PROXY unless NO_PROXY names its host."""
    target, proxy = _Server(), _Server()
    from verifier.adapters import http

    reads: list[str] = []
    real = http.get_environ_proxies
    monkeypatch.setattr(http, "get_environ_proxies", lambda url: reads.append(url) or real(url))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost")
    for env in ("http_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(env, raising=False)
    session = OriginBoundSession()
    for n in range(3):
        assert session.get(f"{target.url}/api/{n}", timeout=5).status_code == 200
    assert len(proxy.seen) == 3 and target.seen == []  # through the proxy, every time
    assert len(reads) == 1  # the environment read once for the origin
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = OriginBoundSession()
    assert direct.get(f"{target.url}/api/direct", timeout=5).status_code == 200
    assert len(target.seen) == 1 and len(proxy.seen) == 3  # NO_PROXY names the host: straight there
    for server in (target, proxy):
        server.http.shutdown()


def test_the_netrc_files_credentials_still_apply_read_once_per_origin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A netrc file's credentials for the host are sent (requests' rule), looked up once per origin (#26: requests
    looks for the file on every request); a host it does not name gets none, and a request's own auth wins."""
    named, unnamed = _Server(), _Server()
    from verifier.adapters import http

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login robot password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    reads: list[str] = []
    real = http.get_netrc_auth
    monkeypatch.setattr(http, "get_netrc_auth", lambda url: reads.append(url) or real(url))
    session = OriginBoundSession()
    for n in range(3):
        assert session.get(f"{named.url}/api/{n}", timeout=5).status_code == 200
    assert [seen.get("Authorization") for seen in named.seen] == ["Basic cm9ib3Q6czNjcmV0"] * 3  # robot:s3cret
    assert len(reads) == 1
    session.get(f"{named.url}/own", auth=("alice", "pw"), timeout=5)
    assert named.seen[-1]["Authorization"] == "Basic YWxpY2U6cHc="
    netrc.write_text("machine example.org login robot password s3cret\n")
    assert OriginBoundSession().get(f"{unnamed.url}/x", timeout=5).status_code == 200
    assert "Authorization" not in unnamed.seen[0]
    for server in (named, unnamed):
        server.http.shutdown()


def _netrc(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))


def test_a_netrc_entry_for_one_host_is_never_sent_to_another(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The netrc lookup is kept per origin: the credentials of the host the file names go there only, in whatever
    order the hosts are asked (netrc names a host, not a port: here `localhost` and `127.0.0.1`, one server)."""
    server = _Server()
    port = server.http.server_address[1]
    _netrc(monkeypatch, tmp_path / "netrc", "machine localhost login robot password s3cret\n")
    session = OriginBoundSession()
    for host in ("127.0.0.1", "localhost", "127.0.0.1", "localhost"):
        assert session.get(f"http://{host}:{port}/", timeout=5).status_code == 200
    robot = "Basic cm9ib3Q6czNjcmV0"  # robot:s3cret
    assert [seen.get("Authorization") for seen in server.seen] == [None, robot, None, robot]
    server.http.shutdown()


def test_the_netrc_file_is_read_once_per_origin_for_the_sessions_life(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A session reads the netrc file once per origin (requests would look for it on every request): a change
    made while it runs applies to the next session, not to this one's later requests."""
    server = _Server()
    netrc = tmp_path / "netrc"
    _netrc(monkeypatch, netrc, "machine 127.0.0.1 login robot password s3cret\n")
    session = OriginBoundSession()
    assert session.get(f"{server.url}/1", timeout=5).status_code == 200
    _netrc(monkeypatch, netrc, "machine 127.0.0.1 login robot password changed\n")
    assert session.get(f"{server.url}/2", timeout=5).status_code == 200
    assert OriginBoundSession().get(f"{server.url}/3", timeout=5).status_code == 200
    assert [seen.get("Authorization") for seen in server.seen] == [
        "Basic cm9ib3Q6czNjcmV0",  # robot:s3cret
        "Basic cm9ib3Q6czNjcmV0",
        "Basic cm9ib3Q6Y2hhbmdlZA==",  # robot:changed
    ]
    server.http.shutdown()


def test_proxies_kept_apart_per_origin_a_requests_own_and_trust_env_off_decide_through_the_guarded_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The proxies read for one origin are not reused for another; a request's own `proxies` and a session that
    does not trust the environment are honoured as requests does."""
    target, proxy = _Server(), _Server()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost")
    for env in ("http_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(env, raising=False)
    port = target.http.server_address[1]
    try:
        session = OriginBoundSession()
        assert session.get(f"http://localhost:{port}/direct", timeout=5).status_code == 200  # NO_PROXY: straight
        assert session.get(f"http://127.0.0.1:{port}/proxied", timeout=5).status_code == 200  # another origin
        assert (len(target.seen), len(proxy.seen)) == (1, 1)
        untrusting = OriginBoundSession()
        untrusting.trust_env = False
        assert untrusting.get(f"{target.url}/untrusting", timeout=5).status_code == 200
        assert (len(target.seen), len(proxy.seen)) == (2, 1)  # the environment's proxy not used
        elsewhere = {"https": "http://127.0.0.1:9"}  # a proxy for https only: http's is still the environment's
        assert OriginBoundSession().get(f"{target.url}/other", timeout=5, proxies=elsewhere).status_code == 200
        assert (len(target.seen), len(proxy.seen)) == (2, 2)
        monkeypatch.delenv("HTTP_PROXY")
        named = guard(OriginBoundSession(), GuardedAdapter())  # the proxy reaches the guarded transport too
        assert named.get(f"{target.url}/named", timeout=5, proxies={"http": proxy.url}).status_code == 200
        assert (len(target.seen), len(proxy.seen)) == (2, 3)  # the request's own proxy
        configured = guard(OriginBoundSession(), GuardedAdapter())
        configured.proxies = {"http": proxy.url}
        assert configured.get(f"{target.url}/configured", timeout=5).status_code == 200
        assert (len(target.seen), len(proxy.seen)) == (2, 4)  # the session's own proxy
    finally:
        for server in (target, proxy):
            server.http.shutdown()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[JiraSandbox, PrivateCA]]:
    ca = private_ca(tmp_path)
    with JiraSandbox("cloud").use_tls(ca.server_context()) as server:
        yield server, ca


def test_with_no_bundle_configured_the_environments_applies_and_a_requests_own_verify_wins(
    tls_server: tuple[JiraSandbox, PrivateCA], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca = tls_server
    page = f"{server.url}/_edge/tenant_info"  # public: no credentials needed
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca.ca_bundle))  # the image's bundle names the private CA
    assert OriginBoundSession().get(page, timeout=5).json() == {"cloudId": server.cloud_id}
    assert OriginBoundSession().get(page, timeout=5, verify=True).status_code == 200  # True: the environment's
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # the system's: this CA unknown there
    with pytest.raises(requests.exceptions.SSLError):
        OriginBoundSession().get(page, timeout=5)
    assert OriginBoundSession().get(page, timeout=5, verify=str(ca.ca_bundle)).status_code == 200
    with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
        assert OriginBoundSession().get(page, timeout=5, verify=False).status_code == 200
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(ca.ca_bundle))  # requests reads this one too
    assert OriginBoundSession().get(page, timeout=5).status_code == 200


def test_the_sessions_client_certificate_is_presented_through_the_guarded_transport(tmp_path: Path) -> None:
    """Mutual TLS: the session's `cert` reaches the handshake through the merge (and none is refused)."""
    ca = private_ca(tmp_path)
    with JiraSandbox("cloud").use_tls(ca.mutual_context()) as server:
        page = f"{server.url}/_edge/tenant_info"
        session = guard(OriginBoundSession(), GuardedAdapter())  # through the guarded transport, as the adapters send
        session.verify = str(ca.ca_bundle)
        with pytest.raises(requests.exceptions.RequestException):
            session.get(page, timeout=5)
        session.cert = (str(ca.client_cert), str(ca.client_key))
        assert session.get(page, timeout=5).json() == {"cloudId": server.cloud_id}


def test_with_no_bundle_anywhere_verification_is_on_and_a_configured_bundle_yields_to_a_requests_own(
    tls_server: tuple[JiraSandbox, PrivateCA], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Neither the settings nor the environment name a bundle: the system's CAs verify (a private CA refused),
    never no verification at all. A bundle the request names itself wins over the session's configured one."""
    server, ca = tls_server
    page = f"{server.url}/_edge/tenant_info"
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        OriginBoundSession().get(page, timeout=5)
    configured = OriginBoundSession()
    configured.verify = str(private_ca(tmp_path / "other").ca_bundle)  # another CA's
    with pytest.raises(requests.exceptions.SSLError):
        configured.get(page, timeout=5)
    assert configured.get(page, timeout=5, verify=str(ca.ca_bundle)).status_code == 200


def test_a_requests_own_tls_settings_and_stream_apply_with_or_without_the_environment(tmp_path: Path) -> None:
    """The request's `verify`, `cert` and `stream`, and the session's `stream`, reach the exchange both through
    the session's own merge (trusting the environment) and requests' (not trusting it)."""
    ca = private_ca(tmp_path)
    with JiraSandbox("cloud").use_tls(ca.mutual_context()) as server:
        page = f"{server.url}/_edge/tenant_info"
        tls = {"verify": str(ca.ca_bundle), "cert": (str(ca.client_cert), str(ca.client_key))}
        body = OriginBoundSession().get(page, timeout=5, **tls).content
        assert json.loads(body) == {"cloudId": server.cloud_id}
        for trust_env in (True, False):
            session = OriginBoundSession()
            session.trust_env = trust_env
            assert session.get(page, timeout=5, **tls).raw.read() == b""  # not streamed: read already
            assert session.get(page, timeout=5, stream=True, **tls).raw.read() == body  # streamed: left unread
            session.stream = True
            assert session.get(page, timeout=5, **tls).raw.read() == body, trust_env


def test_a_guarded_session_guards_https_too(tls_server: tuple[JiraSandbox, PrivateCA]) -> None:
    server, ca = tls_server
    session = guard(OriginBoundSession(), GuardedAdapter(max_bytes=8))
    with pytest.raises(AnswerTooLarge) as raised:
        session.get(f"{server.url}/_edge/tenant_info", timeout=5, verify=str(ca.ca_bundle))
    assert str(raised.value) == "the answer is larger than the cap of 7.62939e-06 MiB"
