"""Resolve a plan's metric against the backend: the series that really exists, its type, unit and labels.

Costs per config: one label-values request for the names (limited to the window); one label-names request for
the series found (and a label-values request for each of `__type__` and `__unit__` when the series carry them);
one metadata request (type and unit) unless those labels answered; one small history query when nothing else
tells a counter from a gauge; one `target_info` label-names request when `labels:` names `service.name` and the
like that the series do not carry; `/api/v1/features` once per connection when a counter's type is `unknown`;
two instant queries when a classic `_count`/`_sum` and its native histogram both hold data in the window; and one
bucket query for classic histograms.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from verifier.domain.action_items import incident_facts
from verifier.domain.config import VerificationConfig, canonical
from verifier.domain.durations import promql_duration
from verifier.domain.formats import find_config
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import QueryPlan, bucket_check_query, plan, resolved, selector
from verifier.domain.protocol import CONFIG_HEADER
from verifier.domain.resolution import (
    Found,
    Misfit,
    Shape,
    bucket_fault,
    choose,
    lookup,
    needs_info_names,
    resolved_metric,
    settled,
)
from verifier.domain.series_types import (
    Facts,
    filed_config,
    history_query,
    history_range,
    native_delta,
    read_history,
    settle_type,
    settle_unit,
)
from verifier.domain.verdicts import Verdict, inconclusive, invalid
from verifier.errors import ConfigError, MetricsError
from verifier.ports import FeatureList, MetricCatalog, Metrics


def resolve(plan: QueryPlan, metrics: Metrics) -> QueryPlan | Verdict:
    """The plan for the series found, or the verdict when none fits. Raises the port's errors."""
    wanted = lookup(plan.config)
    if wanted is None or not isinstance(metrics, MetricCatalog):
        return plan
    names = metrics.metric_names(wanted.matcher, plan.start, plan.end)
    if names is None:  # the backend cannot list names: query as planned
        return plan
    config = plan.config
    found = choose(wanted, names, histogram=config.condition.quantile is not None)
    if isinstance(found, Misfit):
        return invalid(found, plan)
    if isinstance(found, str):
        return inconclusive(found, plan)
    if found.also_native and not _classic_covers_window(plan, metrics, found.candidate.name):
        return inconclusive(
            f"both '{found.candidate.name}' and the native histogram '{found.also_native}' (custom buckets, NHCB) hold "
            "data in the window, and the classic series does not cover all of it (a move to native histograms): "
            "either alone would judge part of the window",
            plan,
        )
    typed = _typed(plan, metrics, metrics, found)
    if isinstance(typed, Verdict):
        return typed
    found, facts, delta, label_names = typed
    unit = settle_unit(config, found.candidate.name, facts)
    if isinstance(unit, ConfigError):
        return invalid(unit.reason, plan)
    if isinstance(unit, str):
        return inconclusive(unit, plan)
    info_names = None
    if needs_info_names(config, label_names):
        info_names = metrics.label_names(selector("target_info", ()), plan.start, plan.end)
    metric = resolved_metric(config, found, label_names, info_names=info_names, unit=unit, delta=delta)
    plan = resolved(plan, metric)
    return check_buckets(plan, metrics) or plan


def _typed(
    plan: QueryPlan, catalog: MetricCatalog, metrics: Metrics, found: Found
) -> tuple[Found, Facts, bool, frozenset[str]] | Verdict:
    """The found series with its type settled, what the backend said of it, whether it is a delta counter,
    and its label names."""
    config, name = plan.config, found.candidate.name
    series = name + "_bucket" if found.shape is Shape.CLASSIC else name
    label_names = catalog.label_names(selector(series, ()), plan.start, plan.end)
    labels = {
        label: catalog.label_values(label, selector(series, ()), plan.start, plan.end)
        for label in ("__type__", "__unit__")
        if label in label_names
    }
    facts = Facts(types=labels.get("__type__", frozenset()), units=labels.get("__unit__", frozenset()))
    if not facts.units:
        facts = replace(facts, metadata_unit=catalog.metric_unit(name))
    if config.condition.quantile is not None or found.candidate.histogram_of:
        return found, facts, False, label_names
    if not facts.types:
        facts = replace(facts, metadata_type=catalog.metric_type(name))
    counter_name = found.shape is Shape.COUNTER
    if counter_name and "unknown" in (*facts.types, facts.metadata_type) and isinstance(metrics, FeatureList):
        facts = replace(facts, native_delta=native_delta(metrics.features()))
    history = history_range(plan.window)
    span = promql_duration(history)
    unstated = not facts.types and not facts.metadata_type and not config.type and not counter_name
    if unstated and found.candidate.shared:
        changes, resets = read_history(metrics.instant(history_query(name, span), plan.end))
        facts = replace(facts, changes=changes, resets=resets)
    typing = settle_type(config, name, facts, counter_name=counter_name, shared=found.candidate.shared, history=span)
    if isinstance(typing, ConfigError):
        return invalid(typing.reason, plan)
    if isinstance(typing, str):
        return inconclusive(typing, plan)
    return settled(found, typing.counter, typing.how), facts, typing.delta, label_names


def _classic_covers_window(plan: QueryPlan, metrics: Metrics, name: str) -> bool:
    """Whether the classic series `name` has samples at both ends of the window (then it holds all of it)."""
    edge = max(min(plan.window / 10, timedelta(minutes=5)), timedelta(seconds=1))
    query = f"count(last_over_time({selector(name, ())}[{promql_duration(edge)}]))"
    return all(metrics.instant(query, at).series for at in (plan.start + edge, plan.end))


def check_buckets(plan: QueryPlan, metrics: Metrics) -> Verdict | None:
    """INCONCLUSIVE when a classic histogram's buckets are not cumulative; None when they are (or no histogram)."""
    query = bucket_check_query(plan)
    if query is None:
        return None
    fault = bucket_fault(metrics.instant(query, plan.end))
    return inconclusive(fault, plan) if fault else None


def resolution_report(text: str, metrics: Metrics, *, now: datetime, resolved_at: datetime | None) -> dict[str, str]:
    """What `check-config --resolve` shows: the candidates, the series chosen (or why none) and the final query,
    for the window of a fix resolved at `resolved_at` (default: one delay ago, so the window ends now)."""
    config = find_config(text)
    if config is None:
        raise ConfigError("text", "no verification config found (see README: 'Verification configs')")
    resolved_at = resolved_at or now - config.delay
    planned = plan(config, resolved_at, max(now, resolved_at + config.delay), incident=incident_facts(text))
    assert isinstance(planned, QueryPlan)  # a window that is over is always due: never Pending
    if planned.parts or config.alert is not None:
        return _several(planned, metrics)
    return _report(config, planned, metrics)


def _several(planned: QueryPlan, metrics: Metrics) -> dict[str, str]:
    """Several conditions (or an alert): each metric condition resolved as it would be alone, numbered; the
    outcome is the first that is not OK, and `config` the whole config as `file` writes it."""
    out: dict[str, str] = {"outcome": "OK"}
    filed = []
    for number, part in enumerate(planned.parts or (planned,), start=1):
        if part.config.alert is not None:
            out[f"resolved {number}"] = "an alert: the ALERTS series, nothing to resolve"
            filed.append(part.config)
            continue
        one = _report(part.config, part, metrics)
        if one["outcome"] != "OK" and out["outcome"] == "OK":
            out["outcome"] = one["outcome"]
        out.update({f"{key} {number}": value for key, value in one.items() if key not in ("outcome", "config")})
        found = find_config(f"```yaml\n{CONFIG_HEADER}\n" + one["config"] + "\n```") if "config" in one else None
        filed.append(found or part.config)
    whole = replace(filed[0], parts=tuple(filed), source=planned.config.source) if planned.parts else filed[0]
    out["config"] = canonical(whole)
    return out


def _report(config: VerificationConfig, planned: QueryPlan, metrics: Metrics) -> dict[str, str]:
    wanted = lookup(config)
    window = f"{planned.start.isoformat()} to {planned.end.isoformat()}"
    if wanted is None:
        return {"outcome": "OK", "resolved": "a PromQL expression: sent as written", "query": planned.query}
    out = {"window": window, "candidates": wanted.tried()}
    try:
        found = resolve(planned, metrics)
    except MetricsError as error:
        return {**out, "outcome": Outcome.ERROR.value, "resolved": f"the metrics backend failed: {error.reason}"}
    if isinstance(found, Verdict):
        return {**out, "outcome": found.outcome.value, "resolved": found.reason}
    if found is planned:
        return {**out, "outcome": "OK", "resolved": "the backend lists no metric names: queried as planned"}
    filed = canonical(filed_config(config, found.metric))  # what `file` writes: later runs do not guess
    return {**out, "outcome": "OK", "resolved": found.metric.notes[0], "query": found.query, "config": filed}
