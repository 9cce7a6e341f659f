"""The run's write budget: a cap on write requests, reserved oldest due first however the verdicts arrive.

`Budget` counts what is left; `Allowance` is one ticket's share (its reservation, then what the budget still has,
retries charged); `Ledger` keeps the reservations in the run's order while tickets are decided out of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from verifier.domain.actions import MOST_WRITES
from verifier.ports import WRITE_GATE


class Budget:
    """The run's write budget. Decisions reserve from it in order; failures draw from it as they happen (writes
    run in parallel, hence the lock)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._left = total
        self._lock = threading.Lock()

    @property
    def left(self) -> int:
        with self._lock:
            return self._left

    def take(self, count: int) -> bool:
        with self._lock:
            if count > self._left:
                return False
            self._left -= count
            return True

    def give_back(self, count: int) -> None:
        with self._lock:
            self._left += count


@dataclass
class Allowance:
    """One ticket's share of the budget: its reservation first, then whatever the budget still has. `sent` counts
    the write requests sent for it, retries included."""

    budget: Budget
    reserved: int
    sent: int = 0

    def take(self, count: int = 1) -> bool:
        """Room for `count` more requests, or False."""
        from_reserve = min(count, self.reserved - self.sent) if self.reserved > self.sent else 0
        if count > from_reserve and not self.budget.take(count - from_reserve):
            return False
        self.reserved = max(self.reserved, self.sent + count)  # what was drawn is now this ticket's
        return True

    def charge(self) -> bool:
        """One more request, charged when attempted: a refused request still reached the tracker."""
        if not self.take():
            return False
        self.sent += 1
        return True

    @contextmanager
    def retries_charged(self, stop: threading.Event | None = None) -> Iterator[None]:
        """Around one Tracker write call, its first request charged before (`charge`): while inside, every further
        write request the adapter sends (a retry, a second request of the call) is charged as the transport sends
        it (`WRITE_GATE`), and none is sent without room, nor once `stop` is set: a stopped run waits for no retry."""
        token = WRITE_GATE.set(_Gate(self, stop))
        try:
            yield
        finally:
            WRITE_GATE.reset(token)

    def settle(self) -> None:
        self.budget.give_back(max(0, self.reserved - self.sent))


class _Gate:
    """`WriteGate` for one write call: its first write request is the one charged before the call."""

    def __init__(self, allowance: Allowance, stop: threading.Event | None) -> None:
        self._allowance, self._stop, self._first = allowance, stop, True
        self._lock = threading.Lock()

    def charge(self) -> bool:
        with self._lock:
            first, self._first = self._first, False
        return first or (not self.stopped() and self._allowance.charge())

    def stopped(self) -> bool:
        return self._stop is not None and self._stop.is_set()


class Ledger:
    """The write budget's order: tickets reserve in their rank (oldest due first) however their verdicts arrive.

    A rank not decided yet holds `MOST_WRITES`; a decided one its charge. A ticket reserves at once when its charge
    fits in what would be left even if every earlier rank took its hold, else it waits for them; it is refused
    (left for the next run) only once no earlier rank holds anything, as it would be in a sequential pass. When
    the budget covers every hold, the common case, nobody waits."""

    def __init__(self, budget: Budget, ranks: int) -> None:
        self.budget = budget
        self._holds = _Sums(ranks, MOST_WRITES)
        self._waiting: dict[int, tuple[int, Callable[[bool], None]]] = {}
        self._lock = threading.Lock()

    def request(self, rank: int, charge: int, later: Callable[[bool], None]) -> bool | None:
        """True: `charge` is reserved; False: it does not fit; None: it waits for earlier ranks, and `later` is
        called with the answer (from the thread that settled them)."""
        with self._lock:
            self._holds.set(rank, charge)
            answer = self._answer(rank, charge)
            if answer is None:
                self._waiting[rank] = (charge, later)
                return None
        self._settle()
        return answer

    def waiting(self) -> int:
        """How many ranks wait for earlier ones to decide."""
        with self._lock:
            return len(self._waiting)

    def release(self, rank: int) -> None:
        """`rank` reserves nothing (no writes, a failed read, never measured)."""
        with self._lock:
            self._holds.set(rank, 0)
        self._settle()

    def give_back(self, count: int) -> None:
        self.budget.give_back(count)
        self._settle()

    def _answer(self, rank: int, charge: int) -> bool | None:
        """Under the lock: reserve `charge` for `rank` if it fits (its hold then goes), refuse, or wait (None)."""
        left = self.budget.left
        fits = self._holds.total <= left or charge <= left - self._holds.before(rank)
        if fits and self.budget.take(charge):
            self._holds.set(rank, 0)
            return True
        if self._holds.before(rank) == 0:
            self._holds.set(rank, 0)
            return False
        return None

    def _settle(self) -> None:
        """Answer the waiting ranks that can be answered now, in order."""
        answers: list[tuple[Callable[[bool], None], bool]] = []
        with self._lock:
            for rank in sorted(self._waiting):
                charge, later = self._waiting[rank]
                answer = self._answer(rank, charge)
                if answer is not None:
                    del self._waiting[rank]
                    answers.append((later, answer))
                elif self._holds.before(rank) >= self.budget.left:
                    break  # every later rank waits too: nothing is left beyond the holds before it
        for later, answer in answers:
            later(answer)


class _Sums:
    """Holds by rank with their running sums (a Fenwick tree): a rank's prefix in log time at 50,000 tickets."""

    def __init__(self, size: int, each: int) -> None:
        self._values = [each] * size
        self._tree = [0] * (size + 1)
        self.total = 0
        for rank in range(size):
            self._add(rank, each)

    def set(self, rank: int, value: int) -> None:
        self._add(rank, value - self._values[rank])
        self._values[rank] = value

    def before(self, rank: int) -> int:
        """The sum of the holds of the ranks before `rank`."""
        total, i = 0, rank
        while i > 0:
            total += self._tree[i]
            i -= i & -i
        return total

    def _add(self, rank: int, delta: int) -> None:
        self.total += delta
        i = rank + 1
        while i < len(self._tree):
            self._tree[i] += delta
            i += i & -i
