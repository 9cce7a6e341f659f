"""The GitHub tracker: issues in one or more repositories, through PyGithub (github.com or GitHub Enterprise Server).

Ticket keys are `owner/repo#N`. `GitHubTracker` is built in layers, each its own module:
- `client`: PyGithub's client as built here, the retry rule, who the tool is (`pacing`: the write pacer);
- `reading`: listings, an issue, the issue as a `Ticket` (through GraphQL: `graphql`, `graphql_queries`);
- `filing`: finding and creating filed issues;
and here, what is left of the port: the permissions a run needs, the trusted authors, and the writes.

`Issue.add_to_labels` posts a bare JSON array; the API description accepts only `{"labels": [...]}`, which is
posted through PyGithub's requester instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from urllib.parse import quote

import structlog
from github import GithubException, GithubIntegration

from verifier.adapters.access import github_access
from verifier.adapters.github.client import rate_limit
from verifier.adapters.github.pacing import WritePacer
from verifier.adapters.github.reading import parse_key
from verifier.adapters.github.sub_issues import GitHubSubIssues
from verifier.connections import GitHubConnection
from verifier.domain.access import Access
from verifier.domain.identity import Identities, resolve
from verifier.domain.tickets import Flavour
from verifier.errors import TrackerError

__all__ = ["GitHubConnection", "GitHubTracker", "WritePacer"]

_log = structlog.get_logger()


class GitHubTracker(GitHubSubIssues):
    """`Tracker` on GitHub issues; `key` is `owner/repo#N`."""

    flavour = Flavour.MARKDOWN
    labels_with = frozenset({"reopen"})  # one issue update reopens and labels

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
                # GitHub's message, not the body's repr: PyGithub's rate-limit tests match the message's words
                message = str(error.data.get("message") or "") if isinstance(error.data, dict) else ""
                if error.status not in (403, 404) or rate_limit(error.status, message, error.headers or {}):
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

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        """`labels` are not sent: a comment cannot carry them (`labels_with` says so)."""
        issue = self._issue(key)
        self._pacer.acquire(key)
        created = self._call(lambda: issue.create_comment(body), action="comment", ticket=key, idempotent=False)
        return str(created.id)

    def delete_comment(self, key: str, comment_id: str) -> None:
        full_name, _ = parse_key(key)
        self._issue(key)  # checks the repository is one of ours
        url = f"/repos/{full_name}/issues/comments/{int(comment_id)}"
        send = self._gh.requester.requestJsonAndCheck
        self._call(lambda: send("DELETE", url), action="delete comment", ticket=key)

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if not wanted:
            return
        full_name, number = parse_key(key)
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
