import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def done() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", "demo"], capture_output=True, text=True, timeout=120, check=False
    )


def test_demo_shows_every_verdict_and_the_second_run_writes_nothing(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    out = done.stdout
    first, second = out.split("Second run")
    for verdict in ("VERIFIED", "FAILED", "INCONCLUSIVE", "PENDING", "INVALID", "SKIPPED"):
        assert f"  {verdict} " in first, verdict
    assert "reopen" in first
    assert "histogram_quantile(0.99" in first
    assert "action-item-verifier result v1; verdict=FAILED" in first
    assert "tracker writes in the second run: 0" in second
    assert "Traceback" not in done.stderr


def test_demo_ends_with_the_week_s_report_matching_its_tickets(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    report = done.stdout.split("The week's report")[1]
    # Ten tickets: the eight of INC-2041 filed six days ago (two held, one regressed and reopened, one without
    # data, one pending, one invalid, one Won't Do, one untrusted), a runbook filed two days ago and still open,
    # and a P1 from INC-1987 open for twelve days: five days past its seven.
    assert "Fix-hold rate: **67%** (2 held, 1 regressed). 1 open past their due date." in report
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| service")]
    assert rows == [
        "| (no service recorded) | 2 | 2 | 1 | 0 | 0 | 0 | 0 | 0 | 100% |",
        # Won't Do is closed, not completed; the regressed one reopened by the run was completed
        "| checkout | 7 | 5 | 1 | 1 | 1 | 1 | 1 | 0 | 50% |",
        "| payments | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | n/a |",
        "| **all** | 9 | 7 | 2 | 1 | 1 | 1 | 1 | 1 | 67% |",
    ]
    failed, overdue = report.split("### Failed verification")[1].split("### Overdue")
    assert [line.split("]")[0] for line in failed.splitlines() if line.startswith("- [")] == ["- [OPS-2"]
    assert [line.split("]")[0] for line in overdue.splitlines() if line.startswith("- [")] == ["- [OPS-10"]
    assert "Add a circuit breaker to the payments client (payments): P1, due " in overdue
    assert "5 days late" in overdue


def test_demo_comments_show_the_graph_link_and_the_sparkline(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    comments = done.stdout.split("Comments the verifier wrote:")[1].split("Second run")[0]
    failed = comments.split("--- OPS-2 ")[1].split("--- ")[0]
    assert "[Graph of the window in Prometheus|http://127.0.0.1:" in failed
    assert "g0.expr=histogram_quantile%280.99" in failed
    assert "Window: ████" in failed and "threshold < 0.3 seconds lies below the whole line" in failed
    # Every judged comment has its link; the invalid one has none.
    assert comments.count("[Graph of the window in Prometheus|") == 4
    assert "Graph" not in comments.split("--- OPS-5 ")[1].split("--- ")[0]
