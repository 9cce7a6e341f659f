"""Sandbox trackers for the adapter tests, each with the contract validator on every exchange.

A fixture's teardown fails the test when any request the adapter sent or any reply the sandbox gave broke the
official API description (see contract.py), or when a sandbox hook raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.contract import (
    GITHUB_CONTRACT,
    JIRA_CONTRACT,
    ContractValidator,
    jira_paths,
    require_contracts,
    strip_prefix,
)
from tests.adapters.graphql_contract import GRAPHQL_CONTRACT
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import SandboxServer
from verifier_sandbox.jira import JiraSandbox


@pytest.fixture(scope="session")
def contracts() -> Path:
    return require_contracts()


def _validated(server: SandboxServer, validator: ContractValidator) -> Iterator[ContractValidator]:
    server.start()
    server.on_exchange(validator)
    try:
        yield validator
    finally:
        server.stop()
    assert not server.hook_errors, server.hook_errors
    assert not validator.violations, "contract violations:\n" + "\n".join(validator.violations)


@pytest.fixture
def jira_contract(contracts: Path) -> ContractValidator:
    # The site's tenant info (its cloud id) is a page of the site, not of the REST API (tests/contracts/README.md).
    outside = {("GET", "/_edge/tenant_info"): "the site's cloud id"}
    return ContractValidator(contracts / JIRA_CONTRACT, rewrite=jira_paths, outside_subset=outside)


@pytest.fixture
def github_contract(contracts: Path) -> ContractValidator:
    # GET /app is how an App learns its own slug; it is not in the subset (docs.github.com/rest/apps/apps).
    outside = {("GET", "/app"): "get the authenticated app"}
    graphql = ("/graphql", contracts / GRAPHQL_CONTRACT)
    return ContractValidator(contracts / GITHUB_CONTRACT, outside_subset=outside, graphql=graphql)


@pytest.fixture
def jira_cloud(jira_contract: ContractValidator) -> Iterator[JiraSandbox]:
    server = JiraSandbox("cloud")
    for _ in _validated(server, jira_contract):
        yield server


@pytest.fixture
def jira_dc(jira_contract: ContractValidator) -> Iterator[JiraSandbox]:
    server = JiraSandbox("datacenter")
    for _ in _validated(server, jira_contract):
        yield server


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest, jira_contract: ContractValidator) -> Iterator[JiraSandbox]:
    server = JiraSandbox(request.param)
    for _ in _validated(server, jira_contract):
        yield server


@pytest.fixture
def github(github_contract: ContractValidator) -> Iterator[GitHubSandbox]:
    server = GitHubSandbox()
    for _ in _validated(server, github_contract):
        yield server


@pytest.fixture
def github_enterprise(contracts: Path) -> Iterator[GitHubSandbox]:
    """A GitHub Enterprise Server: the API lives under /api/v3."""
    server = GitHubSandbox(base_path="/api/v3")
    graphql = ("/api/graphql", contracts / GRAPHQL_CONTRACT)  # beside /api/v3, as on GHES
    validator = ContractValidator(contracts / GITHUB_CONTRACT, rewrite=strip_prefix("/api/v3"), graphql=graphql)
    for _ in _validated(server, validator):
        yield server
