"""The weekly review's material: what was filed, completed, verified, regressed and overdue, and the fix-hold rate.

Pure: tickets, the period and `now` in; a `Report` out, rendered as Markdown for a review document or as JSON for a
dashboard. Results are read from the tool's own result markers, so the report needs no store of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from verifier import defaults
from verifier.domain import neutral, trends
from verifier.domain.action_items import incident_service
from verifier.domain.outcomes import Outcome
from verifier.domain.recheck import recheck_results
from verifier.domain.selection import body_refusal, judged_elsewhere, tool_marker
from verifier.domain.sla import DEFAULT_SLA_DAYS, due_date, lateness, priority
from verifier.domain.tickets import Ticket, fold_resolution
from verifier.domain.triage import Policy, Wait, triage

GroupBy = Literal["service", "team", "label"]


@dataclass
class Counts:
    filed: int = 0
    completed: int = 0
    verified: int = 0
    failed: int = 0
    inconclusive: int = 0
    invalid: int = 0
    pending: int = 0
    overdue: int = 0
    elsewhere: int = 0  # completed in the period and judged by someone else (no result of this tool)
    regressed_later: int = 0  # VERIFIED at its window, FAILED at a later re-check in the period (`recheck.py`)

    @property
    def fix_hold_rate(self) -> float | None:
        """held / (held + regressed); None when nothing was judged."""
        judged = self.verified + self.failed
        return self.verified / judged if judged else None


@dataclass(frozen=True)
class Line:
    key: str
    url: str
    title: str
    group: str
    detail: str


@dataclass
class Report:
    since: datetime
    until: datetime
    group_by: GroupBy
    overall: Counts = field(default_factory=Counts)
    groups: dict[str, Counts] = field(default_factory=dict)
    failed: list[Line] = field(default_factory=list)
    regressed_later: list[Line] = field(default_factory=list)
    overdue: list[Line] = field(default_factory=list)
    left_out: int = 0  # tickets with the label filed by someone neither the tool nor trusted
    trend: trends.Trend | None = None  # fix-hold rate by group, week by week


def build_report(
    tickets: Iterable[Ticket],
    *,
    since: datetime,
    now: datetime,
    policy: Policy,
    group_by: GroupBy = "service",
    label: str = defaults.LABEL,
    sla_days: Mapping[str, int] = DEFAULT_SLA_DAYS,
    trend_weeks: int = 0,
) -> Report:
    """With `trend_weeks`, `tickets` may reach back before `since` (`listing_since`): tickets done and quiet
    since `since` then feed only the trend."""
    report = Report(since=since, until=now, group_by=group_by)
    report.trend = trends.Trend.ending(now, trend_weeks) if trend_weeks else None
    for ticket in tickets:
        if ticket.filed_by not in policy.trusted:  # anyone can add the label: only trusted filings count
            report.left_out += 1
            continue
        groups = _groups(ticket, group_by, label, policy.trusted)
        if report.trend is not None:
            report.trend.add(ticket, groups, policy.own)
            if not _active(ticket, since):
                continue
        for group in groups:
            counts = report.groups.setdefault(group, Counts())
            _count(ticket, group, counts, None, since=since, now=now, policy=policy, sla_days=sla_days)
        # Listed once, with all its groups: a ticket of two teams is one ticket.
        overall = ", ".join(groups)
        _count(ticket, overall, report.overall, report, since=since, now=now, policy=policy, sla_days=sla_days)
    report.groups = dict(sorted(report.groups.items()))
    return report


def _count(
    ticket: Ticket,
    group: str,
    counts: Counts,
    report: Report | None,
    *,
    since: datetime,
    now: datetime,
    policy: Policy,
    sla_days: Mapping[str, int],
) -> None:
    """Add one ticket to `counts`; with `report`, also list it among the failed or overdue tickets."""
    if ticket.created and ticket.created >= since:
        counts.filed += 1
    if _completed_since(ticket, policy, since):
        counts.completed += 1
    if ticket.resolved_at and ticket.resolved_at >= since and not policy.rejudge:
        counts.elsewhere += judged_elsewhere(ticket, policy.own, policy.trusted, policy.judged_labels) is not None
    result = _latest_result(ticket, policy, since)
    if result is Outcome.VERIFIED:
        counts.verified += 1
    elif result is Outcome.FAILED:
        counts.failed += 1
        if report is not None:
            report.failed.append(_line(ticket, group, "failed verification; reopened for investigation"))
    elif result is Outcome.INCONCLUSIVE:
        counts.inconclusive += 1
    elif result is Outcome.INVALID:
        counts.invalid += 1
    _count_recheck(ticket, group, counts, report, policy=policy, since=since)
    if ticket.resolved_at is not None and isinstance(triage(ticket, now, policy), Wait):
        counts.pending += 1
    due = due_date(ticket, sla_days) if ticket.resolved_at is None else None
    if due is not None and due < now:
        counts.overdue += 1
        if report is not None:
            report.overdue.append(_line(ticket, group, f"{priority(ticket)}, {lateness(due, now)}"))


def _count_recheck(
    ticket: Ticket, group: str, counts: Counts, report: Report | None, *, policy: Policy, since: datetime
) -> None:
    """A re-check in the period that found the fix regressed: counted apart from the window's own verdicts (the
    ticket counts as verified there, and its fix-hold rate is the window's)."""
    found = [r for r in recheck_results(ticket, policy.own, policy.signing_key) if r.comment.created >= since]
    if found and found[-1].marker.verdict is Outcome.FAILED:
        counts.regressed_later += 1
        if report is not None:
            report.regressed_later.append(_line(ticket, group, "verified at its window; regressed at the re-check"))


def listing_since(since: datetime, now: datetime, trend_weeks: int) -> datetime:
    """How far back the tickets must be listed for the period and the trend."""
    return min(since, trends.Trend.ending(now, trend_weeks).since) if trend_weeks else since


def _active(ticket: Ticket, since: datetime) -> bool:
    """Open, or resolved or commented on since `since`: what the period's listing holds."""
    recent = ticket.resolved_at is not None and ticket.resolved_at >= since
    return ticket.resolved_at is None or recent or any(c.created >= since for c in ticket.comments)


def _not_a_fix(ticket: Ticket, policy: Policy) -> bool:
    """Closed as Won't Do, Duplicate, not_planned...: closed, but not completed."""
    return bool(ticket.resolution) and fold_resolution(ticket.resolution or "") in policy.not_a_fix


def _completed_since(ticket: Ticket, policy: Policy, since: datetime) -> bool:
    """Completed in the period: resolved in it (not as not-a-fix), or judged by a result of ours on a resolution
    in it. A fix the run reopened because it failed was still completed when it was resolved."""
    if ticket.resolved_at and ticket.resolved_at >= since and not _not_a_fix(ticket, policy):
        return True
    return any(
        marker.resolved_at >= since
        for comment in ticket.comments
        if (marker := tool_marker(ticket, comment, policy.own, policy.signing_key)) is not None
    )


def _latest_result(ticket: Ticket, policy: Policy, since: datetime) -> Outcome | None:
    latest = None
    for comment in sorted(ticket.comments, key=lambda c: c.created):
        if comment.created >= since:
            marker = tool_marker(ticket, comment, policy.own, policy.signing_key)
            if marker is not None and not marker.early:
                latest = marker.verdict
    return latest


def _groups(ticket: Ticket, group_by: GroupBy, label: str, trusted: frozenset[str]) -> list[str]:
    if group_by == "service":  # from a body nobody untrusted changed (#20): an edit cannot move a ticket's group
        service = incident_service(ticket.body) if body_refusal(ticket, trusted) is None else None
        return [service or "(no service recorded)"]
    if group_by == "team":
        teams = [
            lb.split(":", 1)[-1].removeprefix("team-") for lb in ticket.labels if lb.startswith(("team-", "team:"))
        ]
        return sorted(teams) or ["(no team label)"]
    return sorted(lb for lb in ticket.labels if lb != label) or ["(no other label)"]


def _line(ticket: Ticket, group: str, detail: str) -> Line:
    return Line(ticket.key, ticket.url, ticket.title, group, detail)


def as_json(report: Report) -> dict[str, Any]:
    def counts(c: Counts) -> dict[str, Any]:
        return {**asdict(c), "fix_hold_rate": c.fix_hold_rate}

    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "group_by": report.group_by,
        "overall": counts(report.overall),
        "groups": {name: counts(c) for name, c in report.groups.items()},
        "failed_verification": [asdict(line) for line in report.failed],
        "regressed_later": [asdict(line) for line in report.regressed_later],
        "overdue": [asdict(line) for line in report.overdue],
        "left_out": report.left_out,
        **({"trend": trends.as_json(report.trend)} if report.trend else {}),
    }


def as_markdown(report: Report) -> str:
    period = f"{report.since.date().isoformat()} to {report.until.date().isoformat()}"
    rate = report.overall.fix_hold_rate
    lines = [
        f"## Post-incident action items, {period}",
        "",
        f"Fix-hold rate: **{_percent(rate)}** ({report.overall.verified} held, {report.overall.failed} regressed). "
        f"{report.overall.overdue} open past their due date."
        + (
            f" {report.left_out} ticket(s) with the label left out: not filed by the tool or a trusted reporter."
            if report.left_out
            else ""
        )
        + (f" {report.overall.elsewhere} {_ELSEWHERE}" if report.overall.elsewhere else "")
        + (f" {report.overall.regressed_later} {_REGRESSED}" if report.overall.regressed_later else ""),
        "",
        f"| {report.group_by} | filed | completed | verified | failed | inconclusive | invalid | pending | overdue | fix-hold |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in [*report.groups.items(), ("**all**", report.overall)]:
        lines.append(
            f"| {name if c is report.overall else _cell(name)} | {c.filed} | {c.completed} | {c.verified} | {c.failed} | {c.inconclusive} | "
            f"{c.invalid} | {c.pending} | {c.overdue} | {_percent(c.fix_hold_rate)} |"
        )
    sections = [("Failed verification", report.failed), ("Overdue", report.overdue)]
    if report.regressed_later:
        sections.insert(1, ("Regressed later (re-check)", report.regressed_later))
    for title, entries in sections:
        lines += ["", f"### {title}", ""]
        lines += [f"- [{e.key}]({e.url}) {_cell(e.title)} ({_cell(e.group)}): {e.detail}" for e in entries] or [
            "- none"
        ]
    if report.trend is not None:
        lines += trends.as_markdown(report.trend, report.group_by, _cell)
    return "\n".join(lines) + "\n"


_REGRESSED = "verified earlier but regressed at a later re-check (recheck_after), counted apart."
_ELSEWHERE = "completed and judged elsewhere (a label or the article's comment, no result of this tool)."


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


def _cell(text: str) -> str:
    """Titles, services, teams and labels come from whoever filed the ticket: shown, never rendered."""
    return neutral.markdown(text)
