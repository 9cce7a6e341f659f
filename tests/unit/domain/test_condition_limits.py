"""The condition parser at its limits: what it refuses, in one line naming the field, and what it keeps."""

from __future__ import annotations

import pytest

from verifier.domain.condition import parse_condition
from verifier.errors import ConfigError


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
