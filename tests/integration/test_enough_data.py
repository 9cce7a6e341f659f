"""Enough data, on real backends (#21): sparse steps, a handful of requests, -Inf and NaN are INCONCLUSIVE with
the figures they stood on; the same configs on full data keep their verdicts.

Timeline (A = ANCHOR, one sample a minute from RESOLVED - 1h to A):

    RESOLVED        the fix; the default 48 h window is [RESOLVED, DUE]
    DUE = A - 1h    the window is over
    A               NOW
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.backends import History, MetricsBackend, quiet_anchor
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.services.evaluate import evaluate_text

pytestmark = pytest.mark.integration

ANCHOR = quiet_anchor()
DUE = ANCHOR - timedelta(hours=1)
RESOLVED = DUE - timedelta(hours=48)
LONE = RESOLVED + timedelta(hours=24, minutes=2)  # the one sample of the sparse gauge: inside exactly one step
FAST = {0.03: 195, 0.09: 5}  # p99 = 0.08 (see test_scenarios.py)
SLOW = {0.2: 200}  # p99 in the (0.1, 0.25] bucket
LATENCY = "aiv_enough_latency_seconds"


def once(observations: Mapping[float, float]) -> Any:
    """These observations in a single minute of the window, nothing else."""
    return lambda t: observations if t == LONE else {}


@pytest.fixture(scope="module")
def history() -> History:
    h = History(start=RESOLVED - timedelta(hours=1), end=ANCHOR)
    h.gauge("aiv_enough_depth", 10, {"scenario": "full"})
    h.gauge("aiv_enough_depth", lambda t: 10 if t == LONE else None, {"scenario": "sparse"})
    h.gauge("aiv_enough_depth", -math.inf, {"scenario": "neginf"})
    h.histogram(LATENCY, FAST, labels={"scenario": "full"})
    h.histogram(LATENCY, SLOW, labels={"scenario": "regressed"})
    h.histogram(LATENCY, once({0.03: 5}), labels={"scenario": "sparse"})
    h.histogram(LATENCY, once({0.2: 5}), labels={"scenario": "sparse-regressed"})
    for scenario, requests in {"full": 100.0, "sparse": 0.0}.items():  # sparse: 37 requests, once
        lone = 37.0 if scenario == "sparse" else requests
        h.counter(
            "aiv_enough_requests_total", lambda t, r=requests, x=lone: x if t == LONE else r, {"scenario": scenario}
        )
        h.counter("aiv_enough_errors_total", 0, {"scenario": scenario})
    return h


@pytest.fixture
def metrics(backend: MetricsBackend) -> Iterator[PrometheusMetrics]:
    with PrometheusMetrics(PrometheusConnection(url=backend.url, retries=1, backoff_seconds=0.05)) as m:
        yield m


def block(metric: str, condition: str, scenario: str, **fields: Any) -> str:
    lines = ["# action-item-verifier: v1", f"metric: {json.dumps(metric)}", f"condition: {json.dumps(condition)}"]
    lines += [f"labels: {{scenario: {json.dumps(scenario)}}}"]
    lines += [f"{key}: {json.dumps(value)}" for key, value in fields.items()]
    return "```yaml\n" + "\n".join(lines) + "\n```\n"


def evaluate(text: str, metrics: PrometheusMetrics) -> dict[str, Any]:
    return evaluate_text(text, metrics, resolved_at=RESOLVED, now=ANCHOR)


# ----------------------------------------------------------------------------------------------- coverage


def test_one_step_of_576_is_inconclusive_with_the_figures(metrics: PrometheusMetrics) -> None:
    report = evaluate(block("aiv_enough_depth", "< 100", "sparse", mode="every-step"), metrics)
    assert report["verdict"] == "INCONCLUSIVE", report
    assert report["reason"] == "not enough data: 1 of 576 steps have data (needs 90%)"
    assert report["data"]["steps_with_data"] == 1 and report["data"]["steps"] == 576
    assert report["value"] == 10


def test_the_same_every_step_config_on_full_data_is_verified(metrics: PrometheusMetrics) -> None:
    report = evaluate(block("aiv_enough_depth", "< 100", "full", mode="every-step"), metrics)
    assert report["verdict"] == "VERIFIED", report
    assert report["data"]["summary"] == "576 of 576 steps with data"


# ------------------------------------------------------------------------------------------------- events


@pytest.mark.parametrize("scenario", ["sparse", "sparse-regressed"])
def test_five_requests_in_a_p99_window_are_inconclusive(metrics: PrometheusMetrics, scenario: str) -> None:
    report = evaluate(block(LATENCY, "< 100ms p99", scenario), metrics)
    assert report["verdict"] == "INCONCLUSIVE", report  # never FAILED on five requests: nothing is reopened
    assert report["reason"] == "not enough data: 5 requests in the window (needs 100)"
    assert report["data"]["events"] == pytest.approx(5, abs=0.1)  # Prometheus extrapolates increase() a little
    assert report["data"]["events_needed"] == 100


@pytest.mark.parametrize(("scenario", "verdict", "p99"), [("full", "VERIFIED", 0.08), ("regressed", "FAILED", 0.2475)])
def test_the_same_p99_config_on_full_data_keeps_its_verdict(
    metrics: PrometheusMetrics, scenario: str, verdict: str, p99: float
) -> None:
    report = evaluate(block(LATENCY, "< 100ms p99", scenario), metrics)
    assert report["verdict"] == verdict, report
    assert report["value"] == pytest.approx(p99, abs=0.003)
    assert report["data"]["events"] == pytest.approx(200 * 60 * 48, rel=0.01)  # 200 requests a minute for 48 h


def test_a_lower_min_events_judges_the_five_requests(metrics: PrometheusMetrics) -> None:
    report = evaluate(block(LATENCY, "< 100ms p99", "sparse", min_events=5), metrics)
    assert report["verdict"] == "VERIFIED", report


# --------------------------------------------------------------------------------------------- non-finite


def test_minus_infinity_is_inconclusive(metrics: PrometheusMetrics) -> None:
    report = evaluate(block("aiv_enough_depth", "< 100", "neginf"), metrics)
    assert report["verdict"] == "INCONCLUSIVE", report  # -Inf < 100 was VERIFIED
    assert report["reason"] == "not a finite value: -Inf in the window"
    assert report["data"]["steps_with_data"] == 0 and report["data"]["steps"] == 1


def test_nan_is_inconclusive(metrics: PrometheusMetrics, backend: MetricsBackend) -> None:
    # VictoriaMetrics drops stored NaN samples, so the NaN comes from the query: 10 * 0 / 0.
    expression = 'avg_over_time(aiv_enough_depth{scenario="full"}[$window]) * 0 / 0'
    text = block(expression, "< 100", "full").replace('labels: {scenario: "full"}\n', "")
    report = evaluate(text, metrics)
    assert report["verdict"] == "INCONCLUSIVE", report
    assert report["value"] is None
    assert report["data"]["summary"] == "0 of 1 step with data"
    # Prometheus answers NaN; VictoriaMetrics drops NaN points and answers nothing.
    expected = "every sample is NaN" if backend.name == "prometheus" else "the query returned no samples"
    assert report["reason"] == f"no data: {expected}"


# --------------------------------------------------------------------------------------------------- ratios


def ratio(scenario: str) -> str:
    errors = f'aiv_enough_errors_total{{scenario="{scenario}"}}'
    requests = f'aiv_enough_requests_total{{scenario="{scenario}"}}'
    return f"sum(increase({errors}[$window])) / sum(increase({requests}[$window]))"


def test_an_error_ratio_over_37_requests_is_inconclusive(metrics: PrometheusMetrics) -> None:
    text = block(ratio("sparse"), "< 1%", "sparse").replace('labels: {scenario: "sparse"}\n', "")
    report = evaluate(text, metrics)
    assert report["verdict"] == "INCONCLUSIVE", report  # 0 errors in 37 requests was VERIFIED
    assert report["reason"] == "not enough data: 37 events in the window (needs 100)"
    assert report["value"] == 0


def test_the_same_ratio_on_full_data_is_verified(metrics: PrometheusMetrics) -> None:
    text = block(ratio("full"), "< 1%", "full").replace('labels: {scenario: "full"}\n', "")
    report = evaluate(text, metrics)
    assert report["verdict"] == "VERIFIED", report
    assert report["data"]["events"] == pytest.approx(100 * 60 * 48, rel=0.01)
