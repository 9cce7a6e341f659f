"""What `measure` asks the metrics backend: the main query at the window's end (or as a range, one step in), and
for a measured baseline the baseline query at the incident's time; and what it makes of the answers.

What `measure` makes of a backend that lists its series (the metric resolved to the name that exists, or no
series that fits), and which evidence it gathers: the graph link, and a sparkline that costs at most one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.unit.fakes import FakeCatalog
from tests.unit.helpers import RESOLVED, config, instant, steps
from verifier.domain.evidence import Evidence, GraphLinks
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import IncidentFacts, QueryPlan, plan
from verifier.domain.verdicts import Outcome
from verifier.services.measure import measure

TRIGGERED = RESOLVED - timedelta(days=2)


@dataclass
class Recording:
    """Answers every instant query with `instant_answer` (the baseline with `baseline_answer`), every range with
    `range_answer`, and keeps what was asked."""

    instant_answer: Measurement
    range_answer: Measurement = field(default_factory=lambda: Measurement(()))
    baseline_answer: Measurement | None = None
    events_answer: Measurement = field(default_factory=lambda: instant(5000))
    asked: list[tuple[object, ...]] = field(default_factory=list)

    def instant(self, query: str, at: datetime) -> Measurement:
        self.asked.append(("instant", query, at))
        if query.startswith("sum(increase(latency_seconds_count"):
            return self.events_answer
        if self.baseline_answer is not None and at == TRIGGERED + timedelta(hours=1):
            return self.baseline_answer
        return self.instant_answer

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        self.asked.append(("range", query, start, end, step_seconds))
        return self.range_answer


def planned(**fields: object) -> QueryPlan:
    fields.setdefault("metric", "latency_seconds")
    result = plan(config(**fields), RESOLVED, RESOLVED + timedelta(days=30), incident=IncidentFacts(0.8, TRIGGERED))
    assert isinstance(result, QueryPlan)
    return result


def test_an_instant_verification_asks_once_at_the_end_of_the_window() -> None:
    p = planned(condition="< 100ms p99")
    metrics = Recording(instant(0.05))
    assert measure(p, metrics).outcome is Outcome.VERIFIED
    end = RESOLVED + timedelta(hours=48)
    assert metrics.asked == [("instant", p.query, end), ("instant", p.events_query, end)]
    assert p.events_query == "sum(increase(latency_seconds_count[48h]))"


def test_every_step_asks_a_range_from_one_step_in_to_the_end() -> None:
    p = planned(condition="< 100ms p99", mode="every-step", window="15m")  # three 5-minute steps
    metrics = Recording(instant(9.0), range_answer=steps(0.05, 0.06, 0.07))
    verdict = measure(p, metrics)
    assert (verdict.outcome, verdict.value) == (Outcome.VERIFIED, 0.07)
    end = RESOLVED + timedelta(hours=48)
    assert metrics.asked == [
        ("range", p.query, end - timedelta(minutes=10), end, 300),
        ("instant", "sum(increase(latency_seconds_count[15m]))", end),  # the events of the whole window
    ]


def test_a_measured_baseline_is_asked_at_the_incident_and_sets_the_threshold() -> None:
    p = planned(condition="<= 0.5x baseline p99", baseline_window="1h")
    assert p.baseline_query is not None
    metrics = Recording(instant(0.3), baseline_answer=instant(0.4))
    verdict = measure(p, metrics)
    assert verdict.outcome is Outcome.FAILED and verdict.threshold is not None
    assert verdict.threshold.value == 0.2
    assert metrics.asked == [
        ("instant", p.baseline_query.query, TRIGGERED + timedelta(hours=1)),
        ("instant", p.query, RESOLVED + timedelta(hours=48)),
        ("instant", p.events_query, RESOLVED + timedelta(hours=48)),
    ]


def test_warnings_are_inconclusive_unless_accepted() -> None:
    p = planned(condition="< 100ms p99")
    metrics = Recording(Measurement(instant(0.05).series, warnings=("partial",)))
    assert measure(p, metrics).outcome is Outcome.INCONCLUSIVE
    assert measure(p, metrics, accept_warnings=True).outcome is Outcome.VERIFIED


END = RESOLVED + timedelta(hours=48)
OTEL = "http.server.request.duration"
PLANNED = "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_bucket[48h])))"
RESOLVED_QUERY = 'histogram_quantile(0.99, sum by (le) (increase({"http.server.request.duration_bucket"}[48h])))'
LINKS = GraphLinks("https://prometheus.example.com", sparkline=False)


@dataclass
class Catalog(FakeCatalog):
    """A backend that lists the series it holds (`MetricCatalog`): `names`, whatever is asked."""

    names: frozenset[str] = frozenset({"http.server.request.duration_bucket", "http.server.request.duration_count"})


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
