"""The condition parser at its limits: what it refuses, in one line naming the field, and what it keeps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.domain.condition import parse_condition
from verifier.domain.units import MILLISECONDS, PERCENT
from verifier.errors import ConfigError


def test_seed_latency_example() -> None:
    c = parse_condition("< 100ms p99")
    assert (c.op, c.number, c.unit, c.quantile, c.name) == ("<", 100.0, MILLISECONDS, 0.99, None)


def test_seed_error_rate_example() -> None:
    c = parse_condition("error_rate < 0.1%")
    assert (c.name, c.op, c.number, c.unit, c.quantile) == ("error_rate", "<", 0.1, PERCENT, None)


@pytest.mark.parametrize(
    ("text", "quantile"),
    [("p99 < 100ms", 0.99), ("< 1s p99.9", 0.999), ("<= 250 ms p95", 0.95), ("> 5 p50", 0.5), ("< 3", None)],
)
def test_quantile_positions(text: str, quantile: float | None) -> None:
    got = parse_condition(text).quantile
    assert got == pytest.approx(quantile) if quantile else got is None


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_every_operator(op: str) -> None:
    assert parse_condition(f"{op} 5").op == op


@pytest.mark.parametrize(
    ("text", "factor"), [("< 50% of baseline", 0.5), ("<= 0.5x baseline", 0.5), ("< 2x baseline p99", 2.0)]
)
def test_relative(text: str, factor: float) -> None:
    c = parse_condition(text)
    assert c.relative and c.factor == pytest.approx(factor)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "100ms",
        "< fast",
        "<< 5",
        "< 5 parsecs",
        "< 5ms p100",
        "< 5ms p0",
        "p99 < 5ms p95",
        "__import__('os')",
        "< 1e999",
        "=< 5",
    ],
)
def test_rejected(text: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_condition(text)
    assert error.value.field == "condition"


def test_holds_and_nan() -> None:
    c = parse_condition("< 0.1")
    assert c.holds(0.05, 0.1)
    assert not c.holds(0.1, 0.1)
    assert not c.holds(math.nan, 0.1)
    assert parse_condition("== 0.3").holds(0.1 + 0.2, 0.3)


@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_config_error(text: str) -> None:
    try:
        parse_condition(text)
    except ConfigError:
        pass


def refused(text: object) -> str:
    with pytest.raises(ConfigError) as error:
        parse_condition(text)  # type: ignore[arg-type]
    assert error.value.field == "condition"
    return str(error.value)


def test_a_condition_that_is_not_text_is_refused_naming_its_type() -> None:
    assert refused(100) == "config field 'condition': must be text like '< 100ms p99', not int"
    assert refused(None).endswith("not NoneType")


def test_a_condition_may_be_200_characters_and_no_more() -> None:
    assert parse_condition("< 1" + " " * 197).op == "<"
    assert refused("< 1" + " " * 198) == "config field 'condition': is longer than 200 characters"


def test_an_unreadable_condition_shows_examples() -> None:
    assert refused("soon") == (
        "config field 'condition': cannot read 'soon': expected [name] OP NUMBER[UNIT] [pNN], "
        "e.g. '< 100ms p99' or 'error_rate < 0.1%'"
    )


def test_a_quantile_that_rounds_to_p100_is_refused() -> None:
    assert "must be between p0 and p100, exclusive" in refused("< 1s p99.99999999999999999")


def test_a_relative_condition_keeps_its_name_and_number() -> None:
    condition = parse_condition("error_rate < 50% of baseline")
    assert (condition.name, condition.number, condition.factor, condition.unit) == ("error_rate", 50, 0.5, None)
