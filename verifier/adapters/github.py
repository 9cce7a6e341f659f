"""The GitHub tracker: issues in one or more repositories, through PyGithub (github.com or GitHub Enterprise Server).

Ticket keys are `owner/repo#N`. What PyGithub (2.10) does, and how it is configured here:
- `Github(...)` defaults to pacing every request 0.25 s apart and every write 1 s apart with its own sleep; both are
  turned off (`seconds_between_requests/writes=None`) and content-creating calls go through `WritePacer` instead
  (GitHub's secondary limits: 80 a minute, 500 an hour; injectable clock and sleep).
- `lazy=True`: `get_repo` / `get_issue` make no request of their own; a write on a known key costs one request.
- Retries are urllib3's, through PyGithub's `GithubRetry`: 403s are retried only when they are rate limits
  (a `Retry-After` header, or the body's message; a primary limit waits for `x-ratelimit-reset`, capped by
  `max_rate_limit_wait`, beyond which it raises `RateLimitExceededExceedsMaxWait`); 5xx are retried with backoff.
  It does not handle 429 itself, and by default retries POST on 5xx and read errors (a duplicate comment) and does
  not retry PATCH. `_Retry` adds 429 (Retry-After or x-ratelimit-reset), never retries a POST after a 5xx or a read
  error, retries PATCH (idempotent here), refuses a Retry-After beyond the cap, and sleeps through an injectable
  function.
- A list item missing an attribute is "completed" with a GET of the item when that attribute is read. Plain issues
  carry no `pull_request` key, so `issue.pull_request` would cost one GET per issue; the raw JSON is read instead.
- `Issue.add_to_labels` posts a bare JSON array; the API description accepts only `{"labels": [...]}`, which is
  posted through PyGithub's requester instead.
- Filing creates issues in the first configured repository (`Repository.create_issue`, paced as content
  creation; a POST is never retried after a 5xx or a read error, so a retry cannot file it twice) and finds them
  again in any configured repository by the `incident:<id>` label and the fingerprint in the body.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests
import structlog
import urllib3
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from github import Auth, BadAttributeException, Github, GithubException, GithubIntegration, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.Issue import Issue
from github.PaginatedList import PaginatedList
from github.Requester import Requester
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError
from urllib3.response import HTTPResponse

from verifier.adapters.retry import SleepingRetry
from verifier.domain.models import ActionItem, fingerprint_in, render_body
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.errors import TrackerError, TrackerThrottled

__all__ = ["GitHubConnection", "GitHubTracker", "WritePacer"]

T = TypeVar("T")
_KEY = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")
_NOT_A_FIX = ("not_planned", "duplicate")
_PRIORITY_LABEL = re.compile(r"^priority:\s*(P[0-3])$", re.IGNORECASE)  # as filing writes it: priority:P1
_log = structlog.get_logger()
#: The REST API version every request asks for (GitHub answers older clients with its oldest behaviour).
API_VERSION = "2022-11-28"
_THROTTLED_ADVICE = (
    "The run stops writing and the next run carries on; if it recurs, lower VERIFIER_MAX_WRITES or run less "
    "often (other tools may share this token's quota)"
)


class GitHubConnection(BaseModel):
    """Where the issues are and how to sign in: a token, or a GitHub App installation."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)  # inputs hold secrets

    api_url: str = "https://api.github.com"
    repositories: tuple[str, ...] = Field(min_length=1)
    token: SecretStr | None = None
    app_id: int | str | None = None
    app_private_key: SecretStr | None = None
    installation_id: int | None = None
    app_slug: str | None = None  # the App's login is "<app_slug>[bot]"; read from GET /app when not set
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")

    @field_validator("repositories")
    @classmethod
    def _owner_repo(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [r for r in value if not re.fullmatch(r"[\w.-]+/[\w.-]+", r)]
        if wrong:
            raise ValueError(f"expected owner/repo, got {', '.join(wrong)}")
        return value

    @model_validator(mode="after")
    def _one_auth_method(self) -> GitHubConnection:
        app = {"app_id": self.app_id, "app_private_key": self.app_private_key, "installation_id": self.installation_id}
        uses_app = any(v is not None for v in app.values())
        if self.token is not None and uses_app:
            raise ValueError("set either token or app_id + app_private_key + installation_id, not both")
        if self.token is None and not uses_app:
            raise ValueError("missing token (or app_id + app_private_key + installation_id for a GitHub App)")
        missing = [name for name, value in app.items() if value is None]
        if uses_app and missing:
            raise ValueError(
                f"missing {', '.join(missing)}: a GitHub App needs app_id, app_private_key, installation_id"
            )
        if self.app_private_key is not None:
            try:
                serialization.load_pem_private_key(self.app_private_key.get_secret_value().encode(), password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                raise ValueError("app_private_key is not an unencrypted PEM private key") from None
        return self


class WritePacer:
    """Spaces content-creating requests: at least `min_interval` s apart, at most `per_minute` in any 60 s and
    `per_hour` in any hour. A wait longer than `max_wait` s raises `TrackerError` instead of sleeping."""

    def __init__(
        self,
        *,
        per_minute: int = 80,
        per_hour: int = 500,
        min_interval: float = 1.0,
        max_wait: float = 900.0,
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
                message = f"GitHub write budget spent: the next write is allowed in {wait:.0f}s"
                raise TrackerError(message, ticket=ticket)
            if wait > 0:
                _log.info("github.pacing", wait_seconds=round(wait, 2), ticket=ticket)
                self._sleep(wait)
            self._sent.append(self._clock())


class _Retry(SleepingRetry, GithubRetry):
    """`GithubRetry` with 429 handling, no unsafe POST retries, a hard cap on Retry-After, an injectable sleep."""

    _last_body: bytes | None = None

    def get_content(self, resp: HTTPResponse, url: str) -> bytes:  # type: ignore[override]  # a staticmethod there
        """The body GithubRetry reads (and so consumes) to recognise a rate limit, kept for the error message."""
        self._last_body = GithubRetry.get_content(resp, url)
        return self._last_body

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code >= 500:
            return False  # the comment may have been stored: do not post it twice
        return super().is_retry(method, status_code, has_retry_after)

    def increment(  # type: ignore[override]  # GithubRetry narrows urllib3's signature the same way
        self,
        method: str | None = None,
        url: str | None = None,
        response: HTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> urllib3.Retry:
        if (method or "").upper() == "POST" and isinstance(error, ReadTimeoutError | ProtocolError):
            raise error  # the request may have been processed: do not send it again
        cap = self.max_rate_limit_wait
        wait = _header_wait(response.headers) if response is not None and response.status in (403, 429) else None
        if response is not None and wait is not None and cap is not None and wait > cap:
            data = _json_or_none(GithubRetry.get_content(response, url or ""))  # GitHub's message, for the user
            raise RateLimitExceededExceedsMaxWait(response.status, data, dict(response.headers), wait=wait)
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            # GithubRetry read the last 403's body to look for a rate limit: hand its message on, or the client
            # would see an empty body ("no details").
            if response is not None and self._last_body is not None:
                raise GithubException(response.status, _json_or_none(self._last_body), dict(response.headers)) from None
            raise
        if response is not None and response.status == 429 and not response.headers.get("Retry-After"):
            backoff = wait if wait is not None else self.secondary_rate_wait
            retry.get_backoff_time = lambda: backoff  # type: ignore[method-assign]
        return retry


class GitHubTracker:
    """`Tracker` on GitHub issues; `key` is `owner/repo#N`."""

    flavour = Flavour.MARKDOWN
    labels_with = frozenset({"reopen"})  # one issue update reopens and labels

    def __init__(
        self,
        connection: GitHubConnection,
        *,
        pacer: WritePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limit_wait: float = 300.0,
        retries: int = 4,
        backoff_factor: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._connection = connection
        self._pacer = pacer or WritePacer(sleep=sleep)
        self._clock = clock
        self._retry = _Retry(
            total=retries,
            backoff_factor=backoff_factor,
            backoff_max=max_rate_limit_wait,
            max_rate_limit_wait=max_rate_limit_wait,
            secondary_rate_wait=min(60.0, max_rate_limit_wait),
            status_forcelist=[429, 500, 502, 503, 504],
            allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"}),
            raise_on_status=False,
            sleep=sleep,
        )
        self._app_auth: Auth.AppAuth | None = None
        auth: Auth.Auth
        if connection.token is not None:
            auth = Auth.Token(connection.token.get_secret_value())
        else:
            key = connection.app_private_key.get_secret_value() if connection.app_private_key else ""
            self._app_auth = Auth.AppAuth(connection.app_id or "", key)
            auth = self._app_auth.get_installation_auth(connection.installation_id or 0)
        self._gh = Github(auth=auth, lazy=True, **self._client_options())

    def _client_options(self) -> dict[str, Any]:
        verify: bool | str = (
            str(self._connection.ca_bundle) if self._connection.ca_bundle else self._connection.verify_tls
        )
        return {
            "base_url": self._connection.api_url,
            "per_page": 100,
            "retry": self._retry,
            "timeout": max(1, math.ceil(self._connection.timeout_seconds)),
            "verify": verify,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "api_version": API_VERSION,
        }

    def __repr__(self) -> str:
        method = "token" if self._connection.token is not None else f"app {self._connection.app_id}"
        return f"GitHubTracker(api_url={self._connection.api_url!r}, repositories={self._connection.repositories}, auth={method})"

    def close(self) -> None:
        self._gh.close()

    # -- Tracker ---------------------------------------------------------------------------------------------
    def account(self) -> str:
        if self._app_auth is None:
            return self._call(lambda: self._gh.get_user().login, action="read the signed-in user", ticket=None)
        if self._connection.app_slug:
            return f"{self._connection.app_slug}[bot]"
        integration = GithubIntegration(auth=self._app_auth, **self._client_options())
        slug = self._call(lambda: integration.get_app().slug, action="read the GitHub App", ticket=None)
        return f"{slug}[bot]"

    def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
        if lookback_days < 1:
            raise ValueError("lookback_days must be at least 1")
        cutoff = self._clock() - timedelta(days=lookback_days)
        for full_name in self._connection.repositories:
            listing = self._gh.get_repo(full_name).get_issues(
                state="closed", labels=[label], since=cutoff, sort="updated", direction="asc"
            )
            _log.info("github.search", repository=full_name, label=label)
            for issue in self._each(listing, action=f"list {full_name} issues"):
                key = f"{full_name}#{issue.number}"
                if "pull_request" in _raw(issue):
                    continue
                if issue.state_reason in _NOT_A_FIX:
                    _log.info("github.skip_not_a_fix", ticket=key, state_reason=issue.state_reason)
                    continue
                if issue.closed_at is None or issue.closed_at < cutoff:
                    continue
                yield self._call(partial(self._ticket, key, issue), action="read", ticket=key)

    def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
        seen: set[str] = set()  # a ticket closed or reopened between the two listings must not come twice
        for full_name in self._connection.repositories:
            repo = self._gh.get_repo(full_name)
            listings = (
                repo.get_issues(state="open", labels=[label], sort="created", direction="asc"),
                repo.get_issues(state="closed", labels=[label], since=since, sort="updated", direction="asc"),
            )
            _log.info("github.search", repository=full_name, label=label, closed_since=since.isoformat())
            for listing in listings:
                for issue in self._each(listing, action=f"list {full_name} issues"):
                    key = f"{full_name}#{issue.number}"
                    if "pull_request" in _raw(issue) or key in seen:
                        continue
                    seen.add(key)
                    yield self._call(partial(self._ticket, key, issue), action="read", ticket=key)

    def get_ticket(self, key: str) -> Ticket:
        return self._call(lambda: self._ticket(key, self._issue(key)), action="read", ticket=key)

    def _each(self, listing: PaginatedList[Issue], *, action: str) -> Iterator[Issue]:
        """The listing's issues, one page requested at a time, with the library's errors translated."""
        issues = iter(listing)
        while (issue := self._call(partial(next, issues, None), action=action, ticket=None)) is not None:
            yield issue

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        """`labels` are not sent: a comment cannot carry them (`labels_with` says so)."""
        issue = self._issue(key)
        self._pacer.acquire(key)
        created = self._call(lambda: issue.create_comment(body), action="comment", ticket=key)
        return str(created.id)

    def delete_comment(self, key: str, comment_id: str) -> None:
        full_name, _ = _parse_key(key)
        self._issue(key)  # checks the repository is one of ours
        url = f"/repos/{full_name}/issues/comments/{int(comment_id)}"
        send = self._gh.requester.requestJsonAndCheck
        self._call(lambda: send("DELETE", url), action="delete comment", ticket=key)

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if not wanted:
            return
        full_name, number = _parse_key(key)
        self._issue(key)
        self._pacer.acquire(key)
        url = f"/repos/{full_name}/issues/{number}/labels"
        send = self._gh.requester.requestJsonAndCheck
        self._call(lambda: send("POST", url, input={"labels": wanted}), action="add labels", ticket=key)

    def reopen(self, key: str, labels: Iterable[str] = ()) -> bool:
        """With `labels`: one update reopens and sets the labels the issue has now plus these. The update
        replaces the label set, so the current labels are read just before it (after the write pacing)."""
        issue = self._issue(key)
        wanted = list(dict.fromkeys(label for label in labels if label))
        self._pacer.acquire(key)
        if not wanted:
            self._call(lambda: issue.edit(state="open", state_reason="reopened"), action="reopen", ticket=key)
            _log.info("github.reopened", ticket=key)
            return True
        current = self._call(lambda: [label.name for label in self._issue(key).labels], action="read", ticket=key)
        keep = list(dict.fromkeys([*current, *wanted]))
        edit = partial(issue.edit, state="open", state_reason="reopened", labels=keep)
        self._call(edit, action="reopen and label", ticket=key)
        _log.info("github.reopened", ticket=key)
        return True

    def find_filed(self, incident_id: str, fingerprint: str) -> Ticket | None:
        for full_name in self._connection.repositories:
            listing = self._gh.get_repo(full_name).get_issues(
                state="all", labels=[incident_label(incident_id)], sort="created", direction="asc"
            )
            issues: list[Issue] = self._call(partial(list, listing), action=f"list {full_name} issues", ticket=None)
            for issue in issues:
                if "pull_request" in _raw(issue) or fingerprint_in(issue.body or "") != fingerprint:
                    continue
                key = f"{full_name}#{issue.number}"
                return self._call(partial(self._ticket, key, issue), action="read", ticket=key)
        return None

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        """`config_comment` is ignored: the seed's GitHub filing writes no config comment (the body carries it)."""
        full_name = self._connection.repositories[0]
        repo = self._gh.get_repo(full_name)
        labels = ["post-incident", f"priority:{item.priority}", incident_label(item.incident_id), *item.labels]
        self._pacer.acquire(None)
        issue = self._call(
            lambda: repo.create_issue(
                title=f"[Post-Incident] {item.title}",
                body=render_body(item, Flavour.MARKDOWN),
                labels=list(dict.fromkeys(labels)),
                assignees=[item.assignee] if item.assignee else [],
            ),
            action="create the issue",
            ticket=None,
        )
        key = f"{full_name}#{issue.number}"
        _log.info("github.created", ticket=key, fingerprint=item.fingerprint)
        return self._call(partial(self._ticket, key, issue), action="read", ticket=key)

    # -- helpers ---------------------------------------------------------------------------------------------
    def _issue(self, key: str) -> Issue:
        full_name, number = _parse_key(key)
        if full_name not in self._connection.repositories:
            raise TrackerError(f"{full_name} is not one of the configured repositories", ticket=key)
        return self._gh.get_repo(full_name).get_issue(number)

    def _ticket(self, key: str, issue: Issue) -> Ticket:
        comments: list[Comment] = []
        if issue.comments:
            comments = [
                Comment(id=str(c.id), author=c.user.login if c.user else "", body=c.body or "", created=c.created_at)
                for c in issue.get_comments()
            ]
        return Ticket(
            key=key,
            url=issue.html_url,
            title=issue.title,
            status=issue.state,
            resolved_at=issue.closed_at,
            resolution=issue.state_reason,
            labels=frozenset(label.name for label in issue.labels),
            body=issue.body or "",
            reporter=issue.user.login if issue.user else "",
            comments=tuple(comments),
            created=issue.created_at,
            priority=_priority(label.name for label in issue.labels),
            kind="pull request" if "pull_request" in _raw(issue) else "issue",
        )

    def _call(self, fn: Callable[[], T], *, action: str, ticket: str | None) -> T:
        try:
            return fn()
        except GithubException as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            wait = f" (asked to wait {exc.wait:.0f}s)" if isinstance(exc, RateLimitExceededExceedsMaxWait) else ""
            message = str(data.get("message") or exc.message or "no details")
            limit = _rate_limit(exc.status, message, exc.headers or {})
            if limit is not None:
                raise TrackerThrottled(
                    f"GitHub {action} failed: HTTP {exc.status}, {limit}: {message}{wait}. {_THROTTLED_ADVICE}",
                    ticket=ticket,
                ) from None
            reason = f"HTTP {exc.status}: {message}{wait}"
        except BadAttributeException as exc:
            reason = f"unexpected answer: {type(exc).__name__}"
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            reason = type(exc).__name__
        raise TrackerError(f"GitHub {action} failed: {reason}", ticket=ticket)


def incident_label(incident_id: str) -> str:
    """The label a filed issue carries for its incident, as the seed writes it: `incident:<id>`."""
    return f"incident:{incident_id}"


def _priority(labels: Iterable[str]) -> str | None:
    """P0-P3 from a `priority:P1` label (the highest when there are several), else None."""
    levels = [match.group(1).upper() for name in labels if (match := _PRIORITY_LABEL.match(name))]
    return min(levels, default=None)


def _parse_key(key: str) -> tuple[str, int]:
    match = _KEY.match(key)
    if match is None:
        raise TrackerError("not a GitHub issue key (expected owner/repo#N)", ticket=key)
    return match["repo"], int(match["number"])


def _raw(issue: Issue) -> dict[str, Any]:
    """The JSON PyGithub built the issue from, without completing it (see the module docstring)."""
    raw: dict[str, Any] = issue._rawData
    return raw


def _rate_limit(status: int, message: str, headers: Any) -> str | None:
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


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _header_wait(headers: Any) -> float | None:
    """Seconds a rate-limited reply asks for: Retry-After, else x-ratelimit-reset when nothing remains."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        if str(retry_after).strip().isdigit():
            return float(retry_after)
        try:
            return max(0.0, (email.utils.parsedate_to_datetime(retry_after) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None
    reset = headers.get("x-ratelimit-reset")
    if headers.get("x-ratelimit-remaining") == "0" and reset and str(reset).isdigit():
        return max(0.0, int(reset) - time.time()) + 1
    return None
