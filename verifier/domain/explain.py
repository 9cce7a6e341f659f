"""What a config means, spelled out for people: the basis of `check-config`."""

from __future__ import annotations

from datetime import datetime, timedelta

from verifier import defaults
from verifier.domain.action_items import incident_facts
from verifier.domain.conditions import name
from verifier.domain.config import canonical
from verifier.domain.durations import config_duration
from verifier.domain.formats import find_config
from verifier.domain.metric import Kind
from verifier.domain.no_data import traffic_query
from verifier.domain.planning import IncidentFacts, QueryPlan, plan
from verifier.errors import ConfigError


def explain(text: str, now: datetime) -> dict[str, str]:
    """The config in `text`, its query and threshold. Raises ConfigError when there is none or it is broken."""
    config = find_config(text)
    if config is None:
        raise ConfigError("text", "no verification config found (see README: 'Verification configs')")
    facts = incident_facts(text)
    relative = config.condition.relative
    if relative and facts.actual_value is None and facts.triggered_at is None:
        # The baseline lives in the ticket body; a comment alone cannot show it, but the plan still can.
        facts = IncidentFacts(actual_value=1.0, triggered_at=now - timedelta(days=7))
    planned = plan(config, resolved_at=now - config.delay, now=now, incident=facts)
    assert isinstance(planned, QueryPlan)  # resolved one delay ago: always due
    if planned.parts or config.alert is not None:
        return _several(planned)
    metric = planned.metric
    out = {
        "format": config.source,
        "metric": f"{config.metric} ({metric.kind.value}, {metric.unit.name if metric.unit else 'unit unknown'})",
        "condition": config.condition.text,
    }
    if relative:
        factor = config.condition.factor
        out["threshold"] = f"{config.condition.op} {factor:g} x baseline"
        if planned.baseline_query:
            out["baseline"] = (
                f"{planned.baseline_query.query} over {config_duration(planned.baseline_query.window)} "
                "after the incident triggered"
            )
        else:
            out["baseline"] = "the incident's actual value recorded in the ticket"
    elif planned.threshold:
        out["threshold"] = f"{config.condition.op} {planned.threshold.describe()}"
    out["delay"] = config_duration(config.delay)
    out["window"] = config_duration(config.window) + " ending when the delay is over"
    out["mode"] = config.mode + (f" (step {config_duration(planned.step)})" if planned.step else "")
    if config.tolerance_percent:
        out["tolerance"] = f"{config.tolerance_percent:g}% of steps"
    out["enough data"] = enough_data(planned)
    out.update(_later_fields(planned))
    out["query"] = planned.query
    if planned.events_query and planned.events_query != planned.query:
        out["events query"] = planned.events_query
    for number, note in enumerate(planned.notes, start=1):
        out[f"note {number}"] = note
    return out


def _later_fields(planned: QueryPlan) -> dict[str, str]:
    """`no_data: zero` with its traffic query, and `recheck_after` with the re-check's window (#24)."""
    config, out = planned.config, {}
    if config.traffic is not None:
        query = traffic_query(config.traffic, planned.window)
        out["no data"] = (
            f"no series at all is taken as 0 when {query} >= {config.traffic.minimum:,} at the window's end; "
            "INCONCLUSIVE otherwise"
        )
    if config.recheck_after is not None:
        out["re-check"] = (
            f"a VERIFIED result is judged again over the window ending {config_duration(config.recheck_after)} "
            "after this one"
        )
    return out


def enough_data(planned: QueryPlan) -> str:
    """The minimum a VERIFIED or FAILED needs (see verdicts.py); below it the verdict is INCONCLUSIVE."""
    if planned.step is None:
        text = "a value at the window's end"
    else:
        text = f"{defaults.MIN_COVERAGE_PERCENT:g}% of the {planned.steps} steps with data in every series"
    if planned.events_query is not None and planned.metric.kind is not Kind.COUNTER:
        needed = planned.config.min_events if planned.config.min_events is not None else defaults.MIN_EVENTS
        counted = "observations" if planned.config.condition.quantile is not None else "events in the denominator"
        text += f"; at least {needed:,} {counted} in the window"
    return text + "; no infinite values"


def _several(planned: QueryPlan) -> dict[str, str]:
    """A config of several conditions (or an alert): each condition's name, threshold and query, numbered, and
    the whole config as the tool writes it (what a filed config's signature covers)."""
    config = planned.config
    out = {"format": config.source}
    for number, part in enumerate(planned.parts or (planned,), start=1):
        out[f"condition {number}"] = name(part.config)
        if part.config.alert is not None:
            allowed = part.config.alert.firing_at_most
            out[f"threshold {number}"] = f"fired for at most {config_duration(allowed) if allowed else '0s'}"
            out[f"rule data {number}"] = "the rules API must list the alerting rule, evaluated (README: alerts)"
        elif part.threshold:
            out[f"threshold {number}"] = f"{part.config.condition.op} {part.threshold.describe()}"
        else:
            out[f"threshold {number}"] = f"{part.config.condition.op} {part.config.condition.factor:g} x baseline"
        out[f"query {number}"] = part.query
    out["delay"] = config_duration(config.delay)
    out["window"] = config_duration(config.window) + " ending when the delay is over"
    out["config"] = canonical(config)
    return out
