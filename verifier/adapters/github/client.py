"""The GitHub client: PyGithub's `Github` as this tool builds it, and the retry rule applied to each call.

What PyGithub (2.10) does, and how it is configured here:
- `Github(...)` defaults to pacing every request 0.25 s apart and every write 1 s apart with its own sleep; both are
  turned off (`seconds_between_requests/writes=None`) and content-creating calls go through `WritePacer` instead
  (`verifier.adapters.github.pacing`).
- `lazy=True`: `get_repo` / `get_issue` make no request of their own; a write on a known key costs one request.
- Retries: PyGithub's `GithubRetry` retries POST after 5xx and read errors (a duplicate comment), and would need
  its private parts overridden to do otherwise, so the client is built with `retry=None` (public) and every call
  goes through our own rule (`verifier.adapters.retry`): rate limits (403 or 429 with Retry-After, or
  `x-ratelimit-remaining: 0` until `x-ratelimit-reset`) and connections that never opened are retried for every
  method, 5xx and read errors only for idempotent ones (never a POST), waits beyond `max_rate_limit_wait` fail at
  once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import structlog
from github import Auth, BadAttributeException, Github, GithubException, GithubIntegration
from github.GithubException import RateLimitExceededException
from github.Requester import Requester

from verifier import defaults
from verifier.adapters import retry
from verifier.adapters.github.graphql import GraphQLErrors, graphql_failure
from verifier.adapters.github.pacing import THROTTLED_ADVICE, WritePacer
from verifier.adapters.http import AnswerRefused, DeadlinePassed, guard_pygithub
from verifier.adapters.retry import RetryPolicy
from verifier.connections import GitHubConnection
from verifier.domain.identity import Identities
from verifier.errors import TrackerError, TrackerThrottled

T = TypeVar("T")
PER_PAGE = 100  # GitHub's largest page
_log = structlog.get_logger()
#: The REST API version every request asks for (GitHub answers older clients with its oldest behaviour).
API_VERSION = "2022-11-28"


class GitHubClient:
    """The client, the retry rule and the tracker's state; the layers of `GitHubTracker` build on it."""

    def __init__(
        self,
        connection: GitHubConnection,
        *,
        pacer: WritePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limit_wait: float = defaults.GITHUB_MAX_RATE_LIMIT_WAIT_SECONDS,
        retries: int = defaults.GITHUB_RETRIES,
        backoff_factor: float = defaults.TRACKER_BACKOFF_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_pages: int = defaults.MAX_PAGES,
    ) -> None:
        self._connection = connection
        self._max_pages = max_pages
        self._pacer = pacer or WritePacer(sleep=sleep)
        self._me: str | None = None  # the tool's own login, read once (`_own_account`)
        self._identities = Identities()  # the trusted authors by user id (`trust`)
        self._clock = clock
        self._retry = RetryPolicy(
            attempts=retries + 1, backoff_seconds=backoff_factor, max_wait_seconds=max_rate_limit_wait, sleep=sleep
        )
        self._secondary_wait = min(
            defaults.GITHUB_SECONDARY_WAIT_SECONDS, max_rate_limit_wait
        )  # a secondary limit that names no wait
        self._app_auth: Auth.AppAuth | None = None
        auth: Auth.Auth
        if connection.token is not None:
            auth = Auth.Token(connection.token.get_secret_value())
        else:
            key = connection.app_private_key.get_secret_value() if connection.app_private_key else ""
            self._app_auth = Auth.AppAuth(connection.app_id or "", key)
            auth = self._app_auth.get_installation_auth(connection.installation_id or 0)
        guard_pygithub()  # every answer under a deadline and size and depth caps (`verifier.adapters.http`)
        self._gh = Github(auth=auth, lazy=True, **self._client_options())

    def _graphql(self, query: str, variables: dict[str, Any]) -> tuple[Mapping[str, Any], Any]:
        """One POST to GraphQL (`<host>/graphql`, or `<host>/api/graphql` beside a GHES `<host>/api/v3`)."""
        requester = self._gh.requester
        body = {"query": query, "variables": variables}
        return requester.requestJsonAndCheck("POST", requester.graphql_url, input=body)

    def _client_options(self) -> dict[str, Any]:
        verify: bool | str = (
            str(self._connection.ca_bundle) if self._connection.ca_bundle else self._connection.verify_tls
        )
        return {
            "base_url": self._connection.api_url,
            "per_page": PER_PAGE,
            "retry": None,  # retried by `_call` instead (see the module docstring)
            "timeout": max(1, math.ceil(self._connection.timeout_seconds)),
            "verify": verify,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "pool_size": defaults.POOL_SIZE,  # one connection per request in flight (PyGithub's default: 10)
            "api_version": API_VERSION,
        }

    def __repr__(self) -> str:
        method = "token" if self._connection.token is not None else f"app {self._connection.app_id}"
        return f"GitHubTracker(api_url={self._connection.api_url!r}, repositories={self._connection.repositories}, auth={method})"

    def close(self) -> None:
        self._gh.close()

    def account(self) -> str:
        if self._app_auth is None:
            login = self._call(lambda: self._gh.get_user().login, action="read the signed-in user", ticket=None)
            return login.lower()
        if self._connection.app_slug:
            return f"{self._connection.app_slug}[bot]".lower()
        integration = GithubIntegration(auth=self._app_auth, **self._client_options())
        slug = self._call(lambda: integration.get_app().slug, action="read the GitHub App", ticket=None)
        return f"{slug}[bot]".lower()

    def _own_account(self) -> str:
        if self._me is None:
            self._me = self.account()
        return self._me

    def _call(self, fn: Callable[[], T], *, action: str, ticket: str | None, idempotent: bool = True) -> T:
        """Run one client call, tried again by `retry.call`'s rule; failures as TrackerError."""
        try:
            return retry.call(fn, idempotent=idempotent, policy=self._retry, classify=self._failure, what=action)
        except retry.GaveUp as gave_up:
            exc = gave_up.error
            wait = f" (asked to wait {gave_up.refused_wait:.0f}s)" if gave_up.refused_wait is not None else ""
            if isinstance(exc, GithubException):
                data = exc.data if isinstance(exc.data, dict) else {}
                message = str(data.get("message") or exc.message or "no details")
                limit = rate_limit(exc.status, message, exc.headers or {})
                if limit is not None:
                    raise TrackerThrottled(
                        f"GitHub {action} failed: HTTP {exc.status}, {limit}: {message}{wait}. {THROTTLED_ADVICE}",
                        ticket=ticket,
                    ) from None
                reason = f"HTTP {exc.status}: {message}"
            elif isinstance(exc, BadAttributeException):
                reason = f"unexpected answer: {type(exc).__name__}"
            elif isinstance(exc, AnswerRefused | DeadlinePassed):  # the guarded transport names its cap
                reason = str(exc)
            elif isinstance(exc, GraphQLErrors):  # refused out loud: never read as "no issues"
                if exc.rate_limited:
                    limit = rate_limit(403, "API rate limit exceeded", exc.headers) or "rate limit"
                    message = f"GitHub {action} failed: GraphQL {limit}: {exc}{wait}. {THROTTLED_ADVICE}"
                    raise TrackerThrottled(message, ticket=ticket) from None
                reason = str(exc)
            else:
                reason = type(exc).__name__
            reason += wait
        raise TrackerError(f"GitHub {action} failed: {reason}", ticket=ticket)

    def _failure(self, error: Exception) -> retry.Failure | None:
        """What a failed try means for trying again: the status of GitHub's answer (a 403 that names a rate limit
        is a refusal too), else the transport's failure, by the one rule of `verifier.adapters.retry`."""
        if isinstance(error, GraphQLErrors):  # an answer with `errors`: RATE_LIMITED waits like REST's limits
            return graphql_failure(error, partial(_rate_limit_wait, secondary=self._secondary_wait))
        if isinstance(error, GithubException):
            headers = {str(k).lower(): v for k, v in (error.headers or {}).items()}
            limited = isinstance(error, RateLimitExceededException) or error.status == 429
            limited = limited or (error.status == 403 and "retry-after" in headers)
            asked = retry.retry_after(headers.get("retry-after"))
            wait = _rate_limit_wait(headers, self._secondary_wait) if limited else asked
            return retry.answer(error.status, wait=wait, limited=limited)
        if isinstance(error, BadAttributeException):  # the same answer again would be refused again
            return retry.Failure()
        return retry.transport(error)


def rate_limit(status: int, message: str, headers: Any) -> str | None:
    """Which of GitHub's rate limits refused a request, and when it lifts, or None for any other refusal."""
    if status not in (403, 429):
        return None
    lower = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    reset, retry_after = lower.get("x-ratelimit-reset", ""), lower.get("retry-after", "")
    if lower.get("x-ratelimit-remaining") == "0" or Requester.isPrimaryRateLimitError(message):
        when = ""
        if reset.isdigit():
            when = f", resets at {datetime.fromtimestamp(int(reset), UTC):%H:%M:%S} UTC"
        return f"primary rate limit (the token's hourly request quota is spent{when})"
    if retry_after or status == 429 or Requester.isSecondaryRateLimitError(message):
        asks = f", retry after {retry_after}s" if retry_after else ""
        return f"secondary rate limit (too many requests or writes in a short time{asks})"
    return None


def _rate_limit_wait(headers: Mapping[str, str], secondary: float) -> float:
    """Seconds a rate-limited reply asks for: Retry-After, else until x-ratelimit-reset when nothing remains, else
    the secondary limits' customary minute (GitHub names no wait for them)."""
    asked = retry.retry_after(headers.get("retry-after"))
    if asked is not None:
        return asked
    reset = headers.get("x-ratelimit-reset")
    if headers.get("x-ratelimit-remaining") == "0" and reset and str(reset).isdigit():
        return max(0.0, int(reset) - time.time()) + 1
    return secondary
