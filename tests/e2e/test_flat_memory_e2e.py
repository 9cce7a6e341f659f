"""Flat memory (#26): the peak RSS of `run --json` grows by well under a kilobyte a due ticket once the tickets
outnumber what the run holds whole (`stream.WINDOW`) and the bounded memos (the Jira adapter's ids and workflow
statuses of the tickets it read, `_WORKFLOWS_KEPT`; the metric lookups per window, `shared.LOOKUPS`), all three
lowered in the child so that this runs in half a minute. The two sizes lie beyond the allocator's warm-up (below
about 1,500 tickets the peak still rises by a few KB a ticket while the process's arenas fill, then levels off).
Before, each due ticket stayed in memory from the listing to its write (its ticket, plan and result), and every
result to the run's end: 6.9 KB a ticket between these two sizes (measured on main, 2026-12-06), against about
0.6 KB now (what the listing keeps of each ticket beyond the window: key, link and due time).

The child is the CLI over HTTP against the Jira Cloud sandbox and the Prometheus API sandbox (the benchmark's
scenario, without latency); its own peak (VmHWM) is read, not ru_maxrss, which would count this process's too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from bench.bench import Bench, sandboxes
from tests.e2e.seed import REPO_ROOT

_PROBE = """
import sys
from verifier.services import stream
stream.WINDOW = 50
from verifier.adapters.jira import reading
reading._WORKFLOWS_KEPT = 64
from verifier.services import shared
shared.LOOKUPS = 64
from verifier.cli import main
code = main(["run", "--json"])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak-rss-kib={peak}", file=sys.stderr)
sys.exit(code)
"""


def _peak_kib(bench: Bench, **settings: str) -> tuple[int, dict[str, object]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VERIFIER_", "JIRA_", "GITHUB_"))},
        **bench.env(),
        "VERIFIER_PROMETHEUS_URL": bench.prometheus.url,
        "VERIFIER_CONCURRENCY": "8",
        "VERIFIER_MAX_WRITES": "1000000",
        "VERIFIER_LOG_LEVEL": "warning",
        "VERIFIER_SPARKLINE": "false",  # one query a ticket: the run is shorter, what it keeps the same
        "VERIFIER_SECRETS_DIR": str(REPO_ROOT / "tests" / "e2e" / "no-secrets-here"),
        **settings,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stderr.rsplit("peak-rss-kib=", 1)[1].split()[0]), json.loads(done.stdout)


def test_peak_rss_grows_by_a_fraction_of_what_it_did_a_due_ticket() -> None:
    now = datetime.now(UTC)
    peaks, sizes = [], (1_500, 3_000)
    for size in sizes:
        with sandboxes("jira", size, now) as bench:
            peak, report = _peak_kib(bench)
        assert report["counts"] == {"VERIFIED": size} and report["writes"] == size
        assert len(report["tickets"]) == size  # type: ignore[arg-type]
        peaks.append(peak)
    growth = (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])
    print(f"peak RSS {peaks[0]} KiB at {sizes[0]}, {peaks[1]} KiB at {sizes[1]}: {growth:.2f} KiB a ticket")
    assert growth < 2.5, (peaks, growth)  # 6.9 before; the margin is the peak's noise, about 1 MB a run


def test_a_dry_runs_peak_rss_grows_by_a_fraction_of_what_it_did_a_due_ticket() -> None:
    """A dry run (`VERIFIER_DRY_RUN`, the chart's default) takes the same window and read back: before, it held every
    due ticket whole to its end for the first-run plan (4.1 KiB a ticket between these sizes on `main`,
    2026-12-06); now the plan keeps a count a ticket, and each result is printed once final."""
    now = datetime.now(UTC)
    peaks, sizes = [], (1_500, 3_000)
    for size in sizes:
        with sandboxes("jira", size, now) as bench:
            peak, report = _peak_kib(bench, VERIFIER_DRY_RUN="true")
            kinds = bench.kinds()
        # A dry run sends no write, though it reads the tickets beyond the window back (`key in (…)` searches).
        assert kinds["writes"] == 0 and kinds["batched re-reads"] >= (size - 50) // 50, kinds
        assert report["counts"] == {"VERIFIED": size} and report["writes"] == 0 and report["dry_run"] is True
        assert len(report["tickets"]) == size  # type: ignore[arg-type]
        assert report["plan"] == {
            "writes": size,  # Jira: the result comment and its label in one request
            "by_kind": {"comment": size, "label": size},
            "budget": 1_000_000,
            "runs": 1,
            "last_run_after_hours": 0.0,
        }
        peaks.append(peak)
    growth = (peaks[1] - peaks[0]) / (sizes[1] - sizes[0])
    print(f"dry run: peak RSS {peaks[0]} KiB at {sizes[0]}, {peaks[1]} KiB at {sizes[1]}: {growth:.2f} KiB a ticket")
    assert growth < 2.5, (peaks, growth)
