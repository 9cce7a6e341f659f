"""Due tickets the run lists by key and due time alone, read back from the tracker in batches as it has room (#26).

The listing completes before the first write (a reopen takes a ticket out of the search and would shift the pages
still to come, and the write budget's order needs every due ticket), and it lists far faster than tickets are
measured. So the run holds at most a window of due tickets whole (their ticket, plan and verdict); beyond it a due
ticket is kept as a `Listed` (key, link, due time: what its place in the budget's order and an unjudged result
need), and read back, in the budget's order, in one request per batch where the tracker has `BatchReads`, once
tickets held before it are written. The ticket read back is triaged again: what is measured is the ticket as it
is now, and the re-read before writing still checks that the config judged is the current one.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog

from verifier.domain.tickets import Ticket
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import BatchReads, Tracker
from verifier.services.run_report import TicketResult
from verifier.services.workers import Workers
from verifier.services.write import Unread

log = structlog.get_logger("verifier.run")


@dataclass(slots=True, frozen=True)
class Listed:
    """A due ticket listed beyond the window: its key and link, and its place in the budget's order."""

    key: str
    url: str
    due_at: datetime | None
    when: datetime  # its due time, or (judged at triage) its resolution
    service: str | None
    result: TicketResult | None = None  # the report's, when the report keeps every result

    @property
    def order(self) -> tuple[int, datetime]:
        return (0 if self.due_at else 1, self.when)


@dataclass(slots=True, frozen=True)
class Back:
    """Tickets read back, with their ranks: each as read now, or why it could not be read."""

    tickets: list[tuple[int, Listed, Ticket | Unread]]


class ReadBack:
    """Feeds the listed tickets back in rank order while fewer than `window` due tickets are open (held whole
    and not written yet). Ticket results go to `inbox` as a `Back` (read on the tracker pool); `finished` frees
    room, from any thread. Tickets waiting in the write budget's order for earlier ones (`parked`) do not count:
    those earlier ones may be listed tickets, which must be read back for the parked ones to move."""

    def __init__(
        self,
        tracker: Tracker,
        workers: Workers,
        inbox: queue.SimpleQueue[object],
        *,
        window: int,
        held: int,
    ) -> None:
        self._tracker, self._workers, self._inbox = tracker, workers, inbox
        self._halt = threading.Event()
        self._parked: Callable[[], int] = lambda: 0
        self._window = window
        self._size = tracker.batch_size if isinstance(tracker, BatchReads) else 1
        self._waiting: deque[tuple[int, Listed]] = deque()
        self._reading: dict[int, Listed] = {}
        self._open = held
        self._lock = threading.Lock()

    def follow(self, halt: threading.Event, parked: Callable[[], int]) -> None:
        """The writer's: its rate-limit stop, and how many tickets wait in the budget's order."""
        self._halt, self._parked = halt, parked

    def add(self, rank: int, listed: Listed) -> None:
        self._waiting.append((rank, listed))

    @property
    def busy(self) -> bool:
        """Tickets still to come back (none once the tracker's rate limit stopped the run)."""
        return bool(self._reading) or (bool(self._waiting) and not self._halt.is_set())

    def feed(self) -> None:
        """Ask for the next batches while there is room (the run's thread)."""
        while self._waiting and not self._halt.is_set():
            with self._lock:
                if self._open - self._parked() >= self._window:
                    return
                take = min(self._size, len(self._waiting))
                self._open += take
            batch = [self._waiting.popleft() for _ in range(take)]
            self._reading.update(batch)
            self._workers.submit(partial(self._read, batch))

    def arrived(self, back: Back) -> None:
        for rank, _, _ in back.tickets:
            self._reading.pop(rank, None)

    def finished(self) -> None:
        """One open ticket is done with (written, or needing nothing): room for another."""
        with self._lock:
            self._open -= 1
        self._inbox.put(None)  # wakes the run's thread to feed

    def left(self) -> list[tuple[int, Listed]]:
        """The tickets not back (the deadline, a stop or the rate limit came first), in rank order."""
        rest = sorted([*self._reading.items(), *self._waiting], key=lambda pair: pair[0])
        self._reading.clear()
        self._waiting.clear()
        return rest

    def _read(self, batch: list[tuple[int, Listed]]) -> None:
        """Read a batch back (the tracker pool): in one request where the tracker can, else (or for a key the
        batched read left out) one by one. Always answers for every ticket of the batch."""
        found: dict[str, Ticket | Unread] = {}
        try:
            keys = [listed.key for _, listed in batch]
            if len(keys) > 1:
                found = self._read_many(keys)
            for key in keys:
                if key not in found:
                    found[key] = self._read_one(key)
        except Exception as error:  # a bug costs the tickets not read yet, each with its own line
            log.exception("read_back_crashed", tickets=len(batch))
            for _, listed in batch:
                found.setdefault(listed.key, Unread(f"internal error: {error}"))
        finally:
            self._inbox.put(Back([(rank, listed, found[listed.key]) for rank, listed in batch]))

    def _read_one(self, key: str) -> Ticket | Unread:
        try:
            return self._tracker.get_ticket(key)
        except TrackerThrottled as error:
            log.error("tracker_throttled", ticket=key, error=str(error))
            return Unread(f"throttled: {error}", throttled=True)
        except TrackerError as error:
            log.error("read_back_failed", ticket=key, error=str(error))
            return Unread(f"reading the ticket back to measure it failed: {error}")

    def _read_many(self, keys: list[str]) -> dict[str, Ticket | Unread]:
        tracker = self._tracker
        assert isinstance(tracker, BatchReads)
        try:
            return dict(tracker.get_tickets(keys))
        except TrackerThrottled as error:
            log.error("tracker_throttled", ticket=keys[0], error=str(error))
            return dict.fromkeys(keys, Unread(f"throttled: {error}", throttled=True))
        except TrackerError as error:  # a key that no longer exists fails the whole search: read them alone
            log.warning("batched_read_failed", tickets=len(keys), error=str(error))
            return {}
