"""Reading Jira: the searches (listing, report, batched re-reads) and the issue as a `Ticket`.

- `enhanced_search_issues` (Cloud `search/jql`) first fetches `/field` to translate field names, and its paging
  helper is guarded by `@cloud_api`, which returns None unless `deploymentType` was read at construction. We call
  `search/jql` and `search` ourselves.
- Trust reads an issue's whole history (who edited the description, who added each label), paging `GET
  .../issue/{key}/changelog` only when `changelog.total` is more than came inline: `verifier.adapters.jira.history`.
  The body's author is `creator`, never the editable `reporter`.

Searches are streamed page by page; the caller writes only after the listing (see `Tracker.resolved_tickets`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import structlog

from verifier.adapters.jira.client import JiraClient
from verifier.adapters.jira.history import CHANGELOG_PAGE, trust_fields, whole_history
from verifier.adapters.jira.jql import fold, issue_fields, jql_quote
from verifier.adapters.paging import PageGuard
from verifier.domain.formats import essentials
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import TrackerError

SEARCH_FIELDS = (
    "summary",
    "status",
    "resolution",
    "resolutiondate",
    "labels",
    "description",
    "reporter",
    "creator",
    "comment",
    "created",
    "priority",
)
#: A single read (and a batched re-read) also asks who the workflow is: project and issue type (`reopen`).
READ_FIELDS = (*SEARCH_FIELDS, "project", "issuetype")
#: Re-read tickets whose workflow status is kept for `reopen` (each is reopened, if at all, just after its read).
_WORKFLOWS_KEPT = 4096
#: The most issue ids one Cloud search reconciles with its index (`reconcileIssues`).
_RECONCILED = 50
#: JQL reads a date in the signed-in user's time zone (UTC-12 to UTC+14): a search for tickets updated since a
#: moment asks from a day earlier, so that no time zone leaves any out.
_JQL_TIME_ZONE_MARGIN = timedelta(days=1)
_log = structlog.get_logger()
#: What the strptime layouts below read: a date, a time with seconds, optional fraction, an offset.
_JIRA_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:?\d\d\Z")


class JiraReading(JiraClient):
    """The Tracker port's reads: listings, a ticket, a batch of tickets."""

    def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
        jql = self.jql(label, lookback_days)
        _log.info("jira.search", jql=jql)
        for raw in self._search(jql):
            key = str(raw.get("key", "?"))
            resolution = _name(issue_fields(raw, key).get("resolution"))
            if resolution is not None and fold(resolution) in self._not_fix:
                _log.info("jira.skip_not_a_fix", ticket=key, resolution=resolution)
                continue
            yield self._ticket(raw)

    def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
        jql = self.report_jql(label, since)
        _log.info("jira.search", jql=jql)
        for raw in self._search(jql):
            yield self._ticket(raw)

    def get_ticket(self, key: str) -> Ticket:
        path = f"issue/{quote(key, safe='')}"
        params = {"fields": ",".join(READ_FIELDS), "expand": "changelog"}
        raw = self._request("GET", path, ticket=key, action="read", params=params)
        if not isinstance(raw, dict):  # a strange answer is refused naming the ticket, not an AttributeError
            raise TrackerError("Jira answered the issue with something other than an object", ticket=key)
        return self._ticket(self._remember_workflow(raw))

    @property
    def batch_size(self) -> int:
        """Cloud: as many as one search reconciles (`_RECONCILED`)."""
        return min(self._page_size, _RECONCILED) if self._is_cloud() else self._page_size

    def get_tickets(self, keys: Sequence[str]) -> dict[str, Ticket]:
        """`BatchReads`: one search for `key in (…)` with the fields and changelog `get_ticket` reads. Jira
        refuses the whole search when one key no longer exists; the caller then reads them one by one. Cloud's
        search index lags behind writes: the issues read before (whose ids are known) are reconciled, so the
        check after writing sees the comments just written, ours and a concurrent run's (#26)."""
        if not keys:
            return {}
        jql = f"key in ({', '.join(jql_quote(key) for key in keys)})"
        found: dict[str, Ticket] = {}
        ids = [self._ids[key] for key in keys if key in self._ids][:_RECONCILED] if self._is_cloud() else []
        for raw in self._search(jql, READ_FIELDS, {"reconcileIssues": ids} if ids else {}):
            ticket = self._ticket(self._remember_workflow(raw))
            found[ticket.key] = ticket
        return found

    def _remember_workflow(self, raw: Any) -> Any:
        """Note a re-read ticket's workflow status (project, issue type, status): the transitions a workflow offers
        from a status are the same for each of its tickets, so `reopen` asks once per workflow status."""
        fields = raw.get("fields") if isinstance(raw, dict) else None
        if isinstance(fields, dict):
            project = fields.get("project") or {}
            parts = [project.get("id") or project.get("key")]  # both name one project
            parts += [(fields.get(name) or {}).get("id") for name in ("issuetype", "status")]
            if str(raw.get("id") or "").isdigit():  # for `reconcileIssues` (`get_tickets`)
                self._ids[str(raw.get("key"))] = int(raw["id"])
                while len(self._ids) > _WORKFLOWS_KEPT:  # popitem: one step, safe beside the other threads
                    self._ids.popitem(last=False)
            if all(isinstance(part, str) and part for part in parts):
                self._workflows[str(raw.get("key"))] = (str(parts[0]), str(parts[1]), str(parts[2]))
                self._workflows.move_to_end(str(raw.get("key")))
                while len(self._workflows) > _WORKFLOWS_KEPT:
                    self._workflows.popitem(last=False)
        return raw

    # -- search ----------------------------------------------------------------------------------------------
    def jql(self, label: str, lookback_days: int) -> str:
        """The search: done tickets with `label`, resolved within the lookback, in the project, with extra JQL."""
        if lookback_days < 1:
            raise ValueError("lookback_days must be at least 1")
        clauses = [f"labels = {jql_quote(label)}", "statusCategory = Done", f"resolved >= -{int(lookback_days)}d"]
        if self._connection.project:
            clauses.append(f"project = {jql_quote(self._connection.project)}")
        if self._connection.extra_jql:
            clauses.append(f"({self._connection.extra_jql})")
        return " AND ".join(clauses) + " ORDER BY key ASC"

    def report_jql(self, label: str, since: datetime) -> str:
        """The search for the report and the reminders: open tickets with `label`, and done ones updated since
        `since` (a day early, see `_JQL_TIME_ZONE_MARGIN`), in the project, with extra JQL."""
        moment = (since.astimezone(UTC) - _JQL_TIME_ZONE_MARGIN).strftime("%Y/%m/%d %H:%M")
        clauses = [f"labels = {jql_quote(label)}", f'(statusCategory != Done OR updated >= "{moment}")']
        if self._connection.project:
            clauses.append(f"project = {jql_quote(self._connection.project)}")
        if self._connection.extra_jql:
            clauses.append(f"({self._connection.extra_jql})")
        return " AND ".join(clauses) + " ORDER BY key ASC"

    def _search(
        self, jql: str, fields: tuple[str, ...] = SEARCH_FIELDS, extra: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "jql": jql,
            "maxResults": self._page_size,
            "fields": ",".join(fields),
            **(extra or {}),
        }
        if fields in (SEARCH_FIELDS, READ_FIELDS):  # tickets to judge: who changed their descriptions (trust)
            params["expand"] = "changelog"
        pages = PageGuard(f"Jira search ({jql})", max_pages=self._max_pages)
        if self._is_cloud():
            while True:
                page = self._request("GET", "search/jql", ticket=None, action="search", params=params)
                issues = _issues(page, pages.what)
                token = page.get("nextPageToken")
                last = not token or page.get("isLast") is True
                pages.check(_keys(issues), token=None if last else str(token))
                yield from issues
                if last:
                    return
                params["nextPageToken"] = token
        start = 0
        while True:
            page = self._request("GET", "search", ticket=None, action="search", params={**params, "startAt": start})
            issues = _issues(page, pages.what)
            pages.check(_keys(issues))
            yield from issues
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    # -- reading issues --------------------------------------------------------------------------------------
    def _ticket(self, raw: dict[str, Any]) -> Ticket:
        key = str(raw.get("key", "?"))
        fields = issue_fields(raw, key)
        try:
            status = fields.get("status") or {}
            description = fields.get("description")
            return Ticket(
                key=key,
                url=f"{self._connection.url}/browse/{key}",
                title=str(fields.get("summary") or ""),
                status=str(status.get("name", "")),
                resolved_at=_parse_time(fields.get("resolutiondate")),
                resolution=_name(fields.get("resolution")),
                labels=frozenset(str(label) for label in fields.get("labels") or ()),
                body=description if isinstance(description, str) else "",
                reporter=self._user(fields.get("reporter")),
                comments=tuple(self._comments(key, fields.get("comment"))),
                created=_parse_time(fields.get("created")),
                priority=self._priority(fields.get("priority")),
                **self._trust_history(key, fields, raw.get("changelog")),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise TrackerError(f"unexpected Jira issue shape: {exc}", ticket=key) from exc

    def _trust_history(self, key: str, fields: dict[str, Any], changelog: Any) -> dict[str, Any]:
        """The Ticket fields trust reads from the issue's history (`history`); its pages are fetched only
        when `changelog.total` is more than came inline, and only Cloud has them."""
        fetch = partial(self._changelog_page, key) if self._is_cloud() else None
        histories, gap = whole_history(key, changelog, fetch)
        return trust_fields(histories, fields, self._user, gap)

    def _changelog_page(self, key: str, start: int) -> dict[str, Any]:
        params = {"startAt": start, "maxResults": CHANGELOG_PAGE}
        path = f"issue/{quote(key, safe='')}/changelog"
        page: dict[str, Any] = self._request("GET", path, ticket=key, action="read the history", params=params)
        return page

    def _comments(self, key: str, inline: Any) -> Iterator[Comment]:
        """A ticket's comments, a page at a time: of each only what decisions read is kept (`essentials`), so
        that thousands of large comments never sit in memory at once."""
        page: dict[str, Any] = inline if isinstance(inline, dict) else {"comments": [], "total": None}
        batch = list(page.get("comments", []))
        seen, total = len(batch), page.get("total")
        yield from map(self._comment, batch)
        path = f"issue/{quote(key, safe='')}/comment"
        pages = PageGuard("Jira comments", max_pages=self._max_pages, ticket=key)
        while total is None or seen < int(total):
            params = {"startAt": seen, "maxResults": 100}
            page = self._request("GET", path, ticket=key, action="read comments", params=params)
            batch = page.get("comments", [])
            pages.check(str(c.get("id")) for c in batch if isinstance(c, dict))
            seen += len(batch)
            total = page.get("total", seen)
            yield from map(self._comment, batch)
            if not batch:
                break

    def _comment(self, item: dict[str, Any]) -> Comment:
        body = item.get("body")
        return Comment(
            id=str(item.get("id", "")),
            author=self._user(item.get("author")),
            body=essentials(body) if isinstance(body, str) else "",
            created=_parse_time(item.get("created")) or datetime.fromtimestamp(0, UTC),
            updated=_parse_time(item.get("updated")),
            updated_by=self._user(item.get("updateAuthor")) or None,
        )

    def _priority(self, value: Any) -> str | None:
        """P0-P3 for a Jira priority, through the filing mapping (by id when the setting is a number, else by
        name); None for a priority the mapping does not name."""
        if not isinstance(value, dict):
            return None
        name, ident = fold(str(value.get("name") or "")), str(value.get("id") or "")
        for level in sorted(self._connection.priorities):
            wanted = self._connection.priorities[level]
            if (ident and wanted == ident) if wanted.isdigit() else (bool(name) and fold(wanted) == name):
                return level
        return None

    def _user(self, user: Any) -> str:
        """A person as the trust rules see them (`Identities.name`): compared by accountId (Cloud) or key (DC)."""
        if not isinstance(user, dict):
            return ""
        keys = ("accountId",) if self._is_cloud() else ("name", "key")
        shown = str(next((user[k] for k in (*keys, "displayName") if user.get(k)), ""))
        if shown and shown == self._me:  # the tool's own account stays itself: its results are found by it
            return shown
        account_id = user.get("accountId") if self._is_cloud() else user.get("key")
        return self._identities.name(shown, str(account_id) if account_id else None)


def _issues(page: Any, search: str) -> list[dict[str, Any]]:
    """A search page's issues; a page whose issues are not a list of objects stops the listing, said out loud."""
    issues = page.get("issues", []) if isinstance(page, dict) else None
    if not isinstance(issues, list) or not all(isinstance(issue, dict) for issue in issues):
        raise TrackerError(f"{search}: its issues are not all objects")
    return issues


def _keys(issues: Any) -> list[str]:
    """A search page's issue keys, for `PageGuard` (a page that is not a list has none)."""
    return [str(i.get("key")) for i in issues if isinstance(i, dict)] if isinstance(issues, list) else []


def _name(value: Any) -> str | None:
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


def _parse_time(value: Any) -> datetime | None:
    """Jira's `2025-01-13T10:22:33.000+0000` as well as RFC 3339; naive times are taken as UTC."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if _JIRA_TIME.match(text):  # the layouts below, read 150 times faster (3.11's fromisoformat reads `+0000`)
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text)
    for layout in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
