"""The Prometheus adapter's requests and its reading of each answer, word for word: what it sends for each API,
what it makes of odd answers (a backend that lacks an API, one that answers strangely), and the error texts a
ticket's comment and the run's report carry. Scripted loopback servers (backends.ScriptedServer) stand in where a
real backend will not answer so on demand; test_prometheus_adapter.py holds the real backends."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import certifi
import pytest
import urllib3

from tests.integration.backends import PrometheusServer, Reply, ScriptedServer, free_port
from tests.tls import PrivateCA, private_ca
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.domain.alerts import AlertRule
from verifier.errors import AnswerTooLarge, BackendUnavailable, QueryRejected

pytestmark = pytest.mark.integration

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@contextmanager
def scripted(*replies: Reply, **settings: object) -> Iterator[tuple[ScriptedServer, PrometheusMetrics]]:
    with (
        ScriptedServer(*replies) as server,
        PrometheusMetrics(PrometheusConnection.model_validate({"url": server.url, "retries": 0, **settings})) as m,
    ):
        yield server, m


def success(data: object) -> dict[str, object]:
    return {"status": "success", "data": data}


# -- alerting rules ------------------------------------------------------------------------------------------------

RULE = {"type": "alerting", "name": "High", "health": "ok", "lastEvaluation": "2026-12-06T10:00:00Z"}


def test_alert_rules_asks_for_alerting_rules_of_that_name_and_reads_them() -> None:
    with scripted(Reply(body=success({"groups": [{"name": "g", "interval": 15, "rules": [RULE]}]}))) as (server, m):
        assert m.alert_rules("High") == (AlertRule("High", "g", 15.0, "ok"),)
    assert [(s.path, s.query) for s in server.seen] == [("/api/v1/rules", {"type": ["alert"], "rule_name[]": ["High"]})]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(404, "404 page not found"),  # no rules API (VictoriaMetrics single-node)
        Reply(body=success(None)),
        Reply(body=success(["not", "an", "object"])),
        Reply(body=success({"groups": None})),
        Reply(body=success({"groups": {"not": "a list"}})),
    ],
    ids=["no-api", "null-data", "list-data", "null-groups", "object-groups"],
)
def test_alert_rules_is_none_when_the_backend_cannot_say(reply: Reply) -> None:
    with scripted(reply) as (_, m):
        assert m.alert_rules("High") is None


def test_alert_rules_is_empty_when_no_rule_has_that_name() -> None:
    with scripted(Reply(body=success({"groups": []}))) as (_, m):
        assert m.alert_rules("High") == ()


def test_alert_rules_of_a_failing_backend_is_an_error_naming_the_rules_asked_for() -> None:
    body = {"status": "error", "errorType": "internal", "error": "rule manager stopped"}
    with scripted(Reply(500, body)) as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.alert_rules("High")
    assert str(raised.value) == "backend failed (HTTP 500 internal): rule manager stopped (query: rules of alert High)"


# -- each answer's error text, word for word -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (Reply(400, "bad  query\n text"), QueryRejected, "backend rejected the query (HTTP 400): bad query text"),
        (Reply(422, ""), QueryRejected, "backend rejected the query (HTTP 422): (empty body)"),
        (
            Reply(200, "<html>login</html>"),
            BackendUnavailable,
            "HTTP 200 malformed response, not a JSON object: <html>login</html>",
        ),
        (Reply(399, "[1]"), BackendUnavailable, "HTTP 399 malformed response, not a JSON object: [1]"),
        (Reply(402, "x"), BackendUnavailable, "HTTP 402 error: x"),
        (Reply(502, "<html>bad gateway</html>"), BackendUnavailable, "HTTP 502 error: <html>bad gateway</html>"),
        (
            Reply(422, {"status": "error", "errorType": "422", "error": "bad"}),  # VictoriaMetrics' errorType
            QueryRejected,
            "backend rejected the query (HTTP 422): bad",
        ),
        (Reply(400, {"status": "error"}), QueryRejected, "backend rejected the query (HTTP 400): Bad Request"),
        (Reply(503, {}), BackendUnavailable, "backend failed (HTTP 503): Service Unavailable"),
        (Reply(599, {}), BackendUnavailable, "backend failed (HTTP 599): no error text"),  # no reason phrase
        (
            Reply(200, {"status": "error", "errorType": "bad_data", "error": "parse error"}),
            QueryRejected,
            "backend rejected the query (HTTP 200 bad_data): parse error",
        ),
        (
            Reply(200, {"status": "error", "errorType": "execution", "error": "store down"}),
            BackendUnavailable,
            "backend failed (HTTP 200 execution): store down",
        ),
        (
            Reply(422, {"status": "error", "errorType": "timeout", "error": "too slow"}),
            BackendUnavailable,
            "backend failed (HTTP 422 timeout): too slow",
        ),
        (  # an error status is never read as data, whatever its body says
            Reply(400, {"status": "success", "errorType": "execution", "data": {"resultType": "vector", "result": []}}),
            BackendUnavailable,
            "backend failed (HTTP 400 execution): Bad Request",
        ),
        (
            Reply(200, {"status": "ok", "data": {}}),
            BackendUnavailable,
            'malformed response (HTTP 200), no success status and data: {"status": "ok", "data": {}}',
        ),
        (
            Reply(200, {"status": "success"}),
            BackendUnavailable,
            'malformed response (HTTP 200), no success status and data: {"status": "success"}',
        ),
    ],
)
def test_each_kind_of_failed_answer_has_its_error_and_text(reply: Reply, error: type[Exception], message: str) -> None:
    with scripted(reply) as (_, m), pytest.raises(error) as raised:
        m.label_names("up", T, T)
    assert type(raised.value) is error
    assert str(raised.value) == f"{message} (query: up)"


def test_the_backends_text_is_cut_to_500_characters_and_a_malformed_answers_to_200() -> None:
    with scripted(Reply(502, "e" * 501)) as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.label_names("up", T, T)
    assert str(raised.value) == f"HTTP 502 error: {'e' * 500}... (query: up)"
    with scripted(Reply(502, "e" * 500)) as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.label_names("up", T, T)
    assert str(raised.value) == f"HTTP 502 error: {'e' * 500} (query: up)"
    long = {"status": "ok", "data": {}, "padding": "p" * 300}
    with scripted(Reply(200, long)) as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.label_names("up", T, T)
    text = '{"status": "ok", "data": {}, "padding": "' + "p" * 300
    assert (
        str(raised.value) == f"malformed response (HTTP 200), no success status and data: {text[:200]}... (query: up)"
    )


# -- TLS: a real Prometheus serving a private CA's certificate and asking for a client certificate -----------------


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def mutual_tls_prometheus(ca: PrivateCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    workdir = tmp_path_factory.mktemp("mtls-prometheus")
    web = workdir / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {ca.cert}\n  key_file: {ca.key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca.ca_bundle}\n"
    )
    server = PrometheusServer(workdir, extra_args=[f"--web.config.file={web}"])
    server.scheme, server.verify, server.cert = "https", str(ca.ca_bundle), (str(ca.client_cert), str(ca.client_key))
    with server:
        yield server


def tls_adapter(url: str, **settings: object) -> PrometheusMetrics:
    return PrometheusMetrics(PrometheusConnection.model_validate({"url": url, "retries": 0, **settings}))


def test_the_ca_bundle_and_the_client_certificate_reach_the_handshake(
    mutual_tls_prometheus: PrometheusServer, ca: PrivateCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # an image's bundle, which knows no private CA
    url = mutual_tls_prometheus.url
    client = {"client_cert": str(ca.client_cert), "client_key": str(ca.client_key)}
    with tls_adapter(url, ca_bundle=str(ca.ca_bundle), **client) as m:
        assert m.instant("vector(7)", datetime.now(UTC)).series[0].points[0][1] == 7.0
        m.ping()
    both = tmp_path / "client.pem"  # the certificate and its key in one file: client_cert alone
    both.write_bytes(ca.client_cert.read_bytes() + ca.client_key.read_bytes())
    with tls_adapter(url, ca_bundle=str(ca.ca_bundle), client_cert=str(both)) as m:
        m.ping()
    with (
        warnings.catch_warnings(),
        tls_adapter(url, verify_tls=False, ca_bundle=str(tmp_path / "none.pem"), **client) as m,
    ):
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        m.ping()  # verification off: the server's certificate is not checked (nor the bundle read)


def test_a_certificate_the_bundle_does_not_trust_or_no_client_certificate_is_refused(
    mutual_tls_prometheus: PrometheusServer, ca: PrivateCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    url = mutual_tls_prometheus.url
    client = {"client_cert": str(ca.client_cert), "client_key": str(ca.client_key)}
    with tls_adapter(url, **client) as m, pytest.raises(BackendUnavailable) as raised:
        m.label_names("up", T, T)  # no bundle configured: the environment's, which does not know the CA
    assert str(raised.value).startswith(f"{url}/api/v1/labels: SSLError: certificate verify failed: ")
    assert "_ssl.c" not in str(raised.value)  # OpenSSL's reason, without its source location cut in half
    with tls_adapter(url, ca_bundle=str(ca.ca_bundle)) as m, pytest.raises(BackendUnavailable) as raised:
        m.ping()  # trusted, but no client certificate: the server ends the handshake
    # One line naming the TLS alert (OpenSSL's wording: "sslv3 alert bad certificate" here), not "SSLError(SSLError(1,"
    assert re.fullmatch(rf"{re.escape(url)} health check failed: SSLError: \w+ alert [a-z ]+", str(raised.value))


# -- a backend that repeats the credentials back -------------------------------------------------------------------

ECHO = {"status": "error", "errorType": "internal", "error": "denied: Bearer tok-s3cr3t for org abc, key k-12345"}
CREDENTIALS = {"bearer_token": "tok-s3cr3t", "headers": {"X-Scope-OrgID": "abc", "X-Api-Key": "k-12345"}}
MASKED = "denied: Bearer ********** for org abc, key **********"  # "abc": too short to mask without masking words


def test_credentials_an_error_repeats_are_masked_and_the_error_keeps_its_kind() -> None:
    with scripted(Reply(500, ECHO), **CREDENTIALS) as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.instant("up", T)
    assert str(raised.value) == f"backend failed (HTTP 500 internal): {MASKED} (query: up)"
    rejected = {**ECHO, "errorType": "bad_data"}
    with scripted(Reply(400, rejected), **CREDENTIALS) as (_, m), pytest.raises(QueryRejected) as caught:
        m.instant("up", T)
    assert str(caught.value) == f"backend rejected the query (HTTP 400 bad_data): {MASKED} (query: up)"
    assert caught.value.query == "up"


def test_a_failed_health_check_says_why_with_the_credentials_masked() -> None:
    with scripted(Reply(500, ECHO), **CREDENTIALS) as (server, m), pytest.raises(BackendUnavailable) as raised:
        m.ping()
    assert str(raised.value) == f"{server.url} health check failed: backend failed (HTTP 500 internal): {MASKED}"
    fallback = [Reply(404, "404 page not found"), Reply(500, "denied: tok-s3cr3t")]
    with scripted(*fallback, **CREDENTIALS) as (server, m), pytest.raises(BackendUnavailable) as raised:
        m.ping()
    assert str(raised.value) == f"{server.url} health check failed: HTTP Status Code 500 (b'denied: **********')"
    malformed = scripted(Reply(200, {"status": "success"}), **CREDENTIALS)
    with malformed as (server, m), pytest.raises(BackendUnavailable) as raised:
        m.ping()
    assert str(raised.value) == (
        f"{server.url} health check failed: malformed response (HTTP 200), no success status and data:"
        ' {"status": "success"}'
    )


# -- the APIs some backends lack, and the catalogue's reading of odd answers ---------------------------------------


@pytest.mark.parametrize("status", [404, 405, 501, 400])
def test_an_optional_api_the_backend_lacks_or_refuses_is_none(status: int) -> None:
    with scripted(Reply(status, "no such API")) as (server, m):
        assert m.metric_names("x", T, T) is None
        assert m.label_values("job", "x", T, T) == frozenset()
        assert m.metric_type("x") is None
        assert m.features() is None
        assert m.features() is None  # asked once per connection, even when there is nothing
    assert [s.path for s in server.seen] == [
        "/api/v1/label/__name__/values",
        "/api/v1/label/job/values",
        "/api/v1/metadata",
        "/api/v1/features",
    ]


def test_an_unreachable_backend_is_an_error_naming_the_api_and_what_was_asked() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with PrometheusMetrics(PrometheusConnection(url=url, retries=0)) as m:
        with pytest.raises(BackendUnavailable) as raised:
            m.metric_names("{job='x'}", T, T)
        assert str(raised.value) == (
            f"{url}/api/v1/label/__name__/values: ConnectionError: Connection refused (query: {{job='x'}})"
        )
        with pytest.raises(BackendUnavailable) as raised:
            m.label_names("up", T, T)
        assert str(raised.value) == f"{url}/api/v1/labels: ConnectionError: Connection refused (query: up)"


def test_an_answer_past_the_cap_is_answer_too_large_naming_the_api() -> None:
    names = success(["n" * 100] * 20)  # about 2 KiB
    with (
        ScriptedServer(Reply(body=names)) as server,
        PrometheusMetrics(PrometheusConnection(url=server.url, retries=0), max_answer_bytes=1024) as m,
        pytest.raises(AnswerTooLarge) as raised,
    ):
        m.label_names("up", T, T)
    assert type(raised.value) is AnswerTooLarge
    assert str(raised.value) == (
        f"{server.url}/api/v1/labels: the metrics backend's answer is larger than the cap of 0.000976562 MiB"
        " (query: up)"
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        ["not", "an", "object"],
        {"x": None},
        {"x": []},
        {"x": ["not an object"]},
        {"other": [{"type": "counter"}]},
        {"x": [{"type": "", "unit": 5}]},
    ],
    ids=["null", "list", "null-entries", "no-entries", "entry-not-object", "other-name", "empty-or-not-text"],
)
def test_metadata_that_says_nothing_usable_is_no_type_and_no_unit(data: object) -> None:
    with scripted(Reply(body=success(data))) as (server, m):
        assert (m.metric_type("x"), m.metric_unit("x")) == (None, None)
    assert len(server.seen) == 1


def test_metadata_reads_the_first_entry_only() -> None:
    entries = {"x": [{"type": "histogram", "unit": "seconds"}, {"type": "counter", "unit": "bytes"}]}
    with scripted(Reply(body=success(entries))) as (_, m):
        assert (m.metric_type("x"), m.metric_unit("x")) == ("histogram", "seconds")


def test_the_metadata_kept_is_bounded_and_starts_again_when_full() -> None:
    """1,024 names' metadata are kept; the 1,025th starts the store again (memory stays bounded)."""
    with scripted(Reply(body=success({}))) as (server, m):
        for n in range(1025):
            m.metric_type(f"m{n}")
        assert len(server.seen) == 1025
        m.metric_type("m1024")  # kept: asked after the store started again
        assert len(server.seen) == 1025
        m.metric_type("m0")  # dropped when the store was full
        assert len(server.seen) == 1026


def test_exemplars_asks_for_the_window_and_keeps_five_by_default() -> None:
    exemplars = [{"labels": {"trace_id": f"t{n}"}, "value": "1", "timestamp": float(n)} for n in range(7)]
    with scripted(Reply(body=success([{"seriesLabels": {}, "exemplars": exemplars}]))) as (server, m):
        assert m.exemplars("lat_bucket", T, T.replace(hour=13)) == ["t6", "t5", "t4", "t3", "t2"]
    (seen,) = server.seen
    assert (seen.path, seen.query) == (
        "/api/v1/query_exemplars",
        {"query": ["lat_bucket"], "start": ["1714564800.000"], "end": ["1714568400.000"]},
    )


def test_a_query_of_exactly_the_get_limit_goes_by_get() -> None:
    """`query=...&time=...` of 4,096 bytes still fits a URL; one byte more goes as a form (which the scripted
    server, answering GET only, refuses)."""
    fixed = len("query=&time=1714564800.000")
    with scripted(Reply(body=success({"resultType": "vector", "result": []}))) as (server, m):
        m.instant("u" * (4096 - fixed), T)
        with pytest.raises(BackendUnavailable, match="HTTP 501"):
            m.instant("u" * (4097 - fixed), T)
    assert [len(s.query["query"][0]) for s in server.seen] == [4096 - fixed]


def test_a_query_posted_as_a_form_is_retried_like_one_sent_by_get() -> None:
    """A query past the GET limit goes as a form: a read all the same, so a 5xx is retried as for a GET."""
    replies = [Reply(503, "busy"), Reply(body=success({"resultType": "vector", "result": []}))]
    with scripted(*replies, retries=1, backoff_seconds=0) as (server, m):
        handler: Any = server._http.RequestHandlerClass
        handler.do_POST = handler.do_GET  # this server takes forms too (the body is not read)
        m.instant("u" * 5000, T)
    assert [seen.path for seen in server.seen] == ["/api/v1/query"] * 2


def test_a_retry_after_wait_does_not_eat_the_next_attempts_deadline() -> None:
    """429 with Retry-After: 1, then an answer 0.5 s slow under a 0.8 s deadline: the second attempt's deadline
    starts after the wait, so it is answered."""
    replies = [Reply(429, "slow down", headers={"Retry-After": "1"}), Reply(body=success([]), delay=0.5)]
    with scripted(*replies, retries=1, backoff_seconds=0, timeout_seconds=0.8) as (server, m):
        assert m.label_names("up", T, T) == frozenset()
    assert len(server.seen) == 2


# -- what each request carries, and how a failed exchange is named --------------------------------------------------


def test_every_request_asks_for_json_and_a_user_without_a_password_sends_an_empty_one() -> None:
    with scripted(Reply(body=success([])), username="grafana") as (server, m):
        m.label_names("up", T, T)
    (seen,) = server.seen
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"grafana:").decode()


def test_the_health_checks_fallback_query_carries_the_connections_params() -> None:
    replies = [Reply(404, "404 page not found"), Reply(body=success({"resultType": "scalar", "result": [0, "1"]}))]
    with scripted(*replies, params={"tenant": "a"}) as (server, m):
        m.ping()
    buildinfo, query = server.seen
    assert (buildinfo.path, buildinfo.query) == ("/api/v1/status/buildinfo", {"tenant": ["a"]})
    assert query.path == "/api/v1/query"
    assert query.query["query"] == ["1"] and query.query["tenant"] == ["a"]
    assert abs(float(query.query["time"][0]) - time.time()) < 60


def test_the_health_checks_fallback_query_goes_with_the_connections_credentials_and_deadline() -> None:
    """The fallback query is sent by the library's client on the adapter's own session: with the bearer token,
    and cut at the connection's deadline (not the default 30 s)."""
    scalar = success({"resultType": "scalar", "result": [0, "1"]})
    with scripted(Reply(404, "404 page not found"), Reply(body=scalar), bearer_token="tok-s3cr3t") as (server, m):
        m.ping()
    assert [seen.headers.get("Authorization") for seen in server.seen] == ["Bearer tok-s3cr3t"] * 2
    slow = [Reply(404, "404 page not found"), Reply(body=scalar, delay=0.6)]
    with scripted(*slow, timeout_seconds=0.2) as (server, m), pytest.raises(BackendUnavailable) as raised:
        m.ping()
    assert str(raised.value) == f"{server.url} health check failed: timed out"


def test_a_backend_slower_than_the_deadline_has_timed_out() -> None:
    slow = scripted(Reply(body=success([]), delay=0.6), timeout_seconds=0.2)
    with slow as (server, m), pytest.raises(BackendUnavailable) as raised:
        m.label_names("up", T, T)
    assert str(raised.value) == f"{server.url}/api/v1/labels: timed out (query: up)"


def test_a_backend_that_hangs_up_without_answering_is_named_by_the_failure_alone() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            client.recv(65536)
            client.close()

    threading.Thread(target=hang_up, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with (
            PrometheusMetrics(PrometheusConnection(url=url, retries=0)) as m,
            pytest.raises(BackendUnavailable) as raised,
        ):
            m.label_names("up", T, T)
        assert str(raised.value) == f"{url}/api/v1/labels: ConnectionError (query: up)"
    finally:
        listener.close()


def test_retries_back_off_by_the_configured_factor() -> None:
    """urllib3 sends the first retry at once and waits factor x 2 before the second."""
    replies = [Reply(503, "busy"), Reply(503, "busy"), Reply(body=success([]))]
    with scripted(*replies, retries=2, backoff_seconds=0.3) as (server, m):
        started = time.monotonic()
        assert m.label_names("up", T, T) == frozenset()
        assert time.monotonic() - started >= 0.6
    assert len(server.seen) == 3


def test_the_catalogues_requests_carry_the_selector_and_the_window_and_its_errors_the_selector() -> None:
    end = T.replace(hour=13)
    window = {"start": ["1714564800.000"], "end": ["1714568400.000"]}
    with scripted(Reply(body=success(["a"]))) as (server, m):
        assert m.metric_names("{job='x'}", T, end) == {"a"}
        assert m.label_values("Zone_A1", "{job='x'}", T, end) == {"a"}  # capitals and digits: a label name
    assert [(s.path, s.query) for s in server.seen] == [
        ("/api/v1/label/__name__/values", {"match[]": ["{job='x'}"], **window}),
        ("/api/v1/label/Zone_A1/values", {"match[]": ["{job='x'}"], **window}),
    ]
    with scripted(Reply(body=success({"not": "a list"}))) as (_, m):
        for call in (
            lambda: m.metric_names("sel", T, T),
            lambda: m.label_values("job", "sel", T, T),
            lambda: m.label_names("sel", T, T),
        ):
            with pytest.raises(BackendUnavailable) as raised:
                call()
            assert str(raised.value) == "malformed response: data is not a list of names (query: sel)"
    failing = {"status": "error", "errorType": "internal", "error": "down"}
    with scripted(Reply(500, failing)) as (_, m):
        for call, query in [
            (lambda: m.label_values("job", "sel", T, T), "sel"),
            (lambda: m.exemplars("lat", T, T), "lat"),
            (lambda: m.features(), "features"),
        ]:
            with pytest.raises(BackendUnavailable) as raised:
                call()
            assert str(raised.value) == f"backend failed (HTTP 500 internal): down (query: {query})"
    with scripted() as (_, m), pytest.raises(QueryRejected) as rejected:
        m.label_values("a-b", "sel", T, T)
    assert str(rejected.value) == "'a-b' is not a label name the values API takes (query: sel)"


def test_each_query_call_names_its_query_in_its_errors() -> None:
    start, end = T, T.replace(hour=13)
    failing = {"status": "error", "errorType": "internal", "error": "down"}
    with scripted(Reply(500, failing)) as (server, m):
        for call in (lambda: m.range("rate(x[5m])", start, end, 60), lambda: m.metric_type("rate(x[5m])")):
            with pytest.raises(BackendUnavailable) as raised:
                call()
            assert str(raised.value) == "backend failed (HTTP 500 internal): down (query: rate(x[5m]))"
    malformed = success({"resultType": "weird", "result": []})
    with scripted(Reply(body=malformed)) as (_, m):
        for call in (lambda: m.instant("rate(x[5m])", start), lambda: m.range("rate(x[5m])", start, end, 60)):
            with pytest.raises(BackendUnavailable) as raised:
                call()
            assert str(raised.value) == "malformed response: unknown resultType 'weird' (query: rate(x[5m]))"
    with scripted() as (server, m), pytest.raises(QueryRejected) as rejected:
        m.range("rate(x[5m])", end, start, 60)
    assert rejected.value.query == "rate(x[5m])"
    with scripted(Reply(body=success(["job"]))) as (server, m):
        assert m.label_names("{job='x'}", start, end) == {"job"}
    assert server.seen[0].query == {"match[]": ["{job='x'}"], "start": ["1714564800.000"], "end": ["1714568400.000"]}


def test_a_four_character_secret_is_masked_too() -> None:
    echo = {"status": "error", "errorType": "internal", "error": "org abcd denied"}
    echoing = scripted(Reply(500, echo), headers={"X-Scope-OrgID": "abcd"})
    with echoing as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.instant("up", T)
    assert str(raised.value) == "backend failed (HTTP 500 internal): org ********** denied (query: up)"
