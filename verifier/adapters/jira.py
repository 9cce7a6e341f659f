"""The Jira tracker: Jira Cloud and Jira Server / Data Center, through the `jira` library, API v2 (wiki markup).

What the `jira` library does and does not do for us (jira 3.10):
- Its `ResilientSession` retries only 429 and 503, sleeping 2×Retry-After (or 10·2ⁿ s) times a random jitter, and
  10·2ⁿ s after connection errors — a POST whose connection dropped after it was sent included — and it offers no
  public hook on its transport, so no answer it reads could be held to a deadline or a size cap. Every REST call
  is therefore sent through a `requests.Session` of our own, with the same credentials and the guarded transport
  (`verifier.adapters.http`: a total deadline per request, size and JSON depth caps), and retried by our own rule
  (`verifier.adapters.retry`): 429 and 503 for every method (Jira refused the request before processing it),
  other 5xx and read errors only for idempotent methods (a POST may have been stored), connections that never
  opened always; Retry-After is honoured, and one beyond the cap fails at once. The library's error translation
  (`raise_on_error`, `JIRAError`) is used.
- `enhanced_search_issues` (Cloud `search/jql`) first fetches `/field` to translate field names, and its paging
  helper is guarded by `@cloud_api`, which returns None unless `deploymentType` was read at construction. We call
  `search/jql` and `search` ourselves.
- `transition_issue` posts the transition id as a number; the API description types it as a string. We post it
  ourselves, as a string. Comments too go through our session, whose connection pool is sized to the run's
  concurrency (the library's keeps 10: at 16 requests in flight, a new TCP connection for one request in four).
- Filing (`find_filed`, `create`) is in `verifier.adapters.jira_filing`, a mixin of `JiraTracker`.
- Trust reads an issue's whole history (who edited the description, who added each label), paging `GET
  .../issue/{key}/changelog` only when `changelog.total` is more than came inline: `verifier.adapters.jira_history`.
  The body's author is `creator`, never the editable `reporter`.

Searches are streamed page by page; the caller writes only after the listing (see `Tracker.resolved_tickets`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import structlog
from jira import JIRAError
from jira.resilientsession import raise_on_error
from pydantic import SecretStr
from urllib3.exceptions import MaxRetryError, NewConnectionError

from verifier import defaults
from verifier.adapters import retry
from verifier.adapters.access import jira_access, jira_site, tenant_info
from verifier.adapters.http import AnswerRefused, DeadlinePassed, GuardedAdapter, OriginBoundSession, guard
from verifier.adapters.jira_filing import JiraFiling, incident_label, seed_comment
from verifier.adapters.jira_history import CHANGELOG_PAGE, trust_fields, whole_history
from verifier.adapters.jira_jql import ACCOUNT_ID, fold, issue_fields, jql_quote
from verifier.adapters.paging import PageGuard
from verifier.adapters.retry import RetryPolicy
from verifier.connections import JiraConnection
from verifier.domain.access import Access
from verifier.domain.formats import essentials
from verifier.domain.identity import Identities, resolve
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import RESEND_WRITE

__all__ = ["JiraConnection", "JiraTracker", "RetryPolicy", "incident_label", "seed_comment"]

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
T = TypeVar("T")
_log = structlog.get_logger()
_CLOUD_401_ADVICE = (
    "Atlassian API tokens expire (a year after creation at most): create a new one at "
    "https://id.atlassian.com/manage-profile/security/api-tokens, put it in VERIFIER_JIRA_API_TOKEN, and check "
    "that VERIFIER_JIRA_EMAIL is the token owner's"
)
#: Scoped API tokens answer 401 on the site's own API.
_SCOPED_401_ADVICE = (
    "; a scoped API token works only through Atlassian's API gateway: set VERIFIER_JIRA_CLOUD_ID (the cloudId at "
    "<site>/_edge/tenant_info)"
)
_DC_401_ADVICE = (
    "Check VERIFIER_JIRA_PAT: personal access tokens expire or are revoked; create a new one in your profile"
)
_THROTTLED_ADVICE = (
    "The run stops writing and the next run carries on; if it recurs, lower VERIFIER_MAX_WRITES or run less often"
)


class JiraTracker(JiraFiling):
    """`Tracker` on Jira Cloud or Data Center (detected from `serverInfo.deploymentType`); filing (`find_filed`,
    `create`) comes from `JiraFiling`."""

    flavour = Flavour.JIRA_WIKI
    labels_with = frozenset({"comment"})  # one issue edit adds a comment and labels

    def __init__(
        self,
        connection: JiraConnection,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
        max_pages: int = defaults.MAX_PAGES,
    ) -> None:
        self._connection = connection
        self._max_pages = max_pages
        self._retry = retry or RetryPolicy()
        self._page_size = page_size
        self._account_ids: dict[str, str] = {}  # filing's assignee look-ups (`JiraFiling._assignee`)
        self._not_fix = {fold(r) for r in connection.not_fix_resolutions}
        self._cloud: bool | None = None
        # Reopening: each re-read ticket's workflow status, and the transition chosen per workflow status.
        self._workflows: OrderedDict[str, tuple[str, str, str]] = OrderedDict()
        self._transitions: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._ids: OrderedDict[str, int] = OrderedDict()  # the issue ids of the tickets re-read lately, oldest first
        verify: bool | str = str(connection.ca_bundle) if connection.ca_bundle else connection.verify_tls
        # Every REST call goes through a session of our own with the guarded transport (a total deadline, size
        # and depth caps: `verifier.adapters.http`): the `jira` client offers no public hook on its session's
        # transport, so its request methods are not used; its error translation (`raise_on_error`) is. Its
        # Authorization stays with the Jira's origin (`OriginBoundSession`); its pool holds one connection per
        # request in flight (requests' default is 10).
        guarded = GuardedAdapter(what="Jira's answer", pool_maxsize=defaults.POOL_SIZE)
        self._session = guard(OriginBoundSession(), guarded)
        self._session.verify = verify
        self._session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        if connection.pat is not None:
            self._session.headers["Authorization"] = f"Bearer {connection.pat.get_secret_value()}"
        else:
            self._session.auth = (connection.email or "", _secret(connection.api_token))
        self._api = connection.api_url  # the site, or the API gateway for a scoped token (`cloud_id`)
        self._me: str | None = None  # the tool's own account, read once (`_own_account`)
        self._identities = Identities()  # the trusted authors by accountId / user key (`trust`)

    def __repr__(self) -> str:
        method = "pat" if self._connection.pat is not None else "email+api_token"
        return f"JiraTracker(url={self._connection.url!r}, auth={method})"

    def close(self) -> None:
        self._session.close()

    # -- Tracker ---------------------------------------------------------------------------------------------
    def account(self) -> str:
        me = self._request("GET", "myself", ticket=None, action="read the signed-in user")
        identity = me.get("accountId") if self._is_cloud() else (me.get("name") or me.get("key"))
        if not identity:
            raise TrackerError("Jira's /myself answer carries no account id or user name")
        return str(identity)

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

    def _own_account(self) -> str:
        if self._me is None:
            self._me = self.account()
        return self._me

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
        return self._ticket(
            self._remember_workflow(self._request("GET", path, ticket=key, action="read", params=params))
        )

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
        ids = [self._ids[key] for key in keys if key in self._ids][:_RECONCILED] if self._is_cloud() else []
        found: dict[str, Ticket] = {}
        for raw in self._search(jql, READ_FIELDS, {"reconcileIssues": ids} if ids else {}):
            ticket = self._ticket(self._remember_workflow(raw))
            found[ticket.key] = ticket
        return found

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:  # one issue edit: Jira answers 204 without the comment's id
            ops = {"comment": [{"add": {"body": body}}], "labels": [{"add": label} for label in wanted]}
            path = f"issue/{quote(key, safe='')}"
            # A PUT, but it adds a comment: sent again only after a refusal, like a POST.
            self._request("PUT", path, ticket=key, action="comment and label", body={"update": ops}, idempotent=False)
            return ""
        path = f"issue/{quote(key, safe='')}/comment"
        created = self._request("POST", path, ticket=key, action="comment", body={"body": body})
        return str(created.get("id", ""))

    def delete_comment(self, key: str, comment_id: str) -> None:
        path = f"issue/{quote(key, safe='')}/comment/{quote(comment_id, safe='')}"
        self._request("DELETE", path, ticket=key, action="delete comment")

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:
            update = {"update": {"labels": [{"add": label} for label in wanted]}}
            self._request("PUT", f"issue/{quote(key, safe='')}", ticket=key, action="add labels", body=update)

    def reopen(self, key: str, labels: Iterable[str] = ()) -> bool:
        """`labels` are not sent: a transition sets only the fields on its screen (`labels_with` says so)."""
        path = f"issue/{quote(key, safe='')}/transitions"
        workflow = self._workflows.get(key)  # as the re-read before writing found it
        chosen = self._transitions.get(workflow) if workflow else None
        if workflow is not None and chosen is not None:  # this workflow status's transition, chosen before
            try:
                self._request("POST", path, ticket=key, action="reopen", body={"transition": {"id": chosen["id"]}})
                _log.info("jira.reopened", ticket=key, transition=chosen.get("name"))
                return True
            except TrackerError as error:
                # Only a refusal of the transition itself (400: a condition holds it back for this ticket) asks
                # what the ticket offers; anything else may have moved the ticket already.
                if isinstance(error, TrackerThrottled) or not error.reason.startswith("Jira reopen failed: HTTP 400"):
                    raise
                _log.warning("jira.cached_transition_refused", ticket=key, error=str(error))
                self._transitions.pop(workflow, None)
                resend = RESEND_WRITE.get()  # the run charges every write request it sends
                if resend is not None and not resend():
                    raise
        offered = self._request("GET", path, ticket=key, action="list transitions").get("transitions", [])
        chosen = self._pick_transition(offered)
        if chosen is None:
            names = [t.get("name") for t in offered]
            _log.warning(
                "jira.no_reopen_transition", ticket=key, configured=self._connection.reopen_transition, offered=names
            )
            return False
        chosen = {"id": str(chosen["id"]), "name": chosen.get("name")}
        self._request("POST", path, ticket=key, action="reopen", body={"transition": {"id": chosen["id"]}})
        if workflow:
            self._transitions[workflow] = chosen
        _log.info("jira.reopened", ticket=key, transition=chosen.get("name"))
        return True

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
                issues = page.get("issues", [])
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
            issues = page.get("issues", [])
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
        """The Ticket fields trust reads from the issue's history (`jira_history`); its pages are fetched only
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

    def _pick_transition(self, offered: list[dict[str, Any]]) -> dict[str, Any] | None:
        wanted = self._connection.reopen_transition
        if wanted is not None:
            return next((t for t in offered if fold(str(t.get("name", ""))) == fold(wanted)), None)
        for category in ("new", "indeterminate"):
            for transition in offered:
                if ((transition.get("to") or {}).get("statusCategory") or {}).get("key") == category:
                    return transition
        return None

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _is_cloud(self) -> bool:
        if self._cloud is None:
            info = self._request("GET", "serverInfo", ticket=None, action="read serverInfo")
            self._cloud = str(info.get("deploymentType", "")).lower() == "cloud"
            _log.info("jira.deployment", cloud=self._cloud, version=info.get("version"))
        return self._cloud

    def _request(
        self,
        method: str,
        path: str,
        *,
        ticket: str | None,
        action: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """`idempotent`: whether sending it twice is harmless (default: any method but POST)."""
        data = None if body is None else json.dumps(body)

        def send() -> requests.Response:
            response = self._session.request(
                method, self._api + path, params=params, data=data, timeout=self._connection.timeout_seconds
            )
            raise_on_error(response)  # the library's own translation into JIRAError (public)
            return response

        once = method == "POST" if idempotent is None else not idempotent
        response = self._call(send, action=action, ticket=ticket, idempotent=not once)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise TrackerError(f"Jira {action}: the answer is not JSON", ticket=ticket) from exc

    def _call(self, fn: Callable[[], T], *, action: str, ticket: str | None, idempotent: bool = True) -> T:
        """Run one client call, tried again by `retry.call`'s rule; failures as TrackerError."""
        try:
            return retry.call(fn, idempotent=idempotent, policy=self._retry, classify=_failure, what=f"jira {action}")
        except retry.GaveUp as gave_up:
            error = gave_up.error
            if isinstance(error, JIRAError):
                reason = f"HTTP {error.status_code}: {error.text or 'no details'}"
                if error.status_code == 401:
                    reason += ". " + (_DC_401_ADVICE if self._connection.pat is not None else _CLOUD_401_ADVICE)
                    if self._connection.pat is None and self._connection.cloud_id is None:
                        reason += _SCOPED_401_ADVICE
            elif isinstance(error, AnswerRefused | DeadlinePassed):  # the guarded transport names its cap
                reason = str(error)
            else:
                cause = error.args[0] if error.args else None
                reason = type(cause.reason if isinstance(cause, MaxRetryError) and cause.reason else error).__name__
            if gave_up.refused_wait is not None:
                cap = self._retry.max_wait_seconds
                reason += f" (asked to wait {gave_up.refused_wait:.0f}s, beyond the cap of {cap:g}s)"
                raise TrackerThrottled(f"Jira {action} failed: {reason}. {_THROTTLED_ADVICE}", ticket=ticket) from None
            tries = f" (after {gave_up.attempts} attempts)" if gave_up.attempts > 1 else ""
        raise TrackerError(f"Jira {action} failed: {reason}{tries}", ticket=ticket) from None


def _failure(error: Exception) -> retry.Failure | None:
    """What a failed try means for trying again (see `verifier.adapters.retry`)."""
    if isinstance(error, JIRAError):
        status = error.status_code or 0
        if status in (429, 503):  # refused before processing
            headers = error.response.headers if error.response is not None else {}
            return retry.Failure(refused=True, wait=retry.retry_after(headers.get("Retry-After")))
        return retry.Failure(transient=status in (500, 502, 504))
    if isinstance(error, requests.ConnectTimeout):
        return retry.Failure(refused=True)  # the connection never opened: nothing was sent
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else None
        never_sent = isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
        return retry.Failure(refused=never_sent, transient=True)
    if isinstance(error, requests.RequestException):
        return retry.Failure(transient=isinstance(error, requests.Timeout))
    return None


def _keys(issues: Any) -> list[str]:
    """A search page's issue keys, for `PageGuard` (a page that is not a list has none)."""
    return [str(i.get("key")) for i in issues if isinstance(i, dict)] if isinstance(issues, list) else []


def _name(value: Any) -> str | None:
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _parse_time(value: Any) -> datetime | None:
    """Jira's `2025-01-13T10:22:33.000+0000` as well as RFC 3339; naive times are taken as UTC."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    for layout in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
