"""The trackers' retry rule (verifier/adapters/retry.py) to the number: which failures are sent again, how long
each wait is, when a wait is refused, and the write budget's say over a resend (#27).

tests/adapters (test_jira_adapter.py, test_guarded_http.py) hold the rule through the real clients on the sandbox
trackers; these hold the arithmetic a slip would change without those noticing (the first retry at once, the
doubling, a wait exactly at the cap).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import urllib3
from structlog.testing import capture_logs

from verifier.adapters.retry import Failure, GaveUp, RetryPolicy, call, retry_after, transport
from verifier.ports import WRITE_GATE


class Refused(Exception):
    pass


class Dropped(Exception):
    pass


class Unknown(Exception):
    pass


def classify(error: Exception) -> Failure | None:
    if isinstance(error, Refused):
        return Failure(refused=True, wait=getattr(error, "wait", None))
    if isinstance(error, Dropped):
        return Failure(transient=True)
    if isinstance(error, Unknown):
        return None
    return Failure()


def failing(*errors: Exception, then: str = "ok") -> tuple[Callable[[], str], list[int]]:
    sent: list[int] = []

    def send() -> str:
        sent.append(1)
        if len(sent) <= len(errors):
            raise errors[len(sent) - 1]
        return then

    return send, sent


def refused(wait: float | None = None) -> Refused:
    error = Refused("429")
    error.wait = wait  # type: ignore[attr-defined]
    return error


def test_backoff_is_none_then_doubling() -> None:
    policy = RetryPolicy(backoff_seconds=1.5)
    assert [policy.backoff(n) for n in (0, 1, 2, 3, 4)] == [0.0, 0.0, 3.0, 6.0, 12.0]
    assert RetryPolicy() == RetryPolicy(attempts=4, backoff_seconds=1.0, max_wait_seconds=60.0)


def test_a_refused_write_is_sent_again_with_the_backoff_until_the_attempts_run_out() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=4, backoff_seconds=1 / 3, sleep=sleeps.append)
    send, sent = failing(refused(), refused(), refused(), refused())
    with capture_logs() as logs, pytest.raises(GaveUp) as gave_up:
        call(send, idempotent=False, policy=policy, classify=classify, what="add_comment")
    assert len(sent) == 4
    assert sleeps == [2 / 3, 4 / 3]  # the first retry at once: no sleep at all
    assert gave_up.value.attempts == 4
    assert gave_up.value.refused_wait is None
    assert isinstance(gave_up.value.error, Refused)
    assert str(gave_up.value) == "429"
    assert logs == [
        {
            "event": "tracker.retry",
            "log_level": "warning",
            "call": "add_comment",
            "error": "Refused",
            "wait": w,
            "attempt": n,
        }
        for n, w in ((1, 0.0), (2, 0.67), (3, 1.33))  # the log rounds waits to hundredths
    ]


def test_a_call_that_succeeds_after_failures_returns_its_value() -> None:
    send, sent = failing(refused(), Dropped("reset"), then="done")
    policy = RetryPolicy(sleep=lambda _: None)
    assert call(send, idempotent=True, policy=policy, classify=classify, what="search") == "done"
    assert len(sent) == 3


def test_a_failure_that_may_have_been_processed_is_sent_again_only_when_idempotent() -> None:
    policy = RetryPolicy(sleep=lambda _: None)
    send, sent = failing(Dropped("reset"))
    with pytest.raises(GaveUp) as gave_up:
        call(send, idempotent=False, policy=policy, classify=classify, what="add_comment")
    assert (len(sent), gave_up.value.attempts) == (1, 1)
    send, sent = failing(Dropped("reset"))
    assert call(send, idempotent=True, policy=policy, classify=classify, what="search") == "ok"
    assert len(sent) == 2


def test_a_failure_neither_refused_nor_transient_fails_at_once_and_an_unknown_one_propagates() -> None:
    policy = RetryPolicy(sleep=lambda _: None)
    send, sent = failing(ValueError("400"))
    with pytest.raises(GaveUp) as gave_up:
        call(send, idempotent=True, policy=policy, classify=classify, what="search")
    assert (len(sent), gave_up.value.attempts, type(gave_up.value.error)) == (1, 1, ValueError)
    send, sent = failing(Unknown("?"))
    with pytest.raises(Unknown):
        call(send, idempotent=True, policy=policy, classify=classify, what="search")
    assert len(sent) == 1


def test_the_servers_wait_is_taken_up_to_the_cap_and_refused_past_it() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_wait_seconds=30.0, sleep=sleeps.append)
    send, sent = failing(refused(wait=30.0))
    assert call(send, idempotent=False, policy=policy, classify=classify, what="add_comment") == "ok"
    assert sleeps == [30.0]
    send, sent = failing(refused(wait=30.5))
    with pytest.raises(GaveUp) as gave_up:
        call(send, idempotent=False, policy=policy, classify=classify, what="add_comment")
    assert (len(sent), gave_up.value.attempts, gave_up.value.refused_wait) == (1, 1, 30.5)
    assert sleeps == [30.0]


def test_a_wait_of_zero_asked_by_the_server_is_not_slept_nor_replaced_by_the_backoff() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(backoff_seconds=5.0, sleep=sleeps.append)
    send, sent = failing(refused(), refused(wait=0.0))
    assert call(send, idempotent=False, policy=policy, classify=classify, what="x") == "ok"
    assert (len(sent), sleeps) == (3, [])


class Gate:
    """The run's write gate as `retry.call` meets it: charging is the transport's (`adapters.http`); here only
    whether the run was stopped."""

    def __init__(self, stopped: bool) -> None:
        self._stopped = stopped

    def charge(self) -> bool:
        return True

    def stopped(self) -> bool:
        return self._stopped


@pytest.mark.parametrize(("stopped", "sent", "sleeps"), [(True, 1, []), (False, 3, [2.0])])
def test_a_stopped_run_waits_for_no_retry(stopped: bool, sent: int, sleeps: list[float]) -> None:
    slept: list[float] = []
    policy = RetryPolicy(backoff_seconds=1.0, sleep=slept.append)
    token = WRITE_GATE.set(Gate(stopped))
    try:
        send, tried = failing(refused(), refused())
        if stopped:
            with pytest.raises(GaveUp) as gave_up:
                call(send, idempotent=False, policy=policy, classify=classify, what="add_comment")
            assert gave_up.value.attempts == 1 and str(gave_up.value) == "429"
        else:
            assert call(send, idempotent=False, policy=policy, classify=classify, what="add_comment") == "ok"
    finally:
        WRITE_GATE.reset(token)
    assert (len(tried), slept) == (sent, sleeps)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    assert retry_after(None) is None
    assert retry_after("") is None
    assert retry_after(" 120 ") == 120.0
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=lambda: now) == 90.0
    assert retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now=lambda: now) == 0.0
    assert retry_after("soon", now=lambda: now) is None
    assert retry_after("-5", now=lambda: now) is None


def test_retry_after_compares_a_date_with_the_time_now_by_default() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert 3500 < (retry_after(later) or 0) <= 3600


def test_a_connection_error_with_no_detail_is_transient_not_a_crash() -> None:
    """requests gives its ConnectionError the urllib3 error as the first argument, which says whether anything was
    sent; a client that raises one bare (no argument) must still get the rule's answer, not an IndexError."""
    assert transport(requests.ConnectionError()) == Failure(refused=False, transient=True)
    never_opened = urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))
    assert transport(requests.ConnectionError(never_opened)) == Failure(refused=True, transient=True)
    assert transport(requests.ConnectionError("reset by peer")) == Failure(refused=False, transient=True)
