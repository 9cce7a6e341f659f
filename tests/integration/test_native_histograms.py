"""A p99 condition on a native histogram, on the Debian Prometheus with `--enable-feature=native-histograms`.

OTel exponential histograms arrive as native histograms (no `_bucket` series). The Python SDK has no exporter
that sends them to Prometheus 2.42 (its Prometheus exporter speaks text, which carries no native histograms),
so the test sends what an exporter would: a remote-write request with histogram samples (`remote_write.py`).

Configs on `_count` and `_sum` of a histogram converted to native histograms with custom buckets (NHCB, schema
-53, Prometheus 3's `convert_classic_histograms_to_nhcb`) find no `_count`/`_sum` series; they read
`histogram_count`/`histogram_sum` of the native one. Prometheus 2.42 cannot store schema -53, but those two
functions read any native histogram alike, so the exponential one here stands in for it. During a migration
both forms hold data: read the classic one when it covers the window, else INCONCLUSIVE.
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


MIGRATING = "rpc_duration_seconds"  # classic for the first half of the window, native for the second
BOTH = "db_duration_seconds"  # classic and native side by side all along (always_scrape_classic_histograms)


def write_request() -> list[bytes]:
    timeseries = [*_migration(MIGRATING, classic=range(0, 7), native=range(7, POINTS))]
    timeseries += _migration(BOTH, classic=range(POINTS), native=range(POINTS))
    for case, latency in LATENCY.items():
        bucket = math.ceil(math.log2(latency))
        histograms = []
        for i in range(POINTS):
            at = END - timedelta(seconds=5 * (POINTS - 1 - i))
            count = 100 * (i + 1)
            histograms.append(native_histogram(count, count * latency, bucket, int(at.timestamp() * 1000)))
        timeseries.append(series({"__name__": NAME, "case": case, "job": "checkout"}, histograms=histograms))
    return timeseries


def _migration(name: str, classic: range, native: range) -> list[bytes]:
    def at(i: int) -> int:
        return int((END - timedelta(seconds=5 * (POINTS - 1 - i))).timestamp() * 1000)

    counts = [(float(100 * (i + 1)), at(i)) for i in classic]
    histograms = [native_histogram(100 * (i + 1), 2.0 * (i + 1), 0, at(i)) for i in native]
    return [
        series({"__name__": name + "_count", "job": "checkout"}, samples=counts),
        series({"__name__": name, "job": "checkout"}, histograms=histograms),
    ]


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


@pytest.mark.parametrize(
    ("suffix", "function", "held", "regressed"),
    [("_count", "histogram_count", "VERIFIED", "VERIFIED"), ("_sum", "histogram_sum", "VERIFIED", "FAILED")],
)
def test_count_and_sum_configs_read_the_native_histogram(
    prometheus: PrometheusServer, suffix: str, function: str, held: str, regressed: str
) -> None:
    """`_count` grows by 1200 a minute in both cases (< 2000); `_sum` by 24 s held and 960 s regressed (< 100)."""
    condition = "< 2000" if suffix == "_count" else "< 100"
    for case, verdict in (("held", held), ("regressed", regressed)):
        otel = judge(prometheus.url, NAME + suffix, condition, labels={"case": case})
        handmade = f'sum({function}(increase({NAME}{{case="{case}"}}[$window])))'
        by_hand = judge(prometheus.url, handmade, condition)
        assert (otel["verdict"], by_hand["verdict"]) == (verdict, verdict), (otel, by_hand)
        assert otel["value"] == pytest.approx(by_hand["value"]) and otel["value"] > 0
        assert otel["query"] == f'sum({function}(increase({NAME}{{case="{case}"}}[1m])))'


def test_both_forms_in_the_window_is_inconclusive_unless_the_classic_covers_it(prometheus: PrometheusServer) -> None:
    migrating = judge(prometheus.url, MIGRATING + "_count", "< 5000")
    assert migrating["verdict"] == "INCONCLUSIVE", migrating
    assert str(migrating["reason"]).startswith(
        f"both '{MIGRATING}_count' and the native histogram '{MIGRATING}' (custom buckets, NHCB) hold data in the "
        "window, and the classic series does not cover all of it"
    )
    both = judge(prometheus.url, BOTH + "_count", "< 5000")
    assert (both["verdict"], both["query"]) == ("VERIFIED", f"sum(increase({BOTH}_count[1m]))"), both
