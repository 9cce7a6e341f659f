"""One set of exit codes: the enum the CLI and the run return is the one the README documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verifier.cli import main
from verifier.exit_codes import RETRIED, RUN, ExitCode, for_verdict
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


def _readme_rows() -> dict[int, list[str]]:
    table = README.read_text(encoding="utf-8").split("| exit code |", 1)[1].split("\n\n", 1)[0]
    rows: dict[int, list[str]] = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        for code in cells[0].split(","):
            rows[int(code)] = cells
    return rows


def test_the_readme_says_which_run_exit_codes_the_job_retries_as_the_enum_does() -> None:
    rows = _readme_rows()
    assert {code: rows[code][-1] for code, _, _ in RUN} == {
        code: "yes" if retried else "no" for code, retried, _ in RUN
    }
    assert RETRIED == (ExitCode.FAILED,)
    assert {code for code, cells in rows.items() if cells[-1] == "—"} == {3, 4, 5}  # `evaluate` only


def test_run_help_names_every_run_exit_code_and_which_are_retried(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    named = {int(code): meaning for code, meaning in re.findall(r"Exit (\d+): (.*?)\.(?= Exit|\s*options:|$)", text)}
    assert sorted(named) == sorted(int(code) for code, _, _ in RUN)
    assert {code for code, meaning in named.items() if "(retried by the Job)" in meaning} == set(RETRIED)


def test_a_run_that_failed_after_writing_is_not_the_retried_code() -> None:
    from datetime import UTC, datetime

    from verifier.services.run import TicketResult

    report = RunReport(started=datetime.now(UTC), dry_run=False, errors=["listing stopped: HTTP 502"])
    assert report.exit_code is ExitCode.FAILED
    report.results.append(TicketResult("A-1", "u", "VERIFIED", "held", writes=2))
    assert report.exit_code is ExitCode.STOPPED_AFTER_WRITES


def test_tickets_that_ended_in_error_are_a_complete_listing_but_not_a_complete_run() -> None:
    from datetime import UTC, datetime

    from verifier.services.run import TicketResult

    report = RunReport(started=datetime.now(UTC), dry_run=False)
    report.results.append(TicketResult("A-1", "u", "ERROR", "backend failed"))
    assert report.exit_code is ExitCode.FAILED  # every measurement failed: the run as a whole, retried
    report.results.append(TicketResult("A-2", "u", "VERIFIED", "held", writes=2))
    assert report.exit_code is ExitCode.OK and report.complete is False  # one ticket's ERROR: not retried
    report.results[0].outcome = "VERIFIED"
    assert report.complete is True
