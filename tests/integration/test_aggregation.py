"""A config over thousands of series whose whole answer passes the metrics answer cap (8 MiB), judged through
`evaluate` against real backends by aggregation: counts and the worst series alone (#22).

    A-2h, A-1h  every pod's queue depth 10: the window ending at A-1h holds
    A           three pods of 4,000 at 150, 180, 120: the window ending at A breaks, p-0042 worst

Each series carries a 2,300-character label, so the instant answer for every series is about 9.5 MB.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import requests

from tests.integration.backends import History, MetricsBackend, quiet_anchor
from tests.integration.test_evaluate_cli import ROOT, clean_env, fields
from verifier import defaults

pytestmark = pytest.mark.integration

ANCHOR = quiet_anchor()
PODS = 4_000
PAD = "x" * 2_300
BAD = {7: 150.0, 42: 180.0, 99: 120.0}
CONFIG = """```yaml
# action-item-verifier: v1
metric: queue_depth
condition: "< 100"
delay: 1h
window: 30m
```
"""


@pytest.fixture(scope="module")
def history() -> History:
    h = History(start=ANCHOR - timedelta(hours=2), end=ANCHOR, step_seconds=3600)
    for pod in range(PODS):
        bad = BAD.get(pod, 10.0)
        h.gauge("queue_depth", lambda t, bad=bad: bad if t >= ANCHOR else 10.0, {"pod": f"p-{pod:04d}", "zpad": PAD})
    return h


#: Runs the command given and prints its peak RSS (KiB) last on stderr: this wrapper's only child is `evaluate`.
PEAK = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)"
)


def evaluate(url: str, resolved_hours_before: int) -> tuple[subprocess.CompletedProcess[str], int]:
    """`evaluate` as a subprocess, and its peak RSS in KiB."""
    resolved = ANCHOR - timedelta(hours=resolved_hours_before)
    args = ["evaluate", "--config", "-", "--resolved-at", resolved.isoformat(), "--now", ANCHOR.isoformat()]
    env = clean_env(VERIFIER_PROMETHEUS_URL=url, VERIFIER_PROMETHEUS_TIMEOUT_SECONDS="60")
    done = subprocess.run(
        [sys.executable, "-c", PEAK, sys.executable, "-m", "verifier", *args],
        input=CONFIG,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    stderr, _, peak = done.stderr.rstrip("\n").rpartition("\n")
    return subprocess.CompletedProcess(args, done.returncode, done.stdout, stderr), int(peak)


def _count(query: str, backend: MetricsBackend, at: datetime) -> float:
    answer = requests.get(
        f"{backend.url}/api/v1/query", params={"query": query, "time": str(at.timestamp())}, timeout=60
    )
    return float(answer.json()["data"]["result"][0]["value"][1])


def test_the_whole_answer_is_past_the_cap(backend: MetricsBackend) -> None:
    """The premise: asked whole, the answer is larger than the cap."""
    answer = requests.get(
        f"{backend.url}/api/v1/query",
        params={"query": "avg_over_time(queue_depth[30m])", "time": str(ANCHOR.timestamp())},
        timeout=60,
    )
    assert len(answer.content) > defaults.METRICS_MAX_ANSWER_BYTES
    assert len(answer.json()["data"]["result"]) == PODS


def test_thousands_of_series_that_broke_are_failed_naming_the_worst_and_how_many(backend: MetricsBackend) -> None:
    done, peak = evaluate(backend.url, 1)
    assert done.returncode == 1, done
    out = fields(done.stdout)
    assert out["verdict"] == "FAILED"
    assert "3 of 4,000 series broke the condition" in done.stdout
    assert float(out["value"]) == 180.0
    assert 'pod="p-0042"' in done.stdout
    assert "4,000 series: too many to read whole" in done.stdout
    print(f"peak RSS of `evaluate` over {PODS} series: {peak / 1024:.0f} MiB")
    assert 0 < peak < 150 * 1024


def test_thousands_of_series_that_held_are_verified(backend: MetricsBackend) -> None:
    done, peak = evaluate(backend.url, 2)
    assert done.returncode == 0, done
    out = fields(done.stdout)
    assert out["verdict"] == "VERIFIED"
    # VictoriaMetrics shows a dozen of the imported series' samples just before midnight late (its per-day index):
    # the count is the backend's own, which for Prometheus is every pod.
    held = int(_count("count(avg_over_time(queue_depth[30m]))", backend, ANCHOR - timedelta(hours=1)))
    assert held == PODS or backend.name == "victoriametrics"
    assert f"the condition held on all {held:,} series" in done.stdout
    assert float(out["value"]) == 10.0
    assert 0 < peak < 150 * 1024
