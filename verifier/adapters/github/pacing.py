"""Pacing GitHub's content-creating requests (GitHub's secondary limits: 80 a minute, 500 an hour).

PyGithub's own pacing (`seconds_between_requests/writes`) sleeps with no cap and no clock tests can replace; the
client is built with it off, and every write goes through `WritePacer` instead (injectable clock and sleep).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import structlog

from verifier import defaults
from verifier.errors import TrackerThrottled

_log = structlog.get_logger()
THROTTLED_ADVICE = (
    "The run stops writing and the next run carries on; if it recurs, lower VERIFIER_MAX_WRITES or run less "
    "often (other tools may share this token's quota)"
)


class WritePacer:
    """Spaces content-creating requests: at least `min_interval` s apart, at most `per_minute` in any 60 s and
    `per_hour` in any hour. A wait longer than `max_wait` s raises `TrackerError` instead of sleeping."""

    def __init__(
        self,
        *,
        per_minute: int = defaults.GITHUB_WRITES_PER_MINUTE,
        per_hour: int = defaults.GITHUB_WRITES_PER_HOUR,
        min_interval: float = defaults.GITHUB_WRITE_INTERVAL_SECONDS,
        max_wait: float = defaults.GITHUB_MAX_PACING_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute, self.per_hour, self.min_interval, self.max_wait = per_minute, per_hour, min_interval, max_wait
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_needed(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - 3600:
            self._sent.popleft()
        sent = list(self._sent)
        wait = sent[-1] + self.min_interval - now if sent else 0.0
        last_minute = [t for t in sent if t > now - 60]
        if len(last_minute) >= self.per_minute:
            wait = max(wait, last_minute[-self.per_minute] + 60 - now)
        if len(sent) >= self.per_hour:
            wait = max(wait, sent[-self.per_hour] + 3600 - now)
        return max(0.0, wait)

    def acquire(self, ticket: str | None = None) -> None:
        """Wait until one more write is allowed (writers queue up behind each other), and count it."""
        with self._lock:
            wait = self.wait_needed(self._clock())
            if wait > self.max_wait:
                # GitHub's secondary limits for content creation: nothing is sent, the run stops writing.
                message = f"GitHub write pacing: the next write is allowed in {wait:.0f}s. {THROTTLED_ADVICE}"
                raise TrackerThrottled(message, ticket=ticket)
            if wait > 0:
                _log.info("github.pacing", wait_seconds=round(wait, 2), ticket=ticket)
                self._sleep(wait)
            self._sent.append(self._clock())
