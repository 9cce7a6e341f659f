"""Quantiles as conditions write them (`p99`, `p99.9`, `p50`), planned as the matching histogram_quantile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.helpers import RESOLVED, config
from verifier.domain.condition import parse_condition
from verifier.domain.planning import QueryPlan, plan
from verifier.errors import ConfigError

BUCKETS = "sum by (le) (increase(rpc_duration_seconds_bucket[48h]))"


def query(condition: str) -> str:
    planned = plan(config(metric="rpc_duration_seconds", condition=condition), RESOLVED, RESOLVED + timedelta(30))
    assert isinstance(planned, QueryPlan)
    return planned.query


@pytest.mark.parametrize(
    ("written", "phi"),
    [
        ("p50", "0.5"),
        ("p90", "0.9"),
        ("p95", "0.95"),
        ("p99", "0.99"),
        ("p99.9", "0.999"),
        ("p99.99", "0.9999"),
        ("p99.999", "0.99999"),
        ("p0.1", "0.001"),
        ("p1", "0.01"),
    ],
)
def test_a_quantile_with_or_without_decimals_is_planned_as_the_same_fraction(written: str, phi: str) -> None:
    assert query(f"< 100ms {written}") == f"histogram_quantile({phi}, {BUCKETS})"
    assert query(f"{written} < 100ms") == f"histogram_quantile({phi}, {BUCKETS})"


def test_a_leading_quantile_is_not_taken_for_a_metric_name() -> None:
    condition = parse_condition("p99.9 <= 250ms")
    assert condition.name is None and condition.quantile == pytest.approx(0.999)
    named = parse_condition("latency <= 250ms p99.9")
    assert named.name == "latency" and named.quantile == pytest.approx(0.999)


@pytest.mark.parametrize("written", ["p0", "p0.0", "p100", "p150", "p99.9.9"])
def test_a_quantile_outside_zero_to_one_hundred_is_refused(written: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_condition(f"< 100ms {written}")
    assert error.value.field == "condition"


def test_two_quantiles_are_a_contradiction() -> None:
    with pytest.raises(ConfigError, match=r"two quantiles \(p95 and p99\)"):
        parse_condition("p95 < 100ms p99")


def test_a_relative_condition_keeps_its_quantile() -> None:
    condition = parse_condition("< 50% of baseline p99.9")
    assert condition.quantile == pytest.approx(0.999) and condition.factor == pytest.approx(0.5)
    assert parse_condition("p99.5 <= 0.5x baseline").quantile == pytest.approx(0.995)
