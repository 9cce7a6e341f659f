"""Filing a review's action items: `action-item-verifier file ACTION_ITEMS.yaml`.

    capture the context the file leaves out (metrics backend, optional): the incident query's value at the trigger
        time, each related query's value then, up to five exemplar trace ids around it
    check every item: its verification plans with the incident's facts, and its query runs on the backend now
    look every item up (`find_filed`: incident label + fingerprint), then create the ones not filed yet (Jira: with
        the priority's SLA as due date and the item's mapped custom fields)
    with `incident.issue`, put every filed item under it as a sub-issue (`services.sub_issues`)

Nothing is created until every item has passed every check, so one bad item files nothing. Filing the same file
again finds the tickets the first filing made and creates none twice; a filing stopped by a tracker failure is
finished by running it again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from verifier.domain.action_items import ActionItem
from verifier.domain.binding import signed_body, signing_needed
from verifier.domain.conditions import name
from verifier.domain.config import VerificationConfig
from verifier.domain.filing import FilingDocument, IncidentSpec, action_item, check_plan, incident_context
from verifier.domain.item_fields import due_date
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.tickets import Ticket
from verifier.errors import ConfigError, TrackerError
from verifier.exit_codes import ExitCode
from verifier.ports import Metrics, Tracker
from verifier.services.filing_metrics import capture, resolved_config, try_queries
from verifier.services.sub_issues import link_sub_issues

log = structlog.get_logger("verifier.filing")


@dataclass
class FiledItem:
    number: int
    title: str
    fingerprint: str
    status: str  # created | already filed | would create | not filed | signed | would sign (an earlier filing)
    key: str | None = None
    url: str | None = None
    priority: str = ""
    assignee: str | None = None
    labels: tuple[str, ...] = ()
    condition: str = ""
    query: str | None = None  # the verification query, as planned for a fix resolved now
    squatted: tuple[str, ...] = ()  # tickets carrying the fingerprint that another account created
    due: str | None = None  # Jira's due date (YYYY-MM-DD), from the priority's SLA
    fields: tuple[tuple[str, str | int | float], ...] = ()
    sub_issue_of: str | None = None  # the incident's issue it is (now) a sub-issue of

    @property
    def name(self) -> str:
        return f'item {self.number} ("{self.title}")'


@dataclass
class FilingReport:
    incident: str
    dry_run: bool
    items: list[FiledItem] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # a tracker failure that stopped the filing

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.error else ExitCode.OK

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts


def file_items(
    document: FilingDocument,
    tracker: Tracker,
    metrics: Metrics | None,
    *,
    dry_run: bool,
    now: datetime | None = None,
    config_comment: bool = True,
    extra_labels: Sequence[str] = (),
    signing_key: bytes | None = None,
    sla_days: Mapping[str, int] | None = None,
    field_names: Collection[str] | None = None,
) -> FilingReport:
    """File every item of `document` not filed yet. Raises ConfigError (an item or the incident is wrong, or the
    backend refused a query) and MetricsError (the backend failed) before anything is written; a TrackerError
    stops the filing and is reported in `FilingReport.error`.

    `sla_days`: each item's due date is its priority's SLA from `now` (None: no due date). `field_names`: the item
    fields the tracker maps (VERIFIER_JIRA_FIELDS; None: a tracker without custom fields)."""
    now = now or datetime.now(UTC)
    incident = document.incident
    check_fields(document, field_names)
    report = FilingReport(incident=incident.id, dry_run=dry_run)
    actual = incident.actual_value
    traces: tuple[str, ...] = ()
    related: tuple[tuple[str, str], ...] = ()
    if metrics is not None:
        actual, traces, related = capture(document, metrics, report.notes)
    if actual is None:
        raise ConfigError(
            "incident.actual_value",
            "is missing: give it, or give incident.query and set VERIFIER_PROMETHEUS_URL so that it is measured "
            "at the trigger time",
        )
    context = incident_context(incident, actual_value=actual, sample_trace_ids=traces, related_metrics=related)
    report.context = _context_json(incident, context.actual_value, context.sample_trace_ids, context.related_metrics)
    facts = context.facts()
    items: list[ActionItem] = []
    for spec in document.items:
        check_plan(spec, facts)  # again, with the measured value: a relative threshold needs it
        planned = plan(spec.verification, now - spec.verification.delay, now, incident=facts)
        assert isinstance(planned, QueryPlan)  # resolved a whole delay ago: due now
        if metrics is not None:
            try_queries(spec.name, planned, metrics, now, report.notes)
            spec = replace(spec, verification=resolved_config(spec.name, planned, metrics, report.notes))
        due = due_date(spec.priority, now, sla_days) if sla_days is not None else None
        item = action_item(spec, incident.id, context, tuple(extra_labels), due)
        items.append(item)
        report.items.append(
            FiledItem(
                number=spec.number,
                title=spec.title,
                fingerprint=item.fingerprint,
                status="not filed",
                priority=item.priority,
                assignee=item.assignee,
                labels=item.labels,
                condition=_condition_text(spec.verification),
                query=planned.query,
                due=due.isoformat() if due is not None else None,
                fields=spec.fields,
            )
        )
    if metrics is None:
        unmeasured = " and related_queries were not measured" if document.related_queries else ""
        report.notes.append(
            f"no metrics backend set (VERIFIER_PROMETHEUS_URL): the verification queries were not tried{unmeasured}"
        )

    found = {}
    for filed, item in zip(report.items, items, strict=True):
        try:
            found[filed.number] = tracker.find_filed(item.incident_id, item.fingerprint)
        except TrackerError as error:
            report.error = f"{filed.name}: looking for an earlier filing failed: {error}"
            return report
    for filed, item in zip(report.items, items, strict=True):
        squatted = found[filed.number].squatted
        if squatted:  # someone copied the fingerprint: their ticket is not the filing, and is named
            filed.squatted = squatted
            report.notes.append(
                f"{filed.name}: fingerprint {filed.fingerprint} squatted by {', '.join(squatted)} "
                "(not created by the tool's account): not counted as filed"
            )
        existing = found[filed.number].ticket
        if existing is not None:
            filed.status, filed.key, filed.url = "already filed", existing.key, existing.url
            if signing_key and not _resign(tracker, existing, item, filed, report, signing_key, dry_run=dry_run):
                return report
            continue
        if dry_run:
            filed.status = "would create"
            continue
        try:
            ticket = tracker.create(item, config_comment=config_comment)
        except TrackerError as error:
            report.error = f"{filed.name}: {error}"
            return report
        filed.status, filed.key, filed.url = "created", ticket.key, ticket.url
        log.info("filing.created", ticket=ticket.key, item=filed.number, fingerprint=filed.fingerprint)
        if signing_key and not _sign(tracker, ticket.key, item, filed, report, signing_key):
            return report
    if incident.issue is not None:
        note = link_sub_issues(report.items, tracker, incident.issue, dry_run=dry_run)
        report.notes.extend([note] if note else [])
    return report


def check_fields(document: FilingDocument, field_names: Collection[str] | None) -> None:
    """Every item's `fields:` must be mapped, or nothing is filed: a field dropped silently would hide a typo."""
    for spec in document.items:
        for field_name, _ in spec.fields:
            if field_names is None:
                reason = "this tracker has no custom fields (on Jira, VERIFIER_JIRA_FIELDS maps them)"
                raise ConfigError(f"fields.{field_name}", reason, ticket=spec.name)
            if field_name not in field_names:
                example = f"{field_name}=customfield_10042"
                reason = f"is not mapped to a Jira field: add it to VERIFIER_JIRA_FIELDS (e.g. {example})"
                raise ConfigError(f"fields.{field_name}", reason, ticket=spec.name)


# -- signing: a filed config is signed for its ticket's key, known once the ticket exists -----------------------
def _sign(
    tracker: Tracker, key: str, item: ActionItem, filed: FiledItem, report: FilingReport, signing_key: bytes
) -> bool:
    """Edit the new ticket's body to the one whose config block is signed for it; False (and the report's
    error) when the tracker fails: the ticket then has an unsigned config no run trusts until `file` signs it."""
    try:
        tracker.edit_body(key, signed_body(signing_key, key, item, tracker.flavour))
    except TrackerError as error:
        report.error = (
            f"{filed.name}: {key} was created, but signing its config failed ({error}); file again to sign it"
        )
        return False
    log.info("filing.signed", ticket=key, item=filed.number)
    return True


def _resign(
    tracker: Tracker, ticket: Ticket, item: ActionItem, filed: FiledItem, report: FilingReport, signing_key: bytes,
    *, dry_run: bool,
) -> bool:  # fmt: skip
    """Sign an earlier filing whose config is unsigned or signed in the earlier format, when it still says what
    the file says (docs/migrating.md); name it when someone changed it."""
    needed = signing_needed(signing_key, ticket, item, tracker.flavour)
    if needed is None:
        return True
    if needed != "sign":
        report.notes.append(f"{filed.name}: {ticket.key} is not signed for its ticket and is left as it is: {needed}")
        return True
    if dry_run:
        filed.status = "would sign"
        return True
    if not _sign(tracker, ticket.key, item, filed, report, signing_key):
        return False
    filed.status = "signed"
    return True


def _context_json(
    incident: IncidentSpec, actual: float, traces: tuple[str, ...], related: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    return {
        "alert_name": incident.alert_name,
        "metric_name": incident.metric_name,
        "threshold_value": incident.threshold_value,
        "actual_value": actual,
        "service_name": incident.service_name,
        "environment": incident.environment,
        "triggered_at": incident.triggered_at.isoformat(),
        "sample_trace_ids": list(traces),
        "related_metrics": dict(related),
    }


# -- output ---------------------------------------------------------------------------------------------------
def as_json(report: FilingReport) -> dict[str, Any]:
    return {
        "incident": report.incident,
        "dry_run": report.dry_run,
        "items": [
            {
                "number": i.number,
                "title": i.title,
                "status": i.status,
                "key": i.key,
                "url": i.url,
                "fingerprint": i.fingerprint,
                "priority": i.priority,
                "assignee": i.assignee,
                "labels": list(i.labels),
                "condition": i.condition,
                "query": i.query,
                "squatted": list(i.squatted),
                "due": i.due,
                "fields": dict(i.fields),
                "sub_issue_of": i.sub_issue_of,
            }
            for i in report.items
        ],
        "counts": report.counts(),
        "context": report.context,
        "notes": report.notes,
        "error": report.error,
    }


def as_text(report: FilingReport) -> str:
    lines = []
    width = max([len(i.key or "-") for i in report.items] + [1])
    for item in report.items:
        key = (item.key or "-").ljust(width)
        line = f"{item.status.upper():<14} {key}  {item.title}"
        if item.url:
            line += f"  {item.url}"
        lines.append(line)
        if item.status == "would create":
            who = f"assignee {item.assignee}" if item.assignee else "unassigned"
            labels = f"; labels {', '.join(item.labels)}" if item.labels else ""
            due = f", due {item.due}" if item.due else ""
            lines.append(f"{'':<14} {'':<{width}}  {item.priority}{due}, {who}{labels}")
            lines.append(f"{'':<14} {'':<{width}}  verify {item.condition}: {item.query}")
    lines.extend(f"note: {note}" for note in report.notes)
    counts = ", ".join(f"{n} {status}" for status, n in report.counts().items())
    suffix = " (dry run: nothing written)" if report.dry_run else ""
    lines.append(f"{report.incident}: {len(report.items)} action items: {counts}{suffix}")
    return "\n".join(lines)


def _condition_text(config: VerificationConfig) -> str:
    """What the filing report shows of an item's condition(s)."""
    if not config.parts and config.alert is None:
        return config.condition.text
    return "; ".join(name(part) for part in config.parts or (config,))
