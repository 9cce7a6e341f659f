"""Filing under the incident's issue (`incident.issue` in the action-items file): each filed item becomes one of its
sub-issues, where the tracker offers them (GitHub; a GitHub Enterprise Server without sub-issues answers 404).

Linking never fails an item: the item is filed either way, and what was refused is said once in the notes. Filing
again links the items found already filed that are not under the issue yet, and leaves those that are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import structlog

from verifier.errors import TrackerError

if TYPE_CHECKING:
    from verifier.services.filing import FilingReport

__all__ = ["SubIssues", "link_sub_issues"]

log = structlog.get_logger("verifier.filing")


@runtime_checkable
class SubIssues(Protocol):
    """A tracker with sub-issues (`GitHubTracker` is one)."""

    def add_sub_issue(self, parent: str, child: str) -> bool: ...


def link_sub_issues(report: FilingReport, tracker: object, parent: str, *, dry_run: bool) -> None:
    """Put every filed item of `report` under `parent`; refusals go into one note."""
    filed = [item for item in report.items if item.key is not None and item.key != parent]
    if not isinstance(tracker, SubIssues):
        report.notes.append(f"incident.issue {parent}: this tracker has no sub-issues; the items are not linked")
        return
    if dry_run:
        report.notes.append(f"the items would be filed as sub-issues of {parent}")
        return
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
    if refused:
        keys = ", ".join(key for key, _ in refused)
        report.notes.append(
            f"{len(refused)} of {len(filed)} items are filed but not sub-issues of {parent} ({keys}): {refused[0][1]}"
        )
