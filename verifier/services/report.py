"""`action-item-verifier report`: the weekly review's figures, read from the tracker; writes nothing.

Lists every open post-incident ticket and every done one updated since the start of the period
(`Tracker.post_incident_tickets`, streamed), judges results with the run's own trust policy, and builds the
report (`verifier.domain.report`): filed, completed, verified, regressed, overdue, and the fix-hold rate.
"""

from __future__ import annotations

from datetime import datetime

from verifier.domain.report import GroupBy, Report, build_report, listing_since
from verifier.ports import Tracker
from verifier.services.run import RunOptions, policy_for


def make_report(
    tracker: Tracker,
    options: RunOptions,
    *,
    since: datetime,
    now: datetime,
    group_by: GroupBy = "service",
    trend_weeks: int = 0,
) -> Report:
    """The report on `options.label` tickets from `since` to `now`; SLA days and trusted authors from `options`.
    With `trend_weeks`, the listing reaches back that many weeks for the fix-hold trend."""
    policy = policy_for(options, frozenset({tracker.account()}))
    return build_report(
        tracker.post_incident_tickets(options.label, listing_since(since, now, trend_weeks)),
        since=since,
        now=now,
        policy=policy,
        group_by=group_by,
        label=options.label,
        sla_days=options.sla_days,
        trend_weeks=trend_weeks,
    )
