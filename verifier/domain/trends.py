"""The report's trend: the fix-hold rate of each group, week by week, read from the tickets' own result comments.

Pure: the tickets, `now` and the number of weeks in; no backend. A week counts, for each ticket, the last result
the tool wrote in it (a fix judged twice in a week counts once); early results (on-call's `--now`) do not count.
Weeks run back from `now`, so the last one ends at the report's end; the oldest comes first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from verifier.domain.outcomes import Outcome
from verifier.domain.render import parse_marker
from verifier.domain.sparkline import draw
from verifier.domain.tickets import Ticket

WEEK = timedelta(days=7)
DEFAULT_WEEKS = 8
NOTHING = "·"  # a week in which no fix of the group was judged


@dataclass
class Week:
    verified: int = 0
    failed: int = 0

    @property
    def fix_hold_rate(self) -> float | None:
        judged = self.verified + self.failed
        return self.verified / judged if judged else None


@dataclass
class Trend:
    starts: list[datetime]  # the first instant of each week, oldest first
    groups: dict[str, list[Week]] = field(default_factory=dict)

    @classmethod
    def ending(cls, now: datetime, weeks: int) -> Trend:
        return cls([now - WEEK * (weeks - i) for i in range(max(1, weeks))])

    @property
    def since(self) -> datetime:
        return self.starts[0]

    def add(self, ticket: Ticket, groups: list[str], own: frozenset[str]) -> None:
        """Count the ticket's results, week by week, in each of its groups."""
        latest: dict[int, Outcome] = {}
        for comment in sorted(ticket.comments, key=lambda c: c.created):
            index = self._week(comment.created)
            marker = parse_marker(comment.body) if index is not None and comment.author in own else None
            if index is not None and marker is not None and not marker.early:
                latest[index] = marker.verdict
        if not any(outcome in (Outcome.VERIFIED, Outcome.FAILED) for outcome in latest.values()):
            return
        for group in groups:
            weeks = self.groups.setdefault(group, [Week() for _ in self.starts])
            for index, outcome in latest.items():
                if outcome is Outcome.VERIFIED:
                    weeks[index].verified += 1
                elif outcome is Outcome.FAILED:
                    weeks[index].failed += 1

    def sparkline(self, group: str) -> str:
        """One block per week: ▁ no fix held, █ every fix held, · nothing judged that week."""
        rates = [w.fix_hold_rate for w in self.groups.get(group, [])]
        line = draw([math.nan if r is None else r for r in rates], scale=(0.0, 1.0))
        return (line.line if line else " " * len(rates)).replace(" ", NOTHING)

    def _week(self, moment: datetime) -> int | None:
        end = self.starts[-1] + WEEK
        if not self.since <= moment < end:
            return None
        return min(len(self.starts) - 1, int((moment - self.since) / WEEK))


def as_json(trend: Trend) -> dict[str, Any]:
    return {
        "weeks": [start.isoformat() for start in trend.starts],
        "groups": {
            name: [
                {
                    "week": start.isoformat(),
                    "verified": w.verified,
                    "failed": w.failed,
                    "fix_hold_rate": w.fix_hold_rate,
                }
                for start, w in zip(trend.starts, weeks, strict=True)
            ]
            for name, weeks in sorted(trend.groups.items())
        },
    }


def as_markdown(trend: Trend, group_by: str, cell: Any) -> list[str]:
    """The report's trend section: a sparkline per group, then the last week's rate."""
    first, last = trend.starts[0].date().isoformat(), trend.starts[-1].date().isoformat()
    lines = [
        "",
        f"### Fix-hold trend, {len(trend.starts)} weeks",
        "",
        f"One block a week, oldest first (weeks starting {first} to {last}): ▁ no fix held, █ every fix held, "
        f"{NOTHING} nothing judged.",
        "",
        f"| {group_by} | trend | last judged week |",
        "|---|---|---|",
    ]
    for name in sorted(trend.groups):
        weeks = trend.groups[name]
        judged = [w for w in weeks if w.fix_hold_rate is not None]
        last_week = judged[-1] if judged else None
        latest = (
            f"{last_week.fix_hold_rate:.0%} ({last_week.verified} held, {last_week.failed} regressed)"
            if last_week and last_week.fix_hold_rate is not None
            else "n/a"
        )
        lines.append(f"| {cell(name)} | `{trend.sparkline(name)}` | {latest} |")
    return lines
