"""Measure one planned verification: the only code between a plan and the metrics port.

A refused query makes the verdict INVALID; a failing backend makes it ERROR. Neither is ever FAILED, so no
ticket is reopened because a backend blinked. A window-mode answer past the size cap (many series) is asked again
by aggregation (`planning.aggregate_queries`) and judged from the figures (`verdicts.decide_aggregated`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from verifier.domain.conditions import combine
from verifier.domain.evidence import GraphLinks
from verifier.domain.measurement import Aggregated, Measurement
from verifier.domain.no_data import (
    taken_as_zero,
    traffic_count,
    traffic_query,
    traffic_refusal,
    unseen_inconclusive,
    zeros,
)
from verifier.domain.planning import QueryPlan, aggregate_queries, alert_selector
from verifier.domain.resolution import NO_SERIES
from verifier.domain.silence import judge_alert
from verifier.domain.verdicts import (
    Verdict,
    backend_error,
    decide,
    decide_aggregated,
    inconclusive,
    invalid,
    judged_threshold,
)
from verifier.errors import AnswerTooLarge, BackendUnavailable, MetricsError, QueryRejected
from verifier.ports import AlertRules, Metrics
from verifier.services.evidence import with_evidence
from verifier.services.resolve import resolve


def measure(
    plan: QueryPlan, metrics: Metrics, *, accept_warnings: bool = False, links: GraphLinks | None = None
) -> Verdict:
    """Resolve the plan's metric on the backend, run its queries and judge the answer; with `links`, add the graph
    link and the sparkline. A config of several conditions is measured one condition at a time (`combine`)."""
    if plan.parts:
        return combine(plan, [measure(p, metrics, accept_warnings=accept_warnings, links=links) for p in plan.parts])
    if plan.config.alert is not None:
        return _alert(plan, metrics, accept_warnings=accept_warnings, links=links)
    try:
        found = resolve(plan, metrics)
        if isinstance(found, Verdict) and plan.config.no_data and found.reason.startswith(NO_SERIES):
            return _taken_as_zero(plan, metrics, found.reason, accept_warnings, links)
        if isinstance(found, Verdict):  # no series fits: the link shows the query, there is nothing to draw
            return with_evidence(found, plan, None, metrics, replace(links, sparkline=False)) if links else found
        plan = found
        baseline = None
        if plan.baseline_query:
            baseline = metrics.instant(plan.baseline_query.query, plan.baseline_query.at)
        try:
            measurement = _main_query(plan, metrics)
        except AnswerTooLarge:
            figures = _aggregated(plan, metrics, baseline)
            if figures is None:
                raise
            events = metrics.instant(plan.events_query, plan.end) if plan.events_query else None
            verdict = decide_aggregated(plan, figures, baseline, events=events, accept_warnings=accept_warnings)
            worst = Measurement((figures.worst,) if figures.worst else ())
            # No sparkline: its range query would ask for every series again, past the same cap.
            return with_evidence(verdict, plan, worst, metrics, replace(links, sparkline=False)) if links else verdict
        if plan.config.no_data and not measurement.series and not measurement.warnings:
            return _taken_as_zero(plan, metrics, "no data: the query returned no series", accept_warnings, links)
        events = _events(plan, metrics, measurement)
    except QueryRejected as error:
        return invalid(f"the backend refused the query: {error.reason}", plan)
    except (BackendUnavailable, MetricsError) as error:
        return backend_error(f"the metrics backend failed: {error.reason}", plan)
    verdict = decide(plan, measurement, baseline, events=events, accept_warnings=accept_warnings)
    return with_evidence(verdict, plan, measurement, metrics, links) if links else verdict


def _taken_as_zero(
    plan: QueryPlan, metrics: Metrics, why: str, accept_warnings: bool, links: GraphLinks | None
) -> Verdict:
    """A counter with no series at all, under `no_data: zero`: judged as 0 when the companion counter shows the
    window's traffic reached its bound, INCONCLUSIVE naming why otherwise (`no_data.py`). Raises the port's errors
    (a failed traffic query is the backend failing: ERROR, never a verdict)."""
    assert plan.config.traffic is not None
    query = traffic_query(plan.config.traffic, plan.window)
    answer = metrics.instant(query, plan.end)
    notes = (f"traffic: {query}",)
    refusal = traffic_refusal(plan.config.traffic, answer)
    if refusal is not None:
        verdict = inconclusive(unseen_inconclusive(why, refusal), plan)
        verdict = replace(verdict, notes=verdict.notes + notes)
    else:
        baseline = metrics.instant(plan.baseline_query.query, plan.baseline_query.at) if plan.baseline_query else None
        step = plan.step.total_seconds() if plan.step else 0.0
        zero = zeros(plan.steps, (plan.range_start if plan.step else plan.end).timestamp(), step)
        verdict = decide(plan, zero, baseline, events=zero, accept_warnings=accept_warnings)
        reason = taken_as_zero(verdict.reason, traffic_count(answer))
        verdict = replace(verdict, reason=reason, notes=verdict.notes + notes)
    return with_evidence(verdict, plan, None, metrics, replace(links, sparkline=False)) if links else verdict


def _alert(plan: QueryPlan, metrics: Metrics, *, accept_warnings: bool, links: GraphLinks | None) -> Verdict:
    """The alert's firing samples over the window, and the rules API (when the backend has one) for whether a
    rule was there to fire: `silence.judge_alert`. The graph link shows the ALERTS series; no sparkline."""
    alert = plan.config.alert
    assert alert is not None
    try:
        firing = metrics.instant(plan.query, plan.end)
        rules = metrics.alert_rules(alert.name) if isinstance(metrics, AlertRules) else None
    except QueryRejected as error:
        return invalid(f"the backend refused the query: {error.reason}", plan)
    except (BackendUnavailable, MetricsError) as error:
        return backend_error(f"the metrics backend failed: {error.reason}", plan)
    verdict = judge_alert(plan, firing, rules, accept_warnings=accept_warnings)
    if links is None:
        return verdict
    # The link graphs the ALERTS series itself, so that it shows when the alert fired.
    shown = with_evidence(
        replace(verdict, query=alert_selector(alert)), plan, None, metrics, replace(links, sparkline=False)
    )
    return replace(shown, query=verdict.query)


def _aggregated(plan: QueryPlan, metrics: Metrics, baseline: Measurement | None) -> Aggregated | None:
    """A window-mode answer too large to read whole, asked again as counts and the worst series alone; None
    when no aggregate fits the plan (every-step mode, `==`, a baseline not measured): the cap's error stands."""
    found = judged_threshold(plan, baseline)
    queries = aggregate_queries(plan, found[0].value) if not isinstance(found, str) else None
    if queries is None:
        return None
    answers = [metrics.instant(q, plan.end) for q in (queries.total, queries.broken, queries.nan, queries.infinite)]
    worst = metrics.instant(queries.worst, plan.end)
    total, broken, nan, infinite = (_count(a) for a in answers)
    every = (*answers, worst)
    return Aggregated(
        total,
        broken,
        nan,
        infinite,
        worst.series[0] if len(worst.series) == 1 else None,  # topk(1, ...) answers one series, or none
        warnings=tuple(dict.fromkeys(w for a in every for w in a.warnings)),
        infos=tuple(dict.fromkeys(i for a in every for i in a.infos)),
    )


def _count(answer: Measurement) -> float:
    """A `count(...)` answer's value: 0 when it answered nothing (PromQL's count of no series), NaN when it
    answered something other than one value, for `decide_aggregated` to refuse."""
    if not answer.series:
        return 0.0
    points = answer.series[0].points
    return points[-1][1] if len(answer.series) == 1 and len(points) == 1 else math.nan


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
