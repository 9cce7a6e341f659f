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

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from verifier.defaults import PRIORITIES
from verifier.domain.action_items import ActionItem, IncidentContext
from verifier.domain.config import FIELDS as VERIFICATION_FIELDS
from verifier.domain.config import VerificationConfig, build_config
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
#: How deeply mappings and lists may nest in the file (the format itself needs four levels).
MAX_DEPTH = 32
#: The most of a value from the file an error message quotes.
EXCERPT = 80
MAX_TITLE = 200  # Jira's summary holds 255 characters, "[Post-Incident] " included
MAX_LABEL = 50  # GitHub's limit for a label name
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SERVICE_LABELS = ("service", "service_name", "job")
_ENVIRONMENT_LABELS = ("env", "environment", "deployment_environment")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Alertmanager writes nanoseconds; Python reads microseconds
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
    raw = _load_yaml(text)
    if not isinstance(raw, dict):
        raise ConfigError("text", "the action-items file must be a mapping with 'incident' and 'items'")
    _known(raw, TOP_FIELDS, "")
    incident = parse_incident(raw.get("incident"), read)
    related = _named_texts(raw.get("related_queries"), "related_queries")
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
    _known(raw, INCIDENT_FIELDS, "incident.")
    derived: dict[str, object] = {}
    if raw.get("alertmanager") is not None:
        derived = alertmanager_fields(_payload(raw["alertmanager"], read))
    values = {**derived, **{k: v for k, v in raw.items() if v is not None and k != "alertmanager"}}
    incident_id = _text(values, "id", "incident.", required=True, limit=64)
    assert incident_id is not None
    if not _INCIDENT_ID.match(incident_id):
        raise ConfigError(
            "incident.id", f"'{incident_id}' must be letters, digits, '.', '_' or '-' (it becomes a label)"
        )
    query = _text(values, "query", "incident.", limit=4000)
    metric_name = _text(values, "metric_name", "incident.", limit=4000) or query
    if metric_name is None:
        raise ConfigError("incident.metric_name", "is missing (name the metric that fired, or give incident.query)")
    hints = {
        "alert_name": " (or an Alertmanager payload with labels.alertname)",
        "service_name": f" (or an alert label {', '.join(_SERVICE_LABELS)})",
        "environment": f" (or an alert label {', '.join(_ENVIRONMENT_LABELS)})",
    }
    required = {name: _text(values, name, "incident.", required=True, hint=hint) for name, hint in hints.items()}
    threshold = _number(values, "threshold_value", "incident.")
    if threshold is None:
        raise ConfigError("incident.threshold_value", "is missing (or an alert annotation 'threshold')")
    return IncidentSpec(
        id=incident_id,
        alert_name=str(required["alert_name"]),
        metric_name=metric_name,
        threshold_value=threshold,
        service_name=str(required["service_name"]),
        environment=str(required["environment"]),
        triggered_at=_time(values.get("triggered_at"), "incident.triggered_at"),
        query=query,
        actual_value=_number(values, "actual_value", "incident."),
        sample_trace_ids=_texts(values.get("sample_trace_ids"), "incident.sample_trace_ids", spaces=False),
        related_metrics=_named_texts(values.get("related_metrics"), "incident.related_metrics"),
        affected_components=_texts(values.get("affected_components"), "incident.affected_components"),
        issue=parse_issue(values["issue"]) if values.get("issue") is not None else None,
    )


def alertmanager_fields(payload: object) -> dict[str, object]:
    """The incident fields an Alertmanager webhook payload (version 4) carries, from its first firing alert."""
    where = "incident.alertmanager"
    if not isinstance(payload, dict):
        raise ConfigError(where, "must be an Alertmanager webhook payload (a JSON object with 'alerts')")
    if payload.get("version") is not None and str(payload["version"]) != "4":
        raise ConfigError(where, f"version '{payload['version']}' is not the webhook format this tool reads (4)")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts or not all(isinstance(a, dict) for a in alerts):
        raise ConfigError(where, "has no alerts (expected 'alerts': a non-empty list of objects)")
    index, alert = next(((i, a) for i, a in enumerate(alerts) if a.get("status") == "firing"), (0, alerts[0]))
    # The alert's own labels first, then the group's common ones.
    label_sets = (_mapping(alert.get("labels")), _mapping(payload.get("commonLabels")))
    annotations = {**_mapping(payload.get("commonAnnotations")), **_mapping(alert.get("annotations"))}

    def label(*names: str) -> object:
        return next((labels[n] for labels in label_sets for n in names if labels.get(n)), None)

    fields: dict[str, object] = {}
    for name, value in (
        ("alert_name", label("alertname")),
        ("service_name", label(*_SERVICE_LABELS)),
        ("environment", label(*_ENVIRONMENT_LABELS)),
        ("triggered_at", alert.get("startsAt")),
        ("threshold_value", annotations.get("threshold")),
        ("actual_value", annotations.get("value")),
        ("query", annotations.get("query") or _generator_expression(alert.get("generatorURL"))),
    ):
        if value is not None and value != "":
            fields[name] = value
    if "triggered_at" in fields:
        try:
            fields["triggered_at"] = _time(fields["triggered_at"], "triggered_at")
        except ConfigError as error:
            raise ConfigError(where, f"alerts[{index}].startsAt: {error.reason}") from None
    for name, source in (("threshold_value", "threshold"), ("actual_value", "value")):
        if name in fields and _float(fields[name]) is None:
            if name == "actual_value":
                del fields[name]  # a free-text "value" annotation: measure it instead
            else:
                raise ConfigError(where, f"annotation '{source}' is not a number: {str(fields[name])[:80]}")
    return fields


def _generator_expression(url: object) -> str | None:
    """The PromQL behind a Prometheus alert: its generatorURL's `g0.expr`."""
    if not isinstance(url, str):
        return None
    try:
        values = parse_qs(urlsplit(url).query).get("g0.expr")
    except ValueError:
        return None
    return values[0] if values else None


def _payload(value: object, read: Callable[[str], str] | None) -> object:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("incident.alertmanager", "must be a path to a webhook payload, or the payload inline")
    if read is None:
        raise ConfigError("incident.alertmanager", "is a path, but this caller reads no files; inline the payload")
    try:
        text = read(value.strip())
    except OSError as error:
        raise ConfigError("incident.alertmanager", f"cannot read {excerpt(value)}: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ConfigError(
            "incident.alertmanager", f"{excerpt(value)} is not JSON: {excerpt(str(error), 120)}"
        ) from None


# -- items ----------------------------------------------------------------------------------------------------
def _item(number: int, raw: object, alert_name: str = "") -> ItemSpec:
    if not isinstance(raw, dict):
        raise ConfigError("item", "must be a mapping with title, priority and verification", ticket=f"item {number}")
    title_value = raw.get("title")
    title = " ".join(title_value.split()) if isinstance(title_value, str) else ""
    with _about(number, title, ""):
        _known(raw, ITEM_FIELDS, "")
        checked = _text(raw, "title", "", required=True, limit=MAX_TITLE)
        assert checked is not None
        description = _text(raw, "description", "", limit=100_000, keep_lines=True) or ""
        priority = str(_text(raw, "priority", "", required=True, hint=f" ({', '.join(PRIORITIES)})")).upper()
        if priority not in PRIORITIES:
            raise ConfigError("priority", f"'{excerpt(raw['priority'])}' is not one of {', '.join(PRIORITIES)}")
        assignee = _text(raw, "assignee", "", limit=128)
        labels = _texts(raw.get("labels"), "labels", spaces=False, limit=MAX_LABEL)
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


# -- field readers --------------------------------------------------------------------------------------------
def _load_yaml(text: str) -> Any:
    """Safe YAML without anchors or aliases, nested at most `MAX_DEPTH` deep: checked on the parser's events
    first (linear in the text), so a few hundred bytes of aliases cannot expand into gigabytes."""
    what = "the action-items file is not valid YAML"
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError("text", f"{what}: anchors and aliases (*name) are not allowed{_line(event)}")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError("text", f"{what}: nested deeper than {MAX_DEPTH} levels{_line(event)}")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError("text", f"{what}: {excerpt(problem)}{where}") from None
    except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError) as error:
        # a scalar YAML types but cannot build (2026-13-45), or a tag PyYAML's constructors trip on (!!int '')
        raise ConfigError("text", f"{what}: {excerpt(str(error))}") from None


# PyYAML's own safe loader (one file per command, so libyaml's speed does not matter; its messages are clearer).
_LOADER = yaml.SafeLoader


def _line(event: yaml.Event) -> str:
    mark = event.start_mark
    return f" (line {mark.line + 1})" if mark is not None else ""


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """The first `limit` characters of a value from the file, on one line, for an error message."""
    text = value if isinstance(value, str) else repr(value) if _small(value) else f"a {type(value).__name__}"
    return re.sub(r"\s+", " ", text[: limit * 4])[:limit]


def _quoted(value: object) -> str:
    """`excerpt`, in quotes when it is text (as repr would show it)."""
    return repr(excerpt(value)) if isinstance(value, str) else excerpt(value)


def _small(value: object) -> bool:
    """Whether repr(value) is cheap: scalars only (a list's repr walks all of it)."""
    return value is None or isinstance(value, bool | float) or (isinstance(value, int) and value.bit_length() < 1000)


def _known(raw: Mapping[Any, Any], known: tuple[str, ...], prefix: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(prefix + excerpt(unknown[0]), f"unknown field (known fields: {', '.join(known)})")


def _text(
    raw: Mapping[Any, Any],
    name: str,
    prefix: str,
    *,
    required: bool = False,
    limit: int = 1000,
    hint: str = "",
    keep_lines: bool = False,
) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(prefix + name, f"is missing{hint}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(prefix + name, f"must be text, not {type(value).__name__}")
    text = str(value).strip() if keep_lines else " ".join(str(value).split())
    if not text:
        if required:
            raise ConfigError(prefix + name, f"is empty{hint}")
        return None
    if "\x00" in text:
        raise ConfigError(prefix + name, "contains a NUL character")
    if len(text) > limit:
        raise ConfigError(prefix + name, f"is longer than {limit} characters")
    return text


def _texts(value: object, field: str, *, spaces: bool = True, limit: int = 1000) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(field, "must be a list")
    out = []
    for entry in value:
        if isinstance(entry, bool) or not isinstance(entry, str | int | float) or not str(entry).strip():
            raise ConfigError(field, f"must be a list of non-empty texts; {_quoted(entry)} is not one")
        text = str(entry).strip()
        if not spaces and any(c.isspace() for c in text):
            raise ConfigError(field, f"'{excerpt(text)}' contains spaces")
        if len(text) > limit or "\x00" in text:
            raise ConfigError(field, f"'{excerpt(text)}' is longer than {limit} characters or holds a NUL")
        out.append(text)
    return tuple(dict.fromkeys(out))


def _named_texts(value: object, field: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ConfigError(field, "must be a mapping of names to values")
    out = []
    for key, entry in value.items():
        name = key if isinstance(key, str) else None
        if not name or not name.strip() or len(name) > 200:
            raise ConfigError(field, f"{_quoted(key)} is not a usable name")
        name = " ".join(name.split())
        text = _text({name: entry}, name, f"{field}.", required=True, limit=4000)
        out.append((name, str(text)))
    return tuple(out)


def _number(raw: Mapping[Any, Any], name: str, prefix: str) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    number = _float(value)
    if number is None:
        raise ConfigError(prefix + name, f"'{str(value)[:80]}' is not a finite number")
    return number


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _time(value: object, field: str) -> datetime:
    if value is None:
        raise ConfigError(field, "is missing (when the alert fired: RFC 3339, e.g. 2026-11-20T09:41:00Z)")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip())
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ConfigError(
                field, f"'{excerpt(value)}' is not an RFC 3339 time such as 2026-11-20T09:41:00Z"
            ) from None
    else:
        raise ConfigError(field, f"must be a time such as 2026-11-20T09:41:00Z, not {type(value).__name__}")
    if moment.tzinfo is None:
        raise ConfigError(field, f"'{excerpt(value)}' has no time zone; add Z or +00:00")
    if moment.year < 1970:
        raise ConfigError(field, f"'{excerpt(value)}' is not a time an alert fired at")
    return moment


def _mapping(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


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
