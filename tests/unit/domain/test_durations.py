"""Durations as configs write them and as PromQL wants them (verifier/domain/durations.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from verifier.domain.durations import MAX_DURATION, checked, config_duration, hours, parse_duration, promql_duration
from verifier.errors import ConfigError


def _reason(call, *args: object) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as error:
        call(*args)
    return error.value.field, error.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48h", timedelta(hours=48)),
        ("90m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("3600s", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1w1d1h1m1s", timedelta(days=8, seconds=3661)),
        ("  2h  ", timedelta(hours=2)),
        ("48 hours", timedelta(hours=48)),
        ("1 hour", timedelta(hours=1)),
        ("36hrs", timedelta(hours=36)),
        ("1.5 Hours", timedelta(minutes=90)),
        ("2 DAYS", timedelta(days=2)),
        ("1 week", timedelta(weeks=1)),
        ("2 weeks", timedelta(weeks=2)),
        ("30 minutes", timedelta(minutes=30)),
        ("5 mins", timedelta(minutes=5)),
        ("45 seconds", timedelta(seconds=45)),
        ("10 secs", timedelta(seconds=10)),
        ("1.4 seconds", timedelta(seconds=1)),
        ("1.6 seconds", timedelta(seconds=2)),
    ],
)
def test_durations_people_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "window") == expected


@pytest.mark.parametrize("text", ["48", "h", "48x", "1h 30m", "-1h", "forty hours", "1.5h", ""])
def test_other_text_is_not_a_duration(text: str) -> None:
    assert _reason(parse_duration, text, "window") == (
        "window",
        f"'{text}' is not a duration (examples: 48h, 90m, 2d, 1h30m)",
    )


def test_a_duration_text_may_be_a_hundred_characters_but_no_more() -> None:
    exactly = "0" * 98 + "1h"
    assert len(exactly) == 100
    assert parse_duration(exactly, "delay") == timedelta(hours=1)
    assert _reason(parse_duration, "0" + exactly, "delay") == ("delay", "is longer than 100 characters")


def test_the_length_is_counted_after_stripping() -> None:
    assert parse_duration(" " * 200 + "1h" + " " * 200, "delay") == timedelta(hours=1)


@pytest.mark.parametrize("text", ["366d", "52w2d", "8784h", "366 days"])
def test_a_year_is_the_longest_duration(text: str) -> None:
    assert parse_duration(text, "delay") == MAX_DURATION == timedelta(days=366)


@pytest.mark.parametrize("text", ["367d", "8785h", "366d1s", "367 days", "9" * 90 + "w", "9" * 90 + " days"])
def test_longer_than_a_year_is_refused(text: str) -> None:
    assert _reason(parse_duration, text, "delay") == ("delay", "must be at most 366 days")


@pytest.mark.parametrize("text", ["0h", "0 hours", "0.4 seconds"])
def test_zero_is_refused(text: str) -> None:
    assert _reason(parse_duration, text, "window") == ("window", "must be longer than zero")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(48, timedelta(hours=48)), (0.5, timedelta(minutes=30)), (1 / 3600, timedelta(seconds=1)), (8784, MAX_DURATION)],
)
def test_hours(value: float, expected: timedelta) -> None:
    assert hours(value, "delay_hours") == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_hours_must_be_finite(value: float) -> None:
    assert _reason(hours, value, "delay_hours") == ("delay_hours", "must be a finite number of hours")


@pytest.mark.parametrize("value", [8784.5, -8785.0, 1e300])
def test_hours_beyond_a_year_are_refused(value: float) -> None:
    assert _reason(hours, value, "delay_hours") == ("delay_hours", "must be at most 8784 hours")


@pytest.mark.parametrize("value", [0, -1, 0.0001])
def test_hours_must_be_positive(value: float) -> None:
    assert _reason(hours, value, "delay_hours") == ("delay_hours", "must be longer than zero")


def test_checked_bounds() -> None:
    assert checked(timedelta(seconds=1), "f") == timedelta(seconds=1)
    assert checked(MAX_DURATION, "f") == MAX_DURATION
    assert _reason(checked, timedelta(0), "f") == ("f", "must be longer than zero")
    assert _reason(checked, MAX_DURATION + timedelta(seconds=1), "f") == ("f", "must be at most 366 days")


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=2), "48h"),
        (timedelta(hours=1), "1h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(minutes=1), "1m"),
        (timedelta(seconds=61), "61s"),
        (timedelta(seconds=5), "5s"),
        (timedelta(hours=1, seconds=1), "3601s"),
    ],
)
def test_promql_and_config_durations_use_the_largest_whole_unit_up_to_hours(duration: timedelta, text: str) -> None:
    assert promql_duration(duration) == text
    assert config_duration(duration) == text
    assert parse_duration(text, "window") == duration
