"""A p99 condition on a native histogram, on the Debian Prometheus with `--enable-feature=native-histograms`.

OTel exponential histograms arrive as native histograms (no `_bucket` series). The Python SDK has no exporter
that sends them to Prometheus 2.42 (its Prometheus exporter speaks text, which carries no native histograms),
so the test sends what an exporter would: a remote-write request with histogram samples (`remote_write.py`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.backends import PrometheusServer
from tests.integration.remote_write import native_histogram, push, series
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.services.evaluate import evaluate_text

pytestmark = pytest.mark.integration

NAME = "http_server_request_duration_seconds"
END = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
POINTS = 13  # one every 5 s: a minute of history ending at END
LATENCY = {"held": 0.02, "regressed": 0.8}  # seconds: far below and far above 250 ms


def write_request() -> list[bytes]:
    timeseries = []
    for case, latency in LATENCY.items():
        bucket = math.ceil(math.log2(latency))
        histograms = []
        for i in range(POINTS):
            at = END - timedelta(seconds=5 * (POINTS - 1 - i))
            count = 100 * (i + 1)
            histograms.append(native_histogram(count, count * latency, bucket, int(at.timestamp() * 1000)))
        timeseries.append(series({"__name__": NAME, "case": case, "job": "checkout"}, histograms=histograms))
    return timeseries


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(
        tmp_path_factory.mktemp("native"),
        features=["native-histograms"],
        extra_args=["--web.enable-remote-write-receiver"],
    )
    with server:
        push(f"{server.url}/api/v1/write", write_request())
        yield server


def judge(url: str, metric: str, condition: str, **fields: object) -> dict[str, object]:
    lines = [
        f"{k}: {json.dumps(v)}" for k, v in {"metric": metric, "condition": condition, "delay": "1m", **fields}.items()
    ]
    text = "```yaml\n# action-item-verifier: v1\n" + "\n".join(lines) + "\n```\n"
    with PrometheusMetrics(PrometheusConnection(url=url)) as metrics:
        return evaluate_text(text, metrics, resolved_at=END - timedelta(minutes=1), now=END)


@pytest.mark.parametrize(("case", "verdict"), [("held", "VERIFIED"), ("regressed", "FAILED")])
def test_p99_on_a_native_histogram(prometheus: PrometheusServer, case: str, verdict: str) -> None:
    otel = judge(prometheus.url, "http.server.request.duration", "< 250ms p99", unit="s", labels={"case": case})
    handmade = f'histogram_quantile(0.99, sum(increase({NAME}{{case="{case}"}}[$window])))'
    by_hand = judge(prometheus.url, handmade, "< 250ms")
    assert (otel["verdict"], by_hand["verdict"]) == (verdict, verdict), (otel, by_hand)
    assert otel["value"] == pytest.approx(by_hand["value"])
    assert otel["query"] == f'histogram_quantile(0.99, sum(increase({NAME}{{case="{case}"}}[1m])))'
    assert any("native histogram" in str(note) for note in otel["notes"])  # type: ignore[union-attr]
