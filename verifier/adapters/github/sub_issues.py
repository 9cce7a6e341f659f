"""Sub-issues for the GitHub tracker: `file` puts each action item under the incident's issue.

`GitHubSubIssues` is the layer over filing (`GitHubFiling`) that `GitHubTracker` is built on. One item costs a GET of the item's issue (its numeric `id`, which
the API wants rather than the number, and its `parent_issue_url`) and, when it is not under the incident's issue
yet, `POST /repos/{owner}/{repo}/issues/{n}/sub_issues` (`Issue.add_sub_issue`), paced as content creation and
never retried after it may have been stored. An item under another issue is left there (`replace_parent` is not
sent): someone put it there.
"""

from __future__ import annotations

import re
from typing import Any

import structlog

from verifier.adapters.github.filing import GitHubFiling
from verifier.adapters.github.reading import parse_key
from verifier.errors import TrackerError

__all__ = ["GitHubSubIssues"]

_log = structlog.get_logger()
_ISSUE_URL = re.compile(r"/repos/([\w.-]+/[\w.-]+)/issues/(\d{1,10})$")


class GitHubSubIssues(GitHubFiling):
    def add_sub_issue(self, parent: str, child: str) -> bool:
        """Put `child` under `parent` (both `owner/repo#N` in the configured repositories): True when linked now,
        False when it already was; TrackerError when GitHub refuses (no sub-issues on this server: 404; 422) or
        the item is under another issue."""
        parent_issue, child_issue = self._issue(parent), self._issue(child)
        raw: dict[str, Any] = self._call(lambda: child_issue.raw_data, action="read", ticket=child)
        current = str(raw.get("parent_issue_url") or "")
        if current:
            # GitHub's URL is absolute; a lazy PyGithub issue's `url` is only its path: compared as keys.
            repo, number = parse_key(parent)
            if _key(current).lower() == f"{repo}#{number}".lower():
                return False
            raise TrackerError(f"it is a sub-issue of {_key(current)} already; left there", ticket=child)
        issue_id = raw.get("id")
        if not isinstance(issue_id, int) or isinstance(issue_id, bool):
            raise TrackerError("GitHub read: the issue carries no numeric id", ticket=child)
        self._pacer.acquire(child)
        self._call(
            lambda: parent_issue.add_sub_issue(issue_id),
            action=f"add it as a sub-issue of {parent}",
            ticket=child,
            idempotent=False,
        )
        _log.info("github.sub_issue_added", ticket=child, parent=parent)
        return True


def _key(url: str) -> str:
    """`owner/repo#N` of an issue's API URL; the URL comes from the server, so anything else is not shown."""
    match = _ISSUE_URL.search(url)
    return f"{match[1]}#{match[2]}" if match else "another issue"
