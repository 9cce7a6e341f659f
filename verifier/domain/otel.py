"""OpenTelemetry metric names to Prometheus names, as OTLP-to-Prometheus exporters translate them.

`http.server.request.duration` with unit `s` is exported as `http_server_request_duration_seconds`. Rules from
the OpenTelemetry specification (Prometheus and OpenMetrics compatibility): characters outside `[a-zA-Z0-9_:]`
become `_`, repeated `_` collapse, the unit becomes a word suffix unless already present, `{annotations}` in
units are dropped, `/` reads `_per_`.
"""

from __future__ import annotations

import re
from enum import StrEnum

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
    return "." in metric and bool(_OTEL_NAME.fullmatch(metric))


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


# -- how each exporter stores one instrument -------------------------------------------------------------------
# Learnt from Prometheus's OTLP translation (prometheus/otlptranslator), the OpenTelemetry Python SDK's
# Prometheus exporter (with prometheus_client) and its remote-write exporter; the unit tests hold one example of
# each from their documentation and code.


class Strategy(StrEnum):
    """Prometheus 3's `otlp.translation_strategy` values (the Collector's exporters follow the first two)."""

    UNDERSCORE_ESCAPING_WITH_SUFFIXES = "UnderscoreEscapingWithSuffixes"
    UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES = "UnderscoreEscapingWithoutSuffixes"
    NO_UTF8_ESCAPING_WITH_SUFFIXES = "NoUTF8EscapingWithSuffixes"
    NO_TRANSLATION = "NoTranslation"


class Instrument(StrEnum):
    COUNTER = "counter"  # monotonic sum: `_total`
    GAUGE = "gauge"  # gauges and up-down counters (non-monotonic sums)
    HISTOGRAM = "histogram"


_TOKEN_SPLIT = re.compile(r"[^a-zA-Z0-9:]+")
_LEGACY_INVALID = re.compile(r"[^a-zA-Z0-9:_]")


def unit_suffixes(unit: str | None) -> tuple[str, str]:
    """(main, per) suffix words for an OTel unit: `By/s` -> ("bytes", "per_second"); annotations give ""."""
    main_text, _, per_text = (unit or "").partition("/")
    main_text, per_text = main_text.strip(), per_text.strip()
    main = "" if "{" in main_text or "}" in main_text else _OTLP_UNIT_WORDS.get(main_text, main_text)
    per = ""
    if per_text and "{" not in per_text and "}" not in per_text:
        per = "per_" + _PER_UNIT_WORDS.get(per_text, per_text)
    return main, per


# Prometheus's translation: the same words, but `1` maps to no word (`_ratio` is a gauge rule of its own); an
# unknown unit passes through as it is.
_OTLP_UNIT_WORDS = {
    **{k: v for k, v in _UNIT_WORDS.items() if k != v and k not in ("milliseconds", "seconds")},
    "TiBy": "tibibytes",
    "1": "",
}


def otlp_name(name: str, unit: str | None, instrument: Instrument, strategy: Strategy) -> str:
    """The series family name Prometheus's OTLP translation gives an instrument under `strategy`."""
    if strategy is Strategy.NO_TRANSLATION:
        return name
    if strategy is Strategy.UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES:
        return _leading_digit("_".join(t for t in _LEGACY_INVALID.split(name) if t))
    main, per = unit_suffixes(unit)
    if strategy is Strategy.NO_UTF8_ESCAPING_WITH_SUFFIXES:
        return _utf8_with_suffixes(name, unit, instrument, main, per)
    tokens = [t for t in _TOKEN_SPLIT.split(name) if t]
    main, per = _clean(main), _clean(per)
    if main and main not in tokens:
        tokens.append(main)
    if per and per != "per" and per not in tokens:
        tokens.append(per)
    if instrument is Instrument.COUNTER:
        tokens = [*(t for t in tokens if t != "total"), "total"]
    if unit == "1" and instrument is Instrument.GAUGE:
        tokens = [*(t for t in tokens if t != "ratio"), "ratio"]
    return _leading_digit("_".join(tokens))


def _utf8_with_suffixes(name: str, unit: str | None, instrument: Instrument, main: str, per: str) -> str:
    suffixes = []
    if unit == "1" and instrument is Instrument.GAUGE:
        name, suffixes = _trim(name, "ratio"), ["ratio"]
    if instrument is Instrument.COUNTER:
        name, suffixes = _trim(name, "total"), ["total", *suffixes]
    if per:
        name, suffixes = _trim(name, per), [per, *suffixes]
    if main and not name.endswith(main):
        suffixes = [main, *suffixes]
    return "_".join([name, *suffixes])


def python_exporter_name(name: str, unit: str | None, instrument: Instrument) -> str:
    """The family name `opentelemetry-exporter-prometheus` exposes (counters: the `_total` sample's name).

    It maps units as Prometheus does, except that `1` adds no `_ratio`, and it appends the unit after a `_`
    unless the name already ends so.
    """
    sanitized = re.sub(r"[^a-zA-Z0-9:]+", "_", name)
    if sanitized[:1].isdigit():
        sanitized = "_" + sanitized[1:]
    main, per = unit_suffixes(unit)
    word = "_".join(w for w in (_clean(main), _clean(per)) if w)
    if word and not sanitized.endswith("_" + word):
        sanitized = f"{sanitized}_{word}"
    if instrument is Instrument.COUNTER:
        sanitized = sanitized.removesuffix("_total") + "_total"
    return sanitized


def sdk_remote_write_name(name: str, unit: str | None) -> str:
    """The name `opentelemetry-exporter-prometheus-remote-write` sends: the raw unit appended, every character
    outside `[A-Za-z0-9_:]` (and a leading digit) replaced by `_`, no `_total`. Its histograms put the buckets
    under this very name (with `le`), not under `_bucket`."""
    raw = f"{name}_{unit}" if unit else name
    return re.sub(r"^\d|[^\w:]", "_", raw, flags=re.ASCII)


def legacy_name(name: str) -> bool:
    """Whether PromQL can write the name bare (Prometheus before 3 knows no other)."""
    return bool(re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name))


def escape_label(name: str) -> str:
    """An OTel attribute name as a promoted Prometheus label: `service.name` -> `service_name`."""
    label = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return "_" + label if label[:1].isdigit() else label


def label_forms(name: str) -> tuple[str, ...]:
    """The labels an attribute name may be promoted to: since Prometheus 3.7.1 (otlptranslator) a name that
    starts with a digit or a single underscore gets `key_` (`1st` -> `key_1st`, `_x` -> `key_x`); before, `_`."""
    label = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    if label[:1].isdigit():
        return ("key_" + label, "_" + label)
    if label.startswith("_") and not label.startswith("__"):
        return ("key" + label, label)
    return (label,)


class Escaping(StrEnum):
    """The scrape escaping schemes a UTF-8 name may be negotiated into (Prometheus docs, escaping_schemes.md)."""

    DOTS = "dots"
    VALUES = "values"


def escape_name(name: str, scheme: Escaping) -> str:
    """`dots`: `.` -> `_dot_`, `_` -> `__`, any other character outside the legacy set -> `_`;
    `values`: `U__` then `_` -> `__` and any character outside the legacy set -> `_<hex code point>_`.
    A name already valid in the legacy set is left as it is."""
    if legacy_name(name):
        return name
    out = ["U__"] if scheme is Escaping.VALUES else []
    for i, char in enumerate(name):
        legal = bool(re.fullmatch(r"[a-zA-Z_:]" if i == 0 else r"[a-zA-Z0-9_:]", char))
        if char == "_":
            out.append("__")
        elif legal:
            out.append(char)
        elif scheme is Escaping.DOTS:
            out.append("_dot_" if char == "." else "_")
        else:
            out.append(f"_{ord(char):x}_")
    return "".join(out)


def _clean(word: str) -> str:
    return _REPEATED.sub("_", _INVALID.sub("_", word)).strip("_")


def _trim(name: str, suffix: str) -> str:
    """Drop `suffix` and the delimiter before it, so the suffix can be appended once, last."""
    if name.endswith(suffix) and len(name) > len(suffix) + 1:
        return name[: -(len(suffix) + 1)]
    return name


def _leading_digit(name: str) -> str:
    return "_" + name if name[:1].isdigit() else name
