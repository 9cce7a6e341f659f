"""bench's memory lines: a size measured is judged as measured, an estimate is called one (#26)."""

from collections import Counter

import pytest

from bench.bench import Row, print_memory


def _row(size: int, rss: float) -> Row:
    return Row("jira", size, 1.0, rss, Counter(), 1.0, 1.0, 0.0, Counter(), {})


def test_a_run_measured_at_50000_is_judged_on_its_own_peak_not_on_the_growth_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_memory([_row(1_000, 82), _row(10_000, 109), _row(50_000, 129)])
    out = capsys.readouterr().out
    assert "jira 50,000 measured: 129 MB (within the goal)" in out
    assert "jira 1,000 -> 10,000: +3.07 KB a further ticket\n" in out
    assert "MISSES" not in out and "estimate" not in out


def test_a_peak_over_the_goal_at_50000_misses_it(capsys: pytest.CaptureFixture[str]) -> None:
    print_memory([_row(10_000, 109), _row(50_000, 151)])
    assert "jira 50,000 measured: 151 MB (MISSES the goal)" in capsys.readouterr().out


def test_without_50000_the_figure_is_called_an_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    print_memory([_row(1_000, 82), _row(10_000, 109)])
    out = capsys.readouterr().out
    assert "at that rate 50,000 would take about 229 MB (an estimate: --sizes 50000 measures)" in out
    assert "measured" not in out.replace("--sizes 50000 measures", "")
