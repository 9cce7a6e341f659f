"""The dry run's first-run plan as the summary states it: what each request writes, the budget it was planned
for, and when the last run starts at the configured interval.
"""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from verifier.domain.backlog import KINDS, Counted, kinds, plan, runs_to_drain


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


_ACTIONS = st.lists(
    st.lists(
        st.sampled_from(["comment", "label verified-by-otel", "reopen", "reminder", "comment + label x"]), max_size=3
    ),
    max_size=12,
)


@given(tickets=_ACTIONS, reminders=_ACTIONS, order=st.randoms(use_true_random=False), budget=st.integers(0, 7))
def test_counts_put_in_any_order_plan_as_the_actions_in_rank_order(
    tickets: list[list[str]], reminders: list[list[str]], order: random.Random, budget: int
) -> None:
    """A dry run counts each ticket's actions at its rank as its verdict comes in (#26): the plan, by-kind counts
    in KINDS' order included, is the one made from every ticket's actions in rank order."""
    counted = Counted(bytearray(len(tickets)))
    ranks = list(range(len(tickets)))
    order.shuffle(ranks)
    for rank in ranks:
        counted.put(rank, tickets[rank])
    every = plan([*tickets, *reminders], budget, timedelta(hours=6))
    found = plan(reminders, budget, timedelta(hours=6), first=counted)
    assert found == every and list(found.by_kind.items()) == list(every.by_kind.items())
    assert list(found.by_kind) == [kind for kind in KINDS if kind in found.by_kind]
    assert counted.charges == bytearray(len(actions) for actions in tickets)  # `first` is left as it was


def test_the_kinds_are_listed_in_one_order_whatever_came_first() -> None:
    found = plan([["reopen"], ["label x"], ["comment"]], budget=3, interval=timedelta(hours=6))
    assert list(found.by_kind) == ["comment", "label", "reopen"]
