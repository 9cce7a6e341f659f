"""Resolve a plan's metric against the backend: the series that really exists, its type, unit and labels.

Costs one label-values request per config (limited to the window), one metadata request when the name alone
does not tell the type (and one small query when the backend has no metadata and the exporter writes counters
and gauges under one name), one label-names request when
`labels:` uses OTel attribute names, and one bucket query for classic histograms.
"""

from __future__ import annotations

from datetime import datetime

from verifier.domain.durations import promql_duration
from verifier.domain.formats import find_config
from verifier.domain.models import incident_facts
from verifier.domain.planning import QueryPlan, bucket_check_query, plan, resolved, selector
from verifier.domain.resolution import (
    Misfit,
    Shape,
    bucket_fault,
    choose,
    growth_query,
    lookup,
    needs_label_names,
    resolved_metric,
    settle,
)
from verifier.domain.verdicts import Verdict, inconclusive, invalid
from verifier.errors import ConfigError, MetricsError
from verifier.ports import MetricCatalog, Metrics


def resolve(plan: QueryPlan, metrics: Metrics) -> QueryPlan | Verdict:
    """The plan for the series found, or the verdict when none fits. Raises the port's errors."""
    wanted = lookup(plan.config)
    if wanted is None or not isinstance(metrics, MetricCatalog):
        return plan
    names = metrics.metric_names(wanted.matcher, plan.start, plan.end)
    if names is None:  # the backend cannot list names: query as planned
        return plan
    found = choose(wanted, names, histogram=plan.config.condition.quantile is not None)
    if isinstance(found, Misfit):
        return invalid(found, plan)
    if isinstance(found, str):
        return inconclusive(found, plan)
    if found.shape is Shape.BARE:
        name = found.candidate.name
        kind = metrics.metric_type(name)
        grew = None
        if kind is None and found.candidate.shared:
            answer = metrics.instant(growth_query(name, promql_duration(plan.window)), plan.end)
            grew = any(s.points for s in answer.series)
        settled = settle(found, kind, grew)
        if isinstance(settled, str):
            return invalid(settled, plan)
        found = settled
    label_names = None
    if needs_label_names(plan.config):
        label_names = metrics.label_names(selector(found.candidate.name, ()), plan.start, plan.end)
    plan = resolved(plan, resolved_metric(plan.config, found, label_names))
    return check_buckets(plan, metrics) or plan


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
    wanted = lookup(config)
    window = f"{planned.start.isoformat()} to {planned.end.isoformat()}"
    if wanted is None:
        return {"outcome": "OK", "resolved": "a PromQL expression: sent as written", "query": planned.query}
    out = {"window": window, "candidates": wanted.tried()}
    try:
        found = resolve(planned, metrics)
    except MetricsError as error:
        return {**out, "outcome": "ERROR", "resolved": f"the metrics backend failed: {error.reason}"}
    if isinstance(found, Verdict):
        return {**out, "outcome": found.outcome.value, "resolved": found.reason}
    if found is planned:
        return {**out, "outcome": "OK", "resolved": "the backend lists no metric names: queried as planned"}
    return {**out, "outcome": "OK", "resolved": found.metric.notes[0], "query": found.query}
