"""OpenTelemetry metric names to Prometheus names, as OTLP-to-Prometheus exporters translate them.

`http.server.request.duration` with unit `s` is exported as `http_server_request_duration_seconds`. Rules from
the OpenTelemetry specification (Prometheus and OpenMetrics compatibility): characters outside `[a-zA-Z0-9_:]`
become `_`, repeated `_` collapse, the unit becomes a word suffix unless already present, `{annotations}` in
units are dropped, `/` reads `_per_`.
"""

from __future__ import annotations

import re

_UNIT_WORDS = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tebibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "%": "percent",
    # Prometheus words pass through, so `unit: seconds` works on a dotted name too.
    "seconds": "seconds",
    "milliseconds": "milliseconds",
    "bytes": "bytes",
    "ratio": "ratio",
    "percent": "percent",
}
_PER_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_REPEATED = re.compile(r"__+")
_OTEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/]*$")


def looks_like_otel_name(metric: str) -> bool:
    """A dotted name such as `http.server.request.duration` (Prometheus names have no dots)."""
    return "." in metric and bool(_OTEL_NAME.match(metric))


def unit_suffix(unit: str | None) -> str:
    """The Prometheus name suffix for an OTel unit: `s` -> `seconds`, `By/s` -> `bytes_per_second`,
    `1` -> `ratio` (gauges), `{request}` -> no suffix."""
    if not unit:
        return ""
    cleaned = re.sub(r"\{[^}]*\}", "", unit).strip()
    if cleaned == "1":
        return "ratio"
    if not cleaned:
        return ""
    main, _, per = cleaned.partition("/")
    words = [_UNIT_WORDS.get(main, main)] if main else []
    if per:
        words.append("per_" + _PER_UNIT_WORDS.get(per, _UNIT_WORDS.get(per, per)))
    return _sanitize("_".join(words))


def prometheus_name(otel_name: str, unit: str | None) -> str:
    """The Prometheus name an OTel metric is exported under (without `_total`/`_bucket`)."""
    name = _sanitize(otel_name)
    suffix = unit_suffix(unit)
    if suffix and not name.endswith("_" + suffix):
        name = f"{name}_{suffix}"
    if name[0].isdigit():
        name = "_" + name
    return name


def _sanitize(text: str) -> str:
    return _REPEATED.sub("_", _INVALID.sub("_", text)).strip("_")
