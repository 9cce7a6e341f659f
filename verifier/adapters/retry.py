"""The trackers' retry rule, written here rather than borrowed from a library's private parts.

urllib3's `Retry` and PyGithub's `GithubRetry` can express "retry idempotent methods", but not "retry a POST only
when the server refused it before processing it", nor a cap on a server's Retry-After, nor a sleep tests can
replace, without overriding their internals; a minor upgrade could then silently change whether a comment is
posted twice. So the clients are built with their own retries off (public settings) and each adapter call goes
through `call`, which asks the adapter what one failure means (`Failure`) and decides:

- refused before processing (429, 503, a rate limit, a connection that never opened): try again, any method;
- may have been processed (other 5xx, a read timeout, a dropped connection): try again only when idempotent;
- anything else: fail at once.

Waits: what the server asked for (Retry-After, a rate-limit reset), else exponential backoff (the first retry at
once, then `backoff_seconds` × 2ⁿ); a wait longer than `max_wait_seconds` fails at once instead of sleeping.
Inside a write the run charges to its write budget (`RESEND_WRITE` set), a try again is charged first, and not
sent when the budget has no room: the budget caps every request the tracker receives.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from verifier.ports import RESEND_WRITE

T = TypeVar("T")
_log = structlog.get_logger()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1, 2, ...) when the server asked for none."""
        return 0.0 if retry <= 1 else self.backoff_seconds * 2 ** (retry - 1)


@dataclass(frozen=True)
class Failure:
    """What one failed try means. `refused`: the server did not process it, so it is safe to send again;
    `transient`: it may succeed if sent again, but may have been processed; `wait`: seconds the server asked for."""

    refused: bool = False
    transient: bool = False
    wait: float | None = None


class GaveUp(Exception):
    """The last failure of a call, with how many tries were made and, when a wait was refused, how long."""

    def __init__(self, error: Exception, attempts: int, refused_wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error, self.attempts, self.refused_wait = error, attempts, refused_wait


def call(
    send: Callable[[], T],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    classify: Callable[[Exception], Failure | None],
    what: str,
) -> T:
    """`send()`, tried again by the rule above. A failure `classify` does not know (None) propagates as it is;
    one it knows raises `GaveUp` once no further try is allowed."""
    attempt = 1
    while True:
        try:
            return send()
        except Exception as error:
            failure = classify(error)
            if failure is None:
                raise
            if not (failure.refused or (failure.transient and idempotent)) or attempt >= policy.attempts:
                raise GaveUp(error, attempt) from error
            wait = failure.wait if failure.wait is not None else policy.backoff(attempt)
            if wait > policy.max_wait_seconds:
                raise GaveUp(error, attempt, refused_wait=wait) from error
            resend = RESEND_WRITE.get()  # set by the run around a write it charges: a try again is charged too
            if resend is not None and not resend():
                raise GaveUp(error, attempt) from error
            _log.warning("tracker.retry", call=what, error=type(error).__name__, wait=round(wait, 2), attempt=attempt)
            if wait > 0:
                policy.sleep(wait)
            attempt += 1


def retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds a Retry-After header asks for (a number of seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, (email.utils.parsedate_to_datetime(text) - now()).total_seconds())
    except (TypeError, ValueError):
        return None
