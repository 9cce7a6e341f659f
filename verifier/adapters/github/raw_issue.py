"""A GitHub issue as GraphQL gave it (`RawIssue`, in REST's words), and the `Ticket` made of it: the same ticket
REST's reading makes, with who added each judgement label read from the issue's label events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from verifier.domain.render import parse_marker
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import TrackerError

__all__ = ["RawIssue", "labelled_by", "to_ticket"]

_log = structlog.get_logger()


@dataclass(frozen=True)
class RawIssue:
    """One issue as GraphQL gave it, in REST's words: `user`/`actor` objects are `{"login", "id"}`; comments, labels
    and label events whole (every page read)."""

    number: int
    title: str
    body: str
    url: str
    state: str  # open | closed
    state_reason: str | None  # completed | not_planned | duplicate | reopened
    closed_at: datetime | None
    created_at: datetime | None
    user: dict[str, Any]
    comments: list[dict[str, Any]]  # {"id", "user", "body" (its `essentials`), "created_at", "updated_at"}
    labels: list[str]
    events: list[dict[str, Any]]  # {"event": labeled|unlabeled, "label": name, "actor"}, oldest first
    more_events: str | None = None  # the cursor of the events not read yet (`IssueReader.rest_of_events`)


def to_ticket(
    full_name: str,
    raw: RawIssue,
    *,
    who: Callable[[dict[str, Any]], str],
    priority: Callable[[list[str]], str | None],
    judgement_labels: tuple[str, ...],
    all_events: Callable[[], list[dict[str, Any]]],
) -> Ticket:
    """The ticket REST's reading makes of the same issue (`GitHubTracker._ticket`), from an issue read whole."""
    comments = tuple(
        Comment(str(c["id"]), who(c["user"]), c["body"], c["created_at"], c["updated_at"]) for c in raw.comments
    )
    return Ticket(
        key=f"{full_name}#{raw.number}",
        url=raw.url,
        title=raw.title,
        status=raw.state,
        resolved_at=raw.closed_at,
        resolution=raw.state_reason,
        labels=frozenset(raw.labels),
        body=raw.body,
        reporter=who(raw.user),
        comments=comments,
        created=raw.created_at,
        priority=priority(raw.labels),
        kind="issue",  # GraphQL's issues are issues: pull requests are another connection
        creator=who(raw.user),
        labelled_by=labelled_by(f"{full_name}#{raw.number}", raw, comments, who, judgement_labels, all_events),
    )


def labelled_by(
    key: str,
    raw: RawIssue,
    comments: tuple[Comment, ...],
    who: Callable[[dict[str, Any]], str],
    watched_labels: tuple[str, ...],
    all_events: Callable[[], list[dict[str, Any]]],
) -> tuple[tuple[str, str], ...] | None:
    """Who added each judgement label the issue carries, from its label events (oldest first), as REST's reading
    says (`GitHubTracker._labelled_by`): () when it carries none; None when a result marker makes them moot (a
    marker of the tool's makes the labels moot, anyone else's makes the ticket judged here), or when the events
    past the first page cannot be read (then no label of it counts as a judgement; the listing goes on)."""
    watched = [label for label in raw.labels if label in watched_labels]
    if not watched:
        return ()
    if any(parse_marker(c.body) is not None for c in comments):
        return None
    try:
        events = all_events()
    except TrackerError as error:
        _log.warning("github.events_unread", ticket=key, error=str(error))
        return None
    adders: dict[str, str] = {}
    for event in events:
        if event["event"] == "labeled" and event["label"] in watched:
            adders[event["label"]] = who(event["actor"])
        elif event["event"] == "unlabeled":
            adders.pop(event["label"], None)
    return tuple((label, adders[label]) for label in watched if label in adders)
