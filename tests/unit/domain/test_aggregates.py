"""A window-mode answer too large to read whole, asked again by aggregation: the queries the plan builds, the
verdict from the figures (the same outcomes `decide` gives on the whole answer) and what `measure` asks."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import RESOLVED, config, instant
from verifier.domain.measurement import Aggregated, Measurement, Series
from verifier.domain.planning import QueryPlan, aggregate_queries, plan
from verifier.domain.verdicts import Outcome, decide, decide_aggregated
from verifier.errors import AnswerTooLarge, BackendUnavailable
from verifier.services.measure import measure

LATER = RESOLVED + timedelta(days=30)
Q = "avg_over_time(queue_depth[1h])"


def p(condition: str = "< 100", **fields: object) -> QueryPlan:
    fields.setdefault("metric", "queue_depth")
    fields.setdefault("delay", "1h")
    result = plan(config(condition=condition, **fields), RESOLVED, LATER)
    assert isinstance(result, QueryPlan)
    return result


# ------------------------------------------------------------------------------------------------ planning


def test_the_queries_ask_for_counts_and_the_highest_series_under_less_than() -> None:
    queries = aggregate_queries(p("< 100"), 100.0)
    assert queries is not None
    assert p().query == Q
    assert queries.total == f"count(({Q}))"
    assert queries.broken == f"count(({Q}) >= 100.0)"
    assert queries.worst == f"topk(1, ({Q}))"
    assert queries.nan == f"count(({Q}) != ({Q}))"
    assert queries.infinite == f"count(abs(({Q})) == Inf)"


@pytest.mark.parametrize(
    ("condition", "broken", "rank"),
    [
        ("< 100", ">= 100.0", "topk"),
        ("<= 100", "> 100.0", "topk"),
        ("> 100", "<= 100.0", "bottomk"),
        (">= 100", "< 100.0", "bottomk"),
    ],
)
def test_each_operator_counts_its_opposite_and_ranks_its_worst_first(condition: str, broken: str, rank: str) -> None:
    queries = aggregate_queries(p(condition), 100.0)
    assert queries is not None
    assert queries.broken == f"count(({Q}) {broken})"
    assert queries.worst == f"{rank}(1, ({Q}))"


def test_the_threshold_is_written_exactly() -> None:
    queries = aggregate_queries(p("> 100"), 1e-05)
    assert queries is not None and queries.broken == f"count(({Q}) <= 1e-05)"
    queries = aggregate_queries(p("> 100"), -0.30000000000000004)
    assert queries is not None and queries.broken == f"count(({Q}) <= -0.30000000000000004)"


def test_no_aggregate_for_every_step_mode_equality_or_a_non_finite_threshold() -> None:
    assert aggregate_queries(p(mode="every-step", window="1h"), 100.0) is None
    assert aggregate_queries(p("== 100"), 100.0) is None
    assert aggregate_queries(p(), math.inf) is None
    assert aggregate_queries(p(), math.nan) is None


# ------------------------------------------------------------------------------------------------- verdict


def backend(values: list[float], condition: str, threshold: float) -> Aggregated:
    """What Prometheus answers to `aggregate_queries` over series holding `values`: counts, and topk/bottomk,
    which rank NaN below every number."""
    series = [Series((("pod", str(i)),), ((0.0, v),)) for i, v in enumerate(values)]
    op = condition.split()[0]
    broken = {"<": lambda v: v >= threshold, "<=": lambda v: v > threshold}
    broken |= {">": lambda v: v <= threshold, ">=": lambda v: v < threshold}
    numbers = [s for s in series if not math.isnan(s.points[0][1])]
    ranked = numbers or series
    if op in ("<", "<="):
        worst = max(ranked, key=lambda s: s.points[0][1], default=None)
    else:
        worst = min(ranked, key=lambda s: s.points[0][1], default=None)
    return Aggregated(
        total=len(values),
        broken=sum(1 for v in values if broken[op](v)),
        nan=sum(1 for v in values if math.isnan(v)),
        infinite=sum(1 for v in values if math.isinf(v)),
        worst=worst,
    )


values = st.lists(
    st.one_of(
        st.floats(min_value=0, max_value=200),
        st.sampled_from([100.0, math.nan, math.inf, -math.inf]),
    ),
    max_size=8,
)


@given(values, st.sampled_from(["< 100", "<= 100", "> 100", ">= 100"]))
def test_the_figures_give_the_verdict_the_whole_answer_gives(numbers: list[float], condition: str) -> None:
    one = p(condition)
    whole = decide(one, Measurement(tuple(Series((("pod", str(i)),), ((0.0, v),)) for i, v in enumerate(numbers))))
    counted = decide_aggregated(one, backend(numbers, condition, 100.0))
    assert counted.outcome is whole.outcome, (whole.reason, counted.reason)
    if whole.outcome in (Outcome.FAILED, Outcome.VERIFIED):
        assert (counted.value, counted.series) == (whole.value, whole.series)
        assert counted.reason == whole.reason.replace(",", "")


def test_failed_names_the_worst_series_and_how_many_of_how_many_broke() -> None:
    worst = Series((("pod", "api-7"),), ((0.0, 180.0),))
    v = decide_aggregated(p(), Aggregated(total=3000, broken=12, nan=0, infinite=0, worst=worst))
    assert (v.outcome, v.reason, v.value, v.series) == (
        Outcome.FAILED,
        "12 of 3,000 series broke the condition",
        180.0,
        '{pod="api-7"}',
    )
    assert "3,000 series: too many to read whole, so the backend counted them and sent the worst" in v.notes
    assert v.support is not None and (v.support.steps_with_data, v.support.steps) == (1, 1)


def test_verified_when_the_worst_of_all_holds() -> None:
    worst = Series((("pod", "api-7"),), ((0.0, 99.5),))
    v = decide_aggregated(p(), Aggregated(total=3000, broken=0, nan=0, infinite=0, worst=worst))
    assert (v.outcome, v.reason, v.value) == (Outcome.VERIFIED, "the condition held on all 3,000 series", 99.5)


def test_non_finite_series_are_inconclusive_even_when_others_broke() -> None:
    worst = Series((("pod", "a"),), ((0.0, 180.0),))
    v = decide_aggregated(p(), Aggregated(total=3000, broken=5, nan=0, infinite=2, worst=worst))
    assert (v.outcome, v.reason) == (Outcome.INCONCLUSIVE, "not a finite value: ±Inf in 2 of 3,000 series")
    v = decide_aggregated(p(), Aggregated(total=3000, broken=0, nan=4, infinite=0, worst=Series((), ((0.0, 1.0),))))
    assert (v.outcome, v.reason) == (Outcome.INCONCLUSIVE, "4 of 3,000 series have no data")


@pytest.mark.parametrize(
    ("total", "broken", "nan", "infinite"),
    [(10, 11, 0, 0), (10, 5, 6, 0), (math.nan, 1, 0, 0), (10, -1, 0, 0), (10, 2.5, 0, 0), (math.inf, 1, 0, 0)],
)
def test_figures_that_do_not_add_up_are_inconclusive_never_failed(
    total: float, broken: float, nan: float, infinite: float
) -> None:
    worst = Series((("pod", "a"),), ((0.0, 180.0),))
    v = decide_aggregated(p(), Aggregated(total, broken, nan, infinite, worst))
    assert v.outcome is Outcome.INCONCLUSIVE
    assert v.reason.startswith("the backend's counts of the series do not add up: ")


def test_a_worst_series_that_contradicts_the_count_is_inconclusive() -> None:
    holds = Series((("pod", "a"),), ((0.0, 50.0),))
    breaks = Series((("pod", "a"),), ((0.0, 150.0),))
    for worst, broken in ((holds, 3), (breaks, 0), (None, 3)):
        v = decide_aggregated(p(), Aggregated(3000, broken, 0, 0, worst))
        assert v.outcome is Outcome.INCONCLUSIVE and "does not agree" in v.reason


def test_backend_warnings_are_inconclusive_unless_accepted() -> None:
    figures = Aggregated(3000, 0, 0, 0, Series((), ((0.0, 5.0),)), warnings=("partial response",))
    assert decide_aggregated(p(), figures).outcome is Outcome.INCONCLUSIVE
    assert decide_aggregated(p(), figures, accept_warnings=True).outcome is Outcome.VERIFIED


# ------------------------------------------------------------------------------------------------- measure


def too_large() -> AnswerTooLarge:
    return AnswerTooLarge("http://prom/api/v1/query: the metrics backend's answer is larger than the cap of 8 MiB")


def test_measure_asks_the_aggregates_when_the_whole_answer_is_too_large() -> None:
    one = p()
    queries = aggregate_queries(one, 100.0)
    assert queries is not None
    worst = Measurement((Series((("pod", "api-7"),), ((0.0, 180.0),)),))
    metrics = FakeMetrics(
        {Q: too_large(), queries.total: instant(3000), queries.broken: instant(12), queries.worst: worst}
    )
    v = measure(one, metrics)
    assert (v.outcome, v.reason, v.series) == (
        Outcome.FAILED,
        "12 of 3,000 series broke the condition",
        '{pod="api-7"}',
    )
    asked = [q for q, _ in metrics.asked]
    assert asked[0] == Q and set(asked[1:]) == {
        queries.total,
        queries.broken,
        queries.nan,
        queries.infinite,
        queries.worst,
    }
    assert {at for _, at in metrics.asked} == {one.end}


def test_measure_keeps_the_cap_error_where_no_aggregate_fits() -> None:
    one = p("== 100")
    v = measure(one, FakeMetrics({Q: too_large()}))
    assert (v.outcome, v.reason) == (
        Outcome.ERROR,
        "the metrics backend failed: http://prom/api/v1/query: the metrics backend's answer is larger than the cap"
        " of 8 MiB",
    )


def test_measure_reports_an_aggregate_that_fails_as_an_error() -> None:
    one = p()
    queries = aggregate_queries(one, 100.0)
    assert queries is not None
    metrics = FakeMetrics({Q: too_large(), queries.worst: BackendUnavailable("topk timed out")})
    v = measure(one, metrics)
    assert (v.outcome, v.reason) == (Outcome.ERROR, "the metrics backend failed: topk timed out")


def test_other_backend_failures_are_not_asked_again() -> None:
    metrics = FakeMetrics({Q: BackendUnavailable("timed out")})
    assert measure(p(), metrics).outcome is Outcome.ERROR
    assert [q for q, _ in metrics.asked] == [Q]


def test_aggregates_answered_with_several_series_are_inconclusive_never_failed() -> None:
    """A backend (or proxy) answering `count` or `topk(1, ...)` with more than one series is not believed."""
    one = p()
    queries = aggregate_queries(one, 100.0)
    assert queries is not None
    worst = Measurement((Series((("pod", "a"),), ((0.0, 180.0),)),))
    two = Measurement((*worst.series, Series((("pod", "b"),), ((0.0, 190.0),))))
    answers = {Q: too_large(), queries.total: instant(3000), queries.broken: instant(12), queries.worst: worst}
    for query, strange in ((queries.total, instant(3000, 3000)), (queries.broken, instant(1, 2))):
        v = measure(one, FakeMetrics({**answers, query: strange}))
        assert v.outcome is Outcome.INCONCLUSIVE and "do not add up" in v.reason, v.reason
    v = measure(one, FakeMetrics({**answers, queries.worst: two}))
    assert v.outcome is Outcome.INCONCLUSIVE and "does not agree" in v.reason, v.reason
