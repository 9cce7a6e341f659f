"""What `measure` makes of a backend that lists its series (the metric resolved to the name that exists, or no
series that fits), and which evidence it gathers: the graph link, and a sparkline that costs at most one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import RESOLVED, instant
from tests.unit.test_measure_requests import Recording, planned
from verifier.domain.evidence import Evidence, GraphLinks
from verifier.domain.measurement import Measurement, Series
from verifier.domain.verdicts import Outcome
from verifier.services.measure import measure

END = RESOLVED + timedelta(hours=48)
OTEL = "http.server.request.duration"
PLANNED = "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_bucket[48h])))"
RESOLVED_QUERY = 'histogram_quantile(0.99, sum by (le) (increase({"http.server.request.duration_bucket"}[48h])))'
LINKS = GraphLinks("https://prometheus.example.com", sparkline=False)


@dataclass
class Catalog(FakeMetrics):
    """A backend that lists the series it holds (`MetricCatalog`): `names`, whatever is asked."""

    names: frozenset[str] = frozenset({"http.server.request.duration_bucket", "http.server.request.duration_count"})

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        return self.names

    def metric_type(self, name: str) -> str | None:
        return None

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        return frozenset()

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        return frozenset()

    def metric_unit(self, name: str) -> str | None:
        return None


def test_a_metric_is_queried_under_the_name_the_backend_holds() -> None:
    p = planned(metric=OTEL, condition="< 100ms p99")
    assert p.query == PLANNED
    metrics = Catalog({RESOLVED_QUERY: instant(0.05)})
    verdict = measure(p, metrics)
    assert (verdict.outcome, verdict.value, verdict.query) == (Outcome.VERIFIED, 0.05, RESOLVED_QUERY)
    assert (RESOLVED_QUERY, END) in metrics.asked and all(query != PLANNED for query, _ in metrics.asked)


def test_when_no_series_fits_the_verdict_links_the_planned_query_and_draws_nothing() -> None:
    p = planned(metric=OTEL, condition="< 100ms p99")
    metrics = Catalog(names=frozenset())
    verdict = measure(p, metrics, links=GraphLinks("https://prometheus.example.com"))
    assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.reason.startswith("no data: no series in the window")
    assert verdict.evidence is not None and verdict.evidence.link is not None
    assert verdict.evidence.link.startswith("https://prometheus.example.com/graph?g0.expr=histogram_quantile")
    assert (verdict.evidence.sparkline, verdict.evidence.missing) == (None, "")
    assert metrics.asked == []  # the names were listed; nothing was queried, not even for a sparkline
    assert measure(p, metrics).evidence is None  # without links, no evidence at all


def every_five_minutes(*values: float) -> Measurement:
    """The steps of a 4-hour window ending 48 hours after the resolution."""
    start = RESOLVED.timestamp() + 44 * 3600 + 300
    return Measurement((Series((), tuple((start + 300 * i, v) for i, v in enumerate(values))),))


def hourly(*values: float) -> Measurement:
    start = RESOLVED.timestamp()
    return Measurement((Series((), tuple((start + 3600 * i, v) for i, v in enumerate(values))),))


def test_a_judged_verdict_carries_its_graph_link_and_sparkline() -> None:
    p = planned(condition="< 100ms p99")
    metrics = Recording(instant(0.05), range_answer=hourly(*[0.02] * 49))
    verdict = measure(p, metrics, links=GraphLinks("https://prometheus.example.com"))
    assert verdict.evidence is not None and verdict.evidence.link is not None
    assert verdict.evidence.link.startswith("https://prometheus.example.com/graph?g0.expr=histogram_quantile")
    assert verdict.evidence.sparkline is not None and verdict.evidence.missing == ""
    assert [kind for kind, *_ in metrics.asked] == ["instant", "instant", "range"]  # value, events, sparkline
    assert measure(p, metrics, links=LINKS).evidence == Evidence(verdict.evidence.link, verdict.evidence.link_label)


def test_an_every_step_sparkline_draws_the_steps_already_fetched() -> None:
    p = planned(condition="< 100ms p99", mode="every-step", window="4h")  # 48 five-minute steps
    metrics = Recording(instant(9.0), range_answer=every_five_minutes(*[0.02] * 48))
    verdict = measure(p, metrics, links=GraphLinks("https://prometheus.example.com"))
    assert verdict.outcome is Outcome.VERIFIED and verdict.evidence is not None
    assert verdict.evidence.sparkline is not None and verdict.evidence.missing == ""
    assert [kind for kind, *_ in metrics.asked] == ["range", "instant"]  # the steps and the events: no picture query
