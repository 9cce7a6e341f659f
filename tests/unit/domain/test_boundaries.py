"""Every operator judges a value exactly at its threshold, and the values either side, as it is written.

A `>` read as `>=` passes a fix that sits exactly on the line; these tests hold each operator at the line.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.unit.helpers import RESOLVED, config, instant, judge, steps
from verifier.domain.condition import parse_condition
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.verdicts import Outcome

VERIFIED, FAILED = Outcome.VERIFIED, Outcome.FAILED


def planned(condition: str, metric: str = "queue_depth") -> QueryPlan:
    result = plan(config(metric=metric, condition=condition), RESOLVED, RESOLVED + timedelta(days=30))
    assert isinstance(result, QueryPlan)
    return result


@pytest.mark.parametrize(
    ("op", "below", "at", "above"),
    [
        ("<", VERIFIED, FAILED, FAILED),
        ("<=", VERIFIED, VERIFIED, FAILED),
        (">", FAILED, FAILED, VERIFIED),
        (">=", FAILED, VERIFIED, VERIFIED),
        ("==", FAILED, VERIFIED, FAILED),
        ("!=", VERIFIED, FAILED, VERIFIED),
    ],
)
def test_each_operator_below_at_and_above_its_threshold(op: str, below: Outcome, at: Outcome, above: Outcome) -> None:
    p = planned(f"{op} 100")
    assert [judge(p, instant(v)).outcome for v in (99.0, 100.0, 101.0)] == [below, at, above]


@pytest.mark.parametrize(
    ("op", "at_line"),
    [("<", False), ("<=", True), (">", False), (">=", True), ("==", True), ("!=", False)],
)
def test_a_condition_holds_exactly_at_the_line_only_for_the_inclusive_operators(op: str, at_line: bool) -> None:
    condition = parse_condition(f"{op} 0.5")
    assert condition.holds(0.5, 0.5) is at_line
    assert condition.holds(math.nan, 0.5) is False  # NaN is no data under every operator, `!=` included


def test_equality_allows_float_noise_but_not_a_real_difference() -> None:
    assert parse_condition("== 0.3").holds(0.1 + 0.2, 0.3)
    assert not parse_condition("!= 0.3").holds(0.1 + 0.2, 0.3)
    assert not parse_condition("== 0.3").holds(0.3001, 0.3)
    assert parse_condition("!= 0.3").holds(0.3001, 0.3)
    assert parse_condition("== 0").holds(0.0, 0.0) and not parse_condition("== 0").holds(1e-9, 0.0)


@pytest.mark.parametrize("slo", ["99.9", "99.99", "99.5", "99", "95", "0.9", "0.1"])
def test_a_measured_ratio_exactly_at_a_percent_threshold_is_at_the_line(slo: str) -> None:
    """`>= 99.9%` with 999 of 1000 requests good holds: the percent is not turned into 0.9990000000000001."""
    measured = float(Decimal(slo) / 100)  # what the backend computes for the same ratio, e.g. 999 / 1000
    for op, expected in ((">=", VERIFIED), (">", FAILED), ("<=", VERIFIED), ("<", FAILED), ("==", VERIFIED)):
        p = planned(f"{op} {slo}%", metric="availability_ratio")
        assert judge(p, instant(measured)).outcome is expected, f"{measured} {op} {slo}%"


@pytest.mark.parametrize(("written", "seconds"), [("0.9ms", 0.0009), ("250ms", 0.25), ("1.1s", 1.1), ("300us", 0.0003)])
def test_a_measured_duration_exactly_at_a_time_threshold_holds_under_at_most(written: str, seconds: float) -> None:
    p = planned(f"<= {written}", metric="rpc_duration_seconds")
    assert judge(p, instant(seconds)).outcome is VERIFIED
    assert judge(planned(f"< {written}", metric="rpc_duration_seconds"), instant(seconds)).outcome is FAILED


@pytest.mark.parametrize(
    ("op", "values", "outcome", "shown"),
    [
        ("<", (90, 100, 80), FAILED, 100),  # at the line under `<` breaks: the step at the line is shown
        ("<=", (90, 100, 80), VERIFIED, 100),  # the step nearest to the line is shown
        (">", (110, 100, 120), FAILED, 100),
        (">=", (110, 100, 120), VERIFIED, 100),
    ],
)
def test_every_step_mode_judges_each_step_at_the_line(
    op: str, values: tuple[float, ...], outcome: Outcome, shown: float
) -> None:
    three_steps = config(metric="queue_depth", condition=f"{op} 100", mode="every-step", window="15m")
    p = plan(three_steps, RESOLVED, RESOLVED + timedelta(30))
    assert isinstance(p, QueryPlan)
    verdict = judge(p, steps(*values))
    assert (verdict.outcome, verdict.value) == (outcome, shown)
