"""Reading GitHub issues: the listings (resolved, report), one issue, and the issue as a `Ticket`.

- Listing and reading (`resolved_tickets`, `post_incident_tickets`, `get_ticket`) go through GraphQL
  (`verifier.adapters.github.graphql`): 100 issues a request with their comments, labels and label events; who
  added a judgement label (`judgement_labels`: the verified and failed labels) is read from the `labeled` events
  with their `actor`. GraphQL lists no pull requests.
- Re-reads before and after writing (`BatchReads`): many issues in one GraphQL request (`IssueReader.many`, as
  many as a listing page holds, for the same points), each read as `get_ticket` reads it.
- REST reads what GraphQL does not: an issue GraphQL does not know (a pull request, or nothing), and filing's
  searches, page by page with `PaginatedList.get_page`, so a page that failed is asked for again (an iterator that
  raised cannot be resumed). Plain issues carry no `pull_request` key, so `issue.pull_request` would cost one GET
  per issue; the raw JSON is read instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from github.Issue import Issue
from github.PaginatedList import PaginatedList

from verifier import defaults
from verifier.adapters.github.client import PER_PAGE, GitHubClient
from verifier.adapters.github.graphql import IssueReader
from verifier.adapters.github.raw_issue import RawIssue, to_ticket
from verifier.adapters.paging import PageGuard
from verifier.connections import GitHubConnection
from verifier.domain.formats import essentials
from verifier.domain.protocol import priority_of_label
from verifier.domain.render import parse_marker
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import TrackerError

_KEY = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")
_log = structlog.get_logger()


class GitHubReading(GitHubClient):
    """The Tracker port's reads: listings and a ticket; keys are `owner/repo#N`. Listing and reading go through
    GraphQL (`verifier.adapters.github.graphql`), under the same retry rule; REST reads what GraphQL does not."""

    def __init__(self, connection: GitHubConnection, **options: Any) -> None:
        super().__init__(connection, **options)
        call = lambda send, action, ticket: self._call(send, action=action, ticket=ticket)  # noqa: E731
        self._reader = IssueReader(self._graphql, call, max_pages=self._max_pages)

    def _from_graphql(self, full_name: str, raw: RawIssue) -> Ticket:
        judged, events = self._connection.judgement_labels, partial(self._reader.rest_of_events, full_name, raw)
        return to_ticket(full_name, raw, who=self._who, priority=_priority, judgement_labels=judged, all_events=events)

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
            listing = self._reader.issues(full_name, states=("CLOSED",), label=label, since=cutoff, order="UPDATED_AT")
            _log.info("github.search", repository=full_name, label=label)
            for issue in listing:
                key = f"{full_name}#{issue.number}"
                if issue.state_reason in defaults.GITHUB_NOT_A_FIX:
                    _log.info("github.skip_not_a_fix", ticket=key, state_reason=issue.state_reason)
                    continue
                if issue.closed_at is None or issue.closed_at < cutoff:
                    continue
                yield self._from_graphql(full_name, issue)

    def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
        seen: set[str] = set()  # a ticket closed or reopened between the two listings must not come twice
        for full_name in self._connection.repositories:
            listings = (
                self._reader.issues(full_name, states=("OPEN",), label=label, since=None, order="CREATED_AT"),
                self._reader.issues(full_name, states=("CLOSED",), label=label, since=since, order="UPDATED_AT"),
            )
            _log.info("github.search", repository=full_name, label=label, closed_since=since.isoformat())
            for listing in listings:
                for issue in listing:
                    key = f"{full_name}#{issue.number}"
                    if key in seen:
                        continue
                    seen.add(key)
                    yield self._from_graphql(full_name, issue)

    def get_ticket(self, key: str) -> Ticket:
        full_name, number = parse_key(key)
        self._issue(key)  # checks the repository is one of ours
        raw = self._reader.issue(full_name, number)
        if raw is not None:
            return self._from_graphql(full_name, raw)
        # Not an issue to GraphQL: a pull request (REST reads it as one, and the run skips it), or nothing (404).
        return self._call(lambda: self._ticket(key, self._issue(key)), action="read", ticket=key)

    #: `BatchReads`: as many issues as a listing page reads whole (GitHub's largest `first`), for the same points.
    batch_size = PER_PAGE

    def get_tickets(self, keys: Sequence[str]) -> dict[str, Ticket]:
        """`BatchReads`: the issues named, each as `get_ticket` reads it, in one GraphQL request (`IssueReader.many`).
        A key of another repository, or one GraphQL has no issue of (a pull request, nothing), is left out: the
        caller reads it alone."""
        wanted = []
        for key in keys:
            match = _KEY.match(key)
            if match is not None and match["repo"] in self._connection.repositories:
                wanted.append((match["repo"], int(match["number"])))
        found = self._reader.many(wanted)
        return {
            f"{full_name}#{number}": self._from_graphql(full_name, raw) for (full_name, number), raw in found.items()
        }

    def _each(self, listing: PaginatedList[Issue], *, action: str) -> Iterator[Issue]:
        """The listing's issues, one page requested at a time, with the library's errors translated; a listing
        that repeats a page or passes the page cap stops with a `TrackerError` (`PageGuard`)."""
        pages = PageGuard(f"GitHub {action}", max_pages=self._max_pages)
        page = 0
        while True:
            issues = self._call(partial(listing.get_page, page), action=action, ticket=None)
            pages.check(raw_data(issue).get("number") for issue in issues)
            yield from issues
            if len(issues) < PER_PAGE:
                return
            page += 1

    def _issue(self, key: str) -> Issue:
        full_name, number = parse_key(key)
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
                guard.check(raw_data(c).get("id") for c in batch)
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
            kind="pull request" if "pull_request" in raw_data(issue) else "issue",
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


def parse_key(key: str) -> tuple[str, int]:
    match = _KEY.match(key)
    if match is None:
        raise TrackerError("not a GitHub issue key (expected owner/repo#N)", ticket=key)
    return match["repo"], int(match["number"])


def raw_data(issue: Any) -> dict[str, Any]:
    """The JSON PyGithub built the issue (or comment) from, without completing it (see the module docstring)."""
    raw: dict[str, Any] = issue._rawData
    return raw
