"""The trackers' retry rule, written here rather than borrowed from a library's private parts.

urllib3's `Retry` and PyGithub's `GithubRetry` can express "retry idempotent methods", but not "retry a POST only
when the server refused it before processing it", nor a cap on a server's Retry-After, nor a sleep tests can
replace, without overriding their internals; a minor upgrade could then silently change whether a comment is
posted twice. So the clients are built with their own retries off (public settings) and each adapter call goes
through `call`, which asks the adapter what one failure means (`Failure`) and decides:

- refused before processing (429, 503, a rate limit, a connection that never opened): try again, any method;
- may have been processed (other 5xx, a read timeout, a dropped connection, an answer broken off on the way): try
  again only when idempotent;
- anything else (another 4xx, an answer the guarded transport refused, a bad URL): fail at once.

What a failure means is decided here too, once for every tracker: an adapter translates its client's error into an
HTTP status (`answer`) and leaves transport errors to `transport`; only what its tracker says of itself (GitHub's
rate limits on a 403) is its own. `tests/adapters/test_retry_rule.py` holds every adapter to the same answers.

Waits: what the server asked for (Retry-After, a rate-limit reset), else exponential backoff (the first retry at
once, then `backoff_seconds` × 2ⁿ); a wait longer than `max_wait_seconds` fails at once instead of sleeping.
The write budget is not asked here: the guarded transport charges every write request as it is sent, a try
again included (`verifier.ports.WRITE_GATE`); here, a stopped run waits for no retry.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import requests
import structlog
import urllib3

from verifier import defaults
from verifier.adapters.http import AnswerRefused
from verifier.ports import WRITE_GATE

T = TypeVar("T")
_log = structlog.get_logger()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = defaults.TRACKER_ATTEMPTS
    backoff_seconds: float = defaults.TRACKER_BACKOFF_SECONDS
    max_wait_seconds: float = defaults.TRACKER_MAX_RETRY_WAIT_SECONDS
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


def answer(status: int, *, wait: float | None = None, limited: bool = False) -> Failure:
    """What an HTTP error answer means: 429 and 503 (and a rate limit the tracker signals otherwise, `limited`)
    were refused before processing; 500, 502 and 504 may have been processed; any other would be the same again.
    `wait`: what the answer asked for (Retry-After), used only for a refusal."""
    if limited or status in (429, 503):
        return Failure(refused=True, wait=wait)
    return Failure(transient=status in (500, 502, 504))


def transport(error: Exception) -> Failure | None:
    """What a failure below HTTP means, or None for an error that is not one (it propagates as it is)."""
    if isinstance(error, AnswerRefused):  # too large or too deep: the same answer again would be refused again
        return Failure()
    if isinstance(error, requests.ConnectTimeout):
        return Failure(refused=True)  # the connection never opened: nothing was sent
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else None
        never_sent = isinstance(cause, urllib3.exceptions.MaxRetryError) and isinstance(
            cause.reason, urllib3.exceptions.NewConnectionError
        )
        return Failure(refused=never_sent, transient=True)
    broken = requests.Timeout | requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    if isinstance(error, broken | urllib3.exceptions.HTTPError):  # no answer, or one broken off on the way
        return Failure(transient=True)
    if isinstance(error, requests.RequestException):  # a bad URL, too many redirects: the same again
        return Failure()
    return None


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
            gate = WRITE_GATE.get()  # set by the run around a write call: a stopped run waits for no retry
            if gate is not None and gate.stopped():
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
