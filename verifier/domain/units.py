"""Units: what a condition's number means, and what unit a metric's samples are in.

A unit is a dimension (time, bytes, fraction) and a factor to that dimension's base unit (seconds, bytes, ratio).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from verifier.errors import ConfigError


@dataclass(frozen=True)
class Unit:
    name: str
    dimension: str  # "time" | "bytes" | "fraction" | "count"
    factor: float  # multiply by this to get the dimension's base unit


SECONDS = Unit("seconds", "time", 1.0)
MILLISECONDS = Unit("milliseconds", "time", 1e-3)
MICROSECONDS = Unit("microseconds", "time", 1e-6)
NANOSECONDS = Unit("nanoseconds", "time", 1e-9)
MINUTES = Unit("minutes", "time", 60.0)
HOURS = Unit("hours", "time", 3600.0)
DAYS = Unit("days", "time", 86400.0)
BYTES = Unit("bytes", "bytes", 1.0)
RATIO = Unit("ratio", "fraction", 1.0)
PERCENT = Unit("percent", "fraction", 0.01)
#: OTel annotation units (`{request}`, `{order}`): a dimensionless count of things.
COUNT = Unit("count", "count", 1.0)
_ANNOTATION = re.compile(r"\{[^{}]*\}")

#: Units a condition may write after its number (`< 100ms`, `< 0.1%`, `< 2GiB`).
CONDITION_UNITS: dict[str, Unit] = {
    "ns": NANOSECONDS,
    "us": MICROSECONDS,
    "µs": MICROSECONDS,
    "ms": MILLISECONDS,
    "s": SECONDS,
    "m": MINUTES,
    "h": HOURS,
    "%": PERCENT,
    "B": BYTES,
    "kB": Unit("kilobytes", "bytes", 1e3),
    "MB": Unit("megabytes", "bytes", 1e6),
    "GB": Unit("gigabytes", "bytes", 1e9),
    "KiB": Unit("kibibytes", "bytes", 1024.0),
    "MiB": Unit("mebibytes", "bytes", 1024.0**2),
    "GiB": Unit("gibibytes", "bytes", 1024.0**3),
}

#: Names a config's `unit:` field may use: Prometheus words, OpenTelemetry (UCUM) symbols, condition symbols.
DECLARED_UNITS: dict[str, Unit] = {
    **{k: v for k, v in CONDITION_UNITS.items() if k != "m"},
    "min": MINUTES,
    "seconds": SECONDS,
    "milliseconds": MILLISECONDS,
    "microseconds": MICROSECONDS,
    "nanoseconds": NANOSECONDS,
    "minutes": MINUTES,
    "hours": HOURS,
    "d": DAYS,
    "days": DAYS,
    "bytes": BYTES,
    "By": BYTES,
    "KiBy": CONDITION_UNITS["KiB"],
    "MiBy": CONDITION_UNITS["MiB"],
    "GiBy": CONDITION_UNITS["GiB"],
    "KBy": CONDITION_UNITS["kB"],
    "MBy": CONDITION_UNITS["MB"],
    "GBy": CONDITION_UNITS["GB"],
    "TiBy": Unit("tebibytes", "bytes", 1024.0**4),
    "TBy": Unit("terabytes", "bytes", 1e12),
    "ratio": RATIO,
    "1": RATIO,
    "percent": PERCENT,
}

#: Metric-name suffixes that say the unit (Prometheus naming conventions and OTel's translation).
_SUFFIX_UNITS: dict[str, Unit] = {
    "seconds": SECONDS,
    "milliseconds": MILLISECONDS,
    "microseconds": MICROSECONDS,
    "nanoseconds": NANOSECONDS,
    "bytes": BYTES,
    "ratio": RATIO,
    "percent": PERCENT,
}
# `_bucket`, `_sum` and `_total` keep the unit of the name before them; `_count` and `_created` do not.
_UNIT_KEEPING_SUFFIXES = ("_bucket", "_sum", "_total")
_UNITLESS_SUFFIXES = ("_count", "_created")
_SUFFIX_RE = re.compile(r"_(" + "|".join(_SUFFIX_UNITS) + r")$")


def declared_unit(name: str) -> Unit:
    """The unit a config's `unit:` field names; an OTel annotation alone (`{order}`) is a count."""
    if _ANNOTATION.fullmatch(name.strip()):
        return COUNT
    try:
        return DECLARED_UNITS[name.strip()]
    except KeyError:
        known = ", ".join(sorted(DECLARED_UNITS))
        raise ConfigError(
            "unit", f"unknown unit '{name}' (known: {known}, or an annotation such as {{request}})"
        ) from None


def unit_of_metric_name(name: str) -> Unit | None:
    """The unit a metric name's suffix declares (`..._seconds_bucket` -> seconds), or None."""
    if name.endswith(_UNITLESS_SUFFIXES):
        return None
    base = name
    for suffix in _UNIT_KEEPING_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    match = _SUFFIX_RE.search(base)
    return _SUFFIX_UNITS[match.group(1)] if match else None


@dataclass(frozen=True)
class Threshold:
    """A condition's number, in the metric's own unit."""

    value: float
    unit: Unit | None  # the metric's unit, when known
    assumed: bool  # True when the metric's unit was not known and a base unit was assumed

    def describe(self) -> str:
        unit = f" {self.unit.name}" if self.unit else ""
        note = " (unit assumed: no unit on the metric)" if self.assumed else ""
        return f"{self.value:g}{unit}{note}"


def convert(value: float, written: Unit | None, metric_unit: Unit | None) -> Threshold:
    """Convert a condition's number written in `written` to the metric's unit.

    With no unit written, the number is taken as already in the metric's unit. With no unit known for the
    metric, the dimension's base unit (seconds, bytes, ratio) is assumed, as Prometheus conventions ask.
    """
    if written is None:
        return Threshold(value, metric_unit, assumed=False)
    if metric_unit is None:
        base = {"time": SECONDS, "bytes": BYTES, "fraction": RATIO}[written.dimension]
        return Threshold(_scaled(value, written.factor, base.factor), base, assumed=True)
    if written.dimension != metric_unit.dimension:
        raise ConfigError(
            "condition",
            f"a value in {written.name} cannot be compared with a metric in {metric_unit.name}",
        )
    return Threshold(_scaled(value, written.factor, metric_unit.factor), metric_unit, assumed=False)


def _scaled(value: float, factor: float, per: float) -> float:
    """`value * factor / per` rounded once, in decimal: `99.9%` is 0.999 (not 0.9990000000000001), so a value
    measured exactly at the written threshold is judged at it, not past it."""
    return float(Decimal(repr(value)) * Decimal(repr(factor)) / Decimal(repr(per)))
