"""The one thread that keeps every request's deadline (`verifier.adapters.watchdog`): alarms fire in deadline
order, a disarmed one never fires, and the heap holds what is armed, not every request ever made (#26)."""

from __future__ import annotations

import threading
import time

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
