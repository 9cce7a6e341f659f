"""A found series' type from its history, and the figures backends give (domain/series_types.py), by property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import config
from verifier.domain.series_types import RISES_PER_RESET, Facts, Typing, settle_type, settle_unit

CONFIG = config(metric="app.orders", unit="{order}", condition="< 5")
FIGURES = st.one_of(st.none(), st.integers(min_value=0, max_value=10**6).map(float))


@given(changes=FIGURES, resets=FIGURES)
def test_the_history_decides_counter_gauge_or_nothing(changes: float | None, resets: float | None) -> None:
    facts = Facts(changes=changes, resets=resets)
    typed = settle_type(CONFIG, "app_orders", facts, counter_name=False, shared=True, history="24h")
    if not changes:  # never moved (or no figure): never a guess
        assert isinstance(typed, str) and "declare type: counter or type: gauge" in typed
        return
    assert isinstance(typed, Typing) and not typed.delta and typed.how.startswith("type inferred")
    assert typed.counter == (changes >= RISES_PER_RESET * (resets or 0))


@given(types=st.frozensets(st.sampled_from(["counter", "gauge", "unknown", "info"]), min_size=1, max_size=4))
def test_the_type_label_wins_over_metadata_and_history(types: frozenset[str]) -> None:
    facts = Facts(types=types, metadata_type="counter", changes=5.0, resets=0.0)
    typed = settle_type(CONFIG, "x", facts, counter_name=False, shared=True, history="24h")
    if len(types) > 1:
        assert typed == "the series of 'x' differ in type (" + ", ".join(sorted(types)) + ")"
    elif types == {"counter"} or types == {"gauge"}:
        assert isinstance(typed, Typing) and typed.counter == (types == {"counter"})
        assert typed.how == "type from its __type__ label"
    else:  # a word that says neither: the history decides (it only rose)
        assert isinstance(typed, Typing) and typed.counter and typed.how.startswith("type inferred")


def test_a_backend_listing_many_units_is_named_briefly() -> None:
    units = frozenset(f"u{i:03d}" + "x" * 60 for i in range(1000))
    reason = settle_unit(config(metric="x", condition="< 5"), "x", Facts(units=units))
    assert isinstance(reason, str) and reason.endswith("and 995 more): declare which one in unit:")
    assert len(reason) < 400


def test_an_unknown_backend_unit_matters_only_when_the_condition_has_a_unit() -> None:
    facts = Facts(metadata_unit="furlongs")
    bare = settle_unit(config(metric="x", condition="< 5"), "x", facts)
    assert not isinstance(bare, str) and bare.unit is None  # type: ignore[union-attr]
    timed = settle_unit(config(metric="x", condition="< 5ms"), "x", facts)
    assert timed == "'x' is in the unit 'furlongs' (the metadata API), which the tool does not know"
