"""The GitHub tracker: issues in one or more repositories, through PyGithub (github.com or GitHub Enterprise Server).

Ticket keys are `owner/repo#N`. What PyGithub (2.10) does, and how it is configured here:
- `Github(...)` defaults to pacing every request 0.25 s apart and every write 1 s apart with its own sleep; both are
  turned off (`seconds_between_requests/writes=None`) and content-creating calls go through `WritePacer` instead
  (GitHub's secondary limits: 80 a minute, 500 an hour; injectable clock and sleep).
- `lazy=True`: `get_repo` / `get_issue` make no request of their own; a write on a known key costs one request.
- Retries: PyGithub's `GithubRetry` retries POST after 5xx and read errors (a duplicate comment), and would need
  its private parts overridden to do otherwise, so the client is built with `retry=None` (public) and every call
  goes through our own rule (`verifier.adapters.retry`): rate limits (403 or 429 with Retry-After, or
  `x-ratelimit-remaining: 0` until `x-ratelimit-reset`) and connections that never opened are retried for every
  method, 5xx and read errors only for idempotent ones (never a POST), waits beyond `max_rate_limit_wait` fail at
  once. Listings are read page by page with `PaginatedList.get_page`, so a page that failed is asked for again
  (an iterator that raised cannot be resumed).
- A list item missing an attribute is "completed" with a GET of the item when that attribute is read. Plain issues
  carry no `pull_request` key, so `issue.pull_request` would cost one GET per issue; the raw JSON is read instead.
- `Issue.add_to_labels` posts a bare JSON array; the API description accepts only `{"labels": [...]}`, which is
  posted through PyGithub's requester instead.
- Who added a judgement label (`judgement_labels`: the verified and failed labels) is read from the issue's events
  (`labeled`, with their `actor`), only for an issue that carries one: one more request for those alone.
- Filing creates issues in the first configured repository (`Repository.create_issue`, paced as content
  creation; a POST is never retried after a 5xx or a read error, so a retry cannot file it twice) and finds them
  again in any configured repository by the `incident:<id>` label and the fingerprint in the body.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import structlog
import urllib3
from github import Auth, BadAttributeException, Github, GithubException, GithubIntegration
from github.GithubException import RateLimitExceededException
from github.Issue import Issue
from github.PaginatedList import PaginatedList
from github.Requester import Requester
from urllib3.exceptions import MaxRetryError, NewConnectionError

from verifier import defaults
from verifier.adapters import retry
from verifier.adapters.access import github_access
from verifier.adapters.http import AnswerRefused, DeadlinePassed, guard_pygithub
from verifier.adapters.paging import PageGuard
from verifier.adapters.retry import RetryPolicy
from verifier.connections import GitHubConnection
from verifier.domain.access import Access
from verifier.domain.action_items import ActionItem, fingerprint_in, render_body
from verifier.domain.formats import essentials
from verifier.domain.identity import Identities, resolve
from verifier.domain.labels import fit_label
from verifier.domain.protocol import TITLE_PREFIX, priority_label, priority_of_label
from verifier.domain.protocol import incident_label as incident_label_of
from verifier.domain.render import parse_marker
from verifier.domain.tickets import Comment, Filed, Flavour, Ticket, own_filing
from verifier.errors import TrackerError, TrackerThrottled

__all__ = ["GitHubConnection", "GitHubTracker", "WritePacer"]

T = TypeVar("T")
_KEY = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")
PER_PAGE = 100  # GitHub's largest page
_log = structlog.get_logger()
#: The REST API version every request asks for (GitHub answers older clients with its oldest behaviour).
API_VERSION = "2022-11-28"
_THROTTLED_ADVICE = (
    "The run stops writing and the next run carries on; if it recurs, lower VERIFIER_MAX_WRITES or run less "
    "often (other tools may share this token's quota)"
)


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
                # GitHub's secondary limits for content creation: nothing is sent, the run stops writing.
                message = f"GitHub write pacing: the next write is allowed in {wait:.0f}s. {_THROTTLED_ADVICE}"
                raise TrackerThrottled(message, ticket=ticket)
            if wait > 0:
                _log.info("github.pacing", wait_seconds=round(wait, 2), ticket=ticket)
                self._sleep(wait)
            self._sent.append(self._clock())


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
        self._secondary_wait = min(60.0, max_rate_limit_wait)  # a secondary limit that names no wait
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

    # -- Tracker ---------------------------------------------------------------------------------------------
    def account(self) -> str:
        if self._app_auth is None:
            login = self._call(lambda: self._gh.get_user().login, action="read the signed-in user", ticket=None)
            return login.lower()
        if self._connection.app_slug:
            return f"{self._connection.app_slug}[bot]".lower()
        integration = GithubIntegration(auth=self._app_auth, **self._client_options())
        slug = self._call(lambda: integration.get_app().slug, action="read the GitHub App", ticket=None)
        return f"{slug}[bot]".lower()

    def access(self, now: datetime) -> Access:
        """Issues read/write on each repository and the token's expiry (`verifier.adapters.access`)."""
        token = self._connection.token.get_secret_value() if self._connection.token is not None else ""
        found = Access()
        for full_name in self._connection.repositories:
            send = partial(self._gh.requester.requestJsonAndCheck, "GET", f"/repos/{full_name}")
            headers, repo = self._call(send, action=f"read {full_name}", ticket=None)
            installation = None
            if self._app_auth is not None:
                integration = GithubIntegration(auth=self._app_auth, **self._client_options())
                owner, name = full_name.split("/", 1)
                installed = partial(integration.get_repo_installation, owner, name)
                installation = self._call(installed, action=f"read the App's installation on {full_name}", ticket=None)
            found += github_access(
                full_name,
                repo if isinstance(repo, dict) else {},
                headers,
                fine_grained=token.startswith("github_pat_"),
                issues_refused=partial(self._issues_refused, full_name),
                now=now,
                installation=installation.permissions if installation is not None else None,
            )
        return found

    def _issues_refused(self, full_name: str) -> str | None:
        """List one issue: None, or what GitHub says it would have accepted when it refused (403, or 404)."""
        send = self._gh.requester.requestJsonAndCheck

        def listing() -> str | None:
            try:
                send("GET", f"/repos/{full_name}/issues", parameters={"per_page": 1})
            except GithubException as error:
                if error.status not in (403, 404) or _rate_limit(error.status, str(error.data), error.headers or {}):
                    raise
                headers = {str(k).lower(): str(v) for k, v in (error.headers or {}).items()}
                return headers.get("x-accepted-github-permissions") or "issues=read"
            return None

        return self._call(listing, action=f"list {full_name} issues", ticket=None)

    def trust(self, entries: Iterable[str]) -> Identities:
        """Logins are looked up with `GET /users/{username}` (any case); `login=id` is taken as pinned."""
        try:
            self._own_account()  # known before anyone is named by id (`_who`)
        except TrackerError as error:  # the run's own first call says so again, and stops
            _log.error("tracker.own_account_unknown", error=str(error))
        self._identities, failed = resolve(entries, self._user_id, fold=True)
        for login, reason in failed:  # refused out loud: an entry that cannot be resolved trusts nobody
            _log.error("github.trusted_author_lookup_failed", login=login, error=reason)
        _log.info("github.trusted_authors", mapping=self._identities.mapping())
        return self._identities

    def _user_id(self, login: str) -> str | None:
        send = partial(self._gh.requester.requestJsonAndCheck, "GET", f"/users/{quote(login, safe='')}")
        try:
            _, data = self._call(send, action=f"look up the trusted author '{login}'", ticket=None)
        except TrackerError as error:
            if "HTTP 404" not in str(error):
                raise
            _log.warning("github.trusted_author_not_found", login=login)
            return None
        return str(data["id"]) if isinstance(data, dict) and data.get("id") else None

    def _who(self, user: Any) -> str:
        """A person as the trust rules see them: by the trusted entry their user id resolved from, else by login."""
        if isinstance(user, dict):  # raw JSON, as in issue events
            uid, login = user.get("id"), _login_of(user)
        else:
            uid, login = getattr(user, "id", None) if user is not None else None, _login(user)
        if login and login == self._me:  # the tool's own account stays itself: its results are found by it
            return login
        return self._identities.name(login, str(uid) if uid else None)

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
                if issue.state_reason in defaults.GITHUB_NOT_A_FIX:
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
        """The listing's issues, one page requested at a time, with the library's errors translated; a listing
        that repeats a page or passes the page cap stops with a `TrackerError` (`PageGuard`)."""
        pages = PageGuard(f"GitHub {action}", max_pages=self._max_pages)
        page = 0
        while True:
            issues = self._call(partial(listing.get_page, page), action=action, ticket=None)
            pages.check(_raw(issue).get("number") for issue in issues)
            yield from issues
            if len(issues) < PER_PAGE:
                return
            page += 1

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        """`labels` are not sent: a comment cannot carry them (`labels_with` says so)."""
        issue = self._issue(key)
        self._pacer.acquire(key)
        created = self._call(lambda: issue.create_comment(body), action="comment", ticket=key, idempotent=False)
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
        add = partial(send, "POST", url, input={"labels": wanted})
        self._call(add, action="add labels", ticket=key, idempotent=False)

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

    def find_filed(self, incident_id: str, fingerprint: str) -> Filed:
        """Only an issue the tool's account opened counts (its `user`, which nobody can change)."""
        own, candidates, found = self._own_account(), [], {}
        for full_name in self._connection.repositories:
            listing = self._gh.get_repo(full_name).get_issues(
                state="all", labels=[incident_label(incident_id)], sort="created", direction="asc"
            )
            for issue in self._each(listing, action=f"list {full_name} issues"):
                if "pull_request" in _raw(issue) or fingerprint_in(issue.body or "") != fingerprint:
                    continue
                key = f"{full_name}#{issue.number}"
                candidates.append((key, self._who(issue.user)))
                found[key] = issue
        ours, squatted = own_filing(candidates, own)
        if ours is None:
            return Filed(None, squatted)
        return Filed(self._call(partial(self._ticket, ours, found[ours]), action="read", ticket=ours), squatted)

    def _own_account(self) -> str:
        if self._me is None:
            self._me = self.account()
        return self._me

    def edit_body(self, key: str, body: str) -> None:
        full_name, number = _parse_key(key)
        self._issue(key)
        self._pacer.acquire(key)
        send = partial(self._gh.requester.requestJsonAndCheck, "PATCH", f"/repos/{full_name}/issues/{number}")
        self._call(partial(send, input={"body": body}), action="edit the body", ticket=key)

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        """`config_comment` is ignored: the seed's GitHub filing writes no config comment (the body carries it)."""
        full_name = self._connection.repositories[0]
        repo = self._gh.get_repo(full_name)
        labels = filing_labels(item)
        self._pacer.acquire(None)
        issue = self._call(
            lambda: repo.create_issue(
                title=TITLE_PREFIX + item.title,
                body=render_body(item, Flavour.MARKDOWN),
                labels=labels,
                assignees=[item.assignee] if item.assignee else [],
            ),
            action="create the issue",
            ticket=None,
            idempotent=False,
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
            # A page at a time (iterating a PaginatedList keeps every raw comment it fetched), keeping of each
            # comment only what decisions read: thousands of large comments never sit in memory at once.
            pages, number = issue.get_comments(), 0
            guard = PageGuard("GitHub comments", max_pages=self._max_pages, ticket=key)
            while True:
                batch = pages.get_page(number)
                guard.check(_raw(c).get("id") for c in batch)
                comments += (
                    Comment(str(c.id), self._who(c.user), essentials(c.body or ""), c.created_at, c.updated_at)
                    for c in batch
                )
                if len(batch) < PER_PAGE or len(comments) >= issue.comments:
                    break
                number += 1
        labels = [label.name for label in issue.labels]
        return Ticket(
            key=key,
            url=issue.html_url,
            title=issue.title,
            status=issue.state,
            resolved_at=issue.closed_at,
            resolution=issue.state_reason,
            labels=frozenset(labels),
            body=issue.body or "",
            reporter=self._who(issue.user),
            comments=tuple(comments),
            created=issue.created_at,
            priority=_priority(labels),
            kind="pull request" if "pull_request" in _raw(issue) else "issue",
            creator=self._who(issue.user),  # the author: GitHub has no editable reporter
            labelled_by=self._labelled_by(key, issue, labels, comments),
        )

    def _labelled_by(
        self, key: str, issue: Issue, labels: list[str], comments: list[Comment]
    ) -> tuple[tuple[str, str], ...] | None:
        """Who added each judgement label the issue carries, from its `labeled` events (oldest first); None when
        not read (then no label of it counts as a judgement). Read only for an issue with such a label and no
        result marker: a marker of the tool's makes the labels moot, anyone else's makes the ticket judged here."""
        watched = [label for label in labels if label in self._connection.judgement_labels]
        if not watched:
            return ()
        if any(parse_marker(c.body) is not None for c in comments):
            return None
        adders: dict[str, str] = {}
        try:
            listing, number = issue.get_events(), 0
            pages = PageGuard("GitHub issue events", max_pages=self._max_pages, ticket=key)
            while True:
                batch = self._call(partial(listing.get_page, number), action="read the issue events", ticket=key)
                pages.check(event._rawData.get("id") for event in batch)
                for event in batch:
                    raw: dict[str, Any] = event._rawData
                    name = str((raw.get("label") or {}).get("name") or "")
                    if raw.get("event") == "labeled" and name in watched:
                        adders[name] = self._who(raw.get("actor"))
                    elif raw.get("event") == "unlabeled":
                        adders.pop(name, None)
                if len(batch) < PER_PAGE:
                    break
                number += 1
        except TrackerError as error:  # unknown: the labels are not judgements; the listing goes on
            _log.warning("github.events_unread", ticket=key, error=str(error))
            return None
        return tuple((label, adders[label]) for label in watched if label in adders)

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
                limit = _rate_limit(exc.status, message, exc.headers or {})
                if limit is not None:
                    raise TrackerThrottled(
                        f"GitHub {action} failed: HTTP {exc.status}, {limit}: {message}{wait}. {_THROTTLED_ADVICE}",
                        ticket=ticket,
                    ) from None
                reason = f"HTTP {exc.status}: {message}"
            elif isinstance(exc, BadAttributeException):
                reason = f"unexpected answer: {type(exc).__name__}"
            elif isinstance(exc, AnswerRefused | DeadlinePassed):  # the guarded transport names its cap
                reason = str(exc)
            else:
                reason = type(exc).__name__
            reason += wait
        raise TrackerError(f"GitHub {action} failed: {reason}", ticket=ticket)

    def _failure(self, error: Exception) -> retry.Failure | None:
        """What a failed try means for trying again (see `verifier.adapters.retry`)."""
        if isinstance(error, GithubException):
            headers = {str(k).lower(): v for k, v in (error.headers or {}).items()}
            limited = isinstance(error, RateLimitExceededException) or error.status == 429
            if limited or (error.status == 403 and "retry-after" in headers):
                return retry.Failure(refused=True, wait=_rate_limit_wait(headers, self._secondary_wait))
            return retry.Failure(transient=error.status in (500, 502, 503, 504))
        if isinstance(error, BadAttributeException | AnswerRefused):  # the same answer again would be refused again
            return retry.Failure()
        if isinstance(error, requests.ConnectTimeout):
            return retry.Failure(refused=True)  # the connection never opened: nothing was sent
        if isinstance(error, requests.ConnectionError):
            cause = error.args[0] if error.args else None
            never_sent = isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
            return retry.Failure(refused=never_sent, transient=True)
        if isinstance(error, requests.RequestException | urllib3.exceptions.HTTPError):
            return retry.Failure(transient=True)
        return None


def incident_label(incident_id: str) -> str:
    """The label a filed issue carries for its incident, as the seed writes it: `incident:<id>`, shortened to
    GitHub's 50 characters by `fit_label`'s rule (so `find_filed` looks for the name `create` wrote)."""
    return fit_label(incident_label_of(incident_id, github=True), defaults.GITHUB_LABEL_MAX)


def filing_labels(item: ActionItem) -> list[str]:
    """The labels `create` puts on an item's issue, each within GitHub's limit (a longer one shortened, said in
    the log: GitHub would refuse the whole issue)."""
    wanted = [
        defaults.LABEL,
        priority_label(item.priority),
        incident_label_of(item.incident_id, github=True),
        *item.labels,
    ]
    fitted = []
    for label in wanted:
        fitted.append(fit_label(label, defaults.GITHUB_LABEL_MAX))
        if fitted[-1] != label:
            _log.warning("github.label_shortened", label=label, shortened=fitted[-1], limit=defaults.GITHUB_LABEL_MAX)
    return list(dict.fromkeys(fitted))


def _login(user: Any) -> str:
    """GitHub logins are case-insensitive (`Trent` is `trent`): the adapter gives them in lower case, and
    trusted authors are compared in lower case (`bootstrap.run_options`)."""
    return str(user.login).lower() if user is not None and user.login else ""


def _login_of(user: Any) -> str:
    """`_login` of a user in raw JSON."""
    return str(user.get("login") or "").lower() if isinstance(user, dict) else ""


def _priority(labels: Iterable[str]) -> str | None:
    """P0-P3 from a `priority:P1` label (the highest when there are several), else None."""
    levels = [level for name in labels if (level := priority_of_label(name))]
    return min(levels, default=None)


def _parse_key(key: str) -> tuple[str, int]:
    match = _KEY.match(key)
    if match is None:
        raise TrackerError("not a GitHub issue key (expected owner/repo#N)", ticket=key)
    return match["repo"], int(match["number"])


def _raw(issue: Any) -> dict[str, Any]:
    """The JSON PyGithub built the issue (or comment) from, without completing it (see the module docstring)."""
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
