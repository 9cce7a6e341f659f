"""A found series' type, temporality and unit, and where each came from (#21).

First what the backend says of the series: the `__type__` and `__unit__` labels (Prometheus's
`type-and-unit-labels`), then its metadata API; then the config's own `type:`, `temporality:` and `unit:` (which
`file` writes once resolved); last, for a name that both counters and gauges are stored under, the series' own
history over a range longer than the window: one that only rose (resets aside) is a counter. A series that never
moved could be either: INCONCLUSIVE, never a guess, since averaging a flat counter reads its running total.
Pure: the service does the asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from verifier.domain.config import VerificationConfig
from verifier.domain.measurement import Measurement
from verifier.domain.metric import Kind, Metric
from verifier.domain.planning import selector
from verifier.domain.units import COUNT, DECLARED_UNITS, Unit, declared_unit, unit_of_metric_name
from verifier.errors import ConfigError

#: How far back the history that tells a counter from a gauge reaches: this many windows, at least a day.
HISTORY_WINDOWS = 4
HISTORY_MIN = timedelta(days=1)
#: A series that fell at most once per this many changes is a counter with resets (restarts), not a gauge.
RISES_PER_RESET = 10
_HISTOGRAM_TYPES = frozenset({"histogram", "gaugehistogram", "summary"})
# Prometheus's unit words, beside the OTel symbols `unit:` takes (`__unit__` and metadata carry either).
_UNIT_WORDS = {**DECLARED_UNITS, "1": DECLARED_UNITS["ratio"]}


@dataclass(frozen=True)
class Facts:
    """What the backend said of the found series."""

    types: frozenset[str] = frozenset()  # values of its `__type__` label
    units: frozenset[str] = frozenset()  # values of its `__unit__` label
    metadata_type: str | None = None
    metadata_unit: str | None = None
    changes: float | None = None  # over the history range, summed over its series
    resets: float | None = None
    native_delta: bool | None = None  # `/api/v1/features` otlp_receiver.native_delta_ingestion; None: unknown


@dataclass(frozen=True)
class Typing:
    """The settled type: a counter or not, delta or cumulative, and how that was known."""

    counter: bool
    delta: bool
    how: str


@dataclass(frozen=True)
class UnitChoice:
    unit: Unit | None
    matcher: str | None  # the `__unit__` value to select, when the series differ in unit
    how: str | None


def native_delta(features: Mapping[str, Mapping[str, bool]] | None) -> bool | None:
    """Whether the backend stores OTLP deltas as they come (Prometheus's `otlp-native-delta-ingestion`)."""
    receiver = (features or {}).get("otlp_receiver") or {}
    value = receiver.get("native_delta_ingestion")
    return value if isinstance(value, bool) else None


def history_range(window: timedelta) -> timedelta:
    return max(window * HISTORY_WINDOWS, HISTORY_MIN)


def history_query(name: str, rng: str) -> str:
    """Two numbers for the family `name` over `rng`: how often its values changed and how often they fell."""
    series = selector(name, ())
    return (
        f'label_replace(sum(changes({series}[{rng}])), "fact", "changes", "", "")'
        f' or label_replace(sum(resets({series}[{rng}])), "fact", "resets", "", "")'
    )


def read_history(answer: Measurement) -> tuple[float | None, float | None]:
    """(changes, resets) from `history_query`'s answer; None for a figure the backend did not give."""
    figures: dict[str, float] = {}
    for series in answer.series:
        fact = dict(series.labels).get("fact")
        if fact in ("changes", "resets") and series.points:
            figures[fact] = series.points[-1][1]
    return figures.get("changes"), figures.get("resets")


def backend_type(facts: Facts, name: str) -> str | ConfigError | None:
    """The type the backend states: `__type__` when every series agrees, else the metadata API's."""
    if len(facts.types) > 1:
        return ConfigError("metric", f"the series of '{name}' differ in type ({_listed(facts.types)})")
    if facts.types:
        return next(iter(facts.types))
    return facts.metadata_type or None


def settle_type(
    config: VerificationConfig, name: str, facts: Facts, *, counter_name: bool, shared: bool, history: str
) -> Typing | str | ConfigError:
    """A counter or a gauge, for a non-histogram config. A ConfigError is INVALID (the config contradicts what
    exists); a text is INCONCLUSIVE (nothing can tell)."""
    stated = backend_type(facts, name)
    if isinstance(stated, ConfigError):
        return stated.reason
    source = "its __type__ label" if facts.types else "the metadata API"
    if stated in _HISTOGRAM_TYPES:
        return ConfigError("condition", f"'{name}' is a {stated}: the condition needs a quantile such as p99")
    declared_delta = config.temporality == "delta"
    if declared_delta:
        return Typing(True, True, "a counter with delta temporality (the config's temporality:)")
    if stated == "unknown" and counter_name:  # how Prometheus stores OTLP deltas (otlp-native-delta-ingestion)
        if facts.native_delta is False:
            return Typing(True, False, f"a counter by its name ({source} says 'unknown'; no native delta ingestion)")
        return Typing(True, True, f"a counter with delta temporality ({source} says 'unknown')")
    if stated in ("counter", "gauge"):
        if config.type and config.type != stated:
            return ConfigError(
                "type", f"the config's type: says {config.type}, but {source} says '{name}' is a {stated}"
            )
        if stated == "gauge" and counter_name:
            return Typing(True, declared_delta, "a counter by its name")
        return Typing(stated == "counter", declared_delta, f"type from {source}")
    if counter_name:
        return Typing(True, declared_delta, "a counter by its name")
    if config.type:
        return Typing(config.type == "counter", declared_delta, "type from the config's type:")
    if not shared:
        return Typing(False, False, "a gauge: no `_total`")
    return _inferred(name, facts, history)


def _inferred(name: str, facts: Facts, history: str) -> Typing | str:
    changes, resets = facts.changes, facts.resets
    if not changes:  # no answer, or it never moved: a flat counter and a flat gauge look alike
        return (
            f"cannot tell whether '{name}' is a counter or a gauge: no type label, no metadata, no type: in the "
            f"config, and it did not change over the last {history}; declare type: counter or type: gauge"
        )
    falls = resets or 0.0
    if falls == 0:
        return Typing(True, False, f"type inferred: no type metadata, and it only rose over the last {history}")
    if changes >= RISES_PER_RESET * falls:
        return Typing(
            True,
            False,
            f"type inferred: no type metadata, and it rose over the last {history} but for {falls:g} resets",
        )
    return Typing(False, False, f"type inferred: no type metadata, and it fell {falls:g} times over the last {history}")


def settle_unit(config: VerificationConfig, name: str, facts: Facts) -> UnitChoice | str | ConfigError:
    """The series' unit: `__unit__`, the metadata API's, the config's `unit:`, the name's suffix."""
    declared = declared_unit(config.unit) if config.unit else None
    matcher = None
    if len(facts.units) > 1:
        chosen = [u for u in facts.units if declared and parse_unit(u) == declared]
        if len(chosen) != 1:
            units = _listed(facts.units)
            return f"the series of '{name}' differ in unit ({units}): declare which one in unit:"
        matcher = chosen[0]
    stated, source = None, ""
    if facts.units:
        stated, source = matcher or next(iter(facts.units)), "its __unit__ label"
    elif facts.metadata_unit:
        stated, source = facts.metadata_unit, "the metadata API"
    if stated is not None:
        unit = parse_unit(stated)
        if unit is None and config.condition.unit is not None:  # a number in ms cannot be set against it
            return f"'{name}' is in the unit '{_listed(frozenset({stated}))}' ({source}), which the tool does not know"
        if unit is None:  # the condition is a bare number: the unit does not change the verdict
            return UnitChoice(declared or unit_of_metric_name(name), matcher, None)
        if declared and declared != unit and not (declared is COUNT and unit.dimension == "count"):
            return ConfigError(
                "unit", f"the config's unit: says {declared.name}, but {source} says '{name}' is in {unit.name}"
            )
        return UnitChoice(unit, matcher, f"unit from {source}")
    return UnitChoice(declared or unit_of_metric_name(name) or config.understood.unit, None, None)


def filed_config(config: VerificationConfig, metric: Metric) -> VerificationConfig:
    """The config with the type, temporality and unit the backend's series resolved to written in, so later runs
    do not guess (`file`, `check-config --resolve`). What the config already says stays; a unit the config's
    `unit:` cannot name (an annotation such as `{request}`) is left out."""
    kind = {Kind.COUNTER: "counter", Kind.GAUGE: "gauge"}.get(metric.kind, "histogram")
    if metric.kind is Kind.EXPRESSION:
        return config
    unit = config.unit
    if unit is None and metric.unit is not None and metric.unit.name in DECLARED_UNITS:
        unit = metric.unit.name
    temporality = config.temporality or ("delta" if metric.delta else None)
    return replace(config, type=config.type or kind, unit=unit, temporality=temporality)


def _listed(values: frozenset[str], most: int = 5) -> str:
    """Backend label values for a reason: a few, each short (a backend may answer with thousands)."""
    shown = [v if len(v) <= 40 else v[:40] + "..." for v in sorted(values)[:most]]
    return ", ".join(shown) + (f" and {len(values) - most} more" if len(values) > most else "")


def parse_unit(text: str) -> Unit | None:
    """A backend's unit (`seconds`, `s`, `By`, `{request}`), or None when not known."""
    try:
        return declared_unit(text) if text.strip() not in _UNIT_WORDS else _UNIT_WORDS[text.strip()]
    except ConfigError:
        return None
