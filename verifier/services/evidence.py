"""Gather a verdict's evidence: the graph link, and the sparkline of its window.

The link opens the verdict's own query string over its window. The sparkline shows the window step by step:
in every-step mode it draws the steps the verdict was judged on (no query); otherwise it asks one range query
at a coarse step (at most 48 points) of the same measurement over one step (`planning.build_query`), so each
point is what the metric did in that part of the window. At most one extra query per judged ticket (VERIFIED,
FAILED, INCONCLUSIVE), none for any other verdict and none when the measurement found no data; tickets on the
same query and window share it (the run's `Shared` port); that query failing costs the comment its sparkline,
never its verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from verifier.domain.evidence import Evidence, GraphLinks, graph_link
from verifier.domain.measurement import Measurement, Series
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import QueryPlan, build_query
from verifier.domain.sparkline import MAX_POINTS, Sparkline, coarse_step, downsample, draw, worst_for
from verifier.domain.verdicts import Verdict
from verifier.errors import MetricsError
from verifier.ports import Metrics

log = structlog.get_logger("verifier.evidence")

JUDGED = frozenset({Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE})


def with_evidence(
    verdict: Verdict, plan: QueryPlan, measurement: Measurement | None, metrics: Metrics, links: GraphLinks
) -> Verdict:
    """`verdict` with its link and sparkline; unchanged when it judged nothing."""
    if verdict.outcome not in JUDGED or not verdict.query or verdict.start is None or verdict.end is None:
        return verdict
    label, link = graph_link(links, verdict.query, verdict.start, verdict.end)
    if not links.sparkline:
        return replace(verdict, evidence=Evidence(link, label))
    try:
        line, missing = _sparkline(verdict, plan, measurement, metrics, verdict.start, verdict.end)
    except Exception:  # a bug in drawing must not cost the ticket its verdict
        log.exception("sparkline_crashed", query=verdict.query)
        line, missing = None, "it could not be drawn"
    return replace(verdict, evidence=Evidence(link, label, line, missing))


def _sparkline(
    verdict: Verdict, plan: QueryPlan, measurement: Measurement | None, metrics: Metrics, start: datetime, end: datetime
) -> tuple[Sparkline | None, str]:
    """The window's sparkline, or None and why not."""
    if plan.step is not None and measurement is not None:
        series = measurement.series  # every-step mode: the steps already fetched
        first, step = plan.range_start, int(plan.step.total_seconds())
    elif measurement is not None and not any(s.points for s in measurement.series):
        return None, "no data in the window"  # the window's steps would have none either: no query for it
    else:
        first, step = coarse_step(start, end)
        query = build_query(plan.config, plan.metric, timedelta(seconds=step))
        try:
            series = metrics.range(query, first, end, step).series
        except MetricsError as error:
            log.warning("sparkline_query_failed", query=query, error=error.reason)
            return None, "the metrics backend did not answer the range query for it"
    points = int((end - first).total_seconds()) // step + 1
    line = picture(series, verdict, plan, first.timestamp(), end.timestamp(), min(MAX_POINTS, points))
    return line, "" if line else "no data in the window"


def picture(
    series: Sequence[Series], verdict: Verdict, plan: QueryPlan, start: float, end: float, size: int
) -> Sparkline | None:
    """`size` points from `start` to `end` of the reported series (or, when none was reported, of the worst of
    all series at each instant); each point the worst of the steps it stands for."""
    chosen = [s for s in series if verdict.series is None or s.describe() == verdict.series] or list(series)
    op = plan.config.condition.op
    worst = worst_for(op)
    merged: dict[float, list[float]] = {}
    for one in chosen:
        for at, value in one.points:
            merged.setdefault(at, []).append(value)
    points = [(at, _worst_of(values, worst)) for at, values in sorted(merged.items())]
    values = downsample(points, start, end, worst, size)
    threshold = verdict.threshold.value if verdict.threshold else None
    unit = verdict.threshold.unit.name if verdict.threshold and verdict.threshold.unit else ""
    condition = plan.config.condition

    def holds(value: float) -> bool:
        return threshold is None or condition.holds(value, threshold)

    return draw(values, threshold=threshold, op=op, holds=holds, unit=unit)


def _worst_of(values: list[float], worst: Callable[[list[float]], float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return worst(present) if present else math.nan
