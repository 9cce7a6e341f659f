"""Series as the OpenTelemetry Collector's `prometheusremotewrite` exporter writes them, into Prometheus's
remote-write receiver and VictoriaMetrics: every instrument kind and unit judged by a config with the OTel name.

The Collector translates as Prometheus's OTLP receiver does by default (unit words, `_total` for counters,
`_ratio` for unit-1 gauges, cumulative `_bucket` series); the names below are written out by hand from its
documentation, not computed by the code under test. The SDK's own remote-write exporter is tested with the real
SDK in test_otel_sdk.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.integration.backends import PrometheusServer, VictoriaMetricsServer
from tests.integration.remote_write import push, series
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.services.evaluate import evaluate_text

pytestmark = pytest.mark.integration

END = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
POINTS = 25  # every 5 s: two minutes ending at END; the judged window is the last minute
BOUNDS = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")
EXPECTED = {"held": "VERIFIED", "regressed": "FAILED"}

# (OTel name, unit, condition, Collector's series name, kind, held, regressed)
CASES = [
    (
        "http.server.request.duration",
        "s",
        "< 250ms p99",
        "http_server_request_duration_seconds",
        "histogram",
        0.02,
        0.8,
    ),
    ("app.orders.failed", "{order}", "< 100", "app_orders_failed_total", "counter", 1, 40),
    ("http.server.active_requests", "{request}", "< 10", "http_server_active_requests", "gauge", 3, 40),
    ("process.memory.usage", "By", "< 512MiB", "process_memory_usage_bytes", "gauge", 100 * 2**20, 900 * 2**20),
    ("system.cpu.utilization", "1", "< 80%", "system_cpu_utilization_ratio", "gauge", 0.3, 0.95),
]


def timeseries() -> list[bytes]:
    out = []
    stamps = [int((END - timedelta(seconds=5 * (POINTS - 1 - i))).timestamp() * 1000) for i in range(POINTS)]
    for _, _, _, name, kind, *values in CASES:
        for case, value in zip(EXPECTED, values, strict=True):
            labels = {"case": case, "job": "checkout", "instance": "pod-1"}
            if kind == "gauge":
                out.append(series({"__name__": name, **labels}, [(float(value), t) for t in stamps]))
            elif kind == "counter":
                out.append(
                    series({"__name__": name, **labels}, [(1000.0 + value * i, t) for i, t in enumerate(stamps)])
                )
            else:
                counts = [100.0 * (i + 1) for i in range(POINTS)]
                for le in BOUNDS:
                    inside = le == "+Inf" or value <= float(le)
                    samples = [(c if inside else 0.0, t) for c, t in zip(counts, stamps, strict=True)]
                    out.append(series({"__name__": name + "_bucket", "le": le, **labels}, samples))
                out.append(series({"__name__": name + "_count", **labels}, list(zip(counts, stamps, strict=True))))
                sums = [(c * value, t) for c, t in zip(counts, stamps, strict=True)]
                out.append(series({"__name__": name + "_sum", **labels}, sums))
    return out


@pytest.fixture(scope="module", params=["prometheus", "victoriametrics"])
def receiver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp(f"collector-rw-{request.param}")
    server: PrometheusServer | VictoriaMetricsServer
    if request.param == "prometheus":
        server = PrometheusServer(workdir, extra_args=["--web.enable-remote-write-receiver"])
    else:
        server = VictoriaMetricsServer(workdir)
    with server:
        push(f"{server.root}{getattr(server, 'route_prefix', '')}/api/v1/write", timeseries())
        if isinstance(server, VictoriaMetricsServer):
            requests.get(f"{server.root}/internal/force_flush", timeout=10).raise_for_status()
        yield server.url


def judge(url: str, **config: Any) -> dict[str, Any]:
    lines = [f"{k}: {json.dumps(v)}" for k, v in {"delay": "1m", **config}.items()]
    text = "```yaml\n# action-item-verifier: v1\n" + "\n".join(lines) + "\n```\n"
    with PrometheusMetrics(PrometheusConnection(url=url)) as metrics:
        return evaluate_text(text, metrics, resolved_at=END - timedelta(minutes=1), now=END)


def handmade(name: str, kind: str, case: str) -> str:
    if kind == "histogram":
        return f'histogram_quantile(0.99, sum by (le) (increase({name}_bucket{{case="{case}"}}[$window])))'
    if kind == "counter":
        return f'sum(increase({name}{{case="{case}"}}[$window]))'
    return f'avg_over_time({name}{{case="{case}"}}[$window])'


@pytest.mark.parametrize("case", list(EXPECTED))
@pytest.mark.parametrize("spec", CASES, ids=[c[0] for c in CASES])
def test_collector_remote_written_otel_names_reach_the_handmade_verdict(
    receiver: str, case: str, spec: tuple[Any, ...]
) -> None:
    otel_name, unit, condition, name, kind = spec[:5]
    otel = judge(receiver, metric=otel_name, unit=unit, condition=condition, labels={"case": case})
    by_hand = judge(receiver, metric=handmade(name, kind, case), condition=condition.removesuffix(" p99"))
    assert (otel["verdict"], by_hand["verdict"]) == (EXPECTED[case], EXPECTED[case]), (otel, by_hand)
    assert otel["value"] == pytest.approx(by_hand["value"], rel=1e-6)
    assert any(f"metric resolved to '{name}'" in note for note in otel["notes"]), otel
