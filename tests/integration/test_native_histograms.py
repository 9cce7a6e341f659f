"""A p99 condition on a native histogram, on the Debian Prometheus with `--enable-feature=native-histograms`.

OTel exponential histograms arrive as native histograms (no `_bucket` series). The Python SDK has no exporter
that sends them to Prometheus 2.42 (its Prometheus exporter speaks text, which carries no native histograms),
so the test sends what an exporter would: a remote-write request (protobuf, snappy) with histogram samples,
encoded here field by field after Prometheus's `prompb` (types.proto, remote.proto).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import snappy

from tests.integration.backends import PrometheusServer
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.services.evaluate import evaluate_text

pytestmark = pytest.mark.integration

NAME = "http_server_request_duration_seconds"
END = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
POINTS = 13  # one every 5 s: a minute of history ending at END
LATENCY = {"held": 0.02, "regressed": 0.8}  # seconds: far below and far above 250 ms


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field(number: int, value: bytes | int | float, kind: str = "varint") -> bytes:
    if kind == "bytes":
        assert isinstance(value, bytes)
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    if kind == "double":
        return _varint(number << 3 | 1) + struct.pack("<d", value)
    assert isinstance(value, int)
    return _varint(number << 3) + _varint(value)


def histogram_sample(count: int, total: float, bucket: int, at_ms: int) -> bytes:
    """prompb.Histogram, schema 0 (bucket i holds (2^(i-1), 2^i]), every observation in `bucket`."""
    span = _field(1, _zigzag(bucket)) + _field(2, 1)  # BucketSpan{offset (sint32), length}
    return b"".join(
        [
            _field(1, count),  # count_int
            _field(3, total, "double"),  # sum
            _field(4, _zigzag(0)),  # schema (sint32)
            _field(5, 1e-128, "double"),  # zero_threshold
            _field(6, 0),  # zero_count_int
            _field(11, span, "bytes"),  # positive_spans
            _field(12, _varint(_zigzag(count)), "bytes"),  # positive_deltas: packed sint64, one bucket
            _field(15, at_ms),  # timestamp
        ]
    )


def write_request() -> bytes:
    series = []
    for case, latency in LATENCY.items():
        labels = {"__name__": NAME, "case": case, "job": "checkout"}
        parts = [
            _field(1, _field(1, k.encode(), "bytes") + _field(2, v.encode(), "bytes"), "bytes")
            for k, v in sorted(labels.items())
        ]
        bucket = math.ceil(math.log2(latency))
        for i in range(POINTS):
            at = END - timedelta(seconds=5 * (POINTS - 1 - i))
            count = 100 * (i + 1)
            parts.append(
                _field(4, histogram_sample(count, count * latency, bucket, int(at.timestamp() * 1000)), "bytes")
            )
        series.append(_field(1, b"".join(parts), "bytes"))
    return b"".join(series)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(
        tmp_path_factory.mktemp("native"),
        features=["native-histograms"],
        extra_args=["--web.enable-remote-write-receiver"],
    )
    with server:
        headers = {
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        }
        answer = requests.post(
            f"{server.url}/api/v1/write", data=snappy.compress(write_request()), headers=headers, timeout=10
        )
        assert answer.status_code == 204, answer.text
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
