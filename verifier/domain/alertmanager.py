"""An incident read from an Alertmanager webhook payload (version 4), the action-items file's `incident.alertmanager`:
the payload (inline, or a path read only through the caller's `read`) and the incident fields its first firing
alert carries. Every problem is a `ConfigError` on `incident.alertmanager`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from verifier.domain.filing_fields import as_mapping, excerpt, finite_float, read_time
from verifier.errors import ConfigError

#: The alert labels that name the incident's service and environment, in the order they are looked up.
SERVICE_LABELS = ("service", "service_name", "job")
ENVIRONMENT_LABELS = ("env", "environment", "deployment_environment")


def alertmanager_payload(value: object, read: Callable[[str], str] | None) -> object:
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
    label_sets = (as_mapping(alert.get("labels")), as_mapping(payload.get("commonLabels")))
    annotations = {**as_mapping(payload.get("commonAnnotations")), **as_mapping(alert.get("annotations"))}

    def label(*names: str) -> object:
        return next((labels[n] for labels in label_sets for n in names if labels.get(n)), None)

    fields: dict[str, object] = {}
    for name, value in (
        ("alert_name", label("alertname")),
        ("service_name", label(*SERVICE_LABELS)),
        ("environment", label(*ENVIRONMENT_LABELS)),
        ("triggered_at", alert.get("startsAt")),
        ("threshold_value", annotations.get("threshold")),
        ("actual_value", annotations.get("value")),
        ("query", annotations.get("query") or _generator_expression(alert.get("generatorURL"))),
    ):
        if value is not None and value != "":
            fields[name] = value
    if "triggered_at" in fields:
        try:
            fields["triggered_at"] = read_time(fields["triggered_at"], "triggered_at")
        except ConfigError as error:
            raise ConfigError(where, f"alerts[{index}].startsAt: {error.reason}") from None
    for name, source in (("threshold_value", "threshold"), ("actual_value", "value")):
        if name in fields and finite_float(fields[name]) is None:
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


__all__ = ["ENVIRONMENT_LABELS", "SERVICE_LABELS", "alertmanager_fields", "alertmanager_payload"]
