"""Evidence in `evaluate` against real Prometheus and VictoriaMetrics: the link opens exactly the judged query
over the judged window, and the sparkline draws that window step by step.

One latency histogram: fast (p99 0.08 s) until REGRESSED, then p99 0.22 s. The 5 h window judged ends three
hours after the regression, so it holds for two hours and breaks for three; the verdict is FAILED.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.integration.backends import History, MetricsBackend, quiet_anchor, switch
from tests.integration.test_evaluate_cli import FAST, WORSE, run, seed_comment
from verifier.domain.durations import parse_duration
from verifier_sandbox.prometheus import Histogram, MetricsStore, PrometheusSandbox

pytestmark = pytest.mark.integration

ANCHOR = quiet_anchor()
REGRESSED = ANCHOR - timedelta(hours=6)
RESOLVED = REGRESSED - timedelta(hours=2)  # the 5 h window: 2 h fast, then 3 h regressed
METRIC = "evidence_request_duration_seconds"


@pytest.fixture(scope="module")
def history() -> History:
    h = History(start=ANCHOR - timedelta(hours=14), end=ANCHOR)
    h.histogram(METRIC, switch(REGRESSED, FAST, WORSE))
    return h


def _evaluate(backend: MetricsBackend, config: str, **settings: str) -> dict[str, object]:
    done = run(backend.url, RESOLVED, "--json", config=config, **settings)
    assert done.returncode == 1, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    assert report["verdict"] == "FAILED"
    return report


def test_the_link_opens_the_judged_query_over_the_judged_window(backend: MetricsBackend) -> None:
    report = _evaluate(backend, seed_comment(metric=METRIC))
    link = str(report["graph"])
    assert link.startswith(f"{backend.url}/graph?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert params["g0.expr"] == report["query"]
    assert params["g0.tab"] == "0"
    start, end = RESOLVED, RESOLVED + timedelta(hours=5)
    assert report["window"] == f"{start.isoformat()} to {end.isoformat()}"
    assert params["g0.end_input"] == end.strftime("%Y-%m-%d %H:%M:%S")
    assert parse_duration(params["g0.range_input"], "range") == end - start
    if backend.name == "prometheus":  # VictoriaMetrics has no /graph page: its users set VERIFIER_GRAPH_URL
        # Prometheus redirects /graph to the UI it serves (here Debian's classic one; 3.x: /query) and keeps the
        # parameters, which every one of its UIs reads.
        page = requests.get(link, timeout=10)
        assert page.status_code == 200
        assert {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()} == params
    # What the graph draws over that range ends at the value the verdict was computed from.
    answer = requests.get(
        f"{backend.url}/api/v1/query_range",
        params={"query": params["g0.expr"], "start": start.timestamp(), "end": end.timestamp(), "step": "600"},
        timeout=10,
    ).json()
    (series,) = answer["data"]["result"]
    assert float(series["values"][-1][1]) == pytest.approx(float(str(report["value"])), rel=1e-6)


def test_the_sparkline_draws_the_window_step_by_step(backend: MetricsBackend) -> None:
    sparkline = str(_evaluate(backend, seed_comment(metric=METRIC))["sparkline"])
    line, _, text = sparkline.partition(" ")
    assert len(line) == 48
    # Two hours of 0.08 s at the lowest block, then three of 0.22 s at the highest; the threshold in between.
    assert line.startswith("▁" * 18)
    assert line.endswith("█" * 28)
    assert text.startswith("0.08 to 0.22 seconds; threshold < 0.1 seconds lies at ▂;")
    breaking = int(text.split("; ")[-1].split(" of ")[0])
    assert 28 <= breaking <= 31


def _every_step(metric: str = METRIC) -> str:
    return (
        f"```yaml\n# action-item-verifier: v1\nmetric: {metric}\ncondition: '< 100ms p99'\ndelay: 5h\n"
        "mode: every-step\n```"
    )


def test_every_step_mode_draws_the_steps_it_judged(backend: MetricsBackend) -> None:
    line = str(_evaluate(backend, _every_step())["sparkline"]).split(" ")[0]
    assert line[0] == "▁"
    assert line[-1] == "█"


def test_one_range_query_for_the_sparkline_none_in_every_step_mode_none_when_pending() -> None:
    """Counted on the sandbox's record of requests: the main query and the window's events (#21), then at most one
    range query."""
    store = MetricsStore(scrape_seconds=60)
    store.add(Histogram(METRIC, (), (0.1, 0.5), 10, lambda t: {0.05: 1.0}))
    with PrometheusSandbox(store) as prometheus:

        def paths(config: str, resolved: datetime = RESOLVED, **settings: str) -> list[str]:
            prometheus.clear_requests()
            done = run(prometheus.url, resolved, config=config, **settings)
            assert done.returncode in (0, 4), done.stderr
            assert ("graph:" in done.stdout) == (done.returncode == 0)
            return [r.path for r in prometheus.requests if r.path.startswith("/api/v1/query")]  # not name lookups

        assert paths(seed_comment(metric=METRIC)) == ["/api/v1/query", "/api/v1/query", "/api/v1/query_range"]
        assert paths(_every_step()) == ["/api/v1/query_range", "/api/v1/query"]
        assert paths(seed_comment(metric=METRIC), ANCHOR) == []  # pending: the window ends after --now
        assert paths(seed_comment(metric=METRIC), VERIFIER_SPARKLINE="false") == [
            "/api/v1/query",
            "/api/v1/query",
        ]  # link only
