"""A verdict's reason in words, for each way a measurement can fall short, and what the comment and `evaluate`
show when part of the judgement is missing."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from tests.unit.fakes import FakeMetrics
from tests.unit.helpers import RESOLVED, config, instant, judge, steps
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, plan
from verifier.domain.render import render_result
from verifier.domain.tickets import Flavour
from verifier.domain.units import BYTES, SECONDS, convert
from verifier.domain.verdicts import Outcome, not_due
from verifier.errors import ConfigError
from verifier.services.evaluate import evaluate_text

LATER = RESOLVED + timedelta(days=30)


def planned(**fields: object) -> QueryPlan:
    fields.setdefault("metric", "queue_depth")
    fields.setdefault("condition", "< 100")
    result = plan(config(**fields), RESOLVED, LATER, incident=IncidentFacts(triggered_at=RESOLVED))
    assert isinstance(result, QueryPlan)
    return result


def test_backend_warnings_are_named_in_the_reason_and_keep_the_query() -> None:
    p = planned()
    verdict = judge(p, Measurement(instant(5).series, warnings=("store A down", "store B slow")))
    assert (verdict.outcome, verdict.reason) == (Outcome.INCONCLUSIVE, "the backend warned: store A down; store B slow")
    assert verdict.query == p.query and verdict.end == p.end


@pytest.mark.parametrize(
    ("measurement", "reason"),
    [
        (Measurement(()), "no data: the query returned no samples"),
        (instant(math.nan), "no data: every sample is NaN"),
        (instant(math.nan, math.nan), "no data: every sample is NaN"),
    ],
)
def test_no_data_says_which_kind_and_keeps_the_threshold(measurement: Measurement, reason: str) -> None:
    p = planned(condition="< 100")
    verdict = judge(p, measurement)
    assert (verdict.outcome, verdict.reason, verdict.query) == (Outcome.INCONCLUSIVE, reason, p.query)
    assert verdict.threshold is not None and verdict.threshold.value == 100


def test_no_data_keeps_the_baseline_note() -> None:
    p = planned(condition="<= 0.5x baseline", baseline_window="1h")
    verdict = judge(p, Measurement(()), baseline=instant(40))
    assert verdict.threshold is not None and verdict.threshold.value == 20
    assert verdict.notes and verdict.notes[-1].startswith("baseline 40 measured at")


def test_series_without_data_make_an_otherwise_held_verdict_inconclusive() -> None:
    p = planned(condition="<= 0.5x baseline", baseline_window="1h")
    three = Measurement(tuple(Series((("pod", n),), ((0.0, v),)) for n, v in (("a", 5), ("b", math.nan), ("c", 7))))
    verdict = judge(p, three, baseline=instant(40))
    assert (verdict.outcome, verdict.reason) == (Outcome.INCONCLUSIVE, "1 of 3 series have no data")
    assert (verdict.value, verdict.series, verdict.query) == (7, '{pod="c"}', p.query)
    assert verdict.threshold is not None and verdict.threshold.value == 20 and verdict.notes


def test_the_reason_counts_series_only_when_there_are_several() -> None:
    p = planned()
    assert judge(p, instant(150, 50)).reason == "1 of 2 series broke the condition"
    assert judge(p, instant(150)).reason == "the condition broke"
    assert judge(p, instant(50, 60)).reason == "the condition held on all 2 series"
    assert judge(p, instant(50)).reason == "the condition held"


def test_a_failed_verdict_keeps_the_baseline_note() -> None:
    verdict = judge(planned(condition="<= 0.5x baseline", baseline_window="1h"), instant(30), baseline=instant(40))
    assert verdict.outcome is Outcome.FAILED and verdict.notes[-1].startswith("baseline 40 measured at")


def test_tolerated_steps_extend_the_held_reason() -> None:
    p = planned(mode="every-step", tolerance="25%", window="20m")  # four 5-minute steps
    verdict = judge(p, steps(10, 150, 20, 30))
    assert verdict.reason == (
        "the condition held; 1 of 4 steps broke it, within the 25% tolerance (the worst such step is shown)"
    )


@pytest.mark.parametrize(("op", "worst"), [(">", 80), (">=", 80), ("<", 130), ("<=", 130)])
def test_every_step_shows_the_step_furthest_past_the_line(op: str, worst: float) -> None:
    values = (110, 90, 80, 120) if op.startswith(">") else (90, 120, 130, 80)
    verdict = judge(planned(condition=f"{op} 100", mode="every-step", window="20m"), steps(*values))
    assert (verdict.outcome, verdict.value) == (Outcome.FAILED, worst)


@pytest.mark.parametrize(
    ("op", "values", "series"), [(">", (12, 8, 5), 2), (">=", (12, 8, 5), 2), ("<", (5, 12, 15), 2)]
)
def test_the_failing_series_furthest_past_the_line_is_named(op: str, values: tuple[float, ...], series: int) -> None:
    verdict = judge(planned(condition=f"{op} 10"), instant(*values))
    assert verdict.series == f'{{instance="{series}"}}'


def test_an_unmeasured_baseline_leaves_the_condition_out_of_the_comment_and_evaluate() -> None:
    p = planned(condition="<= 0.5x baseline p99", metric="latency_seconds", baseline_window="1h")
    verdict = judge(p, instant(0.1), baseline=Measurement(()))
    assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.threshold is None and verdict.op == "<="
    assert "Condition" not in render_result(verdict, RESOLVED, Flavour.MARKDOWN)
    text = "**Triggered At**: 2026-10-30T12:00:00+00:00\n```yaml\n# action-item-verifier: v1\n" + (
        'metric: latency_seconds\ncondition: "<= 0.5x baseline p99"\nbaseline_window: 1h\n```'
    )
    described = evaluate_text(text, FakeMetrics(), resolved_at=RESOLVED, now=LATER)
    assert (described["verdict"], described["threshold"]) == ("INCONCLUSIVE", None)


def test_a_pending_verdict_renders_without_a_window() -> None:
    pending = plan(config(metric="queue_depth", condition="< 100"), RESOLVED, RESOLVED)
    assert isinstance(pending, Pending)
    text = render_result(not_due(pending), RESOLVED, Flavour.MARKDOWN)
    assert "Window" not in text and "Verification pending" in text


def test_an_unknown_metric_unit_is_named_in_the_notes() -> None:
    p = planned(metric="rpc_latency", condition="< 100ms")
    assert "the metric's unit is not known: seconds assumed" in p.notes


def test_an_early_judgement_may_start_after_exactly_one_minute() -> None:
    cfg = config(metric="x", condition="< 1", delay="48h", window="1h")
    start = RESOLVED + timedelta(hours=47)
    assert isinstance(plan(cfg, RESOLVED, start + timedelta(minutes=1), early=True), QueryPlan)


def test_comparing_a_duration_with_a_size_names_the_condition() -> None:
    with pytest.raises(ConfigError) as error:
        convert(1, SECONDS, BYTES)
    assert error.value.field == "condition"


def test_text_without_a_config_says_so_in_one_line() -> None:
    described = evaluate_text("LGTM", FakeMetrics(), resolved_at=RESOLVED, now=LATER)
    assert described["reason"] == "no verification config found"
