"""What filing asks the metrics backend before anything is filed (`services.filing`): the context the file leaves
out (the incident query's value at the trigger time, each related query's value then, exemplar trace ids around
it), each item's verification queries tried once now, and each item's metric type and unit as resolved now.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from verifier.domain.config import VerificationConfig
from verifier.domain.filing import FilingDocument
from verifier.domain.measurement import Measurement
from verifier.domain.planning import QueryPlan
from verifier.domain.series_types import filed_config
from verifier.domain.verdicts import Verdict
from verifier.errors import ConfigError, MetricsError, QueryRejected
from verifier.ports import Metrics
from verifier.services.resolve import resolve

#: Exemplars are looked for this long before and after the alert fired.
EXEMPLAR_SPAN = timedelta(minutes=15)
MAX_TRACES = 5


@runtime_checkable
class Exemplars(Protocol):
    """A metrics backend that also serves exemplars (`PrometheusMetrics` does)."""

    def exemplars(self, query: str, start: datetime, end: datetime, limit: int = 5) -> list[str]: ...


def capture(
    document: FilingDocument, metrics: Metrics, notes: list[str]
) -> tuple[float | None, tuple[str, ...], tuple[tuple[str, str], ...]]:
    incident = document.incident
    at = incident.triggered_at
    actual = incident.actual_value
    if actual is None and incident.query:
        measured = _instant(metrics, incident.query, at, "incident.query")
        actual = _incident_value(measured, incident.threshold_value, notes)
        if actual is None:  # said here: the caller's "is missing" would tell the operator to give this query
            raise ConfigError(
                "incident.query", f"returned no number at {at.isoformat()}: give incident.actual_value instead"
            )
    related = tuple(
        (name, _describe(_instant(metrics, query, at, f"related_queries.{name}")))
        for name, query in document.related_queries
    )
    traces: tuple[str, ...] = ()
    if not incident.sample_trace_ids and isinstance(metrics, Exemplars):
        selector = incident.query or incident.metric_name
        try:
            traces = tuple(metrics.exemplars(selector, at - EXEMPLAR_SPAN, at + EXEMPLAR_SPAN, MAX_TRACES))
        except MetricsError as error:  # many backends keep no exemplars: the ticket says "none recorded"
            notes.append(f"no exemplar trace ids captured: {error.reason}")
        if not traces:
            notes.append("no exemplar trace ids around the trigger time")
    return actual, traces, related


def _instant(metrics: Metrics, query: str, at: datetime, field: str) -> Measurement:
    try:
        return metrics.instant(query, at)
    except QueryRejected as error:
        raise ConfigError(field, f"the backend refused the query: {error.reason}") from None


def _incident_value(measured: Measurement, threshold: float, notes: list[str]) -> float | None:
    """The incident's value: the only series' value, or of several the one furthest past the threshold."""
    values = [p[1] for s in measured.series for p in s.points[-1:] if math.isfinite(p[1])]
    if not values:
        return None
    if len(values) > 1:
        notes.append(f"incident.query returned {len(values)} series: the one furthest from the threshold is recorded")
    return max(values, key=lambda v: abs(v - threshold))


def _describe(measured: Measurement) -> str:
    shown = []
    for series in measured.series[:3]:
        value = format(series.points[-1][1], ".4g") if series.points else "no data"
        shown.append(value if len(measured.series) == 1 else f"{value} {series.describe()}")
    more = f" (+{len(measured.series) - 3} more)" if len(measured.series) > 3 else ""
    return ", ".join(shown) + more if shown else "no data"


def try_queries(name: str, planned: QueryPlan, metrics: Metrics, now: datetime, notes: list[str]) -> None:
    """Send the item's verification query (and baseline query) once, now: a query the backend refuses would make
    the verification INVALID after the fix; refuse it before filing."""
    if planned.parts:  # several conditions: each one's queries
        for part in planned.parts:
            try_queries(name, part, metrics, now, notes)
        return
    queries = [planned.query, *([planned.baseline_query.query] if planned.baseline_query else [])]
    for query in queries:
        try:
            measured = metrics.instant(query, now)
        except QueryRejected as error:
            raise ConfigError(
                "verification.metric", f"the backend refused its query: {error.reason}", ticket=name
            ) from None
        if not measured.series and planned.config.alert is None:  # a silent alert has no series: as it should
            notes.append(f"{name}: its verification query returns no data now: {query}")


def resolved_config(name: str, planned: QueryPlan, metrics: Metrics, notes: list[str]) -> VerificationConfig:
    """The item's config with its metric's type and unit as the backend resolves them now, written once so that
    runs after the fix do not guess; as written when nothing resolves (said in the notes)."""
    if planned.parts:  # several conditions: each one resolved on its own
        parts = tuple(resolved_config(name, part, metrics, notes) for part in planned.parts)
        return replace(parts[0], parts=parts, source=planned.config.source)
    if planned.config.alert is not None:  # the ALERTS series: nothing to resolve
        return planned.config
    found = resolve(planned, metrics)
    if isinstance(found, Verdict):
        notes.append(f"{name}: its metric's type and unit were not resolved: {found.reason}")
        return planned.config
    if found is planned:
        return planned.config
    return filed_config(planned.config, found.metric)


__all__ = ["EXEMPLAR_SPAN", "MAX_TRACES", "Exemplars", "capture", "resolved_config", "try_queries"]
