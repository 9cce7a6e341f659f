"""Contract checks: every exchange with a sandbox tracker, validated against the trackers' official OpenAPI files.

`ContractValidator` is an `on_exchange` hook for the sandbox servers. It validates the request the adapter sent and
the reply the sandbox gave with openapi-core 0.23, and collects violations; the fixtures in conftest.py assert at
teardown that there are none. So a test fails when the adapter sends what the real API would reject, and when the
sandbox answers what the real API would not.

Where the contract files live: `tests/contracts/` in this repository (provenance and licences in its README), or
`$VERIFIER_CONTRACTS_DIR` to validate against other copies. Missing files skip the adapter tests locally and fail
them when `$CI` is set.

How the sandbox traffic is mapped onto the descriptions, and why:
- Host: openapi-core matches the request URL against the description's `servers`; the sandbox listens on
  127.0.0.1, so the wrapper presents each request under the description's own server URL.
- Jira: the description covers `/rest/api/3/...` only. The v2 API has the same paths and bodies except that rich
  text is a wiki string instead of an ADF object, and the description leaves `body`/`description` untyped, so v2
  (and `latest`) paths are validated as their v3 twins.
- Jira Cloud through Atlassian's API gateway (scoped tokens): `/ex/jira/<cloud id>/rest/api/...` is the site's
  `/rest/api/...`, validated as such.
- GitHub: a GitHub Enterprise-style base path (`/api/v3`) is stripped before matching.
- Statuses a description does not list (429, 5xx, Jira Cloud's 410 for the removed search) are real behaviour the
  README documents; their replies are not validated (`unchecked` counts them). The request is validated anyway.
- 204 replies: Jira's description declares `application/json` content (schema `{}`) for 204s, but a 204 carries no
  body by definition (RFC 9110 §15.3.5), so an empty 204 is accepted.
- `nullable: true` with an `enum`: OpenAPI 3.0.3 clarified that `nullable` does not add null to an enum, and
  openapi-core applies that reading, but GitHub's description marks enums such as `issue.state_reason` nullable
  without listing null, while the API answers `"state_reason": null` for open issues and pull requests. The loader
  adds null to such enums (and to nothing else).
- Paths outside the subset are violations unless listed in `outside_subset` with a reason.
- A reply a test injects as deliberately outside the description (header `MALFORMED`: JSON nested 200,000 deep,
  say, which no validator can even parse) models a server that does not keep to it: it is counted in `unchecked`,
  not validated; its request is validated as usual.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.response.exceptions import MissingData
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.adapters import graphql_contract
from verifier_sandbox.http import Exchange

CONTRACTS_ENV = "VERIFIER_CONTRACTS_DIR"
JIRA_CONTRACT = "jira-platform-rest.subset.openapi.json"
GITHUB_CONTRACT = "github-issues-rest.subset.openapi.json"
REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_CONTRACTS = REPO_ROOT / "tests" / "contracts"


#: The header an injected reply carries when it is deliberately outside the API description (see above).
MALFORMED = "X-Sandbox-Malformed"


def contracts_dir() -> Path | None:
    """Where the contract files are, or None when they cannot be found."""
    override = os.environ.get(CONTRACTS_ENV)
    folder = Path(override) if override else BUNDLED_CONTRACTS
    if all((folder / name).is_file() for name in (JIRA_CONTRACT, GITHUB_CONTRACT, graphql_contract.GRAPHQL_CONTRACT)):
        return folder
    return None


def require_contracts() -> Path:
    """The contracts folder; skips the test when it is missing, and fails it in CI."""
    folder = contracts_dir()
    if folder is not None:
        return folder
    where = os.environ.get(CONTRACTS_ENV) or str(BUNDLED_CONTRACTS)
    message = f"API contracts not found in {where} (set {CONTRACTS_ENV} to their folder)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@functools.cache
def load_contract(path: Path) -> tuple[OpenAPI, str]:
    """The parsed description (cached: the files are large) and the URL of its first server."""
    document = json.loads(path.read_text())
    _null_in_nullable_enums(document)
    server = str(document["servers"][0]["url"]).rstrip("/")
    return OpenAPI.from_dict(document, base_uri=path.resolve().as_uri()), server


def _null_in_nullable_enums(node: Any) -> None:
    """Add null to the `enum` of every `nullable: true` schema (see the module docstring)."""
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)


@dataclass(frozen=True)
class _Request:
    """openapi-core's `Request` protocol over a recorded sandbox request."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters


@dataclass(frozen=True)
class _Response:
    """openapi-core's `Response` protocol over a sandbox reply."""

    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers


def jira_paths(path: str) -> str | None:
    """Validate v2 (and `latest`) paths as their v3 twins, and the API gateway's (`/ex/jira/<cloud id>/rest/...`,
    scoped tokens) as the site's; see the module docstring."""
    path = re.sub(r"^/ex/jira/[0-9A-Fa-f-]+/rest/", "/rest/", path)
    return re.sub(r"^/rest/api/(2|latest)/", "/rest/api/3/", path)


def strip_prefix(prefix: str) -> Callable[[str], str | None]:
    def rewrite(path: str) -> str | None:
        if not prefix:
            return path
        return path[len(prefix) :] if path.startswith(prefix + "/") else None

    return rewrite


@dataclass
class ContractValidator:
    """Validates exchanges against one description; `violations` lists what failed, one line each."""

    contract: Path
    rewrite: Callable[[str], str | None] = lambda path: path
    outside_subset: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (METHOD, path regex) -> why
    graphql: tuple[str, Path] | None = None  # (path, schema): POST there is GraphQL, held to the schema instead
    violations: list[str] = field(default_factory=list)
    checked: int = 0
    unchecked: int = 0

    def __call__(self, exchange: Exchange) -> None:
        request, reply = exchange.request, exchange.reply
        if self.graphql is not None and (request.method, request.path) == ("POST", self.graphql[0]):
            self.checked += 1
            self.violations += graphql_contract.violations(graphql_contract.load_schema(self.graphql[1]), exchange)
            return
        path = self.rewrite(request.path)
        where = f"{request.method} {request.path}"
        if path is None:
            self.violations.append(f"{where}: outside the API's base path")
            return
        if any(m == request.method and re.fullmatch(p, path) for m, p in self.outside_subset):
            return
        openapi, server = load_contract(self.contract)
        wrapped = _Request(
            host_url=server,
            path=path,
            method=request.method.lower(),
            body=request.body or None,
            content_type=request.headers.get("content-type", "").lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(list(request.query)),
                header=Headers(list(request.headers.items())),
                cookie=ImmutableMultiDict(),
                path={},
            ),
        )
        response = _Response(reply.status, reply.body or None, reply.content_type, Headers(list(reply.headers)))
        self.checked += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Unsupported scheme type" for Jira's OAuth2 scheme
            try:
                openapi.validate_request(wrapped)
            except Exception as exc:
                self.violations.append(f"{where}: request: {_describe(exc)}")
                return
            if exchange.injected and any(name == MALFORMED for name, _ in reply.headers):
                self.unchecked += 1
                return
            try:
                openapi.validate_response(wrapped, response)
            except ResponseNotFound:
                self.unchecked += 1
            except MissingData:
                if reply.status != 204:
                    self.violations.append(f"{where} -> {reply.status}: reply has no body")
            except Exception as exc:
                self.violations.append(f"{where} -> {reply.status}: reply: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    """The exception and the schema errors underneath it (with where in the document they are), on one line."""
    parts = [type(exc).__name__]
    current: BaseException | None = exc
    while current is not None:
        errors = getattr(current, "schema_errors", None)
        if errors:
            for error in errors:
                where = "/".join(str(p) for p in getattr(error, "absolute_path", ())) or "(root)"
                parts.append(f"at {where}: {_short(getattr(error, 'message', str(error)))}")
            break
        if current is not exc or not current.__cause__:
            parts.append(_short(str(current)))
        current = current.__cause__
    return " | ".join(parts)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
