"""What the adapters' urllib3 `Retry` subclasses share: their waits go through an injectable sleep, so tests can
exercise Retry-After and backoff without waiting, and a retry policy is still urllib3's own."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, cast

from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from verifier.ports import RESEND_WRITE

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class SleepingRetry(Retry):
    """`Retry` whose waits (Retry-After and backoff) call `sleep`, carried over to every copy `new` makes."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        self._sleep_fn = sleep
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> Self:
        kw.setdefault("sleep", self._sleep_fn)
        return super().new(**kw)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """urllib3's, and a write is sent again only when the run's write budget has room (`RESEND_WRITE`)."""
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        resend = RESEND_WRITE.get()
        if resend is not None and (method or "GET").upper() not in _READS and not resend():
            raise MaxRetryError(
                cast(ConnectionPool, _pool), url, ResponseError("not sent again: the write budget is used up")
            )
        return retry

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after:
            self._sleep_fn(retry_after)
            return True
        return False

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self._sleep_fn(backoff)
