"""What on-call reads from `evaluate` (and `--json`) when graph links are on: the link, and the sparkline unless it
is turned off."""

from __future__ import annotations

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import instant
from tests.unit.services.test_evaluate_and_report_service import BLOCK, NOW, QUERY, RESOLVED
from verifier.domain.evidence import GraphLinks
from verifier.domain.measurement import Measurement, Series
from verifier.services.evaluate import evaluate_text

GRAPH = "https://prometheus.example.com/graph?g0.expr=histogram_quantile"
HOURLY_QUERY = QUERY.replace("48h", "1h")  # the sparkline's query: the same p99, one hour at a time


def hourly(*values: float) -> Measurement:
    start = RESOLVED.timestamp()
    return Measurement((Series((), tuple((start + 3600 * i, v) for i, v in enumerate(values))),))


def test_with_links_the_description_has_the_graph_link_and_the_sparkline() -> None:
    metrics = FakeMetrics({QUERY: instant(0.05), HOURLY_QUERY: hourly(*[0.02] * 24, *[0.04] * 25)})
    links = GraphLinks("https://prometheus.example.com")
    described = evaluate_text(BLOCK, metrics, resolved_at=RESOLVED, now=NOW, links=links)
    assert described["verdict"] == "VERIFIED" and described["graph"].startswith(GRAPH)
    assert described["sparkline"].startswith("▁") and described["sparkline"].endswith(
        " 0.02 to 0.04 seconds; threshold < 0.1 seconds lies above the whole line; 0 of 48 points break it"
    )


def test_with_links_but_no_sparkline_the_description_has_the_link_only() -> None:
    metrics = FakeMetrics({QUERY: instant(0.05)})
    links = GraphLinks("https://prometheus.example.com", sparkline=False)
    described = evaluate_text(BLOCK, metrics, resolved_at=RESOLVED, now=NOW, links=links)
    assert described["graph"].startswith(GRAPH) and described["sparkline"] is None
    assert [query for query, _ in metrics.asked] == [QUERY, "sum(increase(latency_seconds_count[48h]))"]
