"""GitHub's GraphQL API (`POST /graphql`, `/api/graphql` on Enterprise Server) over the GitHub sandbox's issues.

Queries are executed by graphql-core against GitHub's published schema, cut to what the adapter reads
(`tests/contracts/github.subset.graphql`, provenance in that folder's README): a query GitHub would refuse (an
unknown field, a wrong argument type) is refused here with the same kind of `errors`, and an answer has exactly
the shape the query asked for. What the schema does not say, modelled as GitHub documents it:

- Connections need `first` or `last`, at most 100 (`MISSING_PAGINATION_BOUNDARIES`, `EXCESSIVE_PAGINATION`); a
  query may ask for at most 500,000 nodes (`MAX_NODE_LIMIT_EXCEEDED`). Cursors are opaque strings.
- Points: a query costs the requests its connections need (each connection's `first` times those it sits in),
  divided by 100 and rounded, at least 1; answers carry `x-ratelimit-*` with `x-ratelimit-resource: graphql`
  (5,000 points an hour). An exhausted quota answers 200 with a `RATE_LIMITED` error and
  `x-ratelimit-remaining: 0` (`rate_limit_graphql` does so for the next N queries).
- A missing repository or issue is `null` with a `NOT_FOUND` error; a pull request's number is no issue.
- `repository.issues` lists issues only (never pull requests), `labels` matches any of the names, and
  `filterBy.since` keeps issues updated at or after it. Bots are named without REST's `[bot]` suffix, and
  `databaseId` is the id REST calls `id`. `stateReason` says `DUPLICATE` only with `enableDuplicate: true`
  (else `NOT_PLANNED`).
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    parse,
    validate,
    value_from_ast_untyped,
)

from verifier_sandbox.github_model import GitHubComment, GitHubEvent, GitHubIssue, GitHubRepo, gh_time
from verifier_sandbox.http import HttpError, RecordedRequest, Reply

if TYPE_CHECKING:
    from verifier_sandbox.github import GitHubSandbox

__all__ = ["GraphQLEndpoint", "graphql_schema"]

SCHEMA_FILE = "github.subset.graphql"
POINTS_PER_HOUR = 5000
MAX_NODES = 500_000


@functools.cache
def graphql_schema() -> GraphQLSchema:
    """The published schema subset, from `$VERIFIER_CONTRACTS_DIR` or this repository's tests/contracts."""
    folder = os.environ.get("VERIFIER_CONTRACTS_DIR") or Path(__file__).resolve().parents[2] / "tests" / "contracts"
    return build_schema((Path(folder) / SCHEMA_FILE).read_text())


class _Refusal(GraphQLError):
    """An error GitHub reports with a `type` (NOT_FOUND, EXCESSIVE_PAGINATION, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class GraphQLEndpoint:
    """Answers GraphQL queries for a `GitHubSandbox` (its lock is held while a query runs)."""

    def __init__(self, server: GitHubSandbox, points: int = POINTS_PER_HOUR) -> None:
        self.server, self.points = server, points  # points an hour (GitHub: 5,000 for a user's token)
        self.remaining = points
        self.costs: list[int] = []  # the points each answered query cost, in order
        self._limited = 0  # the next N queries answer RATE_LIMITED
        self._reset_in = 3600  # seconds until the point quota is restored, as x-ratelimit-reset says

    def is_query(self, request: RecordedRequest) -> bool:
        """Whether `request` is a GraphQL query (not a mutation) sent to this endpoint."""
        if request.method != "POST" or self.server.strip_base(request.path) != "/graphql":
            return False
        try:
            body = request.json()
            document = parse(body["query"]) if isinstance(body, dict) else None
        except (HttpError, GraphQLError, KeyError, TypeError):
            return False
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)] if document else []
        return bool(operations) and all(o.operation is OperationType.QUERY for o in operations)

    def rate_limit(self, times: int = 1, *, reset_in: int = 3600) -> None:
        self._limited, self._reset_in = self._limited + times, reset_in

    def answer(self, req: RecordedRequest) -> Reply:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return self._reply(
                {"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"}, 400, 0
            )
        variables = body.get("variables") or {}
        try:
            document = parse(body["query"])
        except GraphQLError as error:
            return self._reply({"errors": [_format(error)]}, 200, 0)
        schema = graphql_schema()
        invalid = validate(schema, document)
        if invalid:
            return self._reply({"errors": [_format(e) for e in invalid]}, 200, 0)
        try:
            cost, nodes = _cost(document, variables if isinstance(variables, dict) else {})
        except _Refusal as refusal:
            return self._reply({"errors": [_format(refusal)]}, 200, 0)
        if nodes > MAX_NODES:
            message = f"By the time this query traverses to the nodes connection, it is requesting up to {nodes} nodes"
            return self._reply({"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": message}]}, 200, 0)
        if self._limited > 0 or self.remaining < cost:
            self._limited = max(0, self._limited - 1)
            self.remaining = 0
            limited = {"type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 1."}
            reply = self._reply({"errors": [limited]}, 200, 0)
            self.remaining = self.points if self._limited == 0 else 0  # restored at the reset, in the model
            return reply
        self.remaining -= cost
        self.costs.append(cost)
        result = execute_sync(
            schema,
            document,
            root_value=_Root(self.server, self.points, self.remaining, cost),
            variable_values=variables if isinstance(variables, dict) else None,
            operation_name=body.get("operationName"),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [_format(e) for e in result.errors]
        return self._reply(payload, 200, cost)

    def _reply(self, payload: Any, status: int, cost: int) -> Reply:
        reset = int(self.server.clock().timestamp()) + (self._reset_in if self.remaining == 0 else 3600)
        headers = [
            ("x-ratelimit-limit", str(self.points)),
            ("x-ratelimit-remaining", str(self.remaining)),
            ("x-ratelimit-used", str(self.points - self.remaining)),
            ("x-ratelimit-reset", str(reset)),
            ("x-ratelimit-resource", "graphql"),
        ]
        return Reply.json(status, payload, headers)


def _format(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error if isinstance(error.original_error, _Refusal) else error
    if isinstance(original, _Refusal):
        formatted["type"] = original.kind
    return formatted


# -- points and nodes -------------------------------------------------------------------------------------------------
def _cost(document: Any, variables: Mapping[str, Any]) -> tuple[int, int]:
    """(points, nodes) of the document's operation, by GitHub's published rule (see the module docstring)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    requests = nodes = 0

    def size(field: FieldNode) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                found = (
                    variables.get(value.name.value)
                    if isinstance(value, VariableNode)
                    else value_from_ast_untyped(value)
                )
                if isinstance(found, int):
                    return found
        return None

    def walk(selections: SelectionSetNode | None, parents: int) -> None:
        nonlocal requests, nodes
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                n = size(selection)
                if n is not None:
                    requests += parents
                    nodes += parents * n
                    walk(selection.selection_set, parents * n)
                else:
                    walk(selection.selection_set, parents)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, parents)
            elif isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set, parents)

    walk(operation.selection_set, 1)
    return max(1, round(requests / 100)), nodes


# -- resolvers: graphql-core calls a method named like the field with its arguments --------------------------------
def _connection(items: list[Any], args: Mapping[str, Any], field: str) -> dict[str, Any]:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        message = f"You must provide a `first` or `last` value to properly paginate the `{field}` connection."
        raise _Refusal("MISSING_PAGINATION_BOUNDARIES", message)
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= 100:
            message = (
                f"Requesting {value} records on the `{field}` connection exceeds the `{name}` limit of 100 records."
            )
            raise _Refusal("EXCESSIVE_PAGINATION", message)
    start, end = 0, len(items)
    if args.get("after"):
        start = _offset(args["after"]) + 1
    if args.get("before"):
        end = min(end, _offset(args["before"]))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    page = items[start:end]
    info = {
        "hasNextPage": end < len(items),
        "hasPreviousPage": start > 0,
        "startCursor": _cursor(start) if page else None,
        "endCursor": _cursor(end - 1) if page else None,
    }
    return {"nodes": page, "pageInfo": info, "totalCount": len(items), "filteredCount": len(items)}


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        return int(text.removeprefix("cursor:v2:"))
    except ValueError:
        raise _Refusal("INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor.") from None


def _time(moment: datetime | None) -> str | None:
    return gh_time(moment) if moment is not None else None


class _Root:
    def __init__(self, server: GitHubSandbox, points: int, remaining: int, cost: int) -> None:
        self.server, self._points, self._remaining, self._cost = server, points, remaining, cost

    def repository(self, info: Any, owner: str, name: str, **_: Any) -> _Repository:
        repo = self.server.repos.get(f"{owner}/{name}")
        if repo is None:
            raise _Refusal("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return _Repository(self.server, repo)

    def rateLimit(self, info: Any, **_: Any) -> dict[str, Any]:
        reset = datetime.fromtimestamp(int(self.server.clock().timestamp()) + 3600, UTC)
        used = self._points - self._remaining
        return {
            "cost": self._cost,
            "limit": self._points,
            "nodeCount": 0,
            "remaining": self._remaining,
            "resetAt": gh_time(reset),
            "used": used,
        }


class _Repository:
    def __init__(self, server: GitHubSandbox, repo: GitHubRepo) -> None:
        self.server, self.repo = server, repo
        self.nameWithOwner = repo.full_name

    def issue(self, info: Any, number: int) -> _Issue:
        found = self.repo.issues.get(number)
        if found is None or found.pull_request:
            raise _Refusal("NOT_FOUND", f"Could not resolve to an Issue with the number of {number}.")
        return _Issue(self.server, self.repo, found)

    def issues(self, info: Any, **args: Any) -> dict[str, Any]:
        filters = args.get("filterBy") or {}
        labels = set(args.get("labels") or ()) | set(filters.get("labels") or ())
        states = set(args.get("states") or ()) | set(filters.get("states") or ())
        since = filters.get("since")
        since_at = datetime.fromisoformat(str(since).replace("Z", "+00:00")) if since else None
        found = [
            issue
            for issue in self.repo.issues.values()
            if not issue.pull_request
            and (not labels or labels & set(issue.labels))
            and (not states or issue.state.upper() in states)
            and (since_at is None or issue.updated_at >= since_at)
        ]
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        keys: dict[str, Callable[[GitHubIssue], Any]] = {
            "CREATED_AT": lambda i: (i.created_at, i.number),
            "UPDATED_AT": lambda i: (i.updated_at, i.number),
            "COMMENTS": lambda i: (len(i.comments), i.number),
        }
        found.sort(key=keys[order["field"]], reverse=order["direction"] == "DESC")
        connection = _connection(found, args, "issues")
        connection["nodes"] = [_Issue(self.server, self.repo, issue) for issue in connection["nodes"]]
        return connection


def _actor(server: GitHubSandbox, login: str | None) -> dict[str, Any] | None:
    if not login:
        return None
    user = server.payloads.user(login)
    bot = login.endswith("[bot]")
    return {"__typename": "Bot" if bot else "User", "login": login.removesuffix("[bot]"), "databaseId": user["id"]}


class _Issue:
    def __init__(self, server: GitHubSandbox, repo: GitHubRepo, issue: GitHubIssue) -> None:
        self.server, self.repo, self.raw = server, repo, issue
        self.number, self.title, self.body = issue.number, issue.title, issue.body or ""
        self.url = f"{server.root}/{repo.full_name}/issues/{issue.number}"
        self.state = issue.state.upper()
        self.databaseId = issue.id
        self.closedAt, self.createdAt = _time(issue.closed_at), _time(issue.created_at)
        self.updatedAt = _time(issue.updated_at)
        self.author = _actor(server, issue.user)

    def stateReason(self, info: Any, enableDuplicate: bool = False) -> str | None:
        reason = self.raw.state_reason
        if reason == "duplicate" and not enableDuplicate:
            reason = "not_planned"
        return reason.upper() if reason else None

    def comments(self, info: Any, **args: Any) -> dict[str, Any]:
        connection = _connection(list(self.raw.comments), args, "comments")
        connection["nodes"] = [self._comment(c) for c in connection["nodes"]]
        return connection

    def _comment(self, comment: GitHubComment) -> dict[str, Any]:
        return {
            "databaseId": comment.id,
            "body": comment.body,
            "createdAt": _time(comment.created_at),
            "updatedAt": _time(comment.updated_at),
            "author": _actor(self.server, comment.user),
        }

    def labels(self, info: Any, **args: Any) -> dict[str, Any]:
        connection = _connection(list(self.raw.labels), args, "labels")
        connection["nodes"] = [{"name": name} for name in connection["nodes"]]
        return connection

    def timelineItems(self, info: Any, **args: Any) -> dict[str, Any]:
        kinds = {"labeled": "LABELED_EVENT", "unlabeled": "UNLABELED_EVENT"}
        wanted = set(args.get("itemTypes") or kinds.values())
        events = [e for e in self.raw.events if kinds.get(e.event) in wanted]
        connection = _connection(events, args, "timelineItems")
        connection["nodes"] = [self._event(e) for e in connection["nodes"]]
        return connection

    def _event(self, event: GitHubEvent) -> dict[str, Any]:
        typename = "LabeledEvent" if event.event == "labeled" else "UnlabeledEvent"
        return {
            "__typename": typename,
            "createdAt": _time(event.created_at),
            "label": {"name": event.label},
            "actor": _actor(self.server, event.actor),
        }
