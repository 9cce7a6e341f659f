"""Evidence in a real run: the result comments carry the link and the sparkline, and a backend failing on the
sparkline's range query costs the comment its sparkline, never its verdict (the regressed fix is still reopened)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MetricsProxy
from tests.e2e.seed import Desk, Timeline, check_end_state, run_cli
from tests.e2e.test_faults import env_for

ERROR = '{"status":"error","errorType":"unavailable","error":"store gateway overloaded"}'
SPARKLINE_RANGE = "[225s]"  # the 3 h windows drawn in 48 steps: only the sparkline's queries carry it


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
def test_comments_link_the_window_and_draw_it(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed"])
    done = run_cli(env_for(desk, metrics_proxy.url), "--json")
    assert done.code == 0, done
    check_end_state(desk, keys)
    graphs = {ticket["key"]: ticket["graph"] for ticket in done.report()["tickets"]}
    for name in ("held", "regressed"):
        (comment,) = [c for c in desk.state(keys[name]).bot_comments if "action-item-verifier result" in c]
        graph = graphs[keys[name]]  # the run's report carries the same link, for on-call's `run --issue --now`
        assert graph.startswith(f"{metrics_proxy.url}/graph?")
        assert f"Graph of the window in Prometheus{'|' if desk.is_jira else ']('}{graph}" in comment
        assert "Window: " in comment and "points break it" in comment
    assert sum(SPARKLINE_RANGE in q for q in metrics_proxy.queries) == 2  # one range query per judged ticket


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_a_failing_sparkline_query_keeps_the_verdict(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed"])
    metrics_proxy.add(SPARKLINE_RANGE, status=503, body=ERROR)
    done = run_cli(env_for(desk, metrics_proxy.url, VERIFIER_PROMETHEUS_RETRIES="0"))
    assert done.code == 0, done
    check_end_state(desk, keys)  # held verified, regressed reopened: as without the fault
    (comment,) = [c for c in desk.state(keys["regressed"]).bot_comments if "action-item-verifier result" in c]
    assert "No sparkline: the metrics backend did not answer the range query for it" in comment
    assert "/graph?g0.expr=" in comment
