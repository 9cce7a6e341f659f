import io
import json

import structlog

from verifier import logs


def test_known_secrets_never_reach_a_log_line() -> None:
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    secrets = ["ghp_AAAABBBBCCCC1234", "jira-api-token-XYZ", "prom-bearer-987654"]
    logs.register_secrets(secrets)
    log = structlog.get_logger("test")
    log.info(
        "request",
        url="https://api.example/?token=ghp_AAAABBBBCCCC1234",
        headers={"Authorization": "Bearer prom-bearer-987654"},
    )
    log.error("failed", error=RuntimeError("401 for jira-api-token-XYZ"))
    try:
        raise ValueError("boom with ghp_AAAABBBBCCCC1234")
    except ValueError:
        log.exception("crashed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    for line in lines:
        json.loads(line)
        for secret in secrets:
            assert secret not in line
    assert "**********" in lines[0]


def test_console_format_for_terminals() -> None:
    stream = io.StringIO()
    logs.configure(json=False, stream=stream)
    structlog.get_logger("t").info("ticket", ticket="OPS-1", verdict="VERIFIED")
    assert "ticket" in stream.getvalue()
    assert "OPS-1" in stream.getvalue()
    assert not stream.getvalue().startswith("{")
