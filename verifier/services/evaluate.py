"""On-call's "would it pass right now?": one config, one resolution time, the metrics backend, a verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from verifier.domain.action_items import incident_facts
from verifier.domain.evidence import GraphLinks
from verifier.domain.formats import find_config
from verifier.domain.planning import Pending, plan
from verifier.domain.render import condition_line
from verifier.domain.verdicts import Verdict, invalid, not_due
from verifier.errors import ConfigError
from verifier.ports import Metrics
from verifier.services.measure import measure


def evaluate_text(
    text: str,
    metrics: Metrics,
    *,
    resolved_at: datetime,
    now: datetime,
    early: bool = False,
    accept_warnings: bool = False,
    links: GraphLinks | None = None,
) -> dict[str, Any]:
    """Find the config in `text`, plan it, measure it, and describe the verdict for people and machines."""
    try:
        config = find_config(text)
        if config is None:
            raise ConfigError("text", "no verification config found")
        planned = plan(config, resolved_at, now, early=early, incident=incident_facts(text))
    except ConfigError as error:
        return describe(invalid(str(error)))
    if isinstance(planned, Pending):
        return describe(not_due(planned))
    return describe(measure(planned, metrics, accept_warnings=accept_warnings, links=links))


def describe(verdict: Verdict) -> dict[str, Any]:
    """A verdict as a flat mapping: what `evaluate` prints and `--json` emits."""
    threshold = verdict.threshold
    unit = threshold.unit.name if threshold and threshold.unit else None
    return {
        "verdict": verdict.outcome.value,
        "reason": verdict.reason,
        "value": verdict.value,
        "threshold": f"{verdict.op} {threshold.value:g}" if threshold and verdict.op else None,
        "unit": unit,
        "series": verdict.series,
        "window": f"{verdict.start.isoformat()} to {verdict.end.isoformat()}"
        if verdict.start and verdict.end
        else None,
        "due": verdict.end.isoformat() if verdict.end and verdict.start is None else None,
        "query": verdict.query,
        "notes": list(verdict.notes),
        "graph": verdict.evidence.link if verdict.evidence else None,
        "sparkline": verdict.evidence.sparkline.describe() if verdict.evidence and verdict.evidence.sparkline else None,
        "data": verdict.support.as_json() if verdict.support else None,
        **({"conditions": [_condition(p) for p in verdict.parts]} if verdict.parts else {}),
    }


def _condition(part: Verdict) -> dict[str, Any]:
    """One condition of several: its name, its line as the comment shows it, and its own verdict's fields."""
    return {"condition": part.condition, "line": condition_line(part), **describe(part)}
