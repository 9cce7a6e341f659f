"""Bad settings and unreachable trackers end in one readable line and a defined exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

BASE = {
    "PATH": "/usr/bin:/bin",
    "VERIFIER_PROMETHEUS_URL": "http://127.0.0.1:9",
    "VERIFIER_SECRETS_DIR": "/nonexistent",
}


def verifier(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", *args], env={**BASE, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", [["run"], ["report"], ["doctor"]])
def test_a_jira_without_credentials_is_a_settings_error(command: list[str]) -> None:
    done = verifier(*command, VERIFIER_TRACKER="jira", VERIFIER_JIRA_URL="https://example.atlassian.net")
    assert "Traceback" not in done.stderr
    if command == ["doctor"]:
        assert done.returncode == 1
        assert "FAIL  tracker (jira)" in done.stdout
        assert "email" in done.stdout
    else:
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert "Jira Cloud needs email + api_token" in done.stderr


def test_an_unreachable_tracker_is_one_line_and_exit_1() -> None:
    done = verifier(
        "run",
        VERIFIER_TRACKER="jira",
        VERIFIER_JIRA_URL="http://127.0.0.1:9",
        VERIFIER_JIRA_PAT="not-a-real-token",
        VERIFIER_TRACKER_TIMEOUT_SECONDS="2",
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "error:" in done.stdout + done.stderr
    assert "not-a-real-token" not in done.stdout + done.stderr
