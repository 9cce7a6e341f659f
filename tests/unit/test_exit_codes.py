"""One set of exit codes: the enum the CLI and the run return is the one the README documents."""

from __future__ import annotations

import re
from pathlib import Path

from verifier.cli import main
from verifier.exit_codes import ExitCode, for_verdict
from verifier.services.run import RunReport

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_lists_every_exit_code() -> None:
    table = README.read_text(encoding="utf-8").split("| exit code |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| ([\d, ]+) \| ", table, re.MULTILINE)
    documented = {int(code) for row in rows for code in row.split(",")}
    assert documented == {code.value for code in ExitCode}


def test_evaluate_answers_one_code_per_verdict() -> None:
    verdicts = ("VERIFIED", "FAILED", "INVALID", "INCONCLUSIVE", "PENDING", "ERROR")
    assert [for_verdict(v) for v in verdicts] == [0, 1, 2, 3, 4, 5]


def test_the_run_and_the_cli_return_the_enum(capsys: object) -> None:
    from datetime import UTC, datetime

    report = RunReport(started=datetime.now(UTC), dry_run=False)
    assert report.exit_code is ExitCode.OK
    report.interrupted = True
    assert report.exit_code is ExitCode.INTERRUPTED
    assert main([]) is ExitCode.INVALID
