"""Durations as configs write them (`48h`, `90m`, `2d`, `1h30m`) and as PromQL wants them."""

from __future__ import annotations

import re
from datetime import timedelta

from verifier.errors import ConfigError

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)(w|d|h|m|s)")
_WHOLE = re.compile(r"(?:\d+(?:w|d|h|m|s))+")
_WORDS = re.compile(r"(\d+(?:\.\d+)?)\s*(weeks?|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)", re.IGNORECASE)
_WORD_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

#: Longest window or delay a config may ask for; beyond it the answer is about another system.
MAX_DURATION = timedelta(days=366)
_MAX_TEXT = 100


def parse_duration(text: str, field: str) -> timedelta:
    """`48h`, `2d`, `1h30m`, `3600s`, or words (`48 hours`). Must be positive and at most a year."""
    raw = text.strip()
    if len(raw) > _MAX_TEXT:  # no duration is this long; a 5,000-digit number would not even convert
        raise ConfigError(field, f"is longer than {_MAX_TEXT} characters")
    if _WHOLE.fullmatch(raw):
        seconds: float = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(raw))
    else:
        words = _WORDS.fullmatch(raw)
        if not words:
            raise ConfigError(field, f"'{text}' is not a duration (examples: 48h, 90m, 2d, 1h30m)")
        seconds = float(words.group(1)) * _WORD_SECONDS[words.group(2)[0].lower()]
    if seconds > MAX_DURATION.total_seconds():  # before timedelta(), which overflows on huge numbers
        raise ConfigError(field, f"must be at most {MAX_DURATION.days} days")
    return checked(timedelta(seconds=round(seconds)), field)


def hours(value: float, field: str) -> timedelta:
    """A number of hours (the seed's `delay_hours: 48`)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(field, "must be a finite number of hours")
    if abs(value) > MAX_DURATION.total_seconds() / 3600:
        raise ConfigError(field, f"must be at most {MAX_DURATION.days * 24} hours")
    return checked(timedelta(seconds=round(value * 3600)), field)


def checked(duration: timedelta, field: str) -> timedelta:
    if duration <= timedelta(0):
        raise ConfigError(field, "must be longer than zero")
    if duration > MAX_DURATION:
        raise ConfigError(field, f"must be at most {MAX_DURATION.days} days")
    return duration


def promql_duration(duration: timedelta) -> str:
    """A single-unit PromQL duration for a whole number of seconds (`48h`, `90m`, `5s`); hours are the
    largest unit so that windows read as people write them (`48h`, not `2d`)."""
    seconds = int(duration.total_seconds())
    for unit in ("h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def config_duration(duration: timedelta) -> str:
    """How a rendered config writes a duration; `parse_duration` reads it back unchanged."""
    return promql_duration(duration)
