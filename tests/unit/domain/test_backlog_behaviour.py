"""The dry run's first-run plan as the summary states it: what each request writes, the budget it was planned
for, and when the last run starts at the configured interval."""

from __future__ import annotations

from datetime import timedelta

from verifier.domain.backlog import kinds, plan


def test_a_request_with_a_comment_and_a_label_writes_both_in_one_request() -> None:
    found = plan([["comment + label verified-by-otel"]], budget=1, interval=timedelta(hours=6))
    assert (found.writes, found.by_kind, found.runs) == (1, {"comment": 1, "label": 1}, 1)


def test_a_label_with_spaces_is_still_one_label() -> None:
    assert kinds("label needs review") == ["label"]
    assert kinds("comment + label needs review + label p1") == ["comment", "label", "label"]


def test_the_plan_keeps_its_budget_and_starts_the_last_run_at_the_configured_interval() -> None:
    found = plan([["comment"], ["comment"], ["comment"]], budget=1, interval=timedelta(hours=1))
    assert (found.budget, found.runs, found.interval) == (1, 3, timedelta(hours=1))
    assert found.last_run_after == timedelta(hours=2)
