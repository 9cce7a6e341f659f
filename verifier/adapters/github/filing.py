"""Filing on GitHub: finding an action item's issue by its fingerprint, and creating it.

Filing creates issues in the first configured repository (`Repository.create_issue`, paced as content creation; a
POST is never retried after a 5xx or a read error, so a retry cannot file it twice) and finds them again in any
configured repository by the `incident:<id>` label and the fingerprint in the body.
"""

from __future__ import annotations

from functools import partial

import structlog

from verifier import defaults
from verifier.adapters.github.reading import GitHubReading, parse_key, raw_data
from verifier.domain.action_items import ActionItem, fingerprint_in, render_body
from verifier.domain.labels import fit_label
from verifier.domain.protocol import TITLE_PREFIX, priority_label
from verifier.domain.protocol import incident_label as incident_label_of
from verifier.domain.tickets import Filed, Flavour, Ticket, own_filing

_log = structlog.get_logger()


class GitHubFiling(GitHubReading):
    """The Tracker port's filing methods (`find_filed`, `edit_body`, `create`)."""

    def find_filed(self, incident_id: str, fingerprint: str) -> Filed:
        """Only an issue the tool's account opened counts (its `user`, which nobody can change)."""
        own, candidates, found = self._own_account(), [], {}
        for full_name in self._connection.repositories:
            listing = self._gh.get_repo(full_name).get_issues(
                state="all", labels=[incident_label(incident_id)], sort="created", direction="asc"
            )
            for issue in self._each(listing, action=f"list {full_name} issues"):
                if "pull_request" in raw_data(issue) or fingerprint_in(issue.body or "") != fingerprint:
                    continue
                key = f"{full_name}#{issue.number}"
                candidates.append((key, self._who(issue.user)))
                found[key] = issue
        ours, squatted = own_filing(candidates, own)
        if ours is None:
            return Filed(None, squatted)
        return Filed(self._call(partial(self._ticket, ours, found[ours]), action="read", ticket=ours), squatted)

    def edit_body(self, key: str, body: str) -> None:
        full_name, number = parse_key(key)
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
