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


def plan(tickets: Iterable[Sequence[str]], budget: int, interval: timedelta) -> Plan:
    """The plan for tickets' actions (oldest due first, as the run orders them)."""
    charges: list[int] = []
    by_kind: dict[str, int] = {}
    for actions in tickets:
        if actions:
            charges.append(len(actions))
        for name in (name for action in actions for name in kinds(action)):
            by_kind[name] = by_kind.get(name, 0) + 1
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
