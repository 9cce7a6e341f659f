"""Every unit test starts with structlog as it ships: a command run in-process by an earlier test (the e2e and
hostile suites run before this directory) leaves its logging configured, level filter included, and a
`capture_logs` test would then see nothing of a warning."""

from __future__ import annotations

import pytest
import structlog


@pytest.fixture(autouse=True)
def shipped_logging() -> None:
    structlog.reset_defaults()
