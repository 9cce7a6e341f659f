"""Bad settings and unreachable trackers end in one readable line and a defined exit code, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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


def _as_the_image_user() -> list[str]:
    """A prefix running the command as the image's user (65532): root reads any directory, whatever its mode."""
    if os.getuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root and setpriv (util-linux) is missing: an unreadable directory cannot be made")
    return [setpriv, "--reuid=65532", "--regid=65532", "--clear-groups"]


@pytest.mark.parametrize("what", ["directory", "file"])
def test_an_unreadable_secrets_directory_is_one_line_and_exit_2(what: str) -> None:
    """A secret volume mounted with modes the Pod's user cannot read: a settings error naming the path."""
    with tempfile.TemporaryDirectory() as parent:  # under /tmp, which the image's user can reach
        Path(parent).chmod(0o755)
        secrets = Path(parent) / "secrets"
        secrets.mkdir()
        (secrets / "VERIFIER_JIRA_PAT").write_text("not-a-real-token")
        _unreadable_secrets(secrets, what)


def _unreadable_secrets(secrets: Path, what: str) -> None:
    if what == "directory":
        secrets.chmod(0o100)  # can be entered, not listed
    else:
        secrets.chmod(0o755)
        (secrets / "VERIFIER_JIRA_PAT").chmod(0o000)
    env = {**BASE, "VERIFIER_TRACKER": "jira", "VERIFIER_JIRA_URL": "http://127.0.0.1:9", "HOME": "/tmp"}
    env["VERIFIER_SECRETS_DIR"] = str(secrets)
    done = subprocess.run(
        [*_as_the_image_user(), sys.executable, "-m", "verifier", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: invalid settings: VERIFIER_SECRETS_DIR: cannot read {secrets}"), done.stderr
    assert "Permission denied" in done.stderr
    assert "not-a-real-token" not in done.stdout + done.stderr
