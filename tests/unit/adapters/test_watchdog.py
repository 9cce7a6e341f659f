"""The one thread that keeps every request's deadline (`verifier.adapters.watchdog`): alarms fire in deadline
order, a disarmed one never fires, and the heap holds what is armed, not every request ever made (#26)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from verifier.adapters import watchdog


def test_alarms_fire_in_deadline_order_and_a_disarmed_one_never_fires() -> None:
    fired: list[str] = []
    done = threading.Event()
    later = watchdog.arm(0.3, lambda: (fired.append("later"), done.set()))
    never = watchdog.arm(0.1, lambda: fired.append("never"))
    watchdog.arm(0.05, lambda: fired.append("first"))
    never.disarm()
    assert done.wait(5)
    later.disarm()  # after it fired: nothing happens
    time.sleep(0.05)
    assert fired == ["first", "later"]


def test_an_alarm_that_raises_does_not_stop_the_next_one() -> None:
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("a broken alarm")

    watchdog.arm(0.01, broken)
    watchdog.arm(0.02, done.set)
    assert done.wait(5)


def test_disarmed_alarms_do_not_pile_up_until_their_deadlines() -> None:
    for _ in range(5000):
        watchdog.arm(3600, lambda: None).disarm()
    assert len(watchdog._WATCHDOG._heap) < 200


# The tests below watch a watchdog of their own (`_Watchdog()`, as the module's one is made), so its counts are
# exact and its thread is started inside the test.


def test_the_watchdog_runs_as_a_daemon_thread_named_for_thread_dumps() -> None:
    """A daemon, so an alarm armed far ahead never holds the process at exit; named, so a thread dump says what it
    is."""
    dog = watchdog._Watchdog()
    dog.arm(3600, lambda: None)
    assert dog._thread is not None and dog._thread.is_alive()
    assert (dog._thread.name, dog._thread.daemon) == ("deadline-watchdog", True)


def test_an_alarm_sooner_than_the_one_waited_for_wakes_the_thread() -> None:
    dog = watchdog._Watchdog()
    dog.arm(3600, lambda: None)
    time.sleep(0.2)  # the thread now waits for the alarm an hour ahead
    done = threading.Event()
    dog.arm(0.05, done.set)
    assert done.wait(5)


def test_an_alarm_never_fires_before_its_deadline() -> None:
    dog = watchdog._Watchdog()
    fired: list[float] = []
    done = threading.Event()
    before = time.monotonic()
    dog.arm(0.5, lambda: (fired.append(time.monotonic()), done.set()))
    assert done.wait(5)
    assert fired[0] - before >= 0.5


def test_alarms_of_the_same_deadline_fire_in_the_order_they_were_armed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order they were armed breaks the tie (a clock read the same for all of them): never a comparison of
    the callbacks, and never a crash."""
    monkeypatch.setattr(watchdog, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    try:
        dog = watchdog._Watchdog()
        fired: list[int] = []
        done = threading.Event()
        with dog._wake:  # all three are on the heap before the thread looks
            for n in range(3):
                dog.arm(0, lambda n=n: fired.append(n))
            dog.arm(0, done.set)
        assert done.wait(5)
        assert fired == [0, 1, 2]
    finally:
        monkeypatch.undo()
        # The module's own watchdog may have read the standing clock meanwhile: an alarm due now wakes it to read
        # the real one again.
        watchdog.arm(0, lambda: None)


def test_an_alarm_that_raises_leaves_the_thread_keeping_the_others() -> None:
    dog = watchdog._Watchdog()
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("a broken alarm")

    with dog._wake:  # both armed before the first fires: nothing starts the thread again
        dog.arm(0.01, broken)
        dog.arm(0.05, done.set)
    assert done.wait(5)
    assert dog._thread is not None and dog._thread.is_alive()


def test_disarmed_alarms_are_dropped_once_more_than_64_and_more_than_half_the_heap() -> None:
    """The heap is rebuilt without the disarmed alarms when there are more than 64 of them and they are more than
    half of it; until then it keeps them (each dropped when it comes up)."""
    for armed, last in ((100, 65), (130, 66)):
        dog = watchdog._Watchdog()
        alarms = [dog.arm(3600, lambda: None) for _ in range(armed)]
        for alarm in alarms[: last - 1]:
            dog.disarm(alarm)
        assert (len(dog._heap), dog._disarmed) == (armed, last - 1)
        dog.disarm(alarms[0])  # disarmed already: not counted twice
        assert (len(dog._heap), dog._disarmed) == (armed, last - 1)
        dog.disarm(alarms[last - 1])
        assert (len(dog._heap), dog._disarmed) == (armed - last, 0)
        assert all(alarm.fire is not watchdog._DONE for alarm in dog._heap)


def test_a_disarmed_alarm_that_comes_up_is_dropped_and_uncounted() -> None:
    """A disarmed alarm is dropped when it comes to the top of the heap, and no longer counted as disarmed; one
    behind an armed alarm waits there, counted."""
    for behind in (0, 1):
        dog = watchdog._Watchdog()
        done = threading.Event()
        with dog._wake:
            first = dog.arm(0.05, lambda: None)
            dog.arm(1800, lambda: None)  # armed: the thread waits for it next
            later = [dog.arm(3600, lambda: None) for _ in range(behind)]
            dog.arm(0.1, done.set)
            for alarm in (first, *later):  # before the thread can look: the lock is reentrant
                dog.disarm(alarm)
            assert dog._disarmed == 1 + behind
        assert done.wait(5)
        with dog._wake:
            assert (dog._disarmed, len(dog._heap)) == (behind, 1 + behind)
