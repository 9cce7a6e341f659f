"""The Jira tracker: Jira Cloud and Jira Server / Data Center, through the `jira` library, API v2 (wiki markup).

What the `jira` library does and does not do for us (jira 3.10):
- `JIRA(..., get_server_info=False)` makes no request at construction (no serverInfo, no session check; the
  update check is off by default). Its `logging` flag sets the level of the library's global logger; we pass False.
- Its `ResilientSession` retries only 429 and 503, sleeping 2×Retry-After (or 10·2ⁿ s) times a random jitter, and
  10·2ⁿ s after connection errors, all with `time.sleep`. We construct it with `max_retries=0` and mount urllib3's
  `Retry` on its session instead (`_Retry`, built from `RetryPolicy`): 429 and 503 are retried for every method
  (Jira refused the request before processing it), other 5xx and read errors only for idempotent methods (a POST
  may have been stored), connection errors always; Retry-After is honoured, and one beyond the cap fails at once.
- `enhanced_search_issues` (Cloud `search/jql`) first fetches `/field` to translate field names, and its paging
  helper is guarded by `@cloud_api`, which returns None unless `deploymentType` was read at construction. We call
  `search/jql` and `search` through the library's session (`_session`, `_get_url`) instead.
- `transition_issue` posts the transition id as a number; the API description types it as a string. We post it
  ourselves, as a string.
- Filing: `create_issue` would fetch every field's metadata first; `POST /issue` is sent through the session.
  Cloud assigns by `accountId` (names were removed for privacy), found with `user/search?query=`; Data Center by
  `name`. Priorities and the issue type are sent by id when the setting is a number, by name otherwise.

Searches are streamed page by page; the caller writes only after the listing (see `Tracker.resolved_tickets`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast
from urllib.parse import quote, urlsplit

import requests
import structlog
from jira import JIRA, JIRAError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from verifier.adapters.retry import SleepingRetry
from verifier.domain.config import VerificationConfig
from verifier.domain.formats import find_config
from verifier.domain.models import PRIORITIES, ActionItem, fingerprint_in, render_body
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.errors import ConfigError, TrackerError, TrackerThrottled

__all__ = ["DEFAULT_NOT_FIX_RESOLUTIONS", "DEFAULT_PRIORITIES", "JiraConnection", "JiraTracker", "RetryPolicy"]

DEFAULT_NOT_FIX_RESOLUTIONS = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined")
#: Jira's default priority scheme, by name; a number in the setting is a priority id instead.
DEFAULT_PRIORITIES = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}
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
FIND_FIELDS = ("description",)  # where the fingerprint is
FILED_LABELS = ("post-incident", "auto-generated")
#: JQL reads a date in the signed-in user's time zone (UTC-12 to UTC+14): a search for tickets updated since a
#: moment asks from a day earlier, so that no time zone leaves any out.
_JQL_TIME_ZONE_MARGIN = timedelta(days=1)
#: Cloud account ids: 24 hex digits (older accounts) or `<number>:<uuid-ish>`.
_ACCOUNT_ID = re.compile(r"^(?:[0-9a-f]{24}|\d+:[0-9a-f-]{20,})$")
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


class JiraConnection(BaseModel):
    """Where the Jira is and how to sign in: email + API token (Cloud) or a personal access token (Data Center)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)  # inputs hold secrets

    url: str
    email: str | None = None
    api_token: SecretStr | None = None
    pat: SecretStr | None = None
    project: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]+$")
    extra_jql: str | None = None
    not_fix_resolutions: tuple[str, ...] = DEFAULT_NOT_FIX_RESOLUTIONS
    reopen_transition: str | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Filing action items.
    issue_type: str = Field(default="Bug", min_length=1)  # a name, or an id when all digits
    priorities: Mapping[str, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))  # P0..P3 -> name or id

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")

    @field_validator("priorities")
    @classmethod
    def _priorities(cls, value: Mapping[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r} (the file's priorities are {', '.join(PRIORITIES)})")
        empty = [key for key, name in value.items() if not name.strip()]
        if empty:
            raise ValueError(f"{empty[0]} maps to an empty priority")
        return {**DEFAULT_PRIORITIES, **{key: name.strip() for key, name in value.items()}}

    @field_validator("extra_jql")
    @classmethod
    def _no_order_by(cls, value: str | None) -> str | None:
        if value is not None and "order by" in " ".join(value.lower().split()):
            raise ValueError("must not contain ORDER BY (it is AND-ed into the search)")
        return value

    @model_validator(mode="after")
    def _one_auth_method(self) -> JiraConnection:
        basic = {"email": self.email, "api_token": self.api_token}
        if self.pat is not None and any(v is not None for v in basic.values()):
            raise ValueError("set either email + api_token (Jira Cloud) or pat (Data Center), not both")
        if self.pat is None:
            missing = [name for name, value in basic.items() if value is None]
            if missing:
                raise ValueError(
                    f"missing {' and '.join(missing)}: Jira Cloud needs email + api_token, Data Center needs pat"
                )
        for name in ("api_token", "pat"):
            secret = getattr(self, name)
            if secret is not None and not secret.get_secret_value().strip():
                raise ValueError(f"{name} is empty")
        return self


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: 429 and 503 always (honouring Retry-After), other 5xx and read errors only for
    idempotent methods, connection errors always; at most `attempts` tries, exponential backoff
    (`backoff_seconds` × 2ⁿ, urllib3's: the first retry goes at once), and never a wait longer than
    `max_wait_seconds`: a Retry-After beyond it fails at once."""

    attempts: int = 4
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def retry(self) -> _Retry:
        return _Retry(
            total=max(0, self.attempts - 1),
            backoff_factor=self.backoff_seconds,
            backoff_max=self.max_wait_seconds,
            status_forcelist=_RETRY_IDEMPOTENT,
            allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,  # GET HEAD PUT DELETE OPTIONS TRACE, never POST
            raise_on_status=False,  # the last answer is returned; the jira session turns it into a JIRAError
            respect_retry_after_header=True,
            max_wait=self.max_wait_seconds,
            sleep=self.sleep,
        )


_RETRY_ALWAYS = frozenset({429, 503})  # refused before processing: safe to send again, even a POST
#: Set while sending a request that adds something whatever its method (an issue edit that adds a comment): like a
#: POST, it is sent again only after a refusal (429/503), never after a 5xx or a read error that it may follow.
_SEND_ONCE: ContextVar[bool] = ContextVar("jira_send_once", default=False)
_RETRY_IDEMPOTENT = frozenset({500, 502, 504})


class _Retry(SleepingRetry):
    """urllib3's `Retry` with the rules above: POST retried on 429/503 only, a hard cap on Retry-After, and an
    injectable sleep."""

    def __init__(self, *, max_wait: float = 60.0, **kwargs: Any) -> None:
        self.max_wait = max_wait
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> Self:
        kw.setdefault("max_wait", self.max_wait)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in _RETRY_ALWAYS:
            return True  # whatever the method; `increment` still counts the attempts and applies the cap
        if _SEND_ONCE.get():
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if _SEND_ONCE.get() and isinstance(error, ReadTimeoutError | ProtocolError):
            raise error  # the edit may have been processed: do not add the comment twice
        wait = self.get_retry_after(response) if response is not None else None
        if wait is not None and wait > self.max_wait:
            # Raised here, urlopen hands back the response (raise_on_status=False): the caller sees the 429.
            reason = ResponseError(f"Retry-After {wait:.0f}s is beyond the cap of {self.max_wait:.0f}s")
            raise MaxRetryError(cast(ConnectionPool, _pool), url, reason)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        _log.warning(
            "jira.retry",
            method=method,
            path=urlsplit(url or "").path,
            status=response.status if response is not None else None,
            error=type(error).__name__ if error is not None else None,
            retry_after=wait,
            attempt=len(retry.history),
        )
        return retry

    def beyond_cap(self, retry_after: str | None) -> bool:
        """Whether a Retry-After header asks for a longer wait than the cap."""
        try:
            return retry_after is not None and self.parse_retry_after(retry_after) > self.max_wait
        except InvalidHeader:
            return False


class JiraTracker:
    """`Tracker` on Jira Cloud or Data Center (detected from `serverInfo.deploymentType`)."""

    flavour = Flavour.JIRA_WIKI
    labels_with = frozenset({"comment"})  # one issue edit adds a comment and labels

    def __init__(self, connection: JiraConnection, *, retry: RetryPolicy | None = None, page_size: int = 100) -> None:
        self._connection = connection
        self._retry = retry or RetryPolicy()
        self._page_size = page_size
        self._account_ids: dict[str, str] = {}
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
        # Retries are urllib3's, on the library's own session (whose ResilientSession retries are off).
        adapter = HTTPAdapter(max_retries=self._retry.retry())
        for scheme in ("https://", "http://"):
            self._client._session.mount(scheme, adapter)

    def __repr__(self) -> str:
        method = "pat" if self._connection.pat is not None else "email+api_token"
        return f"JiraTracker(url={self._connection.url!r}, auth={method})"

    def close(self) -> None:
        self._client._session.close()

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
        raw = self._request("GET", path, ticket=key, action="read", params={"fields": ",".join(SEARCH_FIELDS)})
        return self._ticket(raw)

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:  # one issue edit: Jira answers 204 without the comment's id
            ops = {"comment": [{"add": {"body": body}}], "labels": [{"add": label} for label in wanted]}
            path = f"issue/{quote(key, safe='')}"
            once = _SEND_ONCE.set(True)
            try:
                self._request("PUT", path, ticket=key, action="comment and label", body={"update": ops})
            finally:
                _SEND_ONCE.reset(once)
            return ""
        created = self._call(lambda: self._client.add_comment(key, body), action="comment", ticket=key)
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

    def find_filed(self, incident_id: str, fingerprint: str) -> Ticket | None:
        clauses = [f"labels = {_quote(incident_label(incident_id))}"]
        if self._connection.project:
            clauses.append(f"project = {_quote(self._connection.project)}")
        jql = " AND ".join(clauses) + " ORDER BY key ASC"
        for raw in self._search(jql, FIND_FIELDS):
            key = str(raw.get("key", "?"))
            description = _fields(raw, key).get("description")
            if isinstance(description, str) and fingerprint_in(description) == fingerprint:
                return self.get_ticket(key)
        return None

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        project = self._connection.project
        if not project:
            raise TrackerError("filing needs the Jira project key to create issues in (VERIFIER_JIRA_PROJECT)")
        labels = [FILED_LABELS[0], incident_label(item.incident_id), FILED_LABELS[1], *item.labels]
        fields: dict[str, Any] = {
            "project": {"key": project},
            "summary": f"[Post-Incident] {item.title}",
            "description": render_body(item, Flavour.JIRA_WIKI),
            "issuetype": _reference(self._connection.issue_type),
            "priority": _reference(self._connection.priorities[item.priority]),
            "labels": list(dict.fromkeys(labels)),
        }
        if item.assignee:
            fields["assignee"] = self._assignee(item.assignee)
        action = "create the issue"
        created = self._request("POST", "issue", ticket=None, action=action, body={"fields": fields})
        key = str(created.get("key") or "")
        if not key:
            raise TrackerError(f"Jira {action}: the answer carries no issue key")
        _log.info("jira.created", ticket=key, fingerprint=item.fingerprint)
        if config_comment:
            comment = seed_comment(item.verification)
            if comment is None:
                _log.info(
                    "jira.seed_comment_skipped", ticket=key, reason="the config needs more than the seed's fields"
                )
            else:
                self.comment(key, comment)
        return self.get_ticket(key)

    def _assignee(self, who: str) -> dict[str, str]:
        """Cloud: the user's accountId (given as such, or found by name or email); Data Center: the user name."""
        if not self._is_cloud():
            return {"name": who}
        if _ACCOUNT_ID.match(who):
            return {"accountId": who}
        if who not in self._account_ids:
            action = f"look up the assignee '{who}'"
            found = self._request("GET", "user/search", ticket=None, action=action, params={"query": who})
            users = [u for u in found if isinstance(u, dict) and u.get("accountId")] if isinstance(found, list) else []
            humans = [u for u in users if u.get("active", True) and u.get("accountType", "atlassian") == "atlassian"]
            exact = [
                u
                for u in humans
                if _fold(who) in (_fold(str(u.get("emailAddress") or "")), _fold(str(u.get("displayName") or "")))
            ]
            chosen = exact if len(exact) == 1 else humans
            if len(chosen) != 1:
                names = ", ".join(str(u.get("displayName")) for u in chosen[:5])
                problem = f"matches {len(chosen)} users ({names})" if chosen else "matches no active user"
                raise TrackerError(f"the assignee '{who}' {problem}; give an email or the accountId")
            self._account_ids[who] = str(chosen[0]["accountId"])
        return {"accountId": self._account_ids[who]}

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
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise TrackerError(f"unexpected Jira issue shape: {exc}", ticket=key) from exc

    def _comments(self, key: str, inline: Any) -> Iterator[Comment]:
        page: dict[str, Any] = inline if isinstance(inline, dict) else {"comments": [], "total": None}
        raw = list(page.get("comments", []))
        total = page.get("total")
        path = f"issue/{quote(key, safe='')}/comment"
        while total is None or len(raw) < int(total):
            params = {"startAt": len(raw), "maxResults": 100}
            page = self._request("GET", path, ticket=key, action="read comments", params=params)
            batch = page.get("comments", [])
            raw.extend(batch)
            total = page.get("total", len(raw))
            if not batch:
                break
        for item in raw:
            created = _parse_time(item.get("created"))
            body = item.get("body")
            yield Comment(
                id=str(item.get("id", "")),
                author=self._user(item.get("author")),
                body=body if isinstance(body, str) else "",
                created=created or datetime.fromtimestamp(0, UTC),
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
    ) -> Any:
        url = self._client._get_url(path)
        data = None if body is None else json.dumps(body)

        def send() -> requests.Response:
            return self._client._session.request(method, url, params=params, data=data)

        response = self._call(send, action=action, ticket=ticket)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise TrackerError(f"Jira {action}: the answer is not JSON", ticket=ticket) from exc

    def _call(self, fn: Callable[[], T], *, action: str, ticket: str | None) -> T:
        """Run one client call (retried underneath by the session's urllib3 `Retry`); failures as TrackerError."""
        try:
            return fn()
        except JIRAError as exc:
            reason = f"HTTP {exc.status_code}: {exc.text or 'no details'}"
            attempts = _attempts(exc.response)
            wait = exc.response.headers.get("Retry-After") if exc.response is not None else None
            if exc.status_code in _RETRY_ALWAYS and self._retry.retry().beyond_cap(wait):
                reason += f" (asked to wait {wait}s, beyond the cap of {self._retry.max_wait_seconds:g}s)"
                raise TrackerThrottled(f"Jira {action} failed: {reason}. {_THROTTLED_ADVICE}", ticket=ticket) from None
            if exc.status_code == 401:
                reason += ". " + (_DC_401_ADVICE if self._connection.pat is not None else _CLOUD_401_ADVICE)
        except requests.RequestException as exc:
            cause = exc.args[0] if exc.args else None
            reason, attempts = type(exc).__name__, 1
            if isinstance(cause, MaxRetryError):  # retried until the attempts ran out
                reason, attempts = type(cause.reason or exc).__name__, self._retry.attempts
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        raise TrackerError(f"Jira {action} failed: {reason}{tries}", ticket=ticket) from None


def _attempts(response: requests.Response | None) -> int:
    """How many times the request was sent: urllib3 keeps the retry history on the raw response."""
    history = getattr(getattr(getattr(response, "raw", None), "retries", None), "history", None)
    return len(history) + 1 if isinstance(history, tuple) else 1


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


def incident_label(incident_id: str) -> str:
    """The label a filed ticket carries for its incident, as the seed writes it: `incident-<id>`."""
    return f"incident-{incident_id}"


def seed_comment(config: VerificationConfig) -> str | None:
    """The seed's "Automated Verification Config" comment for `config`, or None when its three fields cannot say
    the same (a window, labels, a unit, a mode): a comment by the tool is trusted and newer than the body, so it
    would replace the body's block with a different check."""
    hours = format(config.delay.total_seconds() / 3600, "g")
    text = (
        "*Automated Verification Config*\n{code}\n"
        f"metric: {config.metric}\ncondition: {config.condition.text}\ndelay_hours: {hours}\n{{code}}"
    )
    try:
        same = find_config(text) == config
    except ConfigError:
        same = False
    return text if same else None


def _reference(value: str) -> dict[str, str]:
    """A priority or issue type by id (all digits) or by name."""
    return {"id": value} if value.isdigit() else {"name": value}
