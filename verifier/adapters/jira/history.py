"""What trust reads of a Jira issue's history (#20): who edited the description and who added each label.

Jira Cloud's `expand=changelog` carries only the newest histories (at most 100 on an issue GET, fewer in a search)
with `total` saying how many exist; when `total` is more than came inline, every page of `GET .../issue/{key}/
changelog` (oldest first) is read. Data Center expands the whole history and has no such endpoint. Only the
description and label items are kept, so a long history costs little memory. A history that cannot be read whole
is a gap: the body is then refused and no label counts as a judgement, and the listing goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from verifier.adapters.paging import PageGuard
from verifier.errors import TrackerError

CHANGELOG_PAGE = 100  # the largest page `GET .../issue/{key}/changelog` serves
_FIELDS = frozenset({"description", "labels"})  # the history items trust reads
_log = structlog.get_logger()

Histories = list[dict[str, Any]]


def whole_history(
    key: str, changelog: Any, fetch: Callable[[int], dict[str, Any]] | None
) -> tuple[Histories, str | None]:
    """The issue's whole history, only the items trust reads, and why it is incomplete (None when it is not):
    the inline page when it holds them all, else every page `fetch(start)` gives (None: there are no pages)."""
    if not isinstance(changelog, dict):
        return [], "the tracker sent no history"
    inline = [h for h in changelog.get("histories") or () if isinstance(h, dict)]
    total = changelog.get("total")
    if not isinstance(total, int) or total <= len(inline):
        return relevant(inline), None
    if fetch is None:
        return relevant(inline), f"{len(inline)} of {total} history items came and there are no more pages"
    found: Histories = []
    start = 0
    pages = PageGuard("Jira history", ticket=key)  # a history that never ends stops at the page cap
    try:
        while True:
            page = fetch(start)
            values = [h for h in page.get("values") or () if isinstance(h, dict)]
            pages.check(str(h.get("id")) for h in values)
            found += relevant(values)
            start += len(values)
            if not values or page.get("isLast") is True or start >= int(page.get("total") or 0):
                return found, None
    except TrackerError as error:  # this ticket's history is unknown: its body is refused, the others go on
        _log.warning("jira.history_unread", ticket=key, error=str(error))
        return relevant(inline), f"its history could not be read: {error}"


def relevant(histories: Histories) -> Histories:
    """The histories that touch what trust reads, each with only those items."""
    kept = []
    for history in histories:
        items = [i for i in history.get("items") or () if isinstance(i, dict) and i.get("field") in _FIELDS]
        if items:
            kept.append({k: history.get(k) for k in ("id", "author", "created")} | {"items": items})
    return kept


def trust_fields(
    histories: Histories, fields: dict[str, Any], user: Callable[[Any], str], gap: str | None
) -> dict[str, Any]:
    """The Ticket fields trust reads: the creator (never the editable reporter), who edited the description,
    who added each current label last (one there since creation: the creator), and the gap, if any."""
    creator = user(fields.get("creator"))
    editors: list[str] = []
    adders: dict[str, str] = {}
    for history in sorted(
        histories, key=lambda h: (str(h.get("created") or ""), len(str(h.get("id"))), str(h.get("id")))
    ):
        who = user(history.get("author"))
        for item in history["items"]:
            if item.get("field") == "description":
                editors.append(who)
            elif item.get("field") == "labels":
                before = set(str(item.get("fromString") or "").split())
                adders.update((label, who) for label in str(item.get("toString") or "").split() if label not in before)
    labels = [str(label) for label in fields.get("labels") or ()]
    return {
        "creator": creator,
        "body_edited_by": tuple(dict.fromkeys(editors)),
        "labelled_by": None if gap else tuple((label, adders.get(label, creator)) for label in labels),
        "history_gap": gap,
    }
