"""The hostile-input suite runs on the end-to-end fixtures: contract-validated sandbox trackers and a real
Prometheus (see tests/e2e/conftest.py)."""

from tests.e2e.conftest import (  # noqa: F401  (fixtures, re-exported for this directory)
    contracts,
    github,
    github_contract,
    jira_cloud,
    jira_contract,
    jira_dc,
    live_prometheus,
    metrics_proxy,
    prometheus,
    t,
)
