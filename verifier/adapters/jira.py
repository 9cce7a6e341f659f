"""The Jira tracker: Jira Cloud and Jira Server / Data Center, through the `jira` library, API v2 (wiki markup).

What the `jira` library does and does not do for us (jira 3.10):
- `JIRA(..., get_server_info=False)` makes no request at construction (no serverInfo, no session check; the
  update check is off by default). Its `logging` flag sets the level of the library's global logger; we pass False.
- Its `ResilientSession` retries only 429 and 503, sleeping 2×Retry-After (or 10·2ⁿ s) times a random jitter, and
  10·2ⁿ s after connection errors, all with `time.sleep`. We construct it with `max_retries=0` and retry ourselves
  (`RetryPolicy`): honours Retry-After, retries 5xx for idempotent calls only, has a cap, and an injectable sleep.
- `enhanced_search_issues` (Cloud `search/jql`) first fetches `/field` to translate field names, and its paging
  helper is guarded by `@cloud_api`, which returns None unless `deploymentType` was read at construction. We call
  `search/jql` and `search` through the library's session (`_session`, `_get_url`) instead.
- `transition_issue` posts the transition id as a number; the API description types it as a string. We post it
  ourselves, as a string.

Searches read every page before the first ticket is handed out: the caller reopens tickets as it goes, which takes
them out of the result set and would shift the offsets (`startAt`, or Cloud's token) of the pages still to come.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import structlog
from jira import JIRA, JIRAError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.errors import TrackerError

__all__ = ["DEFAULT_NOT_FIX_RESOLUTIONS", "JiraConnection", "JiraTracker", "RetryPolicy"]

DEFAULT_NOT_FIX_RESOLUTIONS = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined")
SEARCH_FIELDS = ("summary", "status", "resolution", "resolutiondate", "labels", "description", "reporter", "comment")
T = TypeVar("T")
_log = structlog.get_logger()


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

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")

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
    """When to try again: 429 and 503 always (honouring Retry-After), other 5xx and connection errors only for
    idempotent calls; at most `attempts` tries, and never a wait longer than `max_wait_seconds`."""

    attempts: int = 4
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, status: int | None, retry_after: str | None, attempt: int, idempotent: bool) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None to give up."""
        if attempt >= self.attempts:
            return None
        backoff = self.backoff_seconds * 2 ** (attempt - 1)
        if status in (429, 503):
            wait = _retry_after_seconds(retry_after)
            wait = backoff if wait is None else wait
        elif idempotent and status in (None, 500, 502, 504):
            wait = backoff
        else:
            return None
        return wait if wait <= self.max_wait_seconds else None


class JiraTracker:
    """`Tracker` on Jira Cloud or Data Center (detected from `serverInfo.deploymentType`)."""

    flavour = Flavour.JIRA_WIKI

    def __init__(self, connection: JiraConnection, *, retry: RetryPolicy | None = None, page_size: int = 100) -> None:
        self._connection = connection
        self._retry = retry or RetryPolicy()
        self._page_size = page_size
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
        found = list(self._search(jql))
        _log.info("jira.search", jql=jql, found=len(found))
        for raw in found:
            key = str(raw.get("key", "?"))
            resolution = _name(_fields(raw, key).get("resolution"))
            if resolution is not None and _fold(resolution) in self._not_fix:
                _log.info("jira.skip_not_a_fix", ticket=key, resolution=resolution)
                continue
            yield self._ticket(raw)

    def get_ticket(self, key: str) -> Ticket:
        path = f"issue/{quote(key, safe='')}"
        raw = self._request("GET", path, ticket=key, action="read", params={"fields": ",".join(SEARCH_FIELDS)})
        return self._ticket(raw)

    def comment(self, key: str, body: str) -> str:
        created = self._call(
            lambda: self._client.add_comment(key, body), action="comment", ticket=key, idempotent=False
        )
        return str(created.id)

    def delete_comment(self, key: str, comment_id: str) -> None:
        path = f"issue/{quote(key, safe='')}/comment/{quote(comment_id, safe='')}"
        self._request("DELETE", path, ticket=key, action="delete comment", idempotent=True)

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:
            update = {"update": {"labels": [{"add": label} for label in wanted]}}
            self._request("PUT", f"issue/{quote(key, safe='')}", ticket=key, action="add labels", body=update)

    def reopen(self, key: str) -> bool:
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
        self._request("POST", path, ticket=key, action="reopen", body=body, idempotent=False)
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

    def _search(self, jql: str) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"jql": jql, "maxResults": self._page_size, "fields": ",".join(SEARCH_FIELDS)}
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
        url = self._client._get_url(path)
        data = None if body is None else json.dumps(body)

        def send() -> requests.Response:
            return self._client._session.request(method, url, params=params, data=data)

        safe = method in ("GET", "PUT") if idempotent is None else idempotent
        response = self._call(send, action=action, ticket=ticket, idempotent=safe)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise TrackerError(f"Jira {action}: the answer is not JSON", ticket=ticket) from exc

    def _call(self, fn: Callable[[], T], *, action: str, ticket: str | None, idempotent: bool = True) -> T:
        attempt = 1
        while True:
            try:
                return fn()
            except JIRAError as exc:
                status: int | None = exc.status_code
                retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
                reason = f"HTTP {status}: {exc.text or 'no details'}"
            except requests.RequestException as exc:
                status, retry_after, reason = None, None, type(exc).__name__
            wait = self._retry.wait(status, retry_after, attempt, idempotent)
            if wait is None:
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise TrackerError(f"Jira {action} failed: {reason}{tries}", ticket=ticket) from None
            _log.warning("jira.retry", action=action, ticket=ticket, status=status, wait_seconds=wait, attempt=attempt)
            self._retry.sleep(wait)
            attempt += 1


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


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
