from datetime import timedelta

from verifier.domain.backlog import plan, runs_to_drain


def test_runs_pack_whole_tickets_oldest_first_letting_smaller_ones_through() -> None:
    assert runs_to_drain([], 10) == 0
    assert runs_to_drain([3, 3, 3], 9) == 1
    assert runs_to_drain([3, 3, 3, 3], 9) == 2
    assert runs_to_drain([2, 3, 2], 4) == 2  # run 1: 2 + 2 (the 3 waits), run 2: 3
    assert runs_to_drain([5], 4) is None
    assert runs_to_drain([1], 0) is None


def test_plan_counts_by_kind_and_says_when_the_last_run_starts() -> None:
    found = plan(
        [["comment", "label verified-by-otel"], [], ["comment", "label verification-failed", "reopen"], ["reminder"]],
        budget=3,
        interval=timedelta(hours=6),
    )
    assert (found.writes, found.by_kind) == (6, {"comment": 2, "label": 2, "reopen": 1, "reminder": 1})
    assert (found.runs, found.last_run_after) == (2, timedelta(hours=6))
