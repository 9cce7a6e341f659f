"""Incident context and action items, as the seed article models them, rendered as ticket bodies.

A rendered body carries the human-readable "Verification Criteria" section and the machine-readable config
block; `formats.find_config` reads the block. `incident_facts` reads back what the baseline needs.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from verifier import defaults
from verifier.domain import neutral
from verifier.domain.config import VerificationConfig, render_config
from verifier.domain.planning import IncidentFacts
from verifier.domain.protocol import (
    ACTUAL_VALUE,
    CRITERIA_HEADING,
    EXPECTED,
    METRIC,
    SERVICE,
    TRIGGERED_AT,
    WINDOW,
    fingerprint_line,
    utc,
)
from verifier.domain.protocol import fingerprint_in as fingerprint_in  # re-exported: adapters find filings by it
from verifier.domain.tickets import Flavour

_ACTUAL = re.compile(re.escape(ACTUAL_VALUE) + r"[*_]*\s*:[*_]*\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)")
_SERVICE = re.compile(re.escape(SERVICE) + r"[*_]*\s*:[*_]*[ \t]*(?=[^\s*_])")
# Trace ids and related-metric values come from the metrics backend (exemplars, label values): anything but a plain
# id is written inert (`neutral`), like the tool's comments: no live mention, image, HTML or Jira `!url!`.
_PLAIN_ID = re.compile(r"[0-9A-Za-z_.:-]{1,128}")
_TRIGGERED = re.compile(re.escape(TRIGGERED_AT) + r"[*_]*\s*:[*_]*\s*(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?)")


@dataclass(frozen=True)
class IncidentContext:
    """What the alert saw when the incident started."""

    alert_name: str
    metric_name: str
    threshold_value: float
    actual_value: float
    service_name: str
    environment: str
    triggered_at: datetime
    sample_trace_ids: tuple[str, ...] = ()
    related_metrics: tuple[tuple[str, str], ...] = ()
    affected_components: tuple[str, ...] = ()

    def facts(self) -> IncidentFacts:
        return IncidentFacts(actual_value=self.actual_value, triggered_at=self.triggered_at)


@dataclass(frozen=True)
class ActionItem:
    title: str
    description: str
    priority: str
    assignee: str | None
    incident_id: str
    context: IncidentContext
    verification: VerificationConfig
    labels: tuple[str, ...] = field(default=())
    fields: tuple[tuple[str, str | int | float], ...] = ()  # Jira custom fields, by the file's names
    due: date | None = None  # Jira's due date: the priority's SLA from the filing time

    def __post_init__(self) -> None:
        if self.priority not in defaults.PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(defaults.PRIORITIES)}, not {self.priority!r}")

    @property
    def fingerprint(self) -> str:
        """Stable across re-filing the same review: finds the ticket a first filing made."""
        text = f"{self.incident_id}\n{' '.join(self.title.split()).lower()}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_body(item: ActionItem, flavour: Flavour) -> str:
    """The ticket body: description, incident context, verification criteria, config block, fingerprint."""
    if flavour is Flavour.JIRA_WIKI:
        return _jira_body(item)
    return _markdown_body(item)


def _markdown_body(item: ActionItem) -> str:
    ctx, cfg = item.context, item.verification
    traces = "\n".join(
        f"- `{t}`" if _PLAIN_ID.fullmatch(t) else f"- {neutral.markdown(t)}" for t in ctx.sample_trace_ids[:5]
    )
    related = "\n".join(f"- **{neutral.markdown(k)}**: {neutral.markdown(v)}" for k, v in ctx.related_metrics)
    traces, related = traces or "- none recorded", related or "- none recorded"
    return f"""{item.description}

## Incident Context (Auto-Generated from OpenTelemetry)

**Alert**: {ctx.alert_name}
**{SERVICE}**: {ctx.service_name}
**Environment**: {ctx.environment}
**{TRIGGERED_AT}**: {ctx.triggered_at.isoformat()}

### Metric That Triggered Alert
- **{METRIC}**: `{ctx.metric_name}`
- **Threshold**: {_number(ctx.threshold_value)}
- **{ACTUAL_VALUE}**: {_number(ctx.actual_value)}

### Sample Trace IDs
{traces}

### Related Metrics at Time of Incident
{related}

### Affected Components
{", ".join(ctx.affected_components) or "none recorded"}

## {CRITERIA_HEADING}
Once implemented, this fix will be verified by checking:
- **{METRIC}**: `{cfg.metric}`
- **{EXPECTED}**: {_expected(cfg) if not cfg.parts and not cfg.alert else neutral.markdown(_expected(cfg))}
- **{WINDOW}**: {_hours(cfg)} hours after deployment

{render_config(cfg, Flavour.MARKDOWN)}

This ticket was auto-generated from incident **{item.incident_id}**.
<sub>{fingerprint_line(item.fingerprint)}</sub>
"""


def _jira_body(item: ActionItem) -> str:
    ctx, cfg = item.context, item.verification
    traces = "\n".join(
        f"* {{{{{t}}}}}" if _PLAIN_ID.fullmatch(t) else f"* {neutral.wiki(t)}" for t in ctx.sample_trace_ids[:5]
    )
    related = "\n".join(f"* *{neutral.wiki(k)}*: {neutral.wiki(v)}" for k, v in ctx.related_metrics)
    traces, related = traces or "* none recorded", related or "* none recorded"
    return f"""{_wiki(item.description)}

h2. Incident Context (Auto-Generated from OpenTelemetry)

*Alert*: {_wiki(ctx.alert_name)}
*{SERVICE}*: {_wiki(ctx.service_name)}
*Environment*: {_wiki(ctx.environment)}
*{TRIGGERED_AT}*: {ctx.triggered_at.isoformat()}

h3. Metric That Triggered Alert
* *{METRIC}*: {{{{{_wiki(ctx.metric_name)}}}}}
* *Threshold*: {_number(ctx.threshold_value)}
* *{ACTUAL_VALUE}*: {_number(ctx.actual_value)}

h3. Sample Trace IDs
{traces}

h3. Related Metrics at Time of Incident
{related}

h3. Affected Components
{_wiki(", ".join(ctx.affected_components)) or "none recorded"}

h2. {CRITERIA_HEADING}
Once implemented, this fix will be verified by checking:
* *{METRIC}*: {{{{{_wiki(cfg.metric)}}}}}
* *{EXPECTED}*: {_wiki(_expected(cfg))}
* *{WINDOW}*: {_hours(cfg)} hours after deployment

{render_config(cfg, Flavour.JIRA_WIKI)}

This ticket was auto-generated from incident *{_wiki(item.incident_id)}*.
{fingerprint_line(item.fingerprint)}
"""


def _expected(cfg: VerificationConfig) -> str:
    """The body's human line for the condition; for several (or an alert), each one, all of which must hold."""
    if not cfg.parts and cfg.alert is None:
        return cfg.condition.text
    named = [p.alert.describe() if p.alert else f"{p.metric} {p.condition.text}" for p in cfg.parts or (cfg,)]
    return "all of: " + "; ".join(named) if len(named) > 1 else named[0]


def incident_facts(text: str) -> IncidentFacts:
    """The incident's recorded value and trigger time from a rendered ticket body (either flavour)."""
    actual = _ACTUAL.search(text)
    triggered = _TRIGGERED.search(text)
    value = float(actual.group(1)) if actual else None
    at = None
    if triggered:
        try:
            at = datetime.fromisoformat(triggered.group(1))
        except ValueError:
            at = None
    if at is not None and at.tzinfo is None:
        at = None  # a time with no zone cannot be placed; no baseline rather than a wrong one
    return IncidentFacts(actual_value=value if value is not None and math.isfinite(value) else None, triggered_at=at)


def incident_service(text: str) -> str | None:
    """The service the incident context names (`**Service**: checkout`), or None."""
    position = 0
    while match := _SERVICE.search(text, position):
        end = text.find("\n", match.end())
        value = text[match.end() : end if end >= 0 else len(text)]
        if "*" not in value:
            return value.strip()
        position = match.end() + value.index("*")  # one scan per line, however many `Service:` it repeats
    return None


def bound_facts(text: str) -> str:
    """The facts of a ticket body a verdict uses, as a filed config's signature covers them: the incident's value
    and trigger time (a relative condition's baseline) and the service (`incident_facts`, `incident_service`).
    A body whose facts someone changed no longer verifies its block's signature."""
    facts = incident_facts(text)
    actual = repr(facts.actual_value) if facts.actual_value is not None else ""
    triggered = utc(facts.triggered_at) if facts.triggered_at is not None else ""
    return f"actual={actual}\ntriggered={triggered}\nservice={incident_service(text) or ''}"


def _hours(config: VerificationConfig) -> str:
    return format(config.delay.total_seconds() / 3600, "g")


def _number(value: float) -> str:
    return format(value, "g")


def _wiki(text: str) -> str:
    """Escape the characters that open Jira wiki macros and links inside running text."""
    return re.sub(r"([{}\[\]|])", r"\\\1", text)
