"""The Prometheus adapter against real Prometheus 2.42 and VictoriaMetrics 1.79, and scripted local servers.

Scripted servers (backends.ScriptedServer) stand in where a real backend will not misbehave on demand:
warnings (Thanos partial responses), 5xx bursts, 429, malformed JSON, slow answers, and checking the headers
the adapter sends.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.integration.backends import (
    History,
    MetricsBackend,
    PrometheusServer,
    Pushgateway,
    Reply,
    ScriptedServer,
    free_port,
    quiet_anchor,
    require_binary,
    switch,
)
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.errors import BackendUnavailable, QueryRejected

pytestmark = pytest.mark.integration

ANCHOR = quiet_anchor()  # histories end here, hours before now
FIX = ANCHOR - timedelta(hours=1)  # the scenario's fix: latency drops from here on
T = ANCHOR - timedelta(minutes=30)  # a time to query, well inside the history


@pytest.fixture(scope="module")
def history() -> History:
    h = History(start=ANCHOR - timedelta(hours=2), end=ANCHOR)
    h.gauge("aiv_gauge", 1.5, {"instance": "a"}).gauge("aiv_gauge", 2.5, {"instance": "b"})
    h.gauge("aiv_infinite", math.inf)
    h.counter("aiv_requests_total", 60, {"code": "200"}).counter("aiv_requests_total", 6, {"code": "500"})
    h.counter("aiv_idle_total", 0)
    slow, fast = {0.3: 50, 1.2: 50}, {0.03: 99, 0.3: 1}
    h.histogram("aiv_latency_seconds", switch(FIX, slow, fast), labels={"service": "checkout"})
    return h


def adapter(url: str, **settings: object) -> PrometheusMetrics:
    return PrometheusMetrics(PrometheusConnection.model_validate({"url": url, **settings}))


@contextmanager
def scripted(
    *replies: Reply, prefix: str = "", **settings: object
) -> Iterator[tuple[ScriptedServer, PrometheusMetrics]]:
    """A scripted server and an adapter pointed at it."""
    with ScriptedServer(*replies) as server, adapter(server.url + prefix, **settings) as m:
        yield server, m


@pytest.fixture
def metrics(backend: MetricsBackend) -> Iterator[PrometheusMetrics]:
    with adapter(backend.url) as m:
        yield m


def values(measurement: object) -> list[list[float]]:
    return [[v for _, v in s.points] for s in measurement.series]  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ real backends


def test_instant_vector_with_several_series(metrics: PrometheusMetrics) -> None:
    m = metrics.instant("aiv_gauge", T)
    assert [s.labels for s in m.series] == [
        (("__name__", "aiv_gauge"), ("instance", "a")),
        (("__name__", "aiv_gauge"), ("instance", "b")),
    ]
    assert [s.points for s in m.series] == [((T.timestamp(), 1.5),), ((T.timestamp(), 2.5),)]
    assert m.warnings == ()


def test_scalar(metrics: PrometheusMetrics, backend: MetricsBackend) -> None:
    # Prometheus answers resultType "scalar"; VictoriaMetrics a vector of one series without labels.
    m = metrics.instant("scalar(sum(aiv_gauge))", T)
    assert [(s.labels, s.points) for s in m.series] == [((), ((T.timestamp(), 4.0),))]


def test_range_matrix(metrics: PrometheusMetrics) -> None:
    start = ANCHOR - timedelta(minutes=60)
    m = metrics.range('rate(aiv_requests_total{code="200"}[5m])', start, start + timedelta(minutes=10), 60)
    assert [s.labels for s in m.series] == [(("code", "200"),)]
    assert [t for t, _ in m.series[0].points] == [start.timestamp() + 60 * i for i in range(11)]
    assert values(m) == [[pytest.approx(1.0)] * 11]


def test_zero_over_zero_is_nan_on_prometheus_and_dropped_by_victoriametrics(
    metrics: PrometheusMetrics, backend: MetricsBackend
) -> None:
    ratio = metrics.instant("rate(aiv_idle_total[5m]) / rate(aiv_idle_total[5m])", T)
    literal = metrics.instant("0/0", T)
    if backend.name == "prometheus":
        assert len(ratio.series) == 1
        assert math.isnan(ratio.series[0].points[0][1])
        assert math.isnan(literal.series[0].points[0][1])
    else:  # VictoriaMetrics removes NaN points from query results
        assert ratio.series == ()
        assert literal.series == ()


def test_infinities(metrics: PrometheusMetrics) -> None:
    assert values(metrics.instant("sum(aiv_gauge) / 0", T)) == [[math.inf]]
    assert values(metrics.instant("-sum(aiv_gauge) / 0", T)) == [[-math.inf]]
    assert values(metrics.instant("aiv_infinite", T)) == [[math.inf]]


def test_empty_result(metrics: PrometheusMetrics) -> None:
    assert metrics.instant("aiv_no_such_metric", T).series == ()
    assert metrics.range("aiv_no_such_metric", T - timedelta(minutes=5), T, 60).series == ()


def test_nothing_after_the_history_ends(metrics: PrometheusMetrics) -> None:
    # Both look back 5 minutes at most for a 60 s series: an hour after its last sample it is gone.
    assert metrics.instant("aiv_gauge", ANCHOR + timedelta(hours=1)).series == ()


def test_latency_histogram_before_and_after_the_fix(metrics: PrometheusMetrics) -> None:
    query = "histogram_quantile(0.99, sum by (le) (rate(aiv_latency_seconds_bucket[5m])))"
    (before,) = values(metrics.instant(query, FIX - timedelta(minutes=10)))
    (after,) = values(metrics.instant(query, FIX + timedelta(minutes=10)))
    assert before[0] > 1.0
    assert after[0] < 0.3
    count = values(metrics.instant("sum(increase(aiv_latency_seconds_count[10m]))", T))
    assert count[0][0] == pytest.approx(1000, rel=0.15)  # 100 requests a minute; extrapolation differs


def test_bad_promql_is_rejected_with_the_backends_message(metrics: PrometheusMetrics, backend: MetricsBackend) -> None:
    with pytest.raises(QueryRejected) as caught:
        metrics.instant("rate(aiv_gauge", T)
    assert caught.value.query == "rate(aiv_gauge"
    text = str(caught.value)
    assert ("parse error" in text) if backend.name == "prometheus" else ("unparsed data" in text)
    assert "(query: rate(aiv_gauge)" in text


def test_string_result_is_rejected(metrics: PrometheusMetrics, backend: MetricsBackend) -> None:
    if backend.name == "prometheus":
        with pytest.raises(QueryRejected, match="string"):
            metrics.instant('"abc"', T)
    else:  # VictoriaMetrics answers a string literal with an empty vector
        assert metrics.instant('"abc"', T).series == ()


def test_range_point_limit_matches_the_backend(metrics: PrometheusMetrics) -> None:
    start = ANCHOR - timedelta(hours=4)
    metrics.range("aiv_gauge", start, start + timedelta(seconds=11_000), 1)  # 11,001 points: accepted
    with pytest.raises(QueryRejected, match="11,000"):
        metrics.range("aiv_gauge", start, start + timedelta(seconds=11_001), 1)


def test_extra_params_and_query_timeout_are_accepted(backend: MetricsBackend) -> None:
    params = {"partial_response": "false", "nocache": "1"}
    with adapter(backend.url, params=params, query_timeout="20s") as m:
        assert len(m.instant("aiv_gauge", T).series) == 2


def test_ping(metrics: PrometheusMetrics) -> None:
    metrics.ping()


def test_backfilled_data_has_no_exemplars(metrics: PrometheusMetrics) -> None:
    # Exemplars come only from scrapes or remote write (see the scraping Prometheus below); VictoriaMetrics
    # 1.79 stores none and answers the endpoint with an empty list.
    assert metrics.exemplars("aiv_latency_seconds_bucket", T - timedelta(minutes=5), T, 5) == []


# ------------------------------------------------- Prometheus with a route prefix, scraping exemplars


EXPOSITION = """# TYPE aiv_live_seconds histogram
aiv_live_seconds_bucket{{le="0.5"}} 3 # {{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}} 0.3 {t}
aiv_live_seconds_bucket{{le="+Inf"}} 4 # {{traceID="00f067aa0ba902b7"}} 2.0 {t2}
aiv_live_seconds_count 4
aiv_live_seconds_sum 2.9
# EOF
"""


@pytest.fixture(scope="module")
def prefixed_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Prometheus at /prometheus with exemplar storage, scraping a server that exposes exemplars every second."""
    now = time.time()
    body = EXPOSITION.format(t=f"{now:.3f}", t2=f"{now + 0.5:.3f}")
    content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    with ScriptedServer(Reply(body=body, headers={"Content-Type": content_type})) as target:
        server = PrometheusServer(
            Path(tmp_path_factory.mktemp("prometheus-prefixed")),
            route_prefix="/prometheus",
            scrape_targets=[target.url.removeprefix("http://")],
            features=["exemplar-storage"],
        )
        with server:
            yield server


@pytest.fixture(scope="module", autouse=True)
def _start_scraping_early(prefixed_prometheus: PrometheusServer) -> None:
    """Prometheus takes ~5 s to apply scrape targets: start it first, so the wait overlaps other tests."""


def test_path_prefix(prefixed_prometheus: PrometheusServer) -> None:
    assert prefixed_prometheus.url.endswith("/prometheus")
    with adapter(prefixed_prometheus.url + "/") as m:
        m.ping()
        assert m.instant("vector(7)", datetime.now(UTC)).series[0].points[0][1] == 7
    with adapter(prefixed_prometheus.root) as m, pytest.raises(BackendUnavailable, match="404"):
        m.instant("vector(7)", datetime.now(UTC))


# --------------------------------------------------------------------------------- transport and errors


def test_backend_down_fails_fast() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with adapter(f"http://127.0.0.1:{port}", retries=1, backoff_seconds=0.01) as m:
        with pytest.raises(BackendUnavailable, match="Connection refused") as caught:
            m.instant("up", T)
        with pytest.raises(BackendUnavailable, match=r"health check failed: .*Connection refused"):
            m.ping()
    assert time.monotonic() - started < 3
    assert caught.value.query == "up"


def test_what_we_send_bearer_headers_params_and_time() -> None:
    settings = {
        "bearer_token": "tok-123",
        "headers": {"X-Scope-OrgID": "team-a"},
        "params": {"partial_response": "false"},
    }
    with scripted(Reply(body=vector()), prefix="/prefix", **settings) as (server, m):
        m.instant("up", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    (seen,) = server.seen
    assert seen.path == "/prefix/api/v1/query"
    assert seen.headers["Authorization"] == "Bearer tok-123"
    assert seen.headers["X-Scope-OrgID"] == "team-a"
    assert seen.query == {"query": ["up"], "time": ["1714564800.000"], "partial_response": ["false"]}


def test_what_we_send_basic_auth_and_range_params() -> None:
    settings = {"username": "grafana", "password": "glc-secret", "query_timeout": "15s"}
    with scripted(Reply(body=matrix()), **settings) as (server, m):
        start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        m.range("up", start, start + timedelta(minutes=5), 30)
    (seen,) = server.seen
    assert seen.path == "/api/v1/query_range"
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"grafana:glc-secret").decode()
    assert seen.query["step"] == ["30"]
    assert seen.query["timeout"] == ["15s"]
    assert seen.query["end"] == ["1714565100.000"]


def test_warnings_are_surfaced() -> None:
    body = {**vector(), "warnings": ["partial response: store gateway unreachable"]}
    with scripted(Reply(body=body)) as (_, m):
        assert m.instant("up", T).warnings == ("partial response: store gateway unreachable",)


def test_5xx_burst_then_success() -> None:
    replies = [Reply(503, "busy"), Reply(502, "<html>bad gateway</html>"), Reply(body=vector())]
    with scripted(*replies, retries=3, backoff_seconds=0.01) as (server, m):
        assert values(m.instant("up", T)) == [[1.0]]
    assert len(server.seen) == 3


def test_persistent_5xx_gives_up_with_the_backends_text() -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
    unavailable = pytest.raises(BackendUnavailable, match=r"HTTP 503 timeout\): query timed out")
    with scripted(Reply(503, body), retries=2, backoff_seconds=0.01) as (server, m), unavailable:
        m.instant("up", T)
    assert len(server.seen) == 3


def test_429_waits_for_retry_after() -> None:
    replies = [Reply(429, "slow down", headers={"Retry-After": "1"}), Reply(body=vector())]
    with scripted(*replies, retries=1, backoff_seconds=0) as (_, m):
        started = time.monotonic()
        m.instant("up", T)
        assert time.monotonic() - started >= 0.9


@pytest.mark.parametrize(
    "reply",
    [Reply(body="{not json"), Reply(body="<html>proxy login</html>"), Reply(body=b"[1, 2]"), Reply(body="")],
    ids=["truncated", "html", "not-an-object", "empty"],
)
def test_malformed_answers_are_unavailable(reply: Reply) -> None:
    with scripted(reply, retries=0) as (_, m), pytest.raises(BackendUnavailable, match="malformed"):
        m.instant("up", T)


def test_slow_answer_times_out() -> None:
    slow = scripted(Reply(body=vector(), delay=0.6), timeout_seconds=0.2, retries=1, backoff_seconds=0)
    with slow as (_, m), pytest.raises(BackendUnavailable, match="timed out"):
        m.instant("up", T)


def test_422_execution_error_is_a_backend_failure_not_a_bad_query() -> None:
    # Mimir answers so when a store fails mid-query: ERROR, tried again next run, never INVALID.
    body = {"status": "error", "errorType": "execution", "error": "store-gateway: context deadline exceeded"}
    with scripted(Reply(422, body), retries=0) as (_, m), pytest.raises(BackendUnavailable, match="store-gateway"):
        m.instant("a / b", T)


def test_422_bad_data_is_rejected() -> None:
    body = {"status": "error", "errorType": "bad_data", "error": "parse error: unexpected end of input"}
    with scripted(Reply(422, body)) as (_, m), pytest.raises(QueryRejected, match="parse error"):
        m.instant("sum(", T)


def test_infos_are_read_apart_from_warnings() -> None:
    info = 'PromQL info: metric might not be a counter, name does not end in _total: "aiv_x"'
    body = {**vector(), "infos": [info]}
    with scripted(Reply(body=body)) as (_, m):
        answer = m.instant("rate(aiv_x[5m])", T)
    assert answer.infos == (info,) and answer.warnings == ()


def test_names_metadata_and_labels_of_the_real_backend(metrics: PrometheusMetrics, backend: MetricsBackend) -> None:
    start, end = ANCHOR - timedelta(hours=1), ANCHOR
    selector = '{__name__=~"aiv_(requests|latency_seconds|nothing)(_bucket|_count|_total)?"}'
    names = metrics.metric_names(selector, start, end)
    assert names == {"aiv_requests_total", "aiv_latency_seconds_bucket", "aiv_latency_seconds_count"}
    assert metrics.metric_names(selector, ANCHOR + timedelta(days=2), ANCHOR + timedelta(days=3)) == frozenset()
    # Backfilled blocks carry no metadata: the API answers, with nothing for the name.
    assert metrics.metric_type("aiv_requests") is None
    assert metrics.label_names("aiv_latency_seconds_bucket", start, end) >= {"__name__", "le", "service"}
    assert metrics.label_values("le", "aiv_latency_seconds_bucket", start, end) >= {"+Inf"}
    assert metrics.label_values("__type__", "aiv_latency_seconds_bucket", start, end) == frozenset()
    assert metrics.metric_unit("aiv_requests") is None
    assert metrics.features() is None  # Prometheus 2.42 and VictoriaMetrics have no /api/v1/features


def test_type_and_unit_come_from_one_metadata_request() -> None:
    body = {"status": "success", "data": {"x": [{"type": "counter", "help": "h", "unit": "seconds"}]}}
    with scripted(Reply(body=body)) as (server, m):
        assert (m.metric_type("x"), m.metric_unit("x")) == ("counter", "seconds")
    assert [(s.path, s.query) for s in server.seen] == [("/api/v1/metadata", {"metric": ["x"], "limit": ["1"]})]


def test_features_as_prometheus_3_lists_them() -> None:
    """The shape of Prometheus 3's `/api/v1/features`: categories of snake_case names to booleans
    (prometheus/prometheus util/features/features.go; the OTLP receiver's `native_delta_ingestion`)."""
    data = {
        "api": {"remote_write_receiver": False, "label_values_match": True},
        "otlp_receiver": {"delta_conversion": False, "native_delta_ingestion": True},
        "odd": "not a mapping",
    }
    with scripted(Reply(body={"status": "success", "data": data})) as (server, m):
        assert m.features() == {
            "api": {"remote_write_receiver": False, "label_values_match": True},
            "otlp_receiver": {"delta_conversion": False, "native_delta_ingestion": True},
        }
        assert m.features() is not None  # asked once per connection
    assert [s.path for s in server.seen] == ["/api/v1/features"]


def test_a_label_name_the_values_api_cannot_take_is_refused_before_sending() -> None:
    with scripted(Reply()) as (server, m), pytest.raises(QueryRejected, match="not a label name"):
        m.label_values("../query", "x", T, T)
    assert server.seen == []


def test_a_long_query_goes_by_post(metrics: PrometheusMetrics) -> None:
    query = " or ".join(f'aiv_gauge{{instance="{i}"}}' for i in ["a", "b", *(f"z{n:04d}" for n in range(300))])
    assert len(query) > 4096
    assert values(metrics.instant(query, T)) == [[1.5], [2.5]]


def test_names_of_a_backend_without_the_api_are_none() -> None:
    with scripted(Reply(404, "404 page not found")) as (_, m):
        assert m.metric_names('{__name__=~"x"}', T, T) is None
        assert m.metric_type("x") is None


def test_unauthorised_is_unavailable_and_leaks_no_secret() -> None:
    with ScriptedServer(Reply(401, "Unauthorized")) as server:
        connection = PrometheusConnection(url=server.url, bearer_token="s3cr3t-token", retries=0)
        with PrometheusMetrics(connection) as m, pytest.raises(BackendUnavailable, match="HTTP 401") as caught:
            m.instant("up", T)
    assert "s3cr3t" not in repr(connection)
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in repr(caught.value)


def test_ping_falls_back_to_a_query_without_buildinfo() -> None:
    replies = [Reply(404, "404 page not found"), Reply(body=vector())]
    with scripted(*replies) as (server, m):
        m.ping()
    assert [s.path for s in server.seen] == ["/api/v1/status/buildinfo", "/api/v1/query"]


def test_nothing_is_sent_for_a_range_over_the_point_limit() -> None:
    with scripted() as (server, m), pytest.raises(QueryRejected, match="at least 2s"):
        m.range("up", T - timedelta(hours=4), T, 1)
    assert server.seen == []


def vector() -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "1"]}]}}


def matrix() -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "matrix", "result": []}}


# Last in the module: by now Prometheus has had time to apply its scrape targets.
def test_exemplars_from_a_real_scrape(prefixed_prometheus: PrometheusServer) -> None:
    with adapter(prefixed_prometheus.url) as m:
        deadline = time.monotonic() + 30
        while True:
            now = datetime.now(UTC)
            found = m.exemplars("aiv_live_seconds_bucket", now - timedelta(minutes=5), now + timedelta(minutes=1))
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert found == ["00f067aa0ba902b7", "4bf92f3577b34da6a3ce929d0e0e4736"]  # newest first
        assert m.exemplars("aiv_live_seconds_bucket", now - timedelta(minutes=5), now + timedelta(minutes=1), 1) == [
            "00f067aa0ba902b7"
        ]


# ------------------------------------------------------------------------------------------------ harness


def test_pushgateway_fixture_accepts_and_exposes_pushed_metrics(pushgateway: Pushgateway) -> None:
    pushed = requests.put(f"{pushgateway.url}/metrics/job/aiv", data="aiv_pushed 3\n", timeout=5)
    assert pushed.status_code == 200
    assert "aiv_pushed" in requests.get(f"{pushgateway.url}/metrics", timeout=5).text


def test_history_renders_openmetrics_for_promtool() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    h = History(start=start, end=start + timedelta(minutes=1)).counter("c_total", 2, {"k": 'a"b'})
    h.histogram("h", {0.2: 1}, buckets=(0.1, 0.5))
    assert h.to_openmetrics().splitlines() == [
        "# TYPE c counter",
        'c_total{k="a\\"b"} 0.0 1704067200.0',
        'c_total{k="a\\"b"} 2.0 1704067260.0',
        "# TYPE h histogram",
        'h_bucket{le="0.1"} 0.0 1704067200.0',
        'h_bucket{le="0.5"} 0.0 1704067200.0',
        'h_bucket{le="+Inf"} 0.0 1704067200.0',
        "h_count 0.0 1704067200.0",
        "h_sum 0.0 1704067200.0",
        'h_bucket{le="0.1"} 0.0 1704067260.0',
        'h_bucket{le="0.5"} 1.0 1704067260.0',
        'h_bucket{le="+Inf"} 1.0 1704067260.0',
        "h_count 1.0 1704067260.0",
        "h_sum 0.2 1704067260.0",
        "# EOF",
    ]
    assert h.to_import_text().splitlines()[1] == 'c_total{k="a\\"b"} 2.0 1704067260000'


def test_a_missing_binary_skips_locally_and_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_binary("aiv-no-such-server")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        require_binary("aiv-no-such-server")


def test_a_short_query_goes_by_get_and_a_long_one_not() -> None:
    long_query = "up or " * 800 + "up"
    with scripted(Reply(body=vector()), retries=0) as (server, m):
        m.instant("up", T)
        with pytest.raises(BackendUnavailable, match="HTTP 501"):  # the scripted server answers GET only
            m.instant(long_query, T)
    assert [seen.query["query"] for seen in server.seen] == [["up"]]


def test_a_null_list_of_names_is_no_names() -> None:
    with scripted(Reply(body={"status": "success", "data": None})) as (_, m):
        assert m.metric_names('{__name__=~"x"}', T, T) == frozenset()
    malformed = scripted(Reply(body={"status": "success", "data": {"x": 1}}), retries=0)
    with malformed as (_, m), pytest.raises(BackendUnavailable, match="not a list of names"):
        m.label_names("x", T, T)
