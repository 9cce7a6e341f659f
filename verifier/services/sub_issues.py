"""Filing under the incident's issue (`incident.issue` in the action-items file): each filed item becomes one of its
sub-issues, where the tracker offers them (GitHub; a GitHub Enterprise Server without sub-issues answers 404).

Linking never fails an item: the item is filed either way, and what was refused is said once in the notes. Filing
again links the items found already filed that are not under the issue yet, and leaves those that are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import structlog

from verifier.errors import TrackerError

__all__ = ["SubIssues", "link_sub_issues"]

log = structlog.get_logger("verifier.filing")


@runtime_checkable
class SubIssues(Protocol):
    """A tracker with sub-issues (`GitHubTracker` is one)."""

    def add_sub_issue(self, parent: str, child: str) -> bool: ...


class Linkable(Protocol):
    """A filed item (`services.filing.FiledItem`): its ticket, and the issue it is a sub-issue of."""

    key: str | None
    sub_issue_of: str | None


def link_sub_issues(items: Sequence[Linkable], tracker: object, parent: str, *, dry_run: bool) -> str | None:
    """Put every filed item under `parent`; the one note to show (what was refused, or why nothing was tried)."""
    filed = [item for item in items if item.key is not None and item.key != parent]
    if not isinstance(tracker, SubIssues):
        return f"incident.issue {parent}: this tracker has no sub-issues; the items are not linked"
    if dry_run:
        return f"the items would be filed as sub-issues of {parent}"
    refused: list[tuple[str, str]] = []
    for item in filed:
        assert item.key is not None
        try:
            linked = tracker.add_sub_issue(parent, item.key)
        except TrackerError as error:
            refused.append((item.key, " ".join(error.reason.split())[:300]))
            continue
        item.sub_issue_of = parent
        log.info("filing.sub_issue", ticket=item.key, parent=parent, linked_now=linked)
    if not refused:
        return None
    keys = ", ".join(key for key, _ in refused)
    return f"{len(refused)} of {len(filed)} items are filed but not sub-issues of {parent} ({keys}): {refused[0][1]}"
