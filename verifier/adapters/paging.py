"""A tracker listing that cannot run forever: a page cap, and no page or page token twice.

A tracker (or anything answering as one) whose pagination never ends — a full page repeated, a fresh
`nextPageToken` leading back to an earlier one, a `total` that keeps growing — would keep a run listing until
its deadline. Each listing counts its pages and remembers what it has seen; one that repeats itself or passes
`defaults.MAX_PAGES` pages stops with a `TrackerError` naming what happened, so the run reports it and moves on.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from verifier import defaults
from verifier.errors import TrackerError

__all__ = ["PageGuard"]


class PageGuard:
    """One listing's pages. Call `check` with each page's item ids (and its page token, if any) before using it."""

    def __init__(self, what: str, *, max_pages: int = defaults.MAX_PAGES, ticket: str | None = None) -> None:
        self.what, self.max_pages, self.ticket = what, max_pages, ticket
        self.pages = 0
        self._seen: set[Hashable] = set()
        self._tokens: set[str] = set()

    def check(self, ids: Iterable[Hashable], *, token: str | None = None) -> None:
        self.pages += 1
        if self.pages > self.max_pages:
            raise TrackerError(
                f"{self.what}: stopped at the cap of {self.max_pages} pages (the listing did not end)",
                ticket=self.ticket,
            )
        page = set(ids)
        if page and page <= self._seen:
            raise TrackerError(
                f"{self.what}: page {self.pages} repeats an earlier page; stopped (the listing does not advance)",
                ticket=self.ticket,
            )
        self._seen |= page
        if token is not None:
            if token in self._tokens:
                raise TrackerError(
                    f"{self.what}: page {self.pages} leads back to an earlier page token; stopped (a cycle)",
                    ticket=self.ticket,
                )
            self._tokens.add(token)
