"""Query planning: config + resolution time + now -> the exact PromQL, when to evaluate it and the threshold.

Pure: `now` is an argument. The window ends `delay` after the resolution and spans `window` before that end; it
is judged once its end is `settle` old, so that late OTLP batches and out-of-order samples are in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from verifier.domain.alerts import AlertCondition
from verifier.domain.config import VerificationConfig
from verifier.domain.durations import promql_duration
from verifier.domain.metric import Kind, Metric
from verifier.domain.otel import escape_label, legacy_name
from verifier.domain.ratios import denominator
from verifier.domain.units import SECONDS, Threshold, convert
from verifier.errors import ConfigError

#: Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 11_000
MIN_STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class IncidentFacts:
    """What the ticket records of the incident: the value that fired the alert and when it fired."""

    actual_value: float | None = None
    triggered_at: datetime | None = None


@dataclass(frozen=True)
class Pending:
    due_at: datetime
    reason: str


@dataclass(frozen=True)
class BaselineQuery:
    """The same measurement over the incident's own window, for conditions relative to a baseline."""

    query: str
    at: datetime
    window: timedelta


@dataclass(frozen=True)
class QueryPlan:
    config: VerificationConfig
    metric: Metric
    query: str
    start: datetime  # the judged window
    end: datetime
    step: timedelta | None  # every-step mode only
    threshold: Threshold | None  # None until a baseline query is measured
    baseline_query: BaselineQuery | None
    due_at: datetime
    early: bool  # judged before the window was over (on-call's --now)
    notes: tuple[str, ...]
    events_query: str | None = None  # how many events (requests, increments) the window holds; see `events_query`
    parts: tuple[QueryPlan, ...] = ()  # a config of several conditions: one plan each, all over this window

    @property
    def steps(self) -> int:
        """How many steps the judged query evaluates: every step of the range, or the one instant at the end."""
        if self.step is None:
            return 1
        return int((self.end - self.range_start) / self.step) + 1

    @property
    def window(self) -> timedelta:
        return self.end - self.start

    @property
    def range_start(self) -> datetime:
        """First step of an every-step range query: one step in, so no step reaches before the window."""
        return self.start + (self.step or timedelta(0))


def plan(
    config: VerificationConfig,
    resolved_at: datetime,
    now: datetime,
    *,
    early: bool = False,
    incident: IncidentFacts | None = None,
    settle: timedelta = timedelta(0),
) -> QueryPlan | Pending:
    """Plan the measurement, or say why it is not due yet. Raises ConfigError for configs that cannot work.

    `settle` is the backend's ingestion delay: data younger than that may still be arriving, so a window is
    judged only once its end is that old (and an early judgement stops that long before `now`)."""
    if config.parts:
        return _plan_several(config, resolved_at, now, early=early, incident=incident, settle=settle)
    resolved_at = resolved_at.replace(microsecond=0)
    due_at = resolved_at + config.delay
    start = due_at - config.window
    end = due_at
    is_early = False
    settled = now - settle
    if settled < due_at:
        if not early:
            if now < due_at:
                return Pending(due_at, f"the verification window ends at {due_at.isoformat()}")
            return Pending(
                due_at,
                f"the verification window ended at {due_at.isoformat()}; it is judged from "
                f"{(due_at + settle).isoformat()}, once late data has arrived ({_seconds(settle)} settling delay)",
            )
        # Something to judge: a minute of data, or in every-step mode one whole step.
        if settled - start < (MIN_STEP if config.mode == "every-step" else timedelta(minutes=1)):
            return Pending(due_at, f"the verification window has not begun (it starts {start.isoformat()})")
        end, is_early = settled.replace(microsecond=0), True
    if config.alert is not None:
        return _plan_alert(config, start, end, due_at, is_early)
    metric = config.understood
    step = _step(end - start) if config.mode == "every-step" else None
    query = build_query(config, metric, step or (end - start))
    notes = list(metric.notes)
    threshold, baseline = _threshold(config, metric, incident)
    if threshold and threshold.assumed:
        notes.append(f"the metric's unit is not known: {threshold.unit.name if threshold.unit else ''} assumed")
    if is_early:
        notes.append(f"judged early, before the window ends at {due_at.isoformat()}")
    return QueryPlan(
        config,
        metric,
        query,
        start,
        end,
        step,
        threshold,
        baseline,
        due_at,
        is_early,
        tuple(notes),
        events_query(config, metric, end - start),
    )


def events_query(config: VerificationConfig, metric: Metric, window: timedelta) -> str | None:
    """How many events the whole window holds: a histogram's observations (`_count`), a counter's increase, a
    ratio's denominator (`ratios.py`). None for gauges and other expressions: no count the tool can name."""
    rng = promql_duration(window)
    labels = _series_labels(config, metric)
    if metric.kind is Kind.HISTOGRAM:
        count = metric.bucket_series.removesuffix("_bucket") + "_count"
        return f"sum({_joined(f'increase({selector(count, labels)}[{rng}])', metric, rng)})"
    if metric.kind is Kind.NATIVE_HISTOGRAM:
        return f"sum({_joined(f'histogram_count(increase({selector(metric.promql, labels)}[{rng}]))', metric, rng)})"
    if metric.kind is Kind.COUNTER:  # the same growth the verdict reads: deltas summed, NHCB counts included
        return f"sum({_joined(_counter_range(metric, labels, rng), metric, rng)})"
    divisor = denominator(metric.promql) if metric.kind is Kind.EXPRESSION else None
    return f"sum(increase({divisor}[{rng}]))" if divisor else None


def _seconds(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def build_query(config: VerificationConfig, metric: Metric, span: timedelta) -> str:
    """The PromQL for one evaluation over `span` (the window, or one step in every-step mode)."""
    rng = promql_duration(span)
    labels = _series_labels(config, metric)
    if metric.kind is Kind.HISTOGRAM:
        assert config.condition.quantile is not None
        q = format(config.condition.quantile, ".10g")
        increase = _joined(f"increase({selector(metric.bucket_series, labels)}[{rng}])", metric, rng)
        return f"histogram_quantile({q}, sum by (le) ({increase}))"
    if metric.kind is Kind.NATIVE_HISTOGRAM:
        assert config.condition.quantile is not None
        q = format(config.condition.quantile, ".10g")
        increase = _joined(f"increase({selector(metric.promql, labels)}[{rng}])", metric, rng)
        return f"histogram_quantile({q}, sum({increase}))"
    if metric.kind is Kind.COUNTER:
        return f"sum({_joined(_counter_range(metric, labels, rng), metric, rng)})"
    if metric.kind is Kind.GAUGE:
        return _joined(f"avg_over_time({selector(metric.promql, labels)}[{rng}])", metric, rng)
    return metric.promql.replace("${window}", rng).replace("$window", rng)


def _counter_range(metric: Metric, labels: tuple[tuple[str, str], ...], rng: str) -> str:
    """A counter's growth over `rng`: `increase` of cumulative samples; the sum of delta samples (Prometheus's
    advice for `otlp-native-delta-ingestion`); of a native histogram's count or sum (NHCB) for `_count`/`_sum`."""
    if metric.histogram_of:
        return f"{metric.histogram_of}(increase({selector(metric.promql, labels)}[{rng}]))"
    function = "sum_over_time" if metric.delta else "increase"
    return f"{function}({selector(metric.promql, labels)}[{rng}])"


@dataclass(frozen=True)
class Aggregates:
    """A window-mode query asked by aggregation, for answers too large to read whole: a few series whatever the
    cardinality. NaN and ±Inf are counted apart (`Q != Q`; ±Inf compares as a number), since `topk`/`bottomk`
    rank NaN below every number and would hide it."""

    total: str  # how many series
    broken: str  # how many break the condition (NaN never counts: it breaks nothing, it is no data)
    worst: str  # the worst series alone
    nan: str
    infinite: str


#: Under each condition, the comparison that keeps the series breaking it, and the ranking that puts the worst first.
_BREAKS = {"<": (">=", "topk"), "<=": (">", "topk"), ">": ("<=", "bottomk"), ">=": ("<", "bottomk")}


def aggregate_queries(plan: QueryPlan, threshold: float) -> Aggregates | None:
    """The aggregates of a window-mode plan's query against `threshold`; None where none fits (every-step mode,
    `==`/`!=`, a non-finite threshold)."""
    broken = _BREAKS.get(plan.config.condition.op)
    if plan.step is not None or broken is None or not math.isfinite(threshold):
        return None
    compare, rank = broken
    q = f"({plan.query})"
    return Aggregates(
        total=f"count({q})",
        broken=f"count({q} {compare} {threshold!r})",
        worst=f"{rank}(1, {q})",
        nan=f"count({q} != {q})",
        infinite=f"count(abs({q}) == Inf)",
    )


def bucket_check_query(plan: QueryPlan) -> str | None:
    """For a classic histogram: each bucket's increase over the window, to check the buckets are cumulative."""
    metric = plan.metric
    if metric.kind is not Kind.HISTOGRAM:
        return None
    rng = promql_duration(plan.window)
    labels = _series_labels(plan.config, metric)
    return f"sum by (le) ({_joined(f'increase({selector(metric.bucket_series, labels)}[{rng}])', metric, rng)})"


def resolved(plan: QueryPlan, metric: Metric) -> QueryPlan:
    """The plan again, for the series the backend really holds (its name, type, unit and labels)."""
    config = plan.config
    query = build_query(config, metric, plan.step or plan.window)
    baseline = plan.baseline_query
    if baseline is not None:
        baseline = BaselineQuery(build_query(config, metric, baseline.window), baseline.at, baseline.window)
    threshold = plan.threshold
    notes = [n for n in plan.notes if n not in plan.metric.notes and "unit is not known" not in n]
    if threshold is not None:
        if config.condition.relative:
            threshold = Threshold(threshold.value, metric.unit, assumed=False)
        else:
            threshold = convert(config.condition.number, config.condition.unit, metric.unit)
        if threshold.assumed:
            notes.append(f"the metric's unit is not known: {threshold.unit.name if threshold.unit else ''} assumed")
    return replace(
        plan,
        metric=metric,
        query=query,
        baseline_query=baseline,
        threshold=threshold,
        notes=(*metric.notes, *notes),
        events_query=events_query(config, metric, plan.window),
    )


def selector(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    """`name{a="b"}`, or `{"name.with.dots", a="b"}` for a name PromQL cannot write bare (Prometheus 3)."""
    matchers = [f"{_label_name(k)}={_quoted(v)}" for k, v in labels]
    if legacy_name(name):
        return name + ("{" + ",".join(matchers) + "}" if matchers else "")
    return "{" + ",".join([_quoted(name), *matchers]) + "}"


def _series_labels(config: VerificationConfig, metric: Metric) -> tuple[tuple[str, str], ...]:
    """The matchers as resolved; before resolution, an OTel attribute name as its promoted label (`service_name`),
    which is what a backend that cannot be asked most likely holds."""
    if metric.matchers is not None:
        return metric.matchers
    return tuple((escape_label(k) if "." in k else k, v) for k, v in config.labels)


def _joined(vector: str, metric: Metric, rng: str) -> str:
    """Keep only series whose target's `target_info` carries the resource attributes asked for."""
    if not metric.info_matchers:
        return vector
    return f"({vector} and on (job, instance) last_over_time({selector('target_info', metric.info_matchers)}[{rng}]))"


def _label_name(name: str) -> str:
    return name if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) else _quoted(name)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _step(window: timedelta) -> timedelta:
    """The smallest whole-minute step, at least 5 minutes, that keeps the range query under the point limit."""
    minutes = math.ceil(window.total_seconds() / MAX_POINTS / 60)
    return max(MIN_STEP, timedelta(minutes=minutes))


def _threshold(
    config: VerificationConfig, metric: Metric, incident: IncidentFacts | None
) -> tuple[Threshold | None, BaselineQuery | None]:
    condition = config.condition
    if not condition.relative:
        return convert(condition.number, condition.unit, metric.unit), None
    assert condition.factor is not None
    if config.baseline_window:
        if not incident or not incident.triggered_at:
            raise ConfigError(
                "baseline_window", "needs the incident's trigger time, and the ticket's context records none"
            )
        at = incident.triggered_at.replace(microsecond=0) + config.baseline_window
        baseline_query = build_query(config, metric, config.baseline_window)
        return None, BaselineQuery(baseline_query, at, config.baseline_window)
    if not incident or incident.actual_value is None:
        raise ConfigError(
            "condition",
            "is relative to a baseline, but the ticket records no incident value and no baseline_window is set",
        )
    return Threshold(condition.factor * incident.actual_value, metric.unit, assumed=False), None


def relative_threshold(plan: QueryPlan, baseline_value: float) -> Threshold:
    """The threshold of a relative condition once the baseline is measured."""
    assert plan.config.condition.factor is not None
    return Threshold(plan.config.condition.factor * baseline_value, plan.metric.unit, assumed=False)


# -- several conditions and the alert stayed silent ---------------------------------------------------------------
def _plan_several(
    config: VerificationConfig,
    resolved_at: datetime,
    now: datetime,
    *,
    early: bool,
    incident: IncidentFacts | None,
    settle: timedelta,
) -> QueryPlan | Pending:
    """One plan per condition, over the one window they share; the whole config's plan carries them (`parts`)
    with the first's fields, so that whatever reads a plan's window and due time reads the same."""
    plans = []
    for number, part in enumerate(config.parts, start=1):
        try:
            found = plan(part, resolved_at, now, early=early, incident=incident, settle=settle)
        except ConfigError as error:
            raise ConfigError(f"conditions[{number}].{error.field}", error.reason) from None
        if isinstance(found, Pending):  # the same window for all: the first says when
            return found
        plans.append(found)
    return replace(plans[0], config=config, parts=tuple(plans))


def _plan_alert(config: VerificationConfig, start: datetime, end: datetime, due_at: datetime, early: bool) -> QueryPlan:
    """The alert's firing samples over the window: the longest-firing label set's count of samples (one per
    rule evaluation, so count x the rule group's interval is its firing time). No series: it never fired."""
    assert config.alert is not None
    rng = promql_duration(end - start)
    query = f"max(count_over_time({alert_selector(config.alert)}[{rng}]))"
    seconds = config.alert.firing_at_most.total_seconds()
    notes = (f"judged early, before the window ends at {due_at.isoformat()}",) if early else ()
    return QueryPlan(
        config,
        config.understood,
        query,
        start,
        end,
        None,
        Threshold(seconds, SECONDS, assumed=False),
        None,
        due_at,
        early,
        notes,
    )


def alert_selector(alert: AlertCondition) -> str:
    """`ALERTS{alertname="…", alertstate="firing", …}`, every value escaped (a name or label from a ticket is
    someone's text: it cannot end the string or add a matcher)."""
    return selector("ALERTS", (("alertname", alert.name), ("alertstate", "firing"), *alert.labels))
