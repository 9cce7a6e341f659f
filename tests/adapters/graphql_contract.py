"""Contract checks for GitHub's GraphQL API: each query the adapter sends and each answer the sandbox gives, held to
GitHub's published schema (the subset in tests/contracts/github.subset.graphql; provenance in the README there).

- Request: a JSON object with a `query` that parses and passes graphql-core's validation against the schema (every
  field, argument and fragment exists and is typed right), and `variables` that coerce to the operation's variable
  types (a `String` where an `Int!` is due is refused, as GitHub refuses it).
- Answer: `data` has exactly the query's shape under the schema: the query is executed over the answer itself
  (each field read from the answer by its response key), so a null where the schema says non-null, a value no enum
  has, a list where an object is due or an abstract type without its `__typename` is a violation. An answer with
  `errors` must give each a `message` (GitHub's errors also carry a `type`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLSchema,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.error import GraphQLError
from graphql.execution.values import get_variable_values

from verifier_sandbox.http import Exchange

GRAPHQL_CONTRACT = "github.subset.graphql"


@functools.cache
def load_schema(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text())


def _from_answer(source: Any, info: Any, **_: Any) -> Any:
    """Read a field from the answer by its response key (its alias, or its name)."""
    return source.get(info.path.key) if isinstance(source, Mapping) else None


def violations(schema: GraphQLSchema, exchange: Exchange) -> list[str]:
    """What in the exchange GitHub's schema would not allow, one line each."""
    request, reply = exchange.request, exchange.reply
    where = f"{request.method} {request.path}"
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return [f"{where}: request body is not JSON"]
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return [f"{where}: request has no query"]
    try:
        document = parse(body["query"])
    except GraphQLError as error:
        return [f"{where}: query does not parse: {error.message}"]
    invalid = validate(schema, document)
    if invalid:
        return [f"{where}: query: {e.message}" for e in invalid]
    operation = get_operation_ast(document, body.get("operationName"))
    if operation is None:
        return [f"{where}: no operation to run"]
    variables = body.get("variables") or {}
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return [f"{where}: variables: {e.message}" for e in coerced]
    if reply.status != 200:
        return []  # 403/429 rate limits and 5xx are REST-shaped refusals, checked by the retry tests
    answer = reply.payload()
    if not isinstance(answer, dict):
        return [f"{where} -> 200: answer is not a JSON object"]
    if answer.get("errors"):
        errors = answer["errors"]
        if not isinstance(errors, list) or not all(isinstance(e, dict) and e.get("message") for e in errors):
            return [f"{where} -> 200: errors without messages"]
        return []
    data = answer.get("data")
    result = execute_sync(schema, document, root_value=data, variable_values=variables, field_resolver=_from_answer)
    return [f"{where} -> 200: data: {e.message} at {e.path}" for e in result.errors or ()]
