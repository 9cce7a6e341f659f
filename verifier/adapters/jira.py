"""The Jira tracker: Jira Cloud and Jira Server / Data Center, through the `jira` library, API v2 (wiki markup).

What the `jira` library does and does not do for us (jira 3.10):
- `JIRA(..., get_server_info=False)` makes no request at construction (no serverInfo, no session check; the
  update check is off by default). Its `logging` flag sets the level of the library's global logger; we pass False.
- Its `ResilientSession` retries only 429 and 503, sleeping 2×Retry-After (or 10·2ⁿ s) times a random jitter, and
  10·2ⁿ s after connection errors — a POST whose connection dropped after it was sent included. We construct it
  with `max_retries=0` (public) and retry every call ourselves (`verifier.adapters.retry`): 429 and 503 for every
  method (Jira refused the request before processing it), other 5xx and read errors only for idempotent methods (a
  POST may have been stored), connections that never opened always; Retry-After is honoured, and one beyond the
  cap fails at once.
- `enhanced_search_issues` (Cloud `search/jql`) first fetches `/field` to translate field names, and its paging
  helper is guarded by `@cloud_api`, which returns None unless `deploymentType` was read at construction. We call
  `search/jql`, `search` and the other REST resources below through a `requests.Session` of our own, with the
  same credentials, rather than through the library's private session.
- `transition_issue` posts the transition id as a number; the API description types it as a string. We post it
  ourselves, as a string.
- Filing (`find_filed`, `create`) is in `verifier.adapters.jira_filing`, a mixin of `JiraTracker`.

Searches are streamed page by page; the caller writes only after the listing (see `Tracker.resolved_tickets`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import structlog
from jira import JIRA, JIRAError
from jira.resilientsession import raise_on_error
from pydantic import SecretStr
from urllib3.exceptions import MaxRetryError, NewConnectionError

from verifier.adapters import retry
from verifier.adapters.jira_filing import JiraFiling, incident_label, seed_comment
from verifier.adapters.retry import RetryPolicy
from verifier.adapters.tls import keep_configured_verify
from verifier.connections import JiraConnection
from verifier.domain.formats import essentials
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.errors import TrackerError, TrackerThrottled

__all__ = ["JiraConnection", "JiraTracker", "RetryPolicy", "incident_label", "seed_comment"]

SEARCH_FIELDS = (
    "summary",
    "status",
    "resolution",
    "resolutiondate",
    "labels",
    "description",
    "reporter",
    "comment",
    "created",
    "priority",
)
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

    def __init__(self, connection: JiraConnection, *, retry: RetryPolicy | None = None, page_size: int = 100) -> None:
        self._connection = connection
        self._retry = retry or RetryPolicy()
        self._page_size = page_size
        self._account_ids: dict[str, str] = {}  # filing's assignee look-ups (`JiraFiling._assignee`)
        self._not_fix = {_fold(r) for r in connection.not_fix_resolutions}
        self._cloud: bool | None = None
        auth: dict[str, Any] = (
            {"token_auth": connection.pat.get_secret_value()}
            if connection.pat is not None
            else {"basic_auth": (connection.email or "", _secret(connection.api_token))}
        )
        verify: bool | str = str(connection.ca_bundle) if connection.ca_bundle else connection.verify_tls
        self._client = JIRA(
            server=connection.url,
            options={"rest_api_version": "2", "verify": verify, "check_update": False},
            get_server_info=False,
            max_retries=0,
            timeout=connection.timeout_seconds,
            logging=False,
            **auth,
        )
        # Our own session for the REST calls the library has no fitting public method for; retries: see `_call`.
        self._session = requests.Session()
        self._session.verify = verify
        # The configured bundle over REQUESTS_CA_BUNDLE, in both sessions (see verifier.adapters.tls).
        keep_configured_verify(self._session)
        keep_configured_verify(self._client._session)
        self._session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        if connection.pat is not None:
            self._session.headers["Authorization"] = f"Bearer {connection.pat.get_secret_value()}"
        else:
            self._session.auth = (connection.email or "", _secret(connection.api_token))
        self._api = f"{connection.url}/rest/api/2/"

    def __repr__(self) -> str:
        method = "pat" if self._connection.pat is not None else "email+api_token"
        return f"JiraTracker(url={self._connection.url!r}, auth={method})"

    def close(self) -> None:
        self._session.close()
        self._client.close()  # type: ignore[no-untyped-call]  # jira 3.10 leaves it unannotated

    # -- Tracker ---------------------------------------------------------------------------------------------
    def account(self) -> str:
        me = self._call(self._client.myself, action="read the signed-in user", ticket=None)
        identity = me.get("accountId") if self._is_cloud() else (me.get("name") or me.get("key"))
        if not identity:
            raise TrackerError("Jira's /myself answer carries no account id or user name")
        return str(identity)

    def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
        jql = self.jql(label, lookback_days)
        _log.info("jira.search", jql=jql)
        for raw in self._search(jql):
            key = str(raw.get("key", "?"))
            resolution = _name(_fields(raw, key).get("resolution"))
            if resolution is not None and _fold(resolution) in self._not_fix:
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
        params = {"fields": ",".join(SEARCH_FIELDS), "expand": "changelog"}
        return self._ticket(self._request("GET", path, ticket=key, action="read", params=params))

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:  # one issue edit: Jira answers 204 without the comment's id
            ops = {"comment": [{"add": {"body": body}}], "labels": [{"add": label} for label in wanted]}
            path = f"issue/{quote(key, safe='')}"
            # A PUT, but it adds a comment: sent again only after a refusal, like a POST.
            self._request("PUT", path, ticket=key, action="comment and label", body={"update": ops}, idempotent=False)
            return ""
        add = partial(self._client.add_comment, key, body)
        created = self._call(add, action="comment", ticket=key, idempotent=False)
        return str(created.id)

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
        offered = self._request("GET", path, ticket=key, action="list transitions").get("transitions", [])
        chosen = self._pick_transition(offered)
        if chosen is None:
            names = [t.get("name") for t in offered]
            _log.warning(
                "jira.no_reopen_transition", ticket=key, configured=self._connection.reopen_transition, offered=names
            )
            return False
        body = {"transition": {"id": str(chosen["id"])}}
        self._request("POST", path, ticket=key, action="reopen", body=body)
        _log.info("jira.reopened", ticket=key, transition=chosen.get("name"))
        return True

    # -- search ----------------------------------------------------------------------------------------------
    def jql(self, label: str, lookback_days: int) -> str:
        """The search: done tickets with `label`, resolved within the lookback, in the project, with extra JQL."""
        if lookback_days < 1:
            raise ValueError("lookback_days must be at least 1")
        clauses = [f"labels = {_quote(label)}", "statusCategory = Done", f"resolved >= -{int(lookback_days)}d"]
        if self._connection.project:
            clauses.append(f"project = {_quote(self._connection.project)}")
        if self._connection.extra_jql:
            clauses.append(f"({self._connection.extra_jql})")
        return " AND ".join(clauses) + " ORDER BY key ASC"

    def report_jql(self, label: str, since: datetime) -> str:
        """The search for the report and the reminders: open tickets with `label`, and done ones updated since
        `since` (a day early, see `_JQL_TIME_ZONE_MARGIN`), in the project, with extra JQL."""
        moment = (since.astimezone(UTC) - _JQL_TIME_ZONE_MARGIN).strftime("%Y/%m/%d %H:%M")
        clauses = [f"labels = {_quote(label)}", f'(statusCategory != Done OR updated >= "{moment}")']
        if self._connection.project:
            clauses.append(f"project = {_quote(self._connection.project)}")
        if self._connection.extra_jql:
            clauses.append(f"({self._connection.extra_jql})")
        return " AND ".join(clauses) + " ORDER BY key ASC"

    def _search(self, jql: str, fields: tuple[str, ...] = SEARCH_FIELDS) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"jql": jql, "maxResults": self._page_size, "fields": ",".join(fields)}
        if fields is SEARCH_FIELDS:  # tickets to judge: who changed their descriptions (selection trusts by it)
            params["expand"] = "changelog"
        if self._is_cloud():
            seen: set[str] = set()
            while True:
                page = self._request("GET", "search/jql", ticket=None, action="search", params=params)
                yield from page.get("issues", [])
                token = page.get("nextPageToken")
                if not token or page.get("isLast") is True or token in seen:
                    return
                seen.add(token)
                params["nextPageToken"] = token
        start = 0
        while True:
            page = self._request("GET", "search", ticket=None, action="search", params={**params, "startAt": start})
            issues = page.get("issues", [])
            yield from issues
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    # -- reading issues --------------------------------------------------------------------------------------
    def _ticket(self, raw: dict[str, Any]) -> Ticket:
        key = str(raw.get("key", "?"))
        fields = _fields(raw, key)
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
                body_edited_by=self._description_editors(raw.get("changelog")),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise TrackerError(f"unexpected Jira issue shape: {exc}", ticket=key) from exc

    def _description_editors(self, changelog: Any) -> tuple[str, ...]:
        """Who changed the description, from the issue's changelog (`expand=changelog`)."""
        histories = changelog.get("histories") if isinstance(changelog, dict) else None
        editors = [
            self._user(history.get("author"))
            for history in histories or ()
            if isinstance(history, dict)
            and any(isinstance(i, dict) and i.get("field") == "description" for i in history.get("items") or ())
        ]
        return tuple(dict.fromkeys(editors))

    def _comments(self, key: str, inline: Any) -> Iterator[Comment]:
        """A ticket's comments, a page at a time: of each only what decisions read is kept (`essentials`), so
        that thousands of large comments never sit in memory at once."""
        page: dict[str, Any] = inline if isinstance(inline, dict) else {"comments": [], "total": None}
        batch = list(page.get("comments", []))
        seen, total = len(batch), page.get("total")
        yield from map(self._comment, batch)
        path = f"issue/{quote(key, safe='')}/comment"
        while total is None or seen < int(total):
            params = {"startAt": seen, "maxResults": 100}
            page = self._request("GET", path, ticket=key, action="read comments", params=params)
            batch = page.get("comments", [])
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
        name, ident = _fold(str(value.get("name") or "")), str(value.get("id") or "")
        for level in sorted(self._connection.priorities):
            wanted = self._connection.priorities[level]
            if (ident and wanted == ident) if wanted.isdigit() else (bool(name) and _fold(wanted) == name):
                return level
        return None

    def _user(self, user: Any) -> str:
        if not isinstance(user, dict):
            return ""
        keys = ("accountId",) if self._is_cloud() else ("name", "key")
        return str(next((user[k] for k in (*keys, "displayName") if user.get(k)), ""))

    def _pick_transition(self, offered: list[dict[str, Any]]) -> dict[str, Any] | None:
        wanted = self._connection.reopen_transition
        if wanted is not None:
            return next((t for t in offered if _fold(str(t.get("name", ""))) == _fold(wanted)), None)
        for category in ("new", "indeterminate"):
            for transition in offered:
                if ((transition.get("to") or {}).get("statusCategory") or {}).get("key") == category:
                    return transition
        return None

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _is_cloud(self) -> bool:
        if self._cloud is None:
            info = self._call(self._client.server_info, action="read serverInfo", ticket=None)
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


def _fields(raw: dict[str, Any], key: str) -> dict[str, Any]:
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        raise TrackerError("Jira returned the issue without its fields", ticket=key)
    return fields


def _name(value: Any) -> str | None:
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


def _fold(text: str) -> str:
    return text.replace("\u2019", "'").casefold().strip()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
