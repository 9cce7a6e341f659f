"""The hostile-input suite runs on the end-to-end fixtures: contract-validated sandbox trackers and a real
Prometheus (see tests/e2e/conftest.py)."""

import pytest

from tests.e2e.conftest import (  # noqa: F401  (fixtures, re-exported for this directory)
    contracts,
    github,
    github_contract,
    jira_cloud,
    jira_contract,
    jira_dc,
    live_prometheus,
    make_desk,
    metrics_proxy,
    prometheus,
    t,
)
from tests.e2e.seed import Desk


@pytest.fixture
def jira(request: pytest.FixtureRequest) -> Desk:
    """A Jira Cloud desk, for tests that attack one tracker."""
    return make_desk(request, "jira-cloud")


@pytest.fixture
def gh(request: pytest.FixtureRequest) -> Desk:
    """A GitHub desk, for tests that attack one tracker."""
    return make_desk(request, "github")
