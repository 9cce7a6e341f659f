"""The Jira client: the session every REST call goes through, and the retry rule applied to each.

The `jira` library's `ResilientSession` retries only 429 and 503, sleeping 2×Retry-After (or 10·2ⁿ s) times a
random jitter, and 10·2ⁿ s after connection errors — a POST whose connection dropped after it was sent included —
and it offers no public hook on its transport, so no answer it reads could be held to a deadline or a size cap.
Every REST call is therefore sent through a `requests.Session` of our own, with the same credentials and the guarded
transport (`verifier.adapters.http`: a total deadline per request, size and JSON depth caps), and retried by our
own rule (`verifier.adapters.retry`): 429 and 503 for every method (Jira refused the request before processing it),
other 5xx and read errors only for idempotent methods (a POST may have been stored), connections that never opened
always; Retry-After is honoured, and one beyond the cap fails at once. The library's error translation
(`raise_on_error`, `JIRAError`) is used. The session's connection pool is sized to the run's concurrency (the
library's keeps 10: at 16 requests in flight, a new TCP connection for one request in four).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import structlog
from jira import JIRAError
from jira.resilientsession import raise_on_error
from pydantic import SecretStr
from urllib3.exceptions import MaxRetryError

from verifier import defaults
from verifier.adapters import retry
from verifier.adapters.http import AnswerRefused, DeadlinePassed, GuardedAdapter, OriginBoundSession, guard
from verifier.adapters.jira.jql import fold
from verifier.adapters.retry import RetryPolicy
from verifier.connections import JiraConnection
from verifier.domain.identity import Identities
from verifier.errors import TrackerError, TrackerThrottled

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


class JiraClient:
    """The session, the retry rule and the tracker's state; the layers of `JiraTracker` build on it."""

    def __init__(
        self,
        connection: JiraConnection,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = defaults.JIRA_PAGE_SIZE,
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

    def _own_account(self) -> str:
        if self._me is None:
            self._me = self.account()
        return self._me

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

    def _call(self, fn: Callable[[], T], *, action: str, ticket: str | None, idempotent: bool) -> T:
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
    """What a failed try means for trying again: the status of Jira's answer, else the transport's failure, by the
    one rule of `verifier.adapters.retry`."""
    if isinstance(error, JIRAError):
        headers = error.response.headers if error.response is not None else {}
        return retry.answer(error.status_code or 0, wait=retry.retry_after(headers.get("Retry-After")))
    return retry.transport(error)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
