import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.domain.test_formats import SEED_COMMENT, SEED_SECTION
from verifier.cli import main


def run(
    args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text", [SEED_COMMENT, SEED_SECTION])
def test_check_config_on_the_seed_formats(
    text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check-config", "-"], text, monkeypatch, capsys)
    assert code == 0
    assert "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))" in out
    assert "< 0.1 seconds" in out


def test_check_config_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check-config", "--json"], SEED_COMMENT, monkeypatch, capsys)
    assert code == 0 and json.loads(out)["threshold"] == "< 0.1 seconds"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nothing here", "no verification config found"),
        ("*Automated Verification Config*\n{code}\nmetric: x_bytes\ncondition: < 5ms\n{code}", "cannot be compared"),
    ],
)
def test_check_config_errors_are_one_line_and_exit_2(
    text: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["check-config"], text, monkeypatch, capsys)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_missing_file(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(["check-config", str(tmp_path / "nope.txt")], "", monkeypatch, capsys)
    assert code == 2 and "cannot read" in err


def test_python_dash_m_and_help_do_not_import_tracker_clients() -> None:
    probe = "import sys, runpy; sys.argv=['x','--help']\ntry: runpy.run_module('verifier', run_name='__main__')\nexcept SystemExit: pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('jira','github','prometheus_api_client','yaml')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


@pytest.mark.parametrize(
    ("flag", "warning"),
    [("--summary-file", ""), ("--report", "warning: run --report is deprecated, use --summary-file")],
)
def test_run_writes_its_summary_to_a_file_under_the_new_flag_and_the_old_one(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    flag: str,
    warning: str,
) -> None:
    """`run --report FILE` was taken for the `report` command: renamed `--summary-file` (#23); the old name still
    writes the same JSON and says, on one line of stderr, that it is deprecated."""
    from datetime import UTC, datetime, timedelta

    import structlog

    from tests.unit.services.test_run import ticket
    from tests.unit.test_bootstrap import Built, github_env

    request.addfinalizer(structlog.reset_defaults)  # the run's logger writes to this test's captured stderr
    github_env(monkeypatch)
    built = Built()
    built.tracker.add(ticket("acme/api#1", resolved_at=datetime.now(UTC) - timedelta(days=3)))
    path = tmp_path / "summary.json"
    assert main(["run", "--json", flag, str(path)], adapters=built.adapters()) == 0
    out, err = capsys.readouterr()
    assert json.loads(path.read_text()) == json.loads(out)
    assert json.loads(out)["counts"] == {"VERIFIED": 1}
    assert [line for line in err.splitlines() if "deprecated" in line] == (
        [warning + " (the same JSON)"] * bool(warning)
    )


class Writes:
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def test_json_output_is_written_in_pieces_of_about_64_kb() -> None:
    """`--json` (#26): json.dump would write every token alone (tens of thousands of writes through the redacting
    stream), one string would hold the whole report at once. Each write ends at the first of the encoder's pieces
    that reaches 65,536 characters; the last one ends the document with a newline."""
    from verifier.commands import print_json

    data = {"tickets": [{"key": f"OPS-{n}", "line": "x" * (n % 97)} for n in range(4000)]}
    out = Writes()
    print_json(data, out)  # type: ignore[arg-type]
    assert "".join(out.writes) == json.dumps(data, indent=2) + "\n"
    expected, size = [0], 0
    for piece in json.JSONEncoder(indent=2).iterencode(data):
        expected[-1] += len(piece)
        size += len(piece)
        if size >= 65536:
            expected.append(0)
            size = 0
    expected[-1] += 1  # the newline
    assert [len(w) for w in out.writes] == expected
    assert len(expected) > 3 and all(65536 <= n < 65536 + 200 for n in expected[:-1])


def test_json_output_reaching_64_kb_exactly_is_written_at_that_piece() -> None:
    """Pieces that add up to 65,536 characters exactly are written then, not one piece later, and the count starts
    again from nothing: here two writes of 65,536 characters, then the newline."""
    from verifier.commands import print_json

    data = ["x" * 65530, "y" * 65528]  # pieces: '[\n  "x…"', ',\n  "y…"', '\n', ']'
    assert [len(p) for p in json.JSONEncoder(indent=2).iterencode(data)] == [65536, 65534, 1, 1]
    out = Writes()
    print_json(data, out)  # type: ignore[arg-type]
    assert [len(w) for w in out.writes] == [65536, 65536, 1]
    short = ["x" * 65529]  # a first piece one character short: written with the piece after it
    assert [len(p) for p in json.JSONEncoder(indent=2).iterencode(short)] == [65535, 1, 1]
    out = Writes()
    print_json(short, out)  # type: ignore[arg-type]
    assert [len(w) for w in out.writes] == [65536, 2]
