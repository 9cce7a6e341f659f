"""A dry run's first-run plan: what a real run would write, and how many runs the write budget needs for it.

The write phase packs tickets the same way: oldest due first, each ticket's writes whole, and a ticket that does
not fit in what is left waits for the next run while later, smaller ones still go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from verifier import defaults

KINDS = ("comment", "label", "reopen", "reminder")
_ORDER = {kind: place for place, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Plan:
    writes: int  # write requests a real run would send for every due ticket, whatever the budget
    by_kind: dict[str, int] = field(default_factory=dict)  # what they write: a comment and a label may share one
    budget: int = 0
    runs: int | None = None  # runs the budget needs to write it all; None: some ticket never fits
    interval: timedelta = timedelta(seconds=defaults.RUN_INTERVAL_SECONDS)

    @property
    def last_run_after(self) -> timedelta | None:
        """How long after this run the last of those runs starts."""
        return None if self.runs is None else self.interval * max(0, self.runs - 1)


def kinds(request: str) -> list[str]:
    """What one request writes: `comment + label verified-by-otel` -> comment, label."""
    return [part.split(" ", 1)[0] for part in request.split(" + ")]


@dataclass
class Counted:
    """What the plan reads of tickets' actions, kept instead of the actions (a dry run's memory stays flat in the
    number of tickets, #26): each ticket's count of write requests in the run's order (0: none), and the kinds."""

    charges: bytearray = field(default_factory=bytearray)  # by place in the run's order; a ticket writes at most 3
    by_kind: dict[str, int] = field(default_factory=dict)

    def put(self, at: int, actions: Sequence[str]) -> None:
        """The actions of the ticket at place `at` (within `charges`)."""
        self.charges[at] = len(actions)
        for name in (name for action in actions for name in kinds(action)):
            self.by_kind[name] = self.by_kind.get(name, 0) + 1

    def append(self, actions: Sequence[str]) -> None:
        self.charges.append(0)
        self.put(len(self.charges) - 1, actions)


def plan(tickets: Iterable[Sequence[str]], budget: int, interval: timedelta, *, first: Counted | None = None) -> Plan:
    """The plan for tickets' actions (oldest due first, as the run orders them), after those `first` counted."""
    counted = Counted(bytearray(first.charges), dict(first.by_kind)) if first else Counted()
    for actions in tickets:
        counted.append(actions)
    charges = [charge for charge in counted.charges if charge]
    # In KINDS' order, whatever order the tickets were counted in (a dry run counts them as their verdicts come).
    by_kind = dict(sorted(counted.by_kind.items(), key=lambda kind: (_ORDER.get(kind[0], len(KINDS)), kind[0])))
    return Plan(sum(charges), by_kind, budget, runs_to_drain(charges, budget), interval)


def runs_to_drain(charges: Sequence[int], budget: int) -> int | None:
    """Runs needed to write tickets with these charges, `budget` writes a run; None when one never fits."""
    if any(charge > budget for charge in charges):
        return None
    runs, waiting = 0, list(charges)
    while waiting:
        runs, left, later = runs + 1, budget, []
        for charge in waiting:
            if charge <= left:
                left -= charge
            else:
                later.append(charge)
        waiting = later
    return runs
