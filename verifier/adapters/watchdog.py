"""One thread that keeps every request's deadline for the wait on an answer's headers (`http._DeadlineHeaders`).

A timer thread per request cost about 0.2 ms to start, thousands of times a run, all under the one interpreter
lock the run's other threads need (#26). Here each request arms an alarm (a deadline and what to do then) on a
heap watched by one daemon thread, and disarms it when its headers came; a disarmed alarm is dropped from the heap
when it comes up, or when disarmed ones are the most of it (so the heap stays as large as the requests in flight).
An alarm that fired before it was disarmed has fired: callers check, as they did with `threading.Timer`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Alarm", "arm"]


class Alarm:
    """One request's deadline; `disarm` once the wait it guards is over."""

    __slots__ = ("at", "fire", "order")

    def __init__(self, at: float, fire: Callable[[], None], order: int) -> None:
        self.at, self.fire, self.order = at, fire, order

    def __lt__(self, other: Alarm) -> bool:
        return (self.at, self.order) < (other.at, other.order)

    def disarm(self) -> None:
        _WATCHDOG.disarm(self)


class _Watchdog:
    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[Alarm] = []
        self._disarmed = 0
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fire: Callable[[], None]) -> Alarm:
        alarm = Alarm(time.monotonic() + max(0.0, seconds), fire, next(self._order))
        with self._wake:
            heapq.heappush(self._heap, alarm)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="deadline-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0] is alarm:  # sooner than what the thread waits for
                self._wake.notify()
        return alarm

    def disarm(self, alarm: Alarm) -> None:
        with self._wake:
            if alarm.fire is _DONE:
                return
            alarm.fire = _DONE
            self._disarmed += 1
            if self._disarmed > 64 and self._disarmed * 2 > len(self._heap):
                self._heap = [a for a in self._heap if a.fire is not _DONE]
                heapq.heapify(self._heap)
                self._disarmed = 0

    def _watch(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0].fire is _DONE:
                    heapq.heappop(self._heap)
                    self._disarmed = max(0, self._disarmed - 1)
                if not self._heap:
                    self._wake.wait()
                    continue
                left = self._heap[0].at - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                alarm = heapq.heappop(self._heap)
                fire, alarm.fire = alarm.fire, _DONE
                with contextlib.suppress(Exception):  # one alarm's failure must not stop the others' deadlines
                    fire()


def _done() -> None:
    """The `fire` of an alarm that fired or was disarmed."""


_DONE = _done

_WATCHDOG = _Watchdog()


def arm(seconds: float, fire: Callable[[], None]) -> Alarm:
    """Call `fire` (on the watchdog's thread) `seconds` from now, unless disarmed before."""
    return _WATCHDOG.arm(seconds, fire)
