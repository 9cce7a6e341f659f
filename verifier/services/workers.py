"""A bounded pool of daemon threads: the run's pool for queries and its pool for tracker requests.

Not `concurrent.futures.ThreadPoolExecutor`: its threads are joined when the interpreter exits, so one request
stuck on a backend that answers a byte a second would keep the process alive after the run gave up on it (its
deadline, SIGTERM). These threads are daemons: the run waits for what it needs and leaves the rest behind.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("verifier.run")


class Workers:
    """`size` threads running submitted calls first come, first served. A call that raises is logged and dropped:
    the callers catch what they expect, so this is a bug, and it must not stop the thread."""

    def __init__(self, size: int, name: str) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._unfinished = 0  # submitted and not finished yet
        self._idle = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(max(1, size))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], None]) -> None:
        with self._idle:
            self._unfinished += 1
        self._calls.put(call)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every call submitted so far (and every call those submitted) has finished; False when
        `timeout` seconds passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._unfinished:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        """No more calls: each thread ends after the calls queued before this. Nothing is joined."""
        for _ in self._threads:
            self._calls.put(None)

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                call()
            except Exception:  # pragma: no cover - the callers catch what they expect
                log.exception("worker_crashed")
            finally:
                with self._idle:
                    self._unfinished -= 1
                    if not self._unfinished:
                        self._idle.notify_all()
