"""Every test starts with structlog as it ships: a command run in-process by an earlier test leaves its logging
configured, level filter and output stream included, and a later `capture_logs` test would then see nothing below
that level (`test_doctor_permissions.py` sets VERIFIER_LOG_LEVEL=error), or log to a stream pytest has closed."""

from __future__ import annotations

import pytest
import structlog


@pytest.fixture(autouse=True)
def shipped_logging() -> None:
    structlog.reset_defaults()
