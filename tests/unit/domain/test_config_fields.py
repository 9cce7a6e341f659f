"""The config's field readers at their edges, word for word (#23: written from `config_fields`' mutation pass after
it was split from `config.py`): the error names the field, and each limit lets its last value in and refuses the next."""

from __future__ import annotations

from datetime import timedelta

import pytest

from verifier.domain.condition import parse_condition
from verifier.domain.config_fields import MAX_MIN_EVENTS, read_firing_at_most, read_min_events, read_recheck_after
from verifier.domain.durations import MAX_DURATION
from verifier.errors import ConfigError

P99 = parse_condition("< 300ms p99")


def test_firing_at_most_that_is_no_text_is_refused_naming_the_field_and_the_type() -> None:
    with pytest.raises(ConfigError) as caught:
        read_firing_at_most(5)
    assert (caught.value.field, caught.value.reason) == (
        "firing_at_most",
        "must be a duration such as 5m or 0s, not int",
    )


def test_a_zero_firing_at_most_is_read_up_to_forty_characters_and_parsed_as_a_duration_beyond() -> None:
    assert read_firing_at_most("0" * 40) == timedelta(0)
    assert read_firing_at_most(" 0s ") == timedelta(0)
    with pytest.raises(ConfigError) as caught:
        read_firing_at_most("0" * 41)
    assert caught.value.field == "firing_at_most"


def test_min_events_as_text_is_read_up_to_ten_digits_and_up_to_the_most_events() -> None:
    assert read_min_events("1000000000", P99, "http_latency") == MAX_MIN_EVENTS == 10**9
    assert read_min_events(" 42 ", P99, "http_latency") == 42
    assert read_min_events(MAX_MIN_EVENTS, P99, "http_latency") == MAX_MIN_EVENTS
    with pytest.raises(ConfigError) as caught:
        read_min_events("10000000000", P99, "http_latency")  # eleven digits: not read as a number at all
    assert caught.value.reason == "'10000000000' must be a whole number of events, such as 100"
    with pytest.raises(ConfigError) as caught:
        read_min_events(MAX_MIN_EVENTS + 1, P99, "http_latency")
    assert caught.value.reason == "must be between 1 and 1,000,000,000"


def test_recheck_after_may_reach_exactly_the_listings_reach_with_the_delay() -> None:
    delay = timedelta(days=2)
    most = MAX_DURATION - delay
    assert read_recheck_after({"recheck_after": f"{most.days}d"}, delay) == most
    with pytest.raises(ConfigError) as caught:
        read_recheck_after({"recheck_after": f"{most.days + 1}d"}, delay)
    assert caught.value.field == "recheck_after"
