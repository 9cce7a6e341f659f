"""The action-items file: one incident and the action items its review produced, each with a verification config.

    incident:
      id: INC-2041
      alertmanager: alertmanager-webhook.json   # a path, or the webhook payload inline (optional)
      threshold_value: 0.5                      # any context field here overrides what the payload says
    related_queries:                            # measured at the trigger time when a metrics backend is set
      db pool wait p99: histogram_quantile(0.99, sum by (le) (rate(db_client_connections_wait_time_bucket[5m])))
    items:
      - title: Add connection pooling to the payments client
        description: Pool connections so that bursts do not exhaust sockets.
        priority: P1
        assignee: alice@example.com
        labels: [team-payments]
        verification: {metric: http_server_request_duration_seconds, condition: "< 250ms p99", delay: 48h}

Pure: `parse_filing` reads an `alertmanager:` path only through the `read` function the caller passes. Every
problem is a `ConfigError` naming the field, and the item (its number and title) when it is about an item; one
bad item makes the whole file unusable, so nothing is filed from a file with a mistake in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from verifier.defaults import PRIORITIES
from verifier.domain.action_items import ActionItem, IncidentContext
from verifier.domain.alertmanager import (
    ENVIRONMENT_LABELS,
    SERVICE_LABELS,
    alertmanager_fields,
    alertmanager_payload,
)
from verifier.domain.config import FIELDS as VERIFICATION_FIELDS
from verifier.domain.config import VerificationConfig, build_config
from verifier.domain.filing_fields import (
    check_known,
    excerpt,
    load_yaml,
    read_named_texts,
    read_number,
    read_text,
    read_texts,
    read_time,
)
from verifier.domain.item_fields import FieldValue, parse_fields, parse_issue
from verifier.domain.planning import IncidentFacts, plan
from verifier.errors import ConfigError

TOP_FIELDS = ("incident", "related_queries", "items")
INCIDENT_FIELDS = (
    "id",
    "alertmanager",
    "alert_name",
    "metric_name",
    "query",
    "threshold_value",
    "actual_value",
    "service_name",
    "environment",
    "triggered_at",
    "sample_trace_ids",
    "related_metrics",
    "affected_components",
    "issue",
)
ITEM_FIELDS = ("title", "description", "priority", "assignee", "labels", "verification", "fields")
MAX_TEXT = 1_000_000
MAX_TITLE = 200  # Jira's summary holds 255 characters, "[Post-Incident] " included
MAX_LABEL = 50  # GitHub's limit for a label name
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: A nominal resolution time for checking that each item's verification can be planned at all.
_NOMINAL = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IncidentSpec:
    """What the file says (or its Alertmanager payload says) about the incident."""

    id: str
    alert_name: str
    metric_name: str
    threshold_value: float
    service_name: str
    environment: str
    triggered_at: datetime
    query: str | None = None  # PromQL whose value at `triggered_at` is the incident's actual value
    actual_value: float | None = None
    sample_trace_ids: tuple[str, ...] = ()
    related_metrics: tuple[tuple[str, str], ...] = ()
    affected_components: tuple[str, ...] = ()
    issue: str | None = None  # the incident's GitHub issue (`owner/repo#N`): items are filed as its sub-issues


@dataclass(frozen=True)
class ItemSpec:
    number: int  # 1-based position in the file
    title: str
    description: str
    priority: str
    assignee: str | None
    labels: tuple[str, ...]
    verification: VerificationConfig
    fields: tuple[tuple[str, FieldValue], ...] = ()  # Jira custom fields by the names VERIFIER_JIRA_FIELDS maps

    @property
    def name(self) -> str:
        return _item_name(self.number, self.title)


@dataclass(frozen=True)
class FilingDocument:
    incident: IncidentSpec
    related_queries: tuple[tuple[str, str], ...]
    items: tuple[ItemSpec, ...]


def parse_filing(text: str, *, read: Callable[[str], str] | None = None) -> FilingDocument:
    """Read and check an action-items file. `read(path)` reads an `alertmanager:` payload given as a path."""
    if not isinstance(text, str):
        raise ConfigError("text", f"the action-items file must be text, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ConfigError("text", f"the action-items file is longer than {MAX_TEXT} characters")
    raw = load_yaml(text)
    if not isinstance(raw, dict):
        raise ConfigError("text", "the action-items file must be a mapping with 'incident' and 'items'")
    check_known(raw, TOP_FIELDS, "")
    incident = parse_incident(raw.get("incident"), read)
    related = read_named_texts(raw.get("related_queries"), "related_queries")
    items_raw = raw.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise ConfigError("items", "must be a non-empty list of action items")
    facts = IncidentFacts(
        # A relative condition needs the incident's value: with a query it is measured before filing.
        actual_value=incident.actual_value if incident.actual_value is not None else (1.0 if incident.query else None),
        triggered_at=incident.triggered_at,
    )
    items: list[ItemSpec] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(items_raw, start=1):
        item = _item(number, entry, incident.alert_name)
        check_plan(item, facts)
        key = " ".join(item.title.split()).lower()  # what the fingerprint is made of, with the incident id
        if key in seen:
            raise ConfigError(
                "title", f"is the same as item {seen[key]}'s: each action item needs its own", ticket=item.name
            )
        seen[key] = number
        items.append(item)
    return FilingDocument(incident, related, tuple(items))


def check_plan(item: ItemSpec, facts: IncidentFacts) -> None:
    """Plan the item's verification at a nominal time: unit contradictions and missing baselines show up now."""
    config = item.verification
    with _about(item.number, item.title, "verification."):
        if config.condition.relative and not config.baseline_window and facts.actual_value is None:
            raise ConfigError(
                "condition",
                "is relative to a baseline: give incident.actual_value (or incident.query, measured when filing) "
                "or a verification.baseline_window",
            )
        plan(config, _NOMINAL, _NOMINAL + config.delay, incident=facts)


def incident_context(
    spec: IncidentSpec,
    *,
    actual_value: float,
    sample_trace_ids: tuple[str, ...] = (),
    related_metrics: tuple[tuple[str, str], ...] = (),
) -> IncidentContext:
    """The ticket's incident context: the file's facts, completed with what was measured."""
    return IncidentContext(
        alert_name=spec.alert_name,
        metric_name=spec.metric_name,
        threshold_value=spec.threshold_value,
        actual_value=actual_value,
        service_name=spec.service_name,
        environment=spec.environment,
        triggered_at=spec.triggered_at,
        sample_trace_ids=spec.sample_trace_ids or sample_trace_ids,
        related_metrics=(*spec.related_metrics, *related_metrics),
        affected_components=spec.affected_components,
    )


def action_item(
    spec: ItemSpec,
    incident_id: str,
    context: IncidentContext,
    extra_labels: tuple[str, ...] = (),
    due: date | None = None,
) -> ActionItem:
    return ActionItem(
        title=spec.title,
        description=spec.description,
        priority=spec.priority,
        assignee=spec.assignee,
        incident_id=incident_id,
        context=context,
        verification=spec.verification,
        labels=tuple(dict.fromkeys((*spec.labels, *extra_labels))),
        fields=spec.fields,
        due=due,
    )


# -- the incident ---------------------------------------------------------------------------------------------
def parse_incident(raw: object, read: Callable[[str], str] | None) -> IncidentSpec:
    if not isinstance(raw, dict):
        raise ConfigError("incident", "must be a mapping with at least 'id'")
    check_known(raw, INCIDENT_FIELDS, "incident.")
    derived: dict[str, object] = {}
    if raw.get("alertmanager") is not None:
        derived = alertmanager_fields(alertmanager_payload(raw["alertmanager"], read))
    values = {**derived, **{k: v for k, v in raw.items() if v is not None and k != "alertmanager"}}
    incident_id = read_text(values, "id", "incident.", required=True, limit=64)
    assert incident_id is not None
    if not _INCIDENT_ID.match(incident_id):
        raise ConfigError(
            "incident.id", f"'{incident_id}' must be letters, digits, '.', '_' or '-' (it becomes a label)"
        )
    query = read_text(values, "query", "incident.", limit=4000)
    metric_name = read_text(values, "metric_name", "incident.", limit=4000) or query
    if metric_name is None:
        raise ConfigError("incident.metric_name", "is missing (name the metric that fired, or give incident.query)")
    hints = {
        "alert_name": " (or an Alertmanager payload with labels.alertname)",
        "service_name": f" (or an alert label {', '.join(SERVICE_LABELS)})",
        "environment": f" (or an alert label {', '.join(ENVIRONMENT_LABELS)})",
    }
    required = {name: read_text(values, name, "incident.", required=True, hint=hint) for name, hint in hints.items()}
    threshold = read_number(values, "threshold_value", "incident.")
    if threshold is None:
        raise ConfigError("incident.threshold_value", "is missing (or an alert annotation 'threshold')")
    return IncidentSpec(
        id=incident_id,
        alert_name=str(required["alert_name"]),
        metric_name=metric_name,
        threshold_value=threshold,
        service_name=str(required["service_name"]),
        environment=str(required["environment"]),
        triggered_at=read_time(values.get("triggered_at"), "incident.triggered_at"),
        query=query,
        actual_value=read_number(values, "actual_value", "incident."),
        sample_trace_ids=read_texts(values.get("sample_trace_ids"), "incident.sample_trace_ids", spaces=False),
        related_metrics=read_named_texts(values.get("related_metrics"), "incident.related_metrics"),
        affected_components=read_texts(values.get("affected_components"), "incident.affected_components"),
        issue=parse_issue(values["issue"]) if values.get("issue") is not None else None,
    )


# -- items ----------------------------------------------------------------------------------------------------
def _item(number: int, raw: object, alert_name: str = "") -> ItemSpec:
    if not isinstance(raw, dict):
        raise ConfigError("item", "must be a mapping with title, priority and verification", ticket=f"item {number}")
    title_value = raw.get("title")
    title = " ".join(title_value.split()) if isinstance(title_value, str) else ""
    with _about(number, title, ""):
        check_known(raw, ITEM_FIELDS, "")
        checked = read_text(raw, "title", "", required=True, limit=MAX_TITLE)
        assert checked is not None
        description = read_text(raw, "description", "", limit=100_000, keep_lines=True) or ""
        priority = str(read_text(raw, "priority", "", required=True, hint=f" ({', '.join(PRIORITIES)})")).upper()
        if priority not in PRIORITIES:
            raise ConfigError("priority", f"'{excerpt(raw['priority'])}' is not one of {', '.join(PRIORITIES)}")
        assignee = read_text(raw, "assignee", "", limit=128)
        labels = read_texts(raw.get("labels"), "labels", spaces=False, limit=MAX_LABEL)
        if any("," in label for label in labels):
            raise ConfigError("labels", "a label must not contain ',' (GitHub's label filter splits on it)")
        verification = raw.get("verification")
        if not isinstance(verification, dict):
            hint = ", ".join(VERIFICATION_FIELDS)
            raise ConfigError("verification", f"must be a mapping with metric and condition (fields: {hint})")
        with _prefix("verification."):
            spec = with_incident_alert({str(k): v for k, v in verification.items()}, alert_name)
            config = build_config(spec, "file")
        fields = parse_fields(raw.get("fields"))
    return ItemSpec(number, checked, description, priority, assignee, labels, config, fields)


def with_incident_alert(fields: dict[str, object], alert_name: str) -> dict[str, object]:
    """`alert_silent: true` (or `{firing_at_most: 5m, labels: {...}}`) in an item's verification adds the
    condition that the incident's own alert stayed silent: beside the item's metric condition (the config then
    holds `conditions:`), after its `conditions:`, or alone. The name is the incident's, never the item's."""
    if "alert_silent" not in fields:
        return fields
    wanted = fields.pop("alert_silent")
    if wanted is False:
        return fields
    if wanted is not True and not isinstance(wanted, dict):
        raise ConfigError("alert_silent", "must be true, or a mapping with firing_at_most and labels")
    extra = {str(k): v for k, v in wanted.items()} if isinstance(wanted, dict) else {}
    unknown = sorted(k for k in extra if k not in ("firing_at_most", "labels"))
    if unknown:
        raise ConfigError(f"alert_silent.{unknown[0]}", "unknown field (known fields: firing_at_most, labels)")
    alert: dict[str, object] = {"alert": alert_name, **extra}
    wide: dict[str, object] = {k: fields.pop(k) for k in ("delay", "delay_hours", "window") if k in fields}
    listed = fields.get("conditions")
    if isinstance(listed, list):
        return {**fields, "conditions": [*listed, alert], **wide}  # anything beside it is refused there
    if listed is not None:
        return {**fields, **wide}  # build_config names what is wrong with it
    if fields:
        return {"conditions": [fields, alert], **wide}
    return {**alert, **wide}


def _item_name(number: int, title: str) -> str:
    shown = title if len(title) <= 60 else title[:57] + "..."
    return f'item {number} ("{shown}")' if shown else f"item {number}"


@contextmanager
def _about(number: int, title: str, prefix: str) -> Iterator[None]:
    """Re-raise a ConfigError as about this item, its field under `prefix`."""
    try:
        yield
    except ConfigError as error:
        field = error.field if error.field.startswith(prefix) else prefix + error.field
        raise ConfigError(field, error.reason, ticket=_item_name(number, title)) from None


@contextmanager
def _prefix(prefix: str) -> Iterator[None]:
    try:
        yield
    except ConfigError as error:
        raise ConfigError(prefix + error.field, error.reason, ticket=error.ticket) from None


__all__ = [
    "FilingDocument",
    "IncidentSpec",
    "ItemSpec",
    "action_item",
    "alertmanager_fields",
    "check_plan",
    "incident_context",
    "parse_filing",
    "parse_incident",
]
