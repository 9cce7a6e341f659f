"""Due tickets for the run's unit tests: one latency config, resolved some days before `NOW`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT, FakeTracker
from verifier.domain.tickets import Flavour, Ticket

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"


def done(key: str, days_ago: float = 3, **kw: object) -> Ticket:
    """A done ticket the tool filed, resolved `days_ago` days before NOW; `kw` overrides any field."""
    fields: dict[str, object] = {
        "key": key,
        "url": f"https://tracker/{key}",
        "title": f"Fix {key}",
        "status": "Done",
        "resolved_at": NOW - timedelta(days=days_ago),
        "resolution": "Done",
        "labels": frozenset({"post-incident"}),
        "body": BLOCK,
        "reporter": BOT,
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


def tracker_with(*tickets: Ticket, flavour: Flavour = Flavour.MARKDOWN) -> FakeTracker:
    tracker = FakeTracker(clock=NOW, flavour=flavour)
    for ticket in tickets:
        tracker.add(ticket)
    return tracker
