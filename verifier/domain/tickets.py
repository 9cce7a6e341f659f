"""Tracker-neutral tickets, as the verifier sees them in Jira and GitHub alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Flavour(StrEnum):
    """How a tracker writes rich text: GitHub Markdown, or Jira's v2 wiki markup."""

    MARKDOWN = "markdown"
    JIRA_WIKI = "jira-wiki"


@dataclass(frozen=True)
class Comment:
    id: str
    author: str
    body: str
    created: datetime
    updated: datetime | None = None  # GitHub `updated_at`, Jira `updated`: later than `created` once edited
    updated_by: str | None = None  # who edited it last (Jira `updateAuthor`); None when the tracker does not say

    @property
    def edited(self) -> bool:
        """Changed after it was written (to the second: both trackers stamp a new comment's two times alike)."""
        return self.updated is not None and self.updated.replace(microsecond=0) > self.created.replace(microsecond=0)


@dataclass(frozen=True)
class Ticket:
    """One action item in a tracker. `resolved_at` is None while it is open."""

    key: str
    url: str
    title: str
    status: str
    resolved_at: datetime | None
    resolution: str | None
    labels: frozenset[str]
    body: str
    reporter: str
    comments: tuple[Comment, ...] = field(default=())
    created: datetime | None = None
    priority: str | None = None  # P0–P3 when the tracker's priority maps to one
    kind: str = "issue"  # GitHub lists pull requests with issues: "pull request" ones are never action items
    body_edited_by: tuple[str, ...] = ()  # who changed the body since filing (Jira's changelog; GitHub: unknown)
    creator: str = ""  # who filed it (Jira `creator`, GitHub's author): unlike the reporter, nobody can change it
    # Who added each label last (Jira's history, GitHub's `labeled` events); None: the tracker was not asked.
    labelled_by: tuple[tuple[str, str], ...] | None = None
    history_gap: str | None = None  # why the history could not be read whole: who edited the body is then unknown

    @property
    def filed_by(self) -> str:
        """Whose the body is: its creator where the tracker says, else its reporter."""
        return self.creator or self.reporter

    def label_adder(self, label: str) -> str | None:
        """Who added `label` last, or None when unknown."""
        return next((who for name, who in self.labelled_by or () if name == label), None)


@dataclass(frozen=True)
class Filed:
    """What a filing lookup found for one action item: the tool's own ticket (None: not filed yet), and the
    tickets that carry the item's fingerprint but were created by another account (squatters: never counted)."""

    ticket: Ticket | None
    squatted: tuple[str, ...] = ()


def own_filing(candidates: list[tuple[str, str]], own: str) -> tuple[str | None, tuple[str, ...]]:
    """Of the (key, creator) of the tickets carrying a fingerprint, oldest first: the first one the tool's account
    `own` created, and the keys of the others. Anyone who can file a ticket can copy a fingerprint into it; only
    the creator, which nobody can change, says the ticket is the tool's."""
    ours = next((key for key, creator in candidates if creator and creator == own), None)
    return ours, tuple(key for key, creator in candidates if key != ours and not (creator and creator == own))


def fold_resolution(name: str) -> str:
    """Resolution names compared the way people mean them: `Won’t Do` (typographic apostrophe) is `won't do`."""
    return name.replace("\u2019", "'").casefold().strip()
