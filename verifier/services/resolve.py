"""Resolve a plan's metric against the backend: the series that really exists, its type, unit and labels.

Costs one label-values request per config (limited to the window), one metadata request when the name alone
does not tell the type (and one small query when the backend has no metadata), one label-names request when
`labels:` uses OTel attribute names, and one bucket query for classic histograms.
"""

from __future__ import annotations

from verifier.domain.durations import promql_duration
from verifier.domain.planning import QueryPlan, bucket_check_query, resolved, selector
from verifier.domain.resolution import (
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
    if isinstance(found, str):
        return inconclusive(found, plan)
    if found.shape is Shape.BARE:
        name = found.candidate.name
        kind = metrics.metric_type(name)
        grew = None
        if kind is None:
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
