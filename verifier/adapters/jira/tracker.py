"""The Jira tracker: Jira Cloud and Jira Server / Data Center, through the `jira` library, API v2 (wiki markup).

`JiraTracker` is built in layers, each its own module:
- `client`: the session every REST call goes through (the guarded transport), the retry rule, who the tool is;
- `reading`: the searches and the issue as a `Ticket` (with `history`, the changelog trust reads, and `jql`);
- `writing`: comments, labels, reopening;
- `filing`: finding and creating filed tickets;
and here, what is left of the port: the permissions a run needs and the trusted authors.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from verifier.adapters.access import jira_access, jira_site, tenant_info
from verifier.adapters.jira.filing import JiraFiling, incident_label, seed_comment
from verifier.adapters.jira.jql import ACCOUNT_ID, fold
from verifier.adapters.retry import RetryPolicy
from verifier.connections import JiraConnection
from verifier.domain.access import Access
from verifier.domain.identity import Identities, resolve
from verifier.domain.tickets import Flavour
from verifier.errors import TrackerError

__all__ = ["JiraConnection", "JiraTracker", "RetryPolicy", "incident_label", "seed_comment"]

_log = structlog.get_logger()


class JiraTracker(JiraFiling):
    """`Tracker` on Jira Cloud or Data Center (detected from `serverInfo.deploymentType`); filing (`find_filed`,
    `create`) comes from `JiraFiling`."""

    flavour = Flavour.JIRA_WIKI
    labels_with = frozenset({"comment"})  # one issue edit adds a comment and labels

    def access(self, now: datetime) -> Access:
        """The project permissions a run needs (`verifier.adapters.access`); `now` is unused (no expiry here)."""

        def get(params: dict[str, str]) -> Any:
            return self._request("GET", "mypermissions", ticket=None, action="read my permissions", params=params)

        found = jira_access(self._connection.project, get, self._own_account())
        if self._connection.cloud_id is not None:
            tenant = partial(tenant_info, self._connection.url, self._session.verify, self._connection.timeout_seconds)
            found = jira_site(self._connection.cloud_id, self._connection.url, tenant) + found
        return found

    def trust(self, entries: Iterable[str]) -> Identities:
        """Cloud: an accountId is its own id; an email (or display name) is looked up (`user/search`, one exact
        match). Data Center: a user name is looked up for its user key, which a rename keeps."""
        try:
            self._own_account()  # known before anyone is named by id (`_user`)
        except TrackerError as error:  # the run's own first call says so again, and stops
            _log.error("tracker.own_account_unknown", error=str(error))
        cloud = self._is_cloud()
        self._identities, failed = resolve(
            entries, self._user_id, literal=lambda name: cloud and ACCOUNT_ID.match(name) is not None
        )
        for name, reason in failed:  # refused out loud: an entry that cannot be resolved trusts nobody
            _log.error("jira.trusted_author_lookup_failed", name=name, error=reason)
        _log.info("jira.trusted_authors", mapping=self._identities.mapping())
        return self._identities

    def _user_id(self, name: str) -> str | None:
        cloud = self._is_cloud()
        params = {"query": name} if cloud else {"username": name}
        found = self._request(
            "GET", "user/search", ticket=None, action=f"look up the trusted author '{name}'", params=params
        )
        users = [u for u in found if isinstance(u, dict)] if isinstance(found, list) else []
        if cloud:
            fields: tuple[str, ...] = ("emailAddress", "displayName")
            exact = [u for u in users if any(fold(str(u.get(f) or "")) == fold(name) for f in fields)]
            ids = {str(u["accountId"]) for u in exact if u.get("accountId")}
        else:
            ids = {str(u["key"]) for u in users if u.get("name") == name and u.get("key")}
        if len(ids) != 1:
            _log.warning("jira.trusted_author_not_resolved", name=name, matches=len(ids))
            return None
        return ids.pop()
