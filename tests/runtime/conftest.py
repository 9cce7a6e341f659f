"""Fixtures for the image's runtime contract: the trackers' sandboxes and a real Prometheus, as in tests/e2e."""

from tests.adapters.conftest import contracts, jira_cloud, jira_contract  # noqa: F401  (fixtures)
from tests.e2e.conftest import live_prometheus, prometheus, t  # noqa: F401  (fixtures)
