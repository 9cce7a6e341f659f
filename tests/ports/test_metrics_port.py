"""What every `Metrics` does, as the services rely on it (#23): run against `FakeMetrics`, the fake the unit tests
use, and against the Prometheus adapter on a real Prometheus holding the same data, so the fake cannot drift
from what a backend answers (as test_tracker_port.py holds the fake tracker to the real ones)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.integration.backends import History, RawSeries, quiet_anchor, start_backend, switch
from tests.unit.fakes import FakeMetrics
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.domain.measurement import Measurement, Series
from verifier.ports import Metrics

ANCHOR = quiet_anchor()  # the data ends here, hours before now
START = ANCHOR - timedelta(hours=2)
FIX = ANCHOR - timedelta(hours=1)  # the latency drops from here on
T = ANCHOR - timedelta(minutes=30)
LOOKBACK = timedelta(minutes=5)  # how far back an instant looks for a sample (Prometheus' default)


def history() -> History:
    h = History(start=START, end=ANCHOR)
    h.gauge("aiv_port_level", 2.5, {"instance": "b", "az": "x"}).gauge("aiv_port_level", 1.5, {"instance": "a"})
    return h.gauge("aiv_port_latency", switch(FIX, 0.9, 0.1), {"service": "checkout"})


@dataclass(frozen=True)
class Harness:
    name: str
    metrics: Metrics


def fake_answers(data: History) -> dict[str, Callable[[datetime], Measurement]]:
    """The queries the suite asks, answered from `data` as a unit test writes an answer: a function of the
    evaluation time, its series in the order they were added and their labels as given (`__name__` first)."""
    answers: dict[str, Callable[[datetime], Measurement]] = {}
    for raw in data.series:
        for query in (raw.name, *(f'{raw.name}{{{k}="{v}"}}' for k, v in raw.labels.items())):
            answers[query] = _answer(data, query)
    return answers


def _answer(data: History, query: str) -> Callable[[datetime], Measurement]:
    name, _, matcher = query.partition("{")
    wanted = dict(re.findall(r'(\w+)="([^"]*)"', matcher))

    def chosen(raw: RawSeries) -> bool:
        return raw.name == name and all(raw.labels.get(k) == v for k, v in wanted.items())

    def at(moment: datetime) -> Measurement:
        series = []
        for raw in filter(chosen, data.series):
            recent = [
                v for t, v in raw.points if moment.timestamp() - LOOKBACK.total_seconds() < t <= moment.timestamp()
            ]
            if recent:
                labels = (("__name__", raw.name), *raw.labels.items())
                series.append(Series(labels, ((moment.timestamp(), recent[-1]),)))
        return Measurement(tuple(series))

    return at


@pytest.fixture(scope="module", params=["fake", "prometheus"])
def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    data = history()
    if request.param == "fake":
        yield Harness("fake", FakeMetrics(fake_answers(data), events=None))
        return
    server = start_backend("prometheus", tmp_path_factory.mktemp("prometheus"), data)
    adapter = PrometheusMetrics(PrometheusConnection(url=server.url))
    try:
        yield Harness("prometheus", adapter)
    finally:
        adapter.close()
        server.stop()


def test_an_instant_answers_each_series_once_at_the_instant_asked_sorted_by_labels(harness: Harness) -> None:
    answer = harness.metrics.instant("aiv_port_level", T)
    assert [(s.labels, s.points) for s in answer.series] == [
        ((("__name__", "aiv_port_level"), ("az", "x"), ("instance", "b")), ((T.timestamp(), 2.5),)),
        ((("__name__", "aiv_port_level"), ("instance", "a")), ((T.timestamp(), 1.5),)),
    ]
    assert (answer.warnings, answer.infos) == ((), ())


def test_a_label_matcher_narrows_the_answer(harness: Harness) -> None:
    answer = harness.metrics.instant('aiv_port_level{instance="a"}', T)
    assert [s.points for s in answer.series] == [((T.timestamp(), 1.5),)]


def test_a_query_matching_nothing_is_an_empty_answer_not_an_error(harness: Harness) -> None:
    assert harness.metrics.instant('aiv_port_level{instance="nowhere"}', T) == Measurement(())
    assert harness.metrics.range('aiv_port_level{instance="nowhere"}', START, ANCHOR, 300) == Measurement(())


def test_a_range_answers_one_point_per_step_from_start_to_end(harness: Harness) -> None:
    start, end = FIX - timedelta(minutes=10), FIX + timedelta(minutes=10)
    (series,) = harness.metrics.range("aiv_port_latency", start, end, 300).series
    assert series.labels == (("__name__", "aiv_port_latency"), ("service", "checkout"))
    steps = [(start + timedelta(minutes=m)).timestamp() for m in range(0, 21, 5)]
    assert series.points == tuple(zip(steps, [0.9, 0.9, 0.1, 0.1, 0.1], strict=True))


def test_steps_before_the_data_begins_and_after_its_lookback_have_no_point(harness: Harness) -> None:
    (series,) = harness.metrics.range('aiv_port_level{instance="a"}', START - timedelta(minutes=10), START, 300).series
    assert series.points == ((START.timestamp(), 1.5),)
    late = ANCHOR + LOOKBACK + timedelta(minutes=5)
    assert harness.metrics.instant('aiv_port_level{instance="a"}', late) == Measurement(())
