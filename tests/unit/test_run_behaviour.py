"""What an operator reads off a run's report: the dry run's first-run plan against what real runs then do, what a
stop or the tracker's rate limit leaves behind, and the query and graph link a result names."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.fakes import BOT, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.run_tickets import BLOCK, NOW, QUERY, done, tracker_with
from verifier.domain.render import render_result
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.verdicts import Outcome, Verdict
from verifier.services.run import RunOptions, run

OTHER = QUERY.replace("latency", "errors")
METRICS = {QUERY: instant(0.05), OTHER: instant(0.5)}


def backlog() -> FakeTracker:
    """Four due tickets, listed in this order, with their writes: a result recorded without its label (1 write,
    resolved 8 days ago), an invalid config (2, resolved 9 days ago), a held fix due 4 days ago (2) and a broken
    one due 3 days ago (3)."""
    recorded = render_result(Verdict(Outcome.VERIFIED, "the condition held"), NOW - timedelta(days=8), Flavour.MARKDOWN)
    return tracker_with(
        done("RECORDED", 8, comments=(Comment("1", BOT, recorded, NOW - timedelta(days=1)),)),
        done("INVALID", 9, body=BLOCK.replace("100ms", "100kB")),
        done("HELD", 6),
        done("BROKE", 5, body=BLOCK.replace("latency", "errors")),
    )


def test_the_first_run_plan_counts_the_runs_real_runs_take() -> None:
    """Real runs write the measured tickets oldest due first, then the judged ones oldest resolved first; the
    plan packs them in that order too, whatever order the tracker listed them in."""
    dry = run(backlog(), FakeMetrics(METRICS), RunOptions(dry_run=True, max_writes=4), NOW)
    tracker, runs = backlog(), 0
    while runs < 5:
        before = len(tracker.writes)
        run(tracker, FakeMetrics(METRICS), RunOptions(max_writes=4), NOW)
        if len(tracker.writes) == before:
            break
        runs += 1
    assert dry.plan is not None and (dry.plan.writes, runs) == (8, 2)
    assert dry.plan.runs == runs
    assert {r.key: r.deferred for r in dry.results} == {
        "RECORDED": "the write budget is used up",
        "INVALID": "",
        "HELD": "",
        "BROKE": "the write budget is used up",
    }
