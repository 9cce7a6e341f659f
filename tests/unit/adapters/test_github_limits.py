"""GitHub's limits as the adapter reads and keeps them, to the second (#27: written from adapters.github's mutation
pass): which rate limit a refusal names and when it lifts (`client.rate_limit`, `_rate_limit_wait`), and the write
pacer's spacing (`WritePacer`: at least the interval apart, at most `per_minute` in any 60 s and `per_hour` in any
hour, a wait past `max_wait` refused rather than slept). Pure logic; the adapter tests hold them through PyGithub
against the sandbox (tests/adapters/test_github_adapter.py)."""

from __future__ import annotations

import time

import pytest
from structlog.testing import capture_logs

from verifier.adapters.github.client import _rate_limit_wait, rate_limit
from verifier.adapters.github.pacing import WritePacer
from verifier.errors import TrackerThrottled

PRIMARY = "API rate limit exceeded for user ID 1."
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


# -- which limit, and when it lifts -------------------------------------------------------------------------------
def test_a_spent_quota_is_the_primary_limit_with_its_reset_in_utc() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"}  # 2023-11-14 22:13:20 UTC
    expected = "primary rate limit (the token's hourly request quota is spent, resets at 22:13:20 UTC)"
    assert rate_limit(403, "Forbidden", headers) == expected
    assert rate_limit(429, "Forbidden", headers) == expected
    assert rate_limit(403, PRIMARY, {}) == "primary rate limit (the token's hourly request quota is spent)"
    assert rate_limit(403, PRIMARY, {"x-ratelimit-reset": "soon"}) == rate_limit(403, PRIMARY, {})


def test_the_reset_is_said_in_utc_whatever_the_machines_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        line = rate_limit(403, "Forbidden", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000000"})
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line == "primary rate limit (the token's hourly request quota is spent, resets at 22:13:20 UTC)"


def test_a_retry_after_or_a_429_is_the_secondary_limit() -> None:
    secondary = "secondary rate limit (too many requests or writes in a short time"
    assert rate_limit(403, "Forbidden", {"Retry-After": "30"}) == secondary + ", retry after 30s)"
    assert rate_limit(429, "Too Many Requests", {}) == secondary + ")"
    assert rate_limit(403, SECONDARY, {"x-ratelimit-remaining": "12"}) == secondary + ")"


def test_other_refusals_are_no_rate_limit() -> None:
    assert rate_limit(403, "Resource not accessible by integration", {"x-ratelimit-remaining": "12"}) is None
    assert rate_limit(404, PRIMARY, {"x-ratelimit-remaining": "0", "retry-after": "3"}) is None
    assert rate_limit(500, SECONDARY, {}) is None


def test_the_wait_is_retry_after_else_until_the_reset_else_the_secondary_minute() -> None:
    assert _rate_limit_wait({"retry-after": "7", "x-ratelimit-remaining": "0"}, 60.0) == 7.0
    reset = int(time.time()) + 100
    until = _rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}, 60.0)
    assert 100 <= until <= 101.5  # to the reset and one second past it (the reset is whole seconds)
    assert _rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset - 200)}, 60.0) == 1.0
    assert _rate_limit_wait({"x-ratelimit-remaining": "1", "x-ratelimit-reset": str(reset)}, 60.0) == 60.0
    assert _rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}, 45.0) == 45.0
    assert _rate_limit_wait({"x-ratelimit-remaining": "0"}, 45.0) == 45.0


# -- pacing ---------------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []  # type: ignore[var-annotated]

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer(clock: Clock, sent: list[float], **limits: float) -> WritePacer:
    paced = WritePacer(clock=clock, sleep=clock.sleep, **limits)  # type: ignore[arg-type]
    for moment in sent:
        clock.now = moment
        paced.acquire()
    return paced


def test_the_interval_is_counted_from_the_last_write() -> None:
    clock = Clock()
    paced = pacer(clock, [10.0, 20.0], min_interval=1.0)
    assert paced.wait_needed(20.25) == 0.75
    assert paced.wait_needed(21.0) == 0.0 and paced.wait_needed(25.0) == 0.0
    assert WritePacer().wait_needed(0.0) == 0.0


def test_the_minute_limit_waits_for_the_oldest_write_of_the_last_minute_to_leave_it() -> None:
    clock = Clock()
    paced = pacer(clock, [0.0, 10.0, 20.0, 30.0], per_minute=3, min_interval=0.0)
    # 3 in the last minute at 35 (10, 20, 30): the next may go when 10 is a minute old
    assert paced.wait_needed(35.0) == 35.0
    assert paced.wait_needed(69.5) == 0.5
    assert paced.wait_needed(70.0) == 0.0
    two = pacer(Clock(), [0.0, 10.0], per_minute=3, min_interval=0.0)
    assert two.wait_needed(11.0) == 0.0  # 2 of 3: no wait


def test_the_hour_limit_counts_every_write_of_the_last_hour() -> None:
    clock = Clock()
    paced = pacer(clock, [0.0, 100.0, 200.0], per_hour=2, per_minute=1000, min_interval=0.0, max_wait=7200)
    assert clock.sleeps == [3400.0]  # the third waited for the first to be an hour old
    assert paced.wait_needed(3600.0) == 100.0  # 100 and 3600 in the hour now: until 100 is an hour old
    assert paced.wait_needed(3699.0) == 1.0
    assert paced.wait_needed(3700.0) == 0.0  # ... and 100 left it (forgotten: the hour is all that is kept)


def test_a_wait_up_to_max_wait_is_slept_and_logged_one_past_it_is_refused() -> None:
    clock = Clock()
    paced = pacer(clock, [0.0], min_interval=5.0, max_wait=5.0)
    with capture_logs() as logs:
        paced.acquire("acme/api#1")  # at 0.0 again: the whole interval, exactly max_wait
        clock.now += 0.544
        paced.acquire("acme/api#2")
    assert clock.sleeps == pytest.approx([5.0, 4.456])
    waits = [(e["event"], e["wait_seconds"], e["ticket"]) for e in logs]
    assert waits == [("github.pacing", 5.0, "acme/api#1"), ("github.pacing", 4.46, "acme/api#2")]
    paced.min_interval = 5.5
    with pytest.raises(TrackerThrottled) as caught:
        paced.acquire("acme/api#3")
    assert str(caught.value) == (
        "acme/api#3: GitHub write pacing: the next write is allowed in 6s. The run stops writing and the next run "
        "carries on; if it recurs, lower VERIFIER_MAX_WRITES or run less often (other tools may share this "
        "token's quota)"
    )
    assert caught.value.ticket == "acme/api#3" and len(clock.sleeps) == 2


def test_a_write_is_counted_when_it_goes_after_its_wait() -> None:
    clock = Clock()
    paced = pacer(clock, [0.0, 0.0], min_interval=2.0)
    assert clock.sleeps == [2.0]
    assert paced.wait_needed(3.0) == 1.0  # from 2.0, when the second went, not 0.0, when it asked
