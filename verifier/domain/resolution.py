"""Which series a config's metric really is on the backend, and of what type.

One OTel instrument is stored under different names depending on the path it took (Prometheus's four OTLP
translation strategies, the Collector's exporters, the Python SDK's Prometheus and remote-write exporters).
`lookup` lists the candidates in a fixed order; the backend says which names exist in the window; `choose`
takes the first candidate that exists, and its type from what exists beside it, then from the metadata API,
then (for a bare name with neither) from whether it only grew. Pure: the service does the asking.

The order, first match wins:
 1. the name as written, when it is a Prometheus name;
 2. UnderscoreEscapingWithSuffixes (Prometheus's default; the Collector's `prometheusremotewrite` exporter);
 3. the Python SDK's Prometheus exporter (no `_ratio` for unit `1`);
 4. UnderscoreEscapingWithoutSuffixes; 5. NoUTF8EscapingWithSuffixes; 6. NoTranslation;
 7. the Python SDK's remote-write exporter (raw unit: `_s`, `_By`, `__request_`).
Within one, a classic histogram (`_bucket`) before a native one; a counter (`_total`) before a gauge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import pairwise

from verifier.domain.config import VerificationConfig
from verifier.domain.measurement import Measurement
from verifier.domain.metric import Kind, Metric
from verifier.domain.otel import (
    Instrument,
    Strategy,
    escape_label,
    looks_like_otel_name,
    otlp_name,
    python_exporter_name,
    sdk_remote_write_name,
)
from verifier.domain.planning import selector
from verifier.domain.units import declared_unit, unit_of_metric_name

_SIBLINGS = ("_bucket", "_count")


@dataclass(frozen=True)
class Candidate:
    name: str  # a family name: the series itself, or the base of `_bucket`/`_count`
    source: str  # which exporter or translation stores the instrument so
    shared: bool = False  # the source stores counters and gauges under this one name (no `_total`)
    counter: bool = False  # the name as written says counter: `_total`, and also `_count` or `_sum`


@dataclass(frozen=True)
class Lookup:
    """What to ask the backend: which of these names (and their `_bucket`/`_count` siblings) exist."""

    candidates: tuple[Candidate, ...]
    matcher: str  # a series selector for the label-values API: `{__name__=~"a|b(_bucket|_count)?"}`

    def tried(self) -> str:
        return ", ".join(c.name for c in self.candidates)


class Shape(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    CLASSIC = "classic histogram"
    NATIVE = "native histogram"
    BUCKETS_IN_NAME = "histogram with its buckets under the family name"  # the SDK remote-write exporter
    BARE = "bare series"  # neither name nor siblings tell: metadata, then the data, decide


@dataclass(frozen=True)
class Found:
    candidate: Candidate
    shape: Shape


def lookup(config: VerificationConfig) -> Lookup | None:
    """The candidates for the config's metric, or None for a PromQL expression (nothing to resolve)."""
    understood = config.understood
    if understood.kind is Kind.EXPRESSION:
        return None
    histogram = config.condition.quantile is not None
    if looks_like_otel_name(config.metric):
        found = _otel_candidates(config.metric, config.unit, histogram)
    else:
        name = understood.promql
        found = [Candidate(name, "as written", counter=understood.kind is Kind.COUNTER)]
        if understood.kind is Kind.GAUGE:
            found.append(Candidate(name + "_total", "as written, with the counter suffix"))
    unique: list[Candidate] = []
    for candidate in found:  # the first source of a name wins
        if all(c.name != candidate.name for c in unique):
            unique.append(candidate)
    pattern = "|".join(re.escape(c.name) for c in unique)
    regex = f"(?:{pattern})(?:{'|'.join(_SIBLINGS)})?"
    escaped = regex.replace("\\", "\\\\").replace('"', '\\"')
    return Lookup(tuple(unique), f'{{__name__=~"{escaped}"}}')


def _otel_candidates(name: str, unit: str | None, histogram: bool) -> list[Candidate]:
    kinds = (Instrument.HISTOGRAM,) if histogram else (Instrument.COUNTER, Instrument.GAUGE)
    found = []
    for kind in kinds:
        found.append(Candidate(otlp_name(name, unit, kind, Strategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES), _DEFAULT))
    for kind in kinds:
        found.append(Candidate(python_exporter_name(name, unit, kind), "OTel Python SDK Prometheus exporter"))
    for strategy in list(Strategy)[1:]:
        shared = strategy in (Strategy.UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES, Strategy.NO_TRANSLATION)
        for kind in kinds:
            found.append(Candidate(otlp_name(name, unit, kind, strategy), f"OTLP {strategy.value}", shared))
    found.append(Candidate(sdk_remote_write_name(name, unit), "OTel Python SDK remote-write exporter", shared=True))
    return found


_DEFAULT = "OTLP UnderscoreEscapingWithSuffixes (Prometheus default, Collector prometheusremotewrite)"


class Misfit(str):
    """A series exists, but the config cannot apply to it: INVALID, not INCONCLUSIVE."""

    __slots__ = ()


def choose(found: Lookup, names: frozenset[str], *, histogram: bool) -> Found | str:
    """The first candidate that exists, with the shape its siblings show; or why none fits (a `Misfit` when
    the config is wrong for what exists)."""
    for candidate in found.candidates:
        name = candidate.name
        if histogram:
            if name + "_bucket" in names:
                return Found(candidate, Shape.CLASSIC)
            if name in names and name + "_count" in names:
                return Found(candidate, Shape.BUCKETS_IN_NAME)
            if name in names:
                return Found(candidate, Shape.NATIVE)
        elif name in names:
            return Found(candidate, Shape.COUNTER if candidate.counter or name.endswith("_total") else Shape.BARE)
        elif name + "_bucket" in names:
            return Misfit(f"'{name}' is a histogram: the condition needs a quantile such as p99")
    exists = sorted(n for n in names if any(n.startswith(c.name) for c in found.candidates))
    hint = f" (found only {', '.join(exists)})" if exists else ""
    return f"no data: no series in the window under any candidate name: tried {found.tried()}{hint}"


def settle(found: Found, metadata_type: str | None, only_grew: bool | None) -> Found | str:
    """A bare series' type: the metadata API's word; else a gauge, since its source would have written a counter
    with `_total`; else, for a source that writes both under one name (the Python SDK's remote-write exporter,
    the strategies without suffixes), a counter when it only grew over the window (`only_grew`)."""
    if found.shape is not Shape.BARE:
        return found
    if metadata_type in ("histogram", "gaugehistogram", "summary"):
        return f"'{found.candidate.name}' is a {metadata_type}: the condition needs a quantile such as p99"
    if metadata_type == "counter":
        return Settled(found.candidate, Shape.COUNTER, "type from the metadata API")
    if metadata_type:
        return Settled(found.candidate, Shape.GAUGE, "type from the metadata API")
    if not found.candidate.shared:
        return Settled(found.candidate, Shape.GAUGE, "a gauge: no `_total`")
    if only_grew:
        return Settled(found.candidate, Shape.COUNTER, "no type metadata: read as a counter, it only grew")
    return Settled(found.candidate, Shape.GAUGE, "no type metadata: read as a gauge, it did not only grow")


@dataclass(frozen=True)
class Settled(Found):
    how: str = ""


def growth_query(name: str, window: str) -> str:
    """Non-empty when every series of `name` only grew over the window (no decrease, some change)."""
    series = selector(name, ())
    return f"(sum(resets({series}[{window}])) == 0) and (sum(changes({series}[{window}])) > 0)"


def resolved_metric(config: VerificationConfig, found: Found, label_names: frozenset[str] | None) -> Metric:
    """The metric to query: the found name, its type, its unit and the labels as the series carry them."""
    name, shape = found.candidate.name, found.shape
    declared = declared_unit(config.unit) if config.unit else None
    unit = declared or unit_of_metric_name(name) or config.understood.unit
    kind = {
        Shape.COUNTER: Kind.COUNTER,
        Shape.GAUGE: Kind.GAUGE,
        Shape.NATIVE: Kind.NATIVE_HISTOGRAM,
    }.get(shape, Kind.HISTOGRAM)
    buckets = name if shape is Shape.BUCKETS_IN_NAME else None
    matchers, info = _labels(config.labels, label_names)
    how = f"; {found.how}" if isinstance(found, Settled) else ""
    note = f"metric resolved to '{name}' ({shape.value}; stored as by {found.candidate.source}{how})"
    if info:
        note += "; " + ", ".join(k for k, _ in info) + " matched through target_info"
    return replace(Metric(kind, name, unit, (note,)), buckets=buckets, matchers=matchers, info_matchers=info)


def needs_label_names(config: VerificationConfig) -> bool:
    """OTel attribute names (`service.name`) in `labels:` are matched as the series carry them."""
    return any("." in k for k, _ in config.labels)


def _labels(
    labels: tuple[tuple[str, str], ...], present: frozenset[str] | None
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Series matchers and target_info matchers: an attribute name matches itself (UTF-8 storage) or its
    promoted label when the series carry one, else a resource attribute on target_info."""
    series, info = [], []
    for name, value in labels:
        if "." not in name or present is None or name in present:
            series.append((name, value))
        elif escape_label(name) in present:
            series.append((escape_label(name), value))
        else:
            info.append((escape_label(name), value))
    return tuple(series), tuple(info)


def bucket_fault(increases: Measurement) -> str | None:
    """Why a classic histogram's buckets cannot be trusted (their increases must grow with `le`), or None."""
    by_le = []
    for series in increases.series:
        le = dict(series.labels).get("le")
        values = [v for _, v in series.points if v == v]
        if le is None or not values:
            continue
        try:
            by_le.append((float(le), values[-1]))
        except ValueError:
            return f"a bucket has the bound le={le!r}, which is not a number"
    by_le.sort()
    for (low, below), (high, above) in pairwise(by_le):
        if above + 1e-9 < below:
            return (
                f"the histogram's buckets are not cumulative (le={low:g} grew by {below:g}, le={high:g} by "
                f"{above:g}): a known exporter fault, so no quantile can be trusted"
            )
    return None
