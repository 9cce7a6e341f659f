"""The config's `type:` and `temporality:` fields (#21 D4, D6): checked, understood, written back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from verifier.domain.config import VerificationConfig, build_config, render_config
from verifier.domain.formats import find_config
from verifier.domain.metric import DELTA_NOTE, Kind
from verifier.domain.planning import build_query
from verifier.domain.tickets import Flavour
from verifier.errors import ConfigError


def _config(**fields: object) -> VerificationConfig:
    return build_config({"metric": "app_orders_failed", "condition": "< 100", **fields}, "block")


def test_type_counter_makes_a_bare_name_a_counter() -> None:
    config = _config(type="counter")
    assert config.understood.kind is Kind.COUNTER
    assert build_query(config, config.understood, timedelta(hours=1)) == ("sum(increase(app_orders_failed[1h]))")


def test_without_type_a_bare_name_is_a_gauge() -> None:
    assert _config().understood.kind is Kind.GAUGE


def test_delta_temporality_sums_the_samples_and_says_so() -> None:

    config = _config(type="counter", temporality="delta", labels={"case": "a"})
    metric = config.understood
    assert metric.delta and DELTA_NOTE in metric.notes
    assert build_query(config, metric, timedelta(minutes=10)) == 'sum(sum_over_time(app_orders_failed{case="a"}[10m]))'


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"type": "summary"}, "type", "is not one of counter, gauge, histogram"),
        ({"type": 3}, "type", "is not one of"),
        ({"type": "histogram"}, "type", "needs a quantile"),
        ({"temporality": "sometimes"}, "temporality", "is not one of cumulative, delta"),
        ({"type": "gauge", "temporality": "delta"}, "temporality", "applies to a counter"),
        ({"metric": "sum(rate(x[5m]))", "type": "counter"}, "type", "not to a PromQL expression"),
        ({"metric": "x_total", "type": "gauge"}, "type", "contradicts the metric name"),
    ],
)
def test_bad_type_fields_are_refused_by_name(fields: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(**fields)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_type_and_temporality_round_trip_through_the_filed_block() -> None:
    config = _config(type="Counter", temporality="delta", unit="{order}")
    assert (config.type, config.temporality) == ("counter", "delta")
    for flavour in Flavour:
        text = render_config(config, flavour)
        assert "type: counter\n" in text and "temporality: delta\n" in text
        again = find_config(text)
        assert again is not None and (again.type, again.temporality, again.unit) == ("counter", "delta", "{order}")
