"""GitHub issues read through GraphQL: a page of 100 issues with their comments, labels and label events in one
request, where REST takes one request per issue for its comments (an idle run over 10,000 issues: about 100
requests instead of 10,100, and well within the hourly quota). Writes stay on REST (`tracker`).

- Where: PyGithub's `Requester.graphql_url` (public): `<host>/graphql` for `https://api.github.com`, and
  `<host>/api/graphql` for a GitHub Enterprise Server whose REST base is `<host>/api/v3`. Sent with
  `requestJsonAndCheck`, so every answer comes through the guarded connection (deadline, size and depth caps).
- Nested connections are read whole: a connection whose `pageInfo.hasNextPage` is true is paged with a query of
  its own for that issue (each bounded by `PageGuard`), so no comment or label event is silently left out.
- An answer with `errors` is refused (`GraphQLErrors`), even with partial `data`: trust depends on seeing every
  comment, so half an answer is never read as the whole, and an error is never read as "no issues". A
  `RATE_LIMITED` error (GitHub answers the exhausted point quota with 200, `x-ratelimit-remaining: 0` and
  `x-ratelimit-resource: graphql`) is retried by the same rule as REST's limits (`verifier.adapters.retry`).
- An answer over the size cap (a page of issues each carrying many large comments) is asked for again in
  smaller pages, down to one issue with one comment, so one hostile issue does not take its neighbours down.
- Logins as REST writes them: GraphQL names a bot `slug`, REST `slug[bot]` (the tool's own App account);
  ids are the REST ids (`databaseId`), which trust resolves authors to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import structlog

from verifier.adapters import retry
from verifier.adapters.github.graphql_queries import (
    GET_ISSUE,
    LIST_ISSUES,
    MORE_COMMENTS,
    MORE_EVENTS,
    MORE_LABELS,
    PAGE,
    read_issues,
)
from verifier.adapters.github.raw_issue import RawIssue
from verifier.adapters.http import AnswerTooLarge
from verifier.adapters.paging import PageGuard
from verifier.domain.formats import essentials
from verifier.errors import TrackerError, TrackerThrottled

__all__ = ["GraphQLErrors", "IssueReader", "graphql_failure"]

_log = structlog.get_logger()


class GraphQLErrors(Exception):
    """An answer that carries `errors` (with or without partial `data`), or no data where some was due."""

    def __init__(self, errors: list[Mapping[str, Any]], headers: Mapping[str, Any]) -> None:
        self.errors, self.headers = errors, {str(k).lower(): str(v) for k, v in headers.items()}
        first = errors[0] if errors else {}
        kinds = sorted({str(e.get("type") or "ERROR") for e in errors}) or ["ERROR"]
        message = " ".join(str(first.get("message") or "no message").split())[:300]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"GraphQL errors {', '.join(kinds)}: {message}{more}")

    @property
    def rate_limited(self) -> bool:
        return any(str(e.get("type")) == "RATE_LIMITED" for e in self.errors)

    @property
    def not_found(self) -> bool:
        return bool(self.errors) and all(str(e.get("type")) == "NOT_FOUND" for e in self.errors)


def graphql_failure(error: GraphQLErrors, wait: Callable[[Mapping[str, str]], float]) -> retry.Failure:
    """A rate-limited answer is retried like REST's (refused, after the wait its headers ask for); any other
    error would come back the same: not retried."""
    if error.rate_limited:
        return retry.Failure(refused=True, wait=wait(error.headers))
    return retry.Failure()


class _Unexpected(Exception):
    """An answer without what the query asked for: refused like an error (`_refused` names the call)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"unexpected GraphQL answer: no {what}")


@contextmanager
def _refused(action: str, ticket: str | None) -> Iterator[None]:
    """An unexpected answer, or one still over the size cap as small as it can be asked for, as TrackerError."""
    try:
        yield
    except (_Unexpected, AnswerTooLarge) as error:
        raise TrackerError(f"GitHub {action} failed: {error}", ticket=ticket) from None


#: Runs one request through the tracker's retry rule and error translation: (send, action, ticket) -> answer.
Call = Callable[[Callable[[], Any], str, "str | None"], Any]
Post = Callable[[str, dict[str, Any]], tuple[Mapping[str, Any], Any]]


class IssueReader:
    """Reads issues of the configured repositories through GraphQL. `post(query, variables)` sends one query
    and returns (headers, JSON); `call` runs it under the tracker's retry rule (`GitHubTracker._call`)."""

    def __init__(self, post: Post, call: Call, *, max_pages: int) -> None:
        self._post, self._call, self._max_pages = post, call, max_pages

    def issues(
        self,
        full_name: str,
        *,
        states: tuple[str, ...],
        label: str,
        since: datetime | None,
        order: str,
    ) -> Iterator[RawIssue]:
        """The repository's issues (pull requests are not issues in GraphQL), a page at a time, each whole."""
        owner, name = full_name.split("/", 1)
        variables: dict[str, Any] = {
            "owner": owner,
            "name": name,
            "labels": [label],
            "states": list(states),
            "since": since.isoformat() if since is not None else None,
            "order": {"field": order, "direction": "ASC"},
            "after": None,
        }
        action = f"list {full_name} issues"
        pages = PageGuard(f"GitHub {action}", max_pages=self._max_pages)
        while True:
            with _refused(action, None):
                answer = self._shrinking(LIST_ISSUES, variables, action, None, issues=True)
                connection = _at(answer, "repository", "issues")
                nodes = _nodes(connection, "issues")
                info = _page_info(connection)
            pages.check((n.get("number") for n in nodes), token=info[1] if info[0] else None)
            for node in nodes:
                with _refused("read", f"{full_name}#{node.get('number')}"):
                    raw = self._whole(full_name, node)
                yield raw
            if not info[0]:
                return
            variables["after"] = info[1]

    def issue(self, full_name: str, number: int) -> RawIssue | None:
        """One issue, whole; None when GitHub has no issue of that number (it may be a pull request)."""
        owner, name = full_name.split("/", 1)
        variables: dict[str, Any] = {"owner": owner, "name": name, "number": number}
        key = f"{full_name}#{number}"
        with _refused("read", key):
            try:
                answer = self._shrinking(GET_ISSUE, variables, "read", key, issues=False)
            except _NotFound:
                return None
            return self._whole(full_name, _at(answer, "repository", "issue"))

    def many(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], RawIssue]:
        """Issues by (repository, number), each whole as `issue` reads it, in one request (`read_issues`). One
        GitHub has no issue of (a pull request, nothing), or whose nested pages fail, is left out: the caller reads
        it alone, where its error is its own. An answer over the size cap is asked for again in smaller groups."""
        wanted = list(dict.fromkeys(wanted))
        if len(wanted) <= 1:
            alone = {(full, number): self.issue(full, number) for full, number in wanted}
            return {named: raw for named, raw in alone.items() if raw is not None}
        numbers: dict[str, list[int]] = {}
        for full_name, number in wanted:
            numbers.setdefault(full_name, []).append(number)
        variables: dict[str, Any] = {"comments": PAGE}
        order: list[tuple[str, int]] = []
        for j, (full_name, listed) in enumerate(numbers.items()):
            variables[f"owner{j}"], variables[f"name{j}"] = full_name.split("/", 1)
            for number in listed:
                variables[f"n{len(order)}"] = number
                order.append((full_name, number))
        query = read_issues(tuple(len(listed) for listed in numbers.values()))
        answer = self._call(partial_send(self._post, query, variables, missing=True), "read", None)
        if isinstance(answer, AnswerTooLarge):
            _log.warning("github.answer_too_large", action="read", ticket=None, issues=len(order))
            step = max(1, len(order) // 5)
            return {k: v for n in range(0, len(order), step) for k, v in self.many(order[n : n + step]).items()}
        with _refused("read", None):
            data = _data(answer)
        found: dict[tuple[str, int], RawIssue] = {}
        alias = {full_name: f"r{j}" for j, full_name in enumerate(numbers)}
        for k, (full_name, number) in enumerate(order):
            repository = data.get(alias[full_name])
            node = repository.get(f"i{k}") if isinstance(repository, dict) else None
            if node is None:  # NOT_FOUND (`partial_send`): read alone, as REST sees it
                continue
            try:
                with _refused("read", f"{full_name}#{number}"):
                    raw = self._whole(full_name, node if isinstance(node, dict) else {})
                    if raw.number != number:
                        raise _Unexpected(f"issue {number}")
            except TrackerThrottled:
                raise
            except TrackerError as error:  # this issue alone: read alone, where the error is its own
                _log.warning("github.batched_read_left_out", ticket=f"{full_name}#{number}", error=str(error))
                continue
            found[(full_name, number)] = raw
        return found

    # -- one request, smaller when the answer is over the size cap -------------------------------------------
    def _shrinking(
        self, query: str, variables: dict[str, Any], action: str, ticket: str | None, *, issues: bool
    ) -> Mapping[str, Any]:
        sizes = [(PAGE, PAGE), (20, PAGE), (4, PAGE), (1, PAGE), (1, 20), (1, 4), (1, 1)]
        if not issues:
            sizes = [size for size in sizes if size[0] == 1]
        for first, comments in sizes:
            sized = {**variables, "first": first, "comments": comments}
            if not issues:
                sized.pop("first")
            answer = self._call(partial_send(self._post, query, sized), action, ticket)
            if not isinstance(answer, AnswerTooLarge):
                return _data(answer)
            _log.warning("github.answer_too_large", action=action, ticket=ticket, issues=first, comments=comments)
        raise answer

    def _more(self, query: str, full_name: str, number: int, field: str, after: str | None) -> Mapping[str, Any]:
        owner, name = full_name.split("/", 1)
        key = f"{full_name}#{number}"
        for first in (PAGE, 20, 4, 1):
            variables = {"owner": owner, "name": name, "number": number, "first": first, "after": after}
            answer = self._call(partial_send(self._post, query, variables), f"read the issue's {field}", key)
            if not isinstance(answer, AnswerTooLarge):
                return _at(_data(answer), "repository", "issue")
        raise answer

    # -- nested connections, read whole ----------------------------------------------------------------------
    def _whole(self, full_name: str, node: Mapping[str, Any]) -> RawIssue:
        number = _int(node.get("number"), "issue number")
        # Of each comment only what decisions read, a page at a time (`essentials`): thousands of large comments
        # never sit in memory at once.
        comments = self._all(
            full_name, number, node, "comments", MORE_COMMENTS, lambda c: c.get("databaseId"), keep=_comment
        )
        labels = self._all(full_name, number, node, "labels", MORE_LABELS, lambda label: label.get("name"))
        # Label events: the first page; the rest only for an issue whose judgement labels need them.
        events, more_events = self._all(full_name, number, node, "timelineItems", MORE_EVENTS, _event_id, whole=False)
        return RawIssue(
            number=number,
            title=str(node.get("title") or ""),
            body=str(node.get("body") or ""),
            url=str(node.get("url") or ""),
            state=str(node.get("state") or "").lower(),
            state_reason=str(node["stateReason"]).lower() if node.get("stateReason") else None,
            closed_at=_time(node.get("closedAt")),
            created_at=_time(node.get("createdAt")),
            user=rest_user(node.get("author")),
            comments=comments,
            labels=[str(label.get("name") or "") for label in labels],
            events=_events(events),
            more_events=more_events,
        )

    def rest_of_events(self, full_name: str, raw: RawIssue) -> list[dict[str, Any]]:
        """Every label event of the issue: those that came with it and the pages after `raw.more_events`."""
        if raw.more_events is None:
            return raw.events
        node = {"timelineItems": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": raw.more_events}}}
        with _refused("read the issue's label events", f"{full_name}#{raw.number}"):
            rest = self._all(full_name, raw.number, node, "timelineItems", MORE_EVENTS, _event_id, whole=True)
        return raw.events + _events(rest)

    def _all(
        self,
        full_name: str,
        number: int,
        node: Mapping[str, Any],
        field: str,
        query: str,
        ident: Callable[[Mapping[str, Any]], Any],
        *,
        whole: bool = True,
        keep: Callable[[Mapping[str, Any]], Any] = lambda item: item,
    ) -> Any:
        """Every item of the issue's connection `field`: the first page came with the issue, the rest are asked
        for while `pageInfo.hasNextPage` says there are more. Not `whole`: (the first page, the next cursor)."""
        what = {"timelineItems": "label events"}.get(field, field)
        guard = PageGuard(f"GitHub {what}", max_pages=self._max_pages, ticket=f"{full_name}#{number}")
        connection = node.get(field)
        items: list[Mapping[str, Any]] = []
        while True:
            page = _nodes(connection, field)
            more, cursor = _page_info(connection)
            guard.check((ident(item) for item in page), token=cursor if more else None)
            items += [keep(item) for item in page]
            if not whole:
                return items, cursor if more else None
            if not more:
                return items
            connection = self._more(query, full_name, number, field, cursor).get(field)


class _NotFound(Exception):
    pass


def partial_send(post: Post, query: str, variables: dict[str, Any], *, missing: bool = False) -> Callable[[], Any]:
    """One POST; the answer, or the AnswerTooLarge it was refused with (the caller asks again, smaller). `missing`:
    an answer whose errors are all NOT_FOUND for an aliased repository or issue (`read_issues`: the path names
    one, nothing deeper) is kept, those left null; any other error refuses the whole answer."""

    def send() -> Any:
        try:
            headers, answer = post(query, variables)
        except AnswerTooLarge as error:
            return error
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            refused = GraphQLErrors([e if isinstance(e, dict) else {"message": str(e)} for e in errors], headers)
            if refused.not_found and query is GET_ISSUE:
                raise _NotFound from refused
            if missing and refused.not_found and all(_aliased(e) for e in refused.errors):
                return answer
            raise refused
        return answer

    return send


def _aliased(error: Mapping[str, Any]) -> bool:
    """An error whose path is an aliased repository (`r0`) or an issue in it (`r0`, `i3`): what it nulls is all."""
    path = error.get("path")
    if not isinstance(path, list) or not 1 <= len(path) <= 2 or not all(isinstance(p, str) for p in path):
        return False
    return path[0][:1] == "r" and path[0][1:].isdigit() and all(p[:1] == "i" and p[1:].isdigit() for p in path[1:])


def _comment(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _int(node.get("databaseId"), "comment id"),
        "user": rest_user(node.get("author")),
        "body": essentials(str(node.get("body") or "")),
        "created_at": _time(node.get("createdAt")),
        "updated_at": _time(node.get("updatedAt")),
    }


def _events(nodes: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "event": "labeled" if e.get("__typename") == "LabeledEvent" else "unlabeled",
            "label": str(e["label"].get("name") or "") if isinstance(e.get("label"), dict) else "",
            "actor": rest_user(e.get("actor")),
        }
        for e in nodes
        if e.get("__typename") in ("LabeledEvent", "UnlabeledEvent")
    ]


def rest_user(actor: Any) -> dict[str, Any]:
    """A GraphQL actor as REST names it: `{"login", "id"}`; a bot's login with its `[bot]` suffix."""
    if not isinstance(actor, dict):
        return {}  # a deleted account ("ghost"): nobody
    login = str(actor.get("login") or "")
    if actor.get("__typename") == "Bot" and login and not login.endswith("[bot]"):
        login += "[bot]"
    return {"login": login, "id": actor.get("databaseId")}


def _event_id(event: Mapping[str, Any]) -> tuple[str, str, str, str]:
    actor = event.get("actor") if isinstance(event.get("actor"), dict) else {}
    label = event.get("label") if isinstance(event.get("label"), dict) else {}
    return (
        str(event.get("__typename")),
        str(event.get("createdAt")),
        str((label or {}).get("name")),
        str((actor or {}).get("login")),
    )


def _data(answer: Any) -> Mapping[str, Any]:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise _Unexpected("data")
    return data


def _at(data: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    node: Any = data
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise _Unexpected(".".join(path))
    return node  # type: ignore[no-any-return]


def _nodes(connection: Any, field: str) -> list[Mapping[str, Any]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    if not isinstance(nodes, list):
        raise _Unexpected(f"{field}.nodes")
    return [n for n in nodes if isinstance(n, dict)]


def _page_info(connection: Any) -> tuple[bool, str | None]:
    info = connection.get("pageInfo") if isinstance(connection, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("hasNextPage"), bool):
        raise _Unexpected("pageInfo")
    cursor = info.get("endCursor")
    if info["hasNextPage"] and not (isinstance(cursor, str) and cursor):
        raise _Unexpected("endCursor for the next page")
    return info["hasNextPage"], cursor if isinstance(cursor, str) else None


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Unexpected(what)
    return value


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Unexpected(f"time (got {value[:40]!r})") from None
