"""What a config's `metric` is (histogram, counter, gauge or PromQL expression) and what unit it reports in."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from verifier.domain.otel import looks_like_otel_name, prometheus_name
from verifier.domain.units import Unit, declared_unit, unit_of_metric_name
from verifier.errors import ConfigError

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_LABEL_MATCHERS = re.compile(r"\{[^{}]*\}")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'|`[^`]*`")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*+(?!\s*\()")
_KEYWORDS = frozenset(
    "and or unless bool offset by without on ignoring group_left group_right inf nan atan2 "
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split()
)


DELTA_NOTE = "delta temporality: its per-interval values are summed (sum_over_time), not increase()d"


class Kind(StrEnum):
    HISTOGRAM = "histogram"  # classic: `_bucket` series with `le`
    NATIVE_HISTOGRAM = "native histogram"
    COUNTER = "counter"
    GAUGE = "gauge"
    EXPRESSION = "expression"


@dataclass(frozen=True)
class Metric:
    """A config's metric, understood: its kind, the Prometheus name or expression, and its unit."""

    kind: Kind
    promql: str  # the series name (without `_bucket` for histograms) or the whole expression
    unit: Unit | None
    notes: tuple[str, ...] = ()
    # Set once the name is resolved against the backend (see `resolution.py`):
    buckets: str | None = None  # the classic histogram's bucket series when not `promql + "_bucket"`
    matchers: tuple[tuple[str, str], ...] | None = None  # the config's labels as the series carry them
    info_matchers: tuple[tuple[str, str], ...] = ()  # labels only `target_info` carries (joined on job, instance)
    delta: bool = False  # a counter stored with delta temporality: per-interval values, summed not increased
    histogram_of: str | None = None  # `_count`/`_sum` read from this native histogram (NHCB): its function

    @property
    def bucket_series(self) -> str:
        return self.buckets or self.promql + "_bucket"


def understand(
    metric: str, *, quantile: float | None, unit: str | None, kind: str | None = None, delta: bool = False
) -> Metric:
    """Classify `metric` and find its unit. Raises ConfigError on contradictions. `kind` is the config's
    `type:` (counter, gauge), which decides for a name whose suffix does not."""
    declared = declared_unit(unit) if unit else None
    if looks_like_otel_name(metric):
        name = prometheus_name(metric, unit)
        note = f"OpenTelemetry name '{metric}' is queried as '{name}'"
        return _typed(_bare(name, quantile, declared, notes=(note,)), kind, delta)
    if _METRIC_NAME.match(metric):
        return _typed(_bare(metric, quantile, declared, notes=()), kind, delta)
    if quantile is not None:
        raise ConfigError(
            "condition",
            "a quantile (pNN) applies to a histogram metric name; with a PromQL expression, "
            "write histogram_quantile() in the expression and drop the quantile",
        )
    return _expression(metric, declared)


def _typed(metric: Metric, kind: str | None, delta: bool) -> Metric:
    if metric.kind in (Kind.COUNTER, Kind.GAUGE) and kind in ("counter", "gauge"):
        metric = replace(metric, kind=Kind(kind))
    if delta and metric.kind is Kind.COUNTER:
        metric = replace(metric, delta=True, notes=(*metric.notes, DELTA_NOTE))
    return metric


def _bare(name: str, quantile: float | None, declared: Unit | None, notes: tuple[str, ...]) -> Metric:
    suffix_unit = unit_of_metric_name(name)
    if declared and suffix_unit and declared != suffix_unit:
        raise ConfigError(
            "unit", f"'{declared.name}' contradicts the metric name '{name}', which is in {suffix_unit.name}"
        )
    unit = declared or suffix_unit
    if quantile is not None:
        if name.endswith(("_total", "_count", "_sum", "_created")):
            raise ConfigError("condition", f"a quantile needs a histogram, but '{name}' is not one")
        base = name.removesuffix("_bucket")
        return Metric(Kind.HISTOGRAM, base, unit, notes)
    if name.endswith("_bucket"):
        raise ConfigError("condition", f"'{name}' is a histogram: the condition needs a quantile such as p99")
    if name.endswith(("_total", "_count", "_sum")):
        return Metric(Kind.COUNTER, name, unit, notes)
    return Metric(Kind.GAUGE, name, unit, notes)


def _expression(expr: str, declared: Unit | None) -> Metric:
    if declared:
        return Metric(Kind.EXPRESSION, expr, declared)
    units = {u for u in (unit_of_metric_name(n) for n in metric_names(expr)) if u is not None}
    if len(units) == 1:
        return Metric(Kind.EXPRESSION, expr, units.pop())
    if len(units) > 1:
        names = ", ".join(sorted(u.name for u in units))
        note = f"the metric names in the expression disagree on the unit ({names}); declare 'unit'"
        return Metric(Kind.EXPRESSION, expr, None, (note,))
    return Metric(Kind.EXPRESSION, expr, None)


def metric_names(expr: str) -> list[str]:
    """The metric names a PromQL expression reads (best effort: functions, keywords and labels are left out)."""
    text = _STRINGS.sub(" ", expr.replace("$window", "1h").replace("${window}", "1h"))
    text = _LABEL_MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = []
    for match in _IDENTIFIER.finditer(text):
        word = match.group(0)
        start = match.start()
        if word.lower() in _KEYWORDS or (start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.")):
            continue
        names.append(word)
    return names
