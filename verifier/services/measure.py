"""Measure one planned verification: the only code between a plan and the metrics port.

A refused query makes the verdict INVALID; a failing backend makes it ERROR. Neither is ever FAILED, so no
ticket is reopened because a backend blinked.
"""

from __future__ import annotations

from dataclasses import replace

from verifier.domain.evidence import GraphLinks
from verifier.domain.measurement import Measurement
from verifier.domain.planning import QueryPlan
from verifier.domain.verdicts import Verdict, backend_error, decide, invalid
from verifier.errors import BackendUnavailable, MetricsError, QueryRejected
from verifier.ports import Metrics
from verifier.services.evidence import with_evidence
from verifier.services.resolve import resolve


def measure(
    plan: QueryPlan, metrics: Metrics, *, accept_warnings: bool = False, links: GraphLinks | None = None
) -> Verdict:
    """Resolve the plan's metric on the backend, run its queries and judge the answer; with `links`, add the graph
    link and the sparkline."""
    try:
        found = resolve(plan, metrics)
        if isinstance(found, Verdict):  # no series fits: the link shows the query, there is nothing to draw
            return with_evidence(found, plan, None, metrics, replace(links, sparkline=False)) if links else found
        plan = found
        baseline = None
        if plan.baseline_query:
            baseline = metrics.instant(plan.baseline_query.query, plan.baseline_query.at)
        measurement = _main_query(plan, metrics)
        events = _events(plan, metrics, measurement)
    except QueryRejected as error:
        return invalid(f"the backend refused the query: {error.reason}", plan)
    except (BackendUnavailable, MetricsError) as error:
        return backend_error(f"the metrics backend failed: {error.reason}", plan)
    verdict = decide(plan, measurement, baseline, events=events, accept_warnings=accept_warnings)
    return with_evidence(verdict, plan, measurement, metrics, links) if links else verdict


def _main_query(plan: QueryPlan, metrics: Metrics) -> Measurement:
    if plan.step is None:
        return metrics.instant(plan.query, plan.end)
    return metrics.range(plan.query, plan.range_start, plan.end, int(plan.step.total_seconds()))


def _events(plan: QueryPlan, metrics: Metrics, measurement: Measurement) -> Measurement | None:
    """The events in the whole window, at its end; a window-mode counter's own answer is that count already."""
    if plan.events_query is None:
        return None
    if plan.step is None and plan.events_query == plan.query:
        return measurement
    return metrics.instant(plan.events_query, plan.end)
