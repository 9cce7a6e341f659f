"""The real OpenTelemetry Python SDK, exported as users export it, judged by configs written with OTel names.

One meter provider records a histogram (`s`), a counter (`{order}`), an up-down counter (`{request}`) and two
gauges (`By`, `1`), each for a held case and a regressed case (attribute `case`). Its Prometheus exporter is
scraped every second by a real Prometheus and a real VictoriaMetrics; its remote-write exporter writes into
another Prometheus (`--web.enable-remote-write-receiver`) and VictoriaMetrics. Every config written with the
instrument's OTel name and unit must reach the verdict the same condition reaches as hand-made PromQL over the
names the exporter really produced, and the verdict known before the run.

The counter starts at 1000 before the window and then grows slowly (held) or fast (regressed): averaging its
cumulative value, the old bug, would fail the held case. The remote-write exporter's histogram buckets are not
cumulative (a fault of that exporter): INCONCLUSIVE, never a verdict.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.exporter.prometheus_remote_write import PrometheusRemoteWriteMetricsExporter
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, start_http_server

from tests.integration.backends import PrometheusServer, VictoriaMetricsServer, free_port
from tests.integration.remote_write import push, series
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.domain.metric import DELTA_NOTE
from verifier.services.evaluate import evaluate_text

pytestmark = pytest.mark.integration

WINDOW_SECONDS = 10
RECORD_SECONDS = 16  # the counter's first 1000 lands seconds before the judged window
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# (OTel name, unit, condition, held value, regressed value): gauges and the up-down counter are set to the value;
# the counter grows by it every tick; the histogram records it.
GAUGE_LIKE = [
    ("http.server.active_requests", "{request}", "< 10", 3, 40),
    ("process.memory.usage", "By", "< 512MiB", 100 * 2**20, 900 * 2**20),
    ("system.cpu.utilization", "1", "< 80%", 0.3, 0.95),
]
COUNTER = ("app.orders.failed", "{order}", "< 100", 1, 40)
FLAT = ("app.orders.flat", "{order}", "< 1")  # grows for the first seconds, then never in the judged window
FLAT_SECONDS = 2
DELTA = ("app.orders.delta", "{order}", "< 100", 1, 40)  # exported with delta temporality
SWING_TICKS = 4  # gauges and the up-down counter move every 2 s, so their history shows they fall
HISTOGRAM = ("http.server.request.duration", "s", "< 250ms p99", 0.02, 0.8)

# What the exporters really produce: the names hand-made PromQL is written with.
SCRAPED = {
    "http.server.active_requests": "http_server_active_requests",
    "process.memory.usage": "process_memory_usage_bytes",
    "system.cpu.utilization": "system_cpu_utilization",
    "app.orders.failed": "app_orders_failed_total",
    "http.server.request.duration": "http_server_request_duration_seconds_bucket",
}
REMOTE_WRITTEN = {
    "http.server.active_requests": "http_server_active_requests__request_",
    "process.memory.usage": "process_memory_usage_By",
    "system.cpu.utilization": "system_cpu_utilization_1",
    "app.orders.failed": "app_orders_failed__order_",
}
EXPECTED = {"held": "VERIFIED", "regressed": "FAILED"}


class Recording:
    """The SDK, its exporters and the four backends; `end` is the judged window's end once recorded."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.registry = CollectorRegistry()
        scrape = [f"127.0.0.1:{self.port}"]
        vm_scrape = workdir / "vm-scrape.yml"
        vm_scrape.write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sdk\n"
            f"    static_configs:\n      - targets: [{json.dumps(scrape[0])}]\n"
        )
        self.scraped = {
            "prometheus": PrometheusServer(workdir / "prom-scrape", scrape_targets=scrape),
            "victoriametrics": VictoriaMetricsServer(
                workdir / "vm-scrape", extra_args=[f"-promscrape.config={vm_scrape}"]
            ),
        }
        self.written = {
            "prometheus": PrometheusServer(workdir / "prom-rw", extra_args=["--web.enable-remote-write-receiver"]),
            "victoriametrics": VictoriaMetricsServer(workdir / "vm-rw"),
        }
        self.delta_provider: MeterProvider | None = None
        self.end = datetime.now(UTC)

    def servers(self) -> list[PrometheusServer | VictoriaMetricsServer]:
        return [*self.scraped.values(), *self.written.values()]

    def record(self) -> None:
        server, thread = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)
        readers: list[Any] = [PrometheusMetricReader(registry=self.registry)]
        for backend in self.written.values():
            exporter = PrometheusRemoteWriteMetricsExporter(endpoint=f"{backend.root}/api/v1/write")
            readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=1000))
        view = View(instrument_name=HISTOGRAM[0], aggregation=ExplicitBucketHistogramAggregation(BUCKETS))
        resource = Resource.create({"service.name": "checkout"})
        provider = MeterProvider(metric_readers=readers, resource=resource, views=[view])
        delta = {Counter: AggregationTemporality.DELTA}
        delta_readers = [
            PeriodicExportingMetricReader(
                PrometheusRemoteWriteMetricsExporter(
                    endpoint=f"{backend.root}/api/v1/write", preferred_temporality=delta
                ),
                export_interval_millis=1000,
            )
            for backend in self.written.values()
        ]
        self.delta_provider = MeterProvider(metric_readers=delta_readers, resource=resource)
        try:
            self._drive(provider)
        finally:
            provider.shutdown()
            self.delta_provider.shutdown()
            server.shutdown()
            thread.join(5)

    def _drive(self, provider: MeterProvider) -> None:
        meter = provider.get_meter("aiv.test", "1.0")
        counter = meter.create_counter(COUNTER[0], unit=COUNTER[1])
        flat = meter.create_counter(FLAT[0], unit=FLAT[1])
        assert self.delta_provider is not None
        delta = self.delta_provider.get_meter("aiv.test", "1.0").create_counter(DELTA[0], unit=DELTA[1])
        histogram = meter.create_histogram(HISTOGRAM[0], unit=HISTOGRAM[1])
        up_down = meter.create_up_down_counter(GAUGE_LIKE[0][0], unit=GAUGE_LIKE[0][1])
        gauges = [meter.create_gauge(name, unit=unit) for name, unit, *_ in GAUGE_LIKE[1:]]
        for case in EXPECTED:
            counter.add(1000, {"case": case})
            flat.add(1000, {"case": case})
            up_down.add(_value(GAUGE_LIKE[0], case), {"case": case})
        started = time.monotonic()
        tick = 0
        while time.monotonic() - started < RECORD_SECONDS:
            swing = (tick // SWING_TICKS) % 2  # 0 or 1: real gauges move, and so their history says gauge
            for case in EXPECTED:
                counter.add(_value(COUNTER, case), {"case": case})
                delta.add(_value(DELTA, case), {"case": case})
                if time.monotonic() - started < FLAT_SECONDS:
                    flat.add(5, {"case": case})
                if tick % SWING_TICKS == 0 and tick:
                    up_down.add(1 if swing else -1, {"case": case})
                for _ in range(20):
                    histogram.record(_value(HISTOGRAM, case), {"case": case})
                for gauge, spec in zip(gauges, GAUGE_LIKE[1:], strict=True):
                    gauge.set(_value(spec, case) * (0.9 if swing else 1.0), {"case": case})
            tick += 1
            time.sleep(0.5)
        self.end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        time.sleep(2)  # the last scrapes and remote writes land
        for backend in self.written.values():
            push(f"{backend.root}/api/v1/write", self.as_prometheus_3_stores_them())
        for backend in self.servers():
            if isinstance(backend, VictoriaMetricsServer):
                requests.get(f"{backend.root}/internal/force_flush", timeout=10).raise_for_status()

    def as_prometheus_3_stores_them(self) -> list[bytes]:
        """What no exporter in the test dependencies writes, as Prometheus 3 stores OTLP by default or with
        `type-and-unit-labels`: resource identity only as `job`/`instance` (with a `target_info` that does not
        repeat it), and `__type__`/`__unit__` labels. A sample a second over the last 15 s."""
        end_ms = int(self.end.timestamp() * 1000)
        times = [end_ms - 1000 * i for i in range(15, -1, -1)]
        written = [series({"__name__": "target_info", **IDENTITY, "host_name": "h1"}, [(1.0, t) for t in times])]
        for case in EXPECTED:
            waits = {"held": 100.0, "regressed": 400.0}[case]  # milliseconds: a condition `< 250ms`
            labels = {"__type__": "gauge", "__unit__": "milliseconds", "case": case}
            written.append(series({"__name__": "queue_wait", **labels}, [(waits, t) for t in times]))
            step = _value(COUNTER, case)
            orders = [(1000.0 + step * i, t) for i, t in enumerate(times)]
            written.append(series({"__name__": "app_orders_total", **IDENTITY, "case": case}, orders))
        typed = {"__name__": "jobs_done", "__type__": "counter", "case": "held"}
        written.append(series(typed, [(1000.0, t) for t in times]))  # a counter that did not move
        return written


IDENTITY = {"job": "shop/checkout", "instance": "10.0.0.7:8080"}  # service.namespace/service.name, instance.id


def _value(spec: tuple[Any, ...], case: str) -> Any:
    return spec[3] if case == "held" else spec[4]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    rec = Recording(tmp_path_factory.mktemp("otel-sdk"))
    started: list[PrometheusServer | VictoriaMetricsServer] = []
    try:
        for server in rec.servers():
            server.start()
            started.append(server)
        rec.record()
        yield rec
    finally:
        for server in started:
            server.stop()


def judge(recording: Recording, url: str, config: dict[str, Any]) -> dict[str, Any]:
    lines = ["# action-item-verifier: v1"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in {"delay": "10s", "window": "10s", **config}.items()]
    text = "```yaml\n" + "\n".join(lines) + "\n```\n"
    with PrometheusMetrics(PrometheusConnection(url=url)) as metrics:
        return evaluate_text(
            text, metrics, resolved_at=recording.end - timedelta(seconds=WINDOW_SECONDS), now=recording.end
        )


def handmade(name: str, kind: str, case: str) -> str:
    selector = f'{name}{{case="{case}"}}[$window]'
    if kind == "histogram":
        return f"histogram_quantile(0.99, sum by (le) (increase({selector})))"
    return f"sum(increase({selector}))" if kind == "counter" else f"avg_over_time({selector})"


CASES = [(spec, "gauge") for spec in GAUGE_LIKE] + [(COUNTER, "counter"), (HISTOGRAM, "histogram")]


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
@pytest.mark.parametrize("case", list(EXPECTED))
@pytest.mark.parametrize(("spec", "kind"), CASES, ids=[spec[0] for spec, _ in CASES])
def test_scraped_otel_names_reach_the_handmade_verdict(
    recording: Recording, backend: str, case: str, spec: tuple[Any, ...], kind: str
) -> None:
    name, unit, condition = spec[:3]
    url = recording.scraped[backend].url
    otel = judge(recording, url, {"metric": name, "unit": unit, "condition": condition, "labels": {"case": case}})
    promql_condition = condition.removesuffix(" p99")
    by_hand = judge(recording, url, {"metric": handmade(SCRAPED[name], kind, case), "condition": promql_condition})
    assert (otel["verdict"], by_hand["verdict"]) == (EXPECTED[case], EXPECTED[case]), (otel, by_hand)
    assert otel["value"] == pytest.approx(by_hand["value"], rel=1e-6)
    assert any(
        note.startswith(f"metric resolved to '{SCRAPED[name].removesuffix('_bucket')}'") for note in otel["notes"]
    )


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
@pytest.mark.parametrize("case", list(EXPECTED))
@pytest.mark.parametrize(("spec", "kind"), CASES[:-1], ids=[spec[0] for spec, _ in CASES[:-1]])
def test_remote_written_otel_names_reach_the_handmade_verdict(
    recording: Recording, backend: str, case: str, spec: tuple[Any, ...], kind: str
) -> None:
    name, unit, condition = spec[:3]
    url = recording.written[backend].url
    otel = judge(recording, url, {"metric": name, "unit": unit, "condition": condition, "labels": {"case": case}})
    by_hand = judge(recording, url, {"metric": handmade(REMOTE_WRITTEN[name], kind, case), "condition": condition})
    assert (otel["verdict"], by_hand["verdict"]) == (EXPECTED[case], EXPECTED[case]), (otel, by_hand)
    assert otel["value"] == pytest.approx(by_hand["value"], rel=1e-6)


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
def test_remote_written_histogram_buckets_are_not_cumulative_so_no_verdict(recording: Recording, backend: str) -> None:
    name, unit, condition = HISTOGRAM[:3]
    for case in EXPECTED:
        labels = {"case": case}
        otel = judge(
            recording,
            recording.written[backend].url,
            {"metric": name, "unit": unit, "condition": condition, "labels": labels},
        )
        assert otel["verdict"] == "INCONCLUSIVE", otel
        assert otel["reason"].startswith("the histogram's buckets are not cumulative"), otel


@pytest.mark.parametrize("path", ["scraped", "written"])
@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
def test_resource_attribute_labels(recording: Recording, path: str, backend: str) -> None:
    """`service.name` matches the promoted `service_name` (remote write) or target_info (scraped)."""
    url = getattr(recording, path)[backend].url
    name, unit, condition = COUNTER[:3]
    for service, verdict in (("checkout", "FAILED"), ("elsewhere", "INCONCLUSIVE")):
        labels = {"case": "regressed", "service.name": service}
        otel = judge(recording, url, {"metric": name, "unit": unit, "condition": condition, "labels": labels})
        assert otel["verdict"] == verdict, otel


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
def test_a_remote_written_counter_flat_over_the_window_is_verified_never_averaged(
    recording: Recording, backend: str
) -> None:
    """The remote-write exporter writes the counter without `_total`, and no metadata: its history over a day
    shows it only rose, so its increase in the window (0) is judged, not its running total (over 1000)."""
    name, unit, condition = FLAT
    url = recording.written[backend].url
    otel = judge(recording, url, {"metric": name, "unit": unit, "condition": condition, "labels": {"case": "held"}})
    assert (otel["verdict"], otel["value"]) == ("VERIFIED", 0), otel
    assert otel["query"] == 'sum(increase(app_orders_flat__order_{case="held"}[10s]))'
    assert "type inferred: no type metadata, and it only rose over the last 24h" in otel["notes"][0]
    averaged = judge(
        recording,
        url,
        {"metric": 'avg_over_time(app_orders_flat__order_{case="held"}[$window])', "condition": condition},
    )
    assert averaged["verdict"] == "FAILED" and averaged["value"] > 1000  # what reading it as a gauge would do


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
def test_a_remote_written_up_down_counter_is_a_gauge_by_its_history(recording: Recording, backend: str) -> None:
    name, unit, condition = GAUGE_LIKE[0][:3]
    for case, verdict in EXPECTED.items():
        labels = {"case": case}
        otel = judge(
            recording,
            recording.written[backend].url,
            {"metric": name, "unit": unit, "condition": condition, "labels": labels},
        )
        assert otel["verdict"] == verdict, otel
        assert otel["query"] == f'avg_over_time(http_server_active_requests__request_{{case="{case}"}}[10s])'
        assert "type inferred: no type metadata, and it fell" in otel["notes"][0]


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
@pytest.mark.parametrize("case", list(EXPECTED))
def test_a_delta_temporality_counter_is_summed_over_time(recording: Recording, backend: str, case: str) -> None:
    """The SDK exports per-interval values; `temporality: delta` sums them (increase() would read the sums of
    intervals as a running total)."""
    name, unit, condition = DELTA[:3]
    url = recording.written[backend].url
    config = {"metric": name, "unit": unit, "condition": condition, "labels": {"case": case}}
    otel = judge(recording, url, {**config, "temporality": "delta"})
    handmade = f'sum(sum_over_time(app_orders_delta__order_{{case="{case}"}}[$window]))'
    by_hand = judge(recording, url, {"metric": handmade, "condition": condition})
    assert (otel["verdict"], by_hand["verdict"]) == (EXPECTED[case], EXPECTED[case]), (otel, by_hand)
    assert otel["value"] == pytest.approx(by_hand["value"]) and otel["value"] > 0
    assert otel["query"] == f'sum(sum_over_time(app_orders_delta__order_{{case="{case}"}}[10s]))'
    assert DELTA_NOTE in otel["notes"]


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
def test_series_carrying_type_and_unit_labels(recording: Recording, backend: str) -> None:
    """`__unit__="milliseconds"` makes `< 250ms` compare with 250 (not 0.25 seconds, assumed without it);
    `__type__="counter"` makes a counter that did not move a counter without asking its history."""
    url = recording.written[backend].url
    for case, verdict in EXPECTED.items():
        otel = judge(recording, url, {"metric": "queue.wait", "condition": "< 250ms", "labels": {"case": case}})
        assert (otel["verdict"], otel["value"]) == (verdict, 100 if case == "held" else 400), otel
        assert otel["notes"][0].endswith("; type from its __type__ label; unit from its __unit__ label)")
    flat = judge(recording, url, {"metric": "jobs.done", "condition": "< 1", "labels": {"case": "held"}})
    assert (flat["verdict"], flat["value"]) == ("VERIFIED", 0), flat
    assert "type from its __type__ label" in flat["notes"][0]


@pytest.mark.parametrize("backend", ["prometheus", "victoriametrics"])
def test_service_name_only_as_job(recording: Recording, backend: str) -> None:
    """Prometheus 3's OTLP default: `service.namespace/service.name` is `job`, `service.instance.id` is
    `instance`, and `target_info` does not repeat them."""
    url = recording.written[backend].url
    name, unit, condition = "app.orders", "{order}", "< 100"
    identity = {"service.name": "checkout", "service.namespace": "shop", "service.instance.id": "10.0.0.7:8080"}
    for labels, verdict in (
        ({**identity, "case": "regressed"}, "FAILED"),
        ({**identity, "case": "held"}, "VERIFIED"),
        ({**identity, "service.name": "elsewhere", "case": "regressed"}, "INCONCLUSIVE"),
    ):
        otel = judge(recording, url, {"metric": name, "unit": unit, "condition": condition, "labels": labels})
        assert otel["verdict"] == verdict, otel
        job = f"shop/{labels['service.name']}"
        assert otel["query"] == (
            f'sum(increase(app_orders_total{{case="{labels["case"]}",instance="10.0.0.7:8080",job="{job}"}}[10s]))'
        )
