"""A config over thousands of series whose whole answer passes the metrics answer cap (8 MiB), judged through
`evaluate` against real backends by aggregation: counts and the worst series alone (#22).

    A-2h, A-1h  every pod's queue depth 10: the window ending at A-1h holds
    A           three pods of 4,000 at 150, 180, 120: the window ending at A breaks, p-0042 worst

Each series carries a 2,300-character label, so the instant answer for every series is about 9.5 MB.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import requests

from tests.integration.backends import History, MetricsBackend, quiet_anchor
from tests.integration.test_evaluate_cli import ROOT, clean_env, fields
from tests.unit.helpers import config
from verifier import defaults
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.verdicts import Outcome
from verifier.services.measure import measure

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
    small = {"zpad": "y" * 100}
    for pod, value in enumerate([10.0, 150.0, math.nan, 180.0]):
        h.gauge("queue_mixed", lambda t, v=value: v if t >= ANCHOR else 10.0, {"pod": f"p-{pod}", **small})
    for pod, value in enumerate([10.0, math.inf, 150.0]):
        h.gauge("queue_inf", lambda t, v=value: v if t >= ANCHOR else 10.0, {"pod": f"p-{pod}", **small})
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


#: VictoriaMetrics stores no NaN sample: the NaN pod is no series there, so the same data gives these.
VM_WITHOUT_NAN = {
    "< 100": (Outcome.FAILED, "2 of 3 series broke the condition"),
    "> 5": (Outcome.VERIFIED, "the condition held on all 3 series"),
    "> 500": (Outcome.FAILED, "3 of 3 series broke the condition"),
}


@pytest.mark.parametrize(
    ("metric", "condition", "outcome", "reason", "value"),
    [
        ("queue_mixed", "< 100", Outcome.FAILED, "2 of 4 series broke the condition", 180.0),
        ("queue_mixed", "> 5", Outcome.INCONCLUSIVE, "1 of 4 series have no data", 10.0),
        ("queue_mixed", "> 500", Outcome.FAILED, "3 of 4 series broke the condition", 10.0),
        ("queue_inf", "< 100", Outcome.INCONCLUSIVE, None, None),
    ],
)
def test_nan_and_inf_by_aggregation_give_the_whole_answers_verdict(
    backend: MetricsBackend, metric: str, condition: str, outcome: Outcome, reason: str | None, value: float | None
) -> None:
    """The backend's own topk/bottomk (NaN ranked below every number) and counts, over a few series read under a
    cap small enough that the whole answer passes it: the verdict is the whole answer's."""
    found = plan(
        config(metric=metric, condition=condition, delay="1h", window="30m"), ANCHOR - timedelta(hours=1), ANCHOR
    )
    assert isinstance(found, QueryPlan)
    connection = PrometheusConnection.model_validate({"url": backend.url})
    whole = measure(found, PrometheusMetrics(connection))
    counted = measure(found, PrometheusMetrics(connection, max_answer_bytes=450))
    if backend.name == "victoriametrics" and metric == "queue_mixed":  # it drops NaN samples on import
        outcome, reason = VM_WITHOUT_NAN[condition]
    assert "too many to read whole" not in " ".join(whole.notes)
    assert "series: too many to read whole" in " ".join(counted.notes)
    assert (counted.outcome, counted.value, counted.series) == (whole.outcome, whole.value, whole.series)
    assert counted.outcome is outcome, counted.reason
    if reason is not None:
        assert (counted.reason, whole.reason, counted.value) == (reason, reason, value)
    else:
        assert counted.reason == "not a finite value: ±Inf in 1 of 3 series", counted.reason
