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
from verifier.domain.metric import DELTA_NOTE, Kind, Metric
from verifier.domain.otel import (
    Escaping,
    Instrument,
    Strategy,
    escape_name,
    label_forms,
    looks_like_otel_name,
    otlp_name,
    python_exporter_name,
    sdk_remote_write_name,
)
from verifier.domain.series_types import UnitChoice
from verifier.domain.units import declared_unit, unit_of_metric_name

_SIBLINGS = ("_bucket", "_count")
# After classic-to-NHCB conversion a classic histogram's `_count` and `_sum` are functions of the native one.
_NHCB = {"_count": "histogram_count", "_sum": "histogram_sum"}
_NHCB_SOURCE = "a native histogram with custom buckets (NHCB): its count or sum"


@dataclass(frozen=True)
class Candidate:
    name: str  # a family name: the series itself, or the base of `_bucket`/`_count`
    source: str  # which exporter or translation stores the instrument so
    shared: bool = False  # the source stores counters and gauges under this one name (no `_total`)
    counter: bool = False  # the name as written says counter: `_total`, and also `_count` or `_sum`
    histogram_of: str | None = None  # a `_count`/`_sum` config read from this native histogram (NHCB)


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
    also_native: str | None = None  # a `_count`/`_sum` whose native histogram (NHCB) also exists in the window


def _native_twin(candidates: tuple[Candidate, ...], name: str, names: frozenset[str]) -> str | None:
    for other in candidates:
        if other.histogram_of and name == other.name + next(k for k, v in _NHCB.items() if v == other.histogram_of):
            return other.name if other.name in names else None
    return None


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
        for suffix, function in _NHCB.items():
            if understood.kind is Kind.COUNTER and name.endswith(suffix) and len(name) > len(suffix):
                found.append(Candidate(name.removesuffix(suffix), _NHCB_SOURCE, True, True, function))
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
    for scheme in (Escaping.DOTS, Escaping.VALUES):  # a scrape of UTF-8 names, escaped as negotiated
        for kind in kinds:
            utf8 = otlp_name(name, unit, kind, Strategy.NO_UTF8_ESCAPING_WITH_SUFFIXES)
            found.append(Candidate(escape_name(utf8, scheme), f"scrape escaping {scheme.value}"))
        found.append(Candidate(escape_name(name, scheme), f"scrape escaping {scheme.value}, no suffixes", shared=True))
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
            if candidate.histogram_of and (name + "_bucket" in names or name + "_count" in names):
                continue  # a classic histogram's family name, not a native one
            shape = Shape.COUNTER if candidate.counter or name.endswith("_total") else Shape.BARE
            native = _native_twin(found.candidates, name, names)
            return Found(candidate, shape, also_native=native)
        elif name + "_bucket" in names:
            return Misfit(f"'{name}' is a histogram: the condition needs a quantile such as p99")
    exists = sorted(n for n in names if any(n.startswith(c.name) for c in found.candidates))
    hint = f" (found only {', '.join(exists)})" if exists else ""
    return f"{NO_SERIES} under any candidate name: tried {found.tried()}{hint}"


#: How `choose` says that no series exists at all (the metric was never seen): `no_data: zero` may apply.
NO_SERIES = "no data: no series in the window"


def settled(found: Found, counter: bool, how: str) -> Settled:
    """The found series with its type settled (`series_types.settle_type`)."""
    shape = found.shape
    if shape in (Shape.BARE, Shape.COUNTER, Shape.GAUGE):
        shape = Shape.COUNTER if counter else Shape.GAUGE
    return Settled(found.candidate, shape, found.also_native, how)


@dataclass(frozen=True)
class Settled(Found):
    how: str = ""


def resolved_metric(
    config: VerificationConfig,
    found: Found,
    label_names: frozenset[str] | None,
    *,
    info_names: frozenset[str] | None = None,
    unit: UnitChoice | None = None,
    delta: bool = False,
) -> Metric:
    """The metric to query: the found name, its type, its unit and the labels as the series carry them."""
    name, shape = found.candidate.name, found.shape
    if unit is None:
        declared = declared_unit(config.unit) if config.unit else None
        unit = UnitChoice(declared or unit_of_metric_name(name) or config.understood.unit, None, None)
    kind = {
        Shape.COUNTER: Kind.COUNTER,
        Shape.GAUGE: Kind.GAUGE,
        Shape.NATIVE: Kind.NATIVE_HISTOGRAM,
    }.get(shape, Kind.HISTOGRAM)
    buckets = name if shape is Shape.BUCKETS_IN_NAME else None
    matchers, info, identity = _labels(config.labels, label_names, info_names)
    if unit.matcher is not None:
        matchers = (*matchers, ("__unit__", unit.matcher))
    how = f"; {found.how}" if isinstance(found, Settled) and found.how else ""
    how += f"; {unit.how}" if unit.how else ""
    what = f"{found.candidate.histogram_of} of a {Shape.NATIVE.value}" if found.candidate.histogram_of else shape.value
    note = f"metric resolved to '{name}' ({what}; stored as by {found.candidate.source}{how})"
    if info:
        note += "; " + ", ".join(k for k, _ in info) + " matched through target_info"
    if identity:
        note += "; " + ", ".join(identity) + " (not labels of their own: Prometheus's OTLP default)"
    notes = (note, DELTA_NOTE) if delta and kind is Kind.COUNTER else (note,)
    metric = Metric(kind, name, unit.unit, notes)
    return replace(
        metric,
        buckets=buckets,
        matchers=matchers,
        info_matchers=info,
        delta=delta and kind is Kind.COUNTER,
        histogram_of=found.candidate.histogram_of,
    )


#: Resource attributes Prometheus's OTLP receiver turns into `job` and `instance` (and keeps on `target_info` only
#: with `keep_identifying_resource_attributes`); Mimir likewise.
IDENTITY = ("service.name", "service.namespace", "service.instance.id")


def needs_info_names(config: VerificationConfig, present: frozenset[str] | None) -> bool:
    """Whether `target_info`'s label names are needed: an identity attribute that is not a label of its own."""
    return present is not None and any(
        k in IDENTITY and k not in present and not any(f in present for f in label_forms(k)) for k, _ in config.labels
    )


def _from_identity(name: str, present: frozenset[str] | None, info_present: frozenset[str] | None) -> bool:
    """`name` is neither a label of the series nor on target_info, but its identity label stands for it."""
    forms = (name, *label_forms(name))
    if present is None or info_present is None or any(f in present for f in forms):
        return False
    return not any(f in info_present for f in forms)


def _labels(
    labels: tuple[tuple[str, str], ...], present: frozenset[str] | None, info_present: frozenset[str] | None
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Series matchers, target_info matchers, and identity attributes read from job/instance: an attribute name
    matches itself (UTF-8 storage) or its promoted label when the series carry one (`key_` or `_` before a
    leading digit or underscore); else a resource attribute on target_info, when target_info carries it; else
    `service.name`/`service.namespace` are `job` (`namespace/name`) and `service.instance.id` is `instance`."""
    series, info, identity = [], [], []
    values = dict(labels)
    for name, value in labels:
        forms = [f for f in label_forms(name) if present is not None and f in present]
        if "." not in name or present is None or name in present:
            series.append((name, value))
        elif forms:
            series.append((forms[0], value))
        elif name in IDENTITY and _from_identity(name, present, info_present):
            if name == "service.instance.id":
                series.append(("instance", value))
                identity.append(f"{name} as instance")
            elif name == "service.name":
                namespace = values.get("service.namespace")
                series.append(("job", f"{namespace}/{value}" if namespace else value))
                identity.append(f"{name} as job" if not namespace else "service.namespace/service.name as job")
            elif not _from_identity("service.name", present, info_present) or "service.name" not in values:
                info.append((label_forms(name)[0], value))  # a namespace names a job only with its service.name
        else:
            info.append((label_forms(name)[0], value))
    return tuple(series), tuple(info), tuple(identity)


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
