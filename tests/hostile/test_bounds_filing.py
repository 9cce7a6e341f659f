"""The action-items file as an attack (#22): a YAML alias bomb, deep nesting and huge values end in one bounded
line and exit 2, through the CLI, within a second of parsing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.seed import REPO_ROOT, base_env
from verifier.exit_codes import ExitCode

pytestmark = pytest.mark.integration

#: The billion laughs in 795 bytes or so: nine levels of ten aliases each (10⁹ strings once expanded).
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(ord('a') + n)}: &{chr(ord('a') + n)} [{','.join(['*' + chr(ord('a') + n - 1)] * 9)}]\n"
        for n in range(1, 9)
    )
    + "incident: {id: INC-1, metric_name: m, threshold_value: 1, actual_value: 2, service_name: s,"
    " environment: prod, triggered_at: '2026-11-20T09:41:00Z'}\n"
    "items:\n  - title: t\n    priority: P1\n    verification: {metric: m, condition: '< 1', delay: 1h}\n"
    "    labels: *i\n"
)


def file_dry_run(tmp_path: Path, text: str) -> tuple[subprocess.CompletedProcess[str], float]:
    path = tmp_path / "action-items.yaml"
    path.write_text(text, encoding="utf-8")
    env = base_env("http://127.0.0.1:9", VERIFIER_JIRA_URL="http://127.0.0.1:9", VERIFIER_JIRA_PAT="x" * 20)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "file", str(path), "--dry-run"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - started


def test_an_alias_bomb_in_the_action_items_file_is_refused_at_once_in_one_short_line(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB) < 1000
    done, _ = file_dry_run(tmp_path, ALIAS_BOMB)
    assert done.returncode == ExitCode.INVALID, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "error: the action-items file is not valid YAML: anchors and aliases (*name) are not allowed (line 2)"
    )


def test_the_refusal_of_an_alias_bomb_takes_well_under_a_second_of_parsing(tmp_path: Path) -> None:
    from verifier.domain.filing import parse_filing
    from verifier.errors import ConfigError

    started = time.process_time()
    with pytest.raises(ConfigError, match="aliases"):
        parse_filing(ALIAS_BOMB)
    assert time.process_time() - started < 1.0  # the interpreter's start is not the parser's doing


def test_nesting_deeper_than_the_cap_is_refused_with_the_cap_named(tmp_path: Path) -> None:
    done, _ = file_dry_run(tmp_path, "items: " + "[" * 33 + "]" * 33 + "\n")
    assert done.returncode == ExitCode.INVALID, done.stderr
    assert (
        done.stderr.strip() == "error: the action-items file is not valid YAML: nested deeper than 32 levels (line 1)"
    )


def test_nesting_a_hundred_thousand_deep_is_one_short_line_and_exit_2(tmp_path: Path) -> None:
    done, _ = file_dry_run(tmp_path, "items: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert done.returncode == ExitCode.INVALID, done.stderr
    assert done.stderr.startswith("error: the action-items file is not valid YAML: ")
    assert "nest" in done.stderr and len(done.stderr) < 200 and done.stderr.count("\n") == 1


def test_a_huge_unknown_key_and_a_huge_bad_value_are_quoted_as_short_excerpts(tmp_path: Path) -> None:
    key = "k" * 500_000
    done, _ = file_dry_run(tmp_path, f"? {key}\n: 1\nincident: {{}}\nitems: []\n")
    assert done.returncode == ExitCode.INVALID, done.stderr
    assert len(done.stderr) < 300, len(done.stderr)
    assert "k" * 80 + " unknown" not in done.stderr and "k" * 80 in done.stderr and "unknown field" in done.stderr
