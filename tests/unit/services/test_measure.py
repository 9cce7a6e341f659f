"""What `measure` asks the metrics backend: the main query at the window's end (or as a range, one step in), and
for a measured baseline the baseline query at the incident's time; and what it makes of the answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.unit.helpers import RESOLVED, config, instant, steps
from verifier.domain.measurement import Measurement
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
