"""The demo's Prometheus API sandbox must answer the planner's queries as a real Prometheus and VictoriaMetrics
do: the same synthetic data goes into both, the same planned queries go to both, and the answers must agree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.integration.backends import History, MetricsBackend, quiet_anchor
from tests.unit.helpers import config
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.domain.planning import QueryPlan, plan
from verifier_sandbox.prometheus import Counter, Gauge, Histogram, MetricsStore, PrometheusSandbox

END = quiet_anchor()
START = END - timedelta(hours=12)
FIX = START + timedelta(hours=4)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BEFORE, AFTER = {0.3: 54.0, 1.8: 6.0}, {0.04: 59.0, 0.2: 1.0}


def _mix(t: datetime) -> dict[float, float]:
    return AFTER if t >= FIX else BEFORE


@pytest.fixture(scope="module")
def history() -> History:
    h = History(start=START, end=END)
    h.histogram("fid_latency_seconds", _mix, BUCKETS, {"service": "checkout"})
    h.counter("fid_errors_total", lambda t: 0.0 if t >= FIX else 3.0, {"service": "checkout"})
    h.gauge("fid_queue_depth", lambda t: 40.0 if t >= FIX else 400.0, {"pod": "a"})
    h.gauge("fid_queue_depth", 12.0, {"pod": "b"})
    return h


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PrometheusSandbox]:
    fix = FIX.timestamp()
    store = MetricsStore(scrape_seconds=60)
    store.add(
        Histogram(
            "fid_latency_seconds",
            (("service", "checkout"),),
            BUCKETS,
            60,
            lambda t: {k: v / 60 for k, v in (AFTER if t >= fix else BEFORE).items()},
        ),
        Counter("fid_errors_total", (("service", "checkout"),), lambda t: 0.0 if t >= fix else 3.0),
        Gauge("fid_queue_depth", (("pod", "a"),), lambda t: 40.0 if t >= fix else 400.0),
        Gauge("fid_queue_depth", (("pod", "b"),), lambda t: 12.0),
    )
    with PrometheusSandbox(store) as server:
        yield server


CASES = [
    ("fid_latency_seconds", "< 100ms p99", 6),  # after the fix only
    ("fid_latency_seconds", "< 100ms p90", 10),  # straddles the fix
    ("fid_errors_total", "< 1", 6),
    ("fid_errors_total", "< 1", 10),
    ("fid_queue_depth", "< 100", 6),
    ("fid_queue_depth", "< 100", 10),
]


@pytest.mark.parametrize(("metric", "condition", "hours"), CASES)
def test_sandbox_agrees_with_the_real_backend(
    backend: MetricsBackend, sandbox: PrometheusSandbox, metric: str, condition: str, hours: int
) -> None:
    labels = "{service: checkout}" if metric != "fid_queue_depth" else None
    fields: dict[str, object] = {"metric": metric, "condition": condition, "delay": f"{hours}h"}
    if labels:
        fields["labels"] = labels
    resolved = END - timedelta(hours=hours + 1)
    planned = plan(config(**fields), resolved, END)
    assert isinstance(planned, QueryPlan)
    real = _values(backend.url, planned)
    fake = _values(sandbox.url, planned)
    assert set(real) == set(fake)
    for key, value in real.items():
        # increase() extrapolates to the window's edges on a real backend; the sandbox counts exactly.
        assert fake[key] == pytest.approx(value, rel=0.02), (planned.query, key)


def _values(url: str, planned: QueryPlan) -> dict[tuple[tuple[str, str], ...], float]:
    with PrometheusMetrics(PrometheusConnection(url=url, retries=0)) as metrics:
        measurement = metrics.instant(planned.query, planned.end)
    # VictoriaMetrics 1.79 keeps __name__ through avg_over_time, where Prometheus drops it: compare without it.
    return {tuple(kv for kv in s.labels if kv[0] != "__name__"): s.points[-1][1] for s in measurement.series}


@pytest.mark.parametrize("hours", [6, 10])
def test_sandbox_counts_a_histograms_requests_as_the_real_backend(
    backend: MetricsBackend, sandbox: PrometheusSandbox, hours: int
) -> None:
    """The events query (#21): `sum(increase(NAME_count{…}[R]))`, 60 requests a minute."""
    fields = {"metric": "fid_latency_seconds", "condition": "< 100ms p99", "delay": f"{hours}h"}
    planned = plan(config(**fields, labels="{service: checkout}"), END - timedelta(hours=hours + 1), END)
    assert isinstance(planned, QueryPlan) and planned.events_query is not None
    queried = replace(planned, query=planned.events_query)
    real, fake = _values(backend.url, queried), _values(sandbox.url, queried)
    assert set(real) == set(fake) == {()}
    assert fake[()] == pytest.approx(real[()], rel=0.02)
    assert fake[()] == pytest.approx(60 * 60 * hours, rel=0.01)
