"""The verification config's fields, each read and checked on its own (`verifier.domain.config` builds the
config from them and checks the contradictions between them), and YAML's quoting for the block it writes. Every
problem is a `ConfigError` naming the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

from verifier.domain.condition import Condition
from verifier.domain.durations import MAX_DURATION, config_duration, hours, parse_duration
from verifier.domain.ratios import denominator
from verifier.domain.tickets import Flavour
from verifier.errors import ConfigError

DEFAULT_DELAY = timedelta(hours=48)
Mode = Literal["window", "every-step"]
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.]*$")  # dots: OTel attribute names (service.name)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
MAX_MIN_EVENTS = 10**9
_YAML_PRINTABLE = re.compile(r"[\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ZERO = re.compile(r"^\s*0+(?:\.0*)?\s*(?:s|m|h|d|seconds?|minutes?|hours?|days?)?\s*$", re.I)


def read_recheck_after(raw: Mapping[str, object], delay: timedelta) -> timedelta | None:
    """`recheck_after`, config-wide: within the listing's reach together with the delay."""
    recheck_after = read_duration(raw, "recheck_after")
    if recheck_after is not None and delay + recheck_after > MAX_DURATION:
        raise ConfigError(
            "recheck_after",
            f"{config_duration(recheck_after)} after a delay of {config_duration(delay)} is more than "
            f"{MAX_DURATION.days} days after the fix: the run no longer lists tickets that old",
        )
    return recheck_after


def read_choice(raw: Mapping[str, object], name: str, allowed: tuple[str, ...]) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise ConfigError(name, f"'{value}' is not one of {', '.join(allowed)}")
    return value.strip().lower()


def read_text(raw: Mapping[str, object], name: str, *, required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(name, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(name, f"must be text, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ConfigError(name, "is empty")
    if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
        raise ConfigError(name, "contains a NUL character or a lone surrogate")
    return text


def read_delay(raw: Mapping[str, object]) -> timedelta:
    if "delay_hours" in raw and "delay" in raw:
        raise ConfigError("delay", "is given twice: use either delay_hours or delay")
    value = raw.get("delay_hours")
    if value is not None:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ConfigError("delay_hours", f"'{value}' is not a number of hours") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError("delay_hours", f"must be a number of hours, not {type(value).__name__}")
        if isinstance(value, int) and abs(value) > 10**6:  # float() of a 400-digit integer overflows
            raise ConfigError("delay_hours", "must be at most 8784 hours")
        return hours(float(value), "delay_hours")
    return read_duration(raw, "delay") or DEFAULT_DELAY


def read_duration(raw: Mapping[str, object], name: str) -> timedelta | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(name, f"must be a duration such as 48h, not {type(value).__name__}")
    return parse_duration(value, name)


def read_labels(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError("labels", 'must be a mapping of label names to values, e.g. {service: "checkout"}')
    labels = []
    for key, val in value.items():
        if not isinstance(key, str) or not _LABEL_NAME.fullmatch(key) or key.startswith("__"):
            raise ConfigError("labels", f"'{key}' is not a valid Prometheus label name")
        if isinstance(val, bool) or not isinstance(val, str | int | float):
            raise ConfigError("labels", f"the value of '{key}' must be text")
        if any("\ud800" <= c <= "\udfff" or c == "\x00" for c in str(val)):
            raise ConfigError("labels", f"the value of '{key}' contains a NUL character or a lone surrogate")
        labels.append((key, str(val)))
    return tuple(sorted(labels))


def read_mode(value: object) -> Mode:
    if value is None or value == "window":
        return "window"
    if value == "every-step":
        return "every-step"
    raise ConfigError("mode", f"'{value}' is not a mode (use 'window' or 'every-step')")


def read_tolerance(value: object, mode: Mode) -> float:
    if value is None:
        return 0.0
    if mode != "every-step":
        raise ConfigError("tolerance", "applies only to mode: every-step")
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError("tolerance", f"'{value}' must be a percentage of steps, such as 5%")
    percent = float(match.group(1))
    if not 0 <= percent < 100 or not math.isfinite(percent):
        raise ConfigError("tolerance", "must be at least 0% and below 100%")
    return percent


def read_min_events(value: object, condition: Condition, metric: str) -> int | None:
    if value is None:
        return None
    if condition.quantile is None and denominator(metric) is None:
        raise ConfigError(
            "min_events",
            "applies only to a quantile ('< 300ms p99') or a ratio over the window "
            "('sum(increase(errors_total[$window])) / sum(increase(requests_total[$window]))')",
        )
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 10:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("min_events", f"'{value}' must be a whole number of events, such as 100")
    if not 1 <= value <= MAX_MIN_EVENTS:
        raise ConfigError("min_events", f"must be between 1 and {MAX_MIN_EVENTS:,}")
    return value


def yaml_quoted(text: str, flavour: Flavour) -> str:
    """A YAML double-quoted scalar that reads back as `text` and cannot end the block it stands in."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif _YAML_PRINTABLE.fullmatch(char) and char not in "\ufeff\u2028\u2029":  # BOM and line breaks
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    quoted = "".join(out)
    if flavour is Flavour.JIRA_WIKI:
        # `{code}` or `{noformat}` inside the value would close the Jira block early.
        quoted = re.sub(r"\{(?=code|noformat)", r"\\x7b", quoted, flags=re.IGNORECASE)
    return f'"{quoted}"'


def read_firing_at_most(value: object) -> timedelta:
    if value is None:
        return timedelta(0)
    if not isinstance(value, str):
        raise ConfigError("firing_at_most", f"must be a duration such as 5m or 0s, not {type(value).__name__}")
    if len(value) <= 40 and _ZERO.fullmatch(value):
        return timedelta(0)
    return parse_duration(value, "firing_at_most")


__all__ = [
    "DEFAULT_DELAY",
    "MAX_MIN_EVENTS",
    "Mode",
    "read_choice",
    "read_delay",
    "read_duration",
    "read_firing_at_most",
    "read_labels",
    "read_min_events",
    "read_mode",
    "read_recheck_after",
    "read_text",
    "read_tolerance",
    "yaml_quoted",
]
