"""services.evidence: the evidence a judged verdict carries into its comment, the graph link and the picture of
its window."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from structlog.testing import capture_logs

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import RESOLVED, config, judge
from verifier.domain.evidence import Evidence, GraphLinks, graph_link
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import BackendUnavailable
from verifier.services.evidence import picture, with_evidence

LINKS = GraphLinks("http://prometheus:9090")
NOW = RESOLVED + timedelta(days=1)
START, END = RESOLVED, RESOLVED + timedelta(hours=2)  # the window of a two-hour delay
WINDOW_QUERY = "avg_over_time(queue_depth[2h])"
COARSE_QUERY = "avg_over_time(queue_depth[150s])"  # two hours drawn in 48 points: one every 150 s


@dataclass
class RangeMetrics(FakeMetrics):
    """The fake metrics port, also keeping the arguments of each range query."""

    ranges: list[tuple[str, datetime, datetime, int]] = field(default_factory=list)

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        self.ranges.append((query, start, end, step_seconds))
        return super().range(query, start, end, step_seconds)


def window_plan(condition: str = "< 10") -> QueryPlan:
    planned = plan(config(metric="queue_depth", condition=condition, delay="2h"), RESOLVED, NOW)
    assert isinstance(planned, QueryPlan)
    return planned


def one(values: list[float], labels: tuple[tuple[str, str], ...] = (("pod", "a"),), every: int = 150) -> Series:
    """A series ending at the window's end, one value every `every` seconds."""
    return Series(labels, tuple((END.timestamp() - every * (len(values) - 1 - i), v) for i, v in enumerate(values)))


def judged(planned: QueryPlan, value: float = 4.0) -> Verdict:
    return judge(planned, Measurement((one([value]),)))


def test_a_verdict_gets_its_link_and_the_picture_of_its_window_from_one_coarse_range_query() -> None:
    planned = window_plan()
    verdict = judged(planned)
    metrics = RangeMetrics({COARSE_QUERY: Measurement((one([float(i) for i in range(48)]),))})
    evidence = with_evidence(verdict, planned, None, metrics, LINKS).evidence
    assert evidence is not None
    assert (evidence.link_label, evidence.link) == ("Prometheus", graph_link(LINKS, WINDOW_QUERY, START, END)[1])
    assert metrics.ranges == [(COARSE_QUERY, END - timedelta(seconds=150 * 47), END, 150)]
    assert evidence.sparkline is not None and evidence.missing == ""
    assert evidence.sparkline.describe() == (
        "▁▁▁▁▁▁▂▂▂▂▂▂▃▃▃▃▃▃▄▄▄▄▄▄▅▅▅▅▅▅▆▆▆▆▆▆▇▇▇▇▇▇██████ 0 to 47; threshold < 10 lies at ▂; 38 of 48 points break it"
    )


def test_without_sparklines_a_verdict_gets_only_its_link_and_no_query_is_asked() -> None:
    planned = window_plan()
    metrics = RangeMetrics()
    verdict = with_evidence(judged(planned), planned, None, metrics, replace(LINKS, sparkline=False))
    assert verdict.evidence == Evidence(graph_link(LINKS, WINDOW_QUERY, START, END)[1], "Prometheus")
    assert metrics.ranges == []


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": Outcome.PENDING},
        {"outcome": Outcome.INVALID},
        {"outcome": Outcome.ERROR},
        {"query": None},
        {"query": ""},
        {"start": None},
        {"end": None},
    ],
)
def test_a_verdict_that_judged_no_window_is_left_as_it_is(change: dict[str, object]) -> None:
    planned = window_plan()
    verdict = replace(judged(planned), **change)  # type: ignore[arg-type]
    metrics = RangeMetrics()
    assert with_evidence(verdict, planned, None, metrics, LINKS) is verdict
    assert metrics.ranges == []


@pytest.mark.parametrize("outcome", [Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE])
def test_every_judged_outcome_carries_evidence(outcome: Outcome) -> None:
    planned = window_plan()
    verdict = replace(judged(planned), outcome=outcome)
    assert with_evidence(verdict, planned, None, RangeMetrics(), LINKS).evidence is not None


def test_a_window_without_data_says_so_instead_of_a_picture() -> None:
    planned = window_plan()
    evidence = with_evidence(judged(planned), planned, None, RangeMetrics(), LINKS).evidence
    assert evidence is not None and evidence.link is not None
    assert (evidence.sparkline, evidence.missing) == (None, "no data in the window")


def test_a_failed_range_query_costs_the_picture_not_the_verdict_and_is_logged() -> None:
    planned = window_plan()
    verdict = judged(planned)
    metrics = RangeMetrics({COARSE_QUERY: BackendUnavailable("timed out")})
    with capture_logs() as logs:
        shown = with_evidence(verdict, planned, None, metrics, LINKS)
    assert shown.outcome is Outcome.VERIFIED and shown.evidence is not None and shown.evidence.link
    assert (shown.evidence.sparkline, shown.evidence.missing) == (
        None,
        "the metrics backend did not answer the range query for it",
    )
    assert logs == [
        {"event": "sparkline_query_failed", "query": COARSE_QUERY, "error": "timed out", "log_level": "warning"}
    ]


def test_a_picture_that_crashes_costs_only_the_picture_and_is_logged() -> None:
    planned = window_plan()

    class Broken(RangeMetrics):
        def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
            raise ZeroDivisionError("a bug")

    with capture_logs() as logs:
        shown = with_evidence(judged(planned), planned, None, Broken(), LINKS)
    assert shown.evidence is not None and shown.evidence.link
    assert (shown.evidence.sparkline, shown.evidence.missing) == (None, "it could not be drawn")
    assert [(e["event"], e["query"], e["log_level"]) for e in logs] == [("sparkline_crashed", WINDOW_QUERY, "error")]


def test_every_step_mode_draws_the_steps_it_judged_one_point_each_without_asking_again() -> None:
    planned = plan(config(metric="queue_depth", condition="< 10", delay="1h", mode="every-step"), RESOLVED, NOW)
    assert isinstance(planned, QueryPlan) and planned.step == timedelta(minutes=5)
    end = RESOLVED + timedelta(hours=1)
    steps = Series((("pod", "a"),), tuple((end.timestamp() - 300 * (11 - i), float(i)) for i in range(12)))
    measurement = Measurement((steps,))
    verdict = judge(planned, measurement)
    metrics = RangeMetrics()
    evidence = with_evidence(verdict, planned, measurement, metrics, LINKS).evidence
    assert metrics.ranges == [] and metrics.asked == []
    assert evidence is not None and evidence.sparkline is not None
    assert evidence.sparkline.line == "▁▁▂▃▃▄▅▆▆▇██"  # the 12 steps after the window's start, one block each
    assert (evidence.sparkline.low, evidence.sparkline.high, evidence.sparkline.points) == (0.0, 11.0, 12)


def test_a_short_every_step_window_without_its_measurement_is_queried_coarsely() -> None:
    planned = plan(config(metric="queue_depth", condition="< 10", delay="1h", mode="every-step"), RESOLVED, NOW)
    assert isinstance(planned, QueryPlan)
    metrics = RangeMetrics()
    with_evidence(judge(planned, Measurement((one([4.0]),))), planned, None, metrics, LINKS)
    end = RESOLVED + timedelta(hours=1)
    assert metrics.ranges == [("avg_over_time(queue_depth[75s])", end - timedelta(seconds=75 * 47), end, 75)]


def at(labels: tuple[tuple[str, str], ...], *points: tuple[float, float]) -> Series:
    return Series(labels, points)


A, B = (("pod", "a"),), (("pod", "b"),)


def test_the_picture_shows_the_reported_series_only() -> None:
    planned = window_plan()
    verdict = replace(judged(planned), series='{pod="a"}', threshold=None)
    drawn = picture([at(A, (10, 1.0), (90, 2.0)), at(B, (10, 50.0), (90, 9.0))], verdict, planned, 0, 100, 2)
    assert drawn is not None and (drawn.low, drawn.high, drawn.line) == (1.0, 2.0, "▁█")


def test_without_a_reported_series_the_picture_is_the_worst_of_all_at_each_instant() -> None:
    first = at(A, (10, 1.0), (50, 8.0), (90, math.nan))
    second = at(B, (10, 5.0), (50, 2.0), (90, math.nan))
    below = window_plan("< 10")
    drawn = picture([first, second], replace(judged(below), series=None), below, 0, 100, 3)
    assert drawn is not None and (drawn.low, drawn.high, drawn.points, drawn.line) == (5.0, 8.0, 2, "▁█ ")
    above = window_plan("> 0")
    drawn = picture([first, second], replace(judged(above), series=None), above, 0, 100, 3)
    assert drawn is not None and (drawn.low, drawn.high, drawn.line) == (1.0, 2.0, "▁█ ")


def test_a_reported_series_missing_from_the_range_answer_falls_back_to_all_series() -> None:
    planned = window_plan()
    verdict = replace(judged(planned), series='{pod="gone"}')
    drawn = picture([at(B, (10, 3.0), (90, 7.0))], verdict, planned, 0, 100, 2)
    assert drawn is not None and (drawn.low, drawn.high) == (3.0, 7.0)


def test_the_picture_places_the_threshold_in_its_unit_and_counts_the_points_that_break_it() -> None:
    planned = plan(
        config(metric="http_server_request_duration_seconds", condition="< 100ms p99", delay="2h"), RESOLVED, NOW
    )
    assert isinstance(planned, QueryPlan)
    verdict = judge(planned, Measurement((one([0.05]),)))
    drawn = picture([at(A, (10, 0.05), (50, 0.2), (90, 0.08))], verdict, planned, 0, 100, 3)
    assert drawn is not None
    assert drawn.describe() == "▁█▂ 0.05 to 0.2 seconds; threshold < 0.1 seconds lies at ▃; 1 of 3 points break it"


def test_a_verdict_without_a_threshold_draws_the_values_and_counts_no_point_as_breaking() -> None:
    planned = window_plan()
    verdict = replace(judged(planned), threshold=None)
    drawn = picture([at(A, (10, 1.0), (90, 50.0))], verdict, planned, 0, 100, 2)
    assert drawn is not None and drawn.threshold is None and drawn.breaking == 0
    assert drawn.describe() == "▁█ 1 to 50"
