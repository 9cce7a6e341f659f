"""Due tickets for the run's unit tests: one latency config, resolved some days before `NOW`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT, FakeTracker
from verifier.domain.actions import Labels
from verifier.domain.tickets import Flavour, Ticket
from verifier.domain.triage import Policy
from verifier.domain.verdicts import Outcome, Verdict
from verifier.services.write import Budget, Job, Phase, write_all

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUERY = "histogram_quantile(0.99, sum by (le) (increase(latency_seconds_bucket[48h])))"
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"
POLICY = Policy(frozenset({BOT}), frozenset({BOT}), frozenset())  # the tool's own account, trusted
HELD = Verdict(Outcome.VERIFIED, "held")


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


def jobs(tracker: FakeTracker, *keys: str, verdict: Verdict = HELD) -> list[Job]:
    """Done tickets in the tracker, resolved 3, 4, … days before NOW, each judged `verdict`: the write phase's input."""
    found = []
    for days, key in enumerate(keys, start=3):
        tracker.add(done(key, days))
        found.append(Job(done(key, days), verdict))
    return found


def write_phase(
    tracker: FakeTracker,
    due: list[Job],
    budget: Budget | None = None,
    *,
    policy: Policy = POLICY,
    concurrency: int = 1,
    stop: threading.Event | None = None,
) -> Phase:
    """The write phase of a real (not dry) run with the default labels."""
    return write_all(
        tracker,
        due,
        policy,
        Labels(),
        budget or Budget(10),
        concurrency=concurrency,
        dry_run=False,
        stop=stop or threading.Event(),
    )
