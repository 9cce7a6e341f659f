from datetime import timedelta

import pytest

from tests.unit.helpers import RESOLVED, config
from verifier.domain.planning import IncidentFacts, Pending, QueryPlan, plan
from verifier.errors import ConfigError

DUE = RESOLVED + timedelta(hours=48)


def planned(cfg: object, **kwargs: object) -> QueryPlan:
    result = plan(cfg, RESOLVED, RESOLVED + timedelta(days=30), **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, QueryPlan)
    return result


def test_issue_example_histogram_p99() -> None:
    p = planned(config(metric="http_server_request_duration_seconds", condition="< 100ms p99"))
    assert p.query == (
        "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))"
    )
    assert p.threshold is not None and p.threshold.value == pytest.approx(0.1)
    assert p.threshold.unit is not None and p.threshold.unit.name == "seconds"
    assert (p.start, p.end) == (RESOLVED, DUE)


def test_counter_gauge_and_recording_rule() -> None:
    assert planned(config(metric="oom_kills_total", condition="< 1")).query == "sum(increase(oom_kills_total[48h]))"
    assert planned(config(metric="queue_depth", condition="< 100")).query == "avg_over_time(queue_depth[48h])"
    rule = planned(config(metric="job:http_errors:ratio_rate5m", condition="< 0.1%"))
    assert rule.query == "avg_over_time(job:http_errors:ratio_rate5m[48h])"
    assert rule.threshold is not None and rule.threshold.value == pytest.approx(0.001) and rule.threshold.assumed


def test_expression_with_window_placeholder_and_unit_from_names() -> None:
    p = planned(
        config(
            metric="sum(rate(rpc_duration_seconds_sum[$window])) / sum(rate(rpc_duration_seconds_count[${window}]))",
            condition="< 250ms",
            delay="24h",
        )
    )
    assert p.query == "sum(rate(rpc_duration_seconds_sum[24h])) / sum(rate(rpc_duration_seconds_count[24h]))"
    assert p.threshold is not None and p.threshold.value == pytest.approx(0.25) and not p.threshold.assumed


def test_error_ratio_percent_is_a_ratio() -> None:
    p = planned(
        config(
            metric='sum(rate(http_requests_total{code=~"5.."}[$window])) / sum(rate(http_requests_total[$window]))',
            condition="error_rate < 0.1%",
        )
    )
    assert p.threshold is not None and p.threshold.value == pytest.approx(0.001)
    assert any("assumed" in n for n in p.notes)


def test_labels_and_escaping() -> None:
    p = planned(config(metric="x_seconds", condition="< 1s p90", labels='{service: "pay\\"ments", env: prod}'))
    assert 'x_seconds_bucket{env="prod",service="pay\\"ments"}[48h]' in p.query


def test_otel_name_histogram_in_milliseconds() -> None:
    p = planned(config(metric="http.server.request.duration", unit="ms", condition="< 0.1s p95"))
    assert "increase(http_server_request_duration_milliseconds_bucket[48h])" in p.query
    assert p.threshold is not None and p.threshold.value == pytest.approx(100)
    assert any("http_server_request_duration_milliseconds" in n for n in p.notes)


def test_window_shorter_than_delay_ends_at_due_time() -> None:
    p = planned(config(metric="x_seconds", condition="< 1s p99", delay="72h", window="24h"))
    assert (p.start, p.end) == (RESOLVED + timedelta(hours=48), RESOLVED + timedelta(hours=72))
    assert "[24h]" in p.query


def test_pending_until_due() -> None:
    result = plan(config(metric="x", condition="< 1"), RESOLVED, DUE - timedelta(seconds=1))
    assert isinstance(result, Pending) and result.due_at == DUE


def test_early_judges_the_window_so_far() -> None:
    now = RESOLVED + timedelta(hours=6)
    p = plan(config(metric="x_seconds", condition="< 1s p99"), RESOLVED, now, early=True)
    assert isinstance(p, QueryPlan) and p.early and p.end == now and "[6h]" in p.query
    assert any("early" in n for n in p.notes)


def test_early_before_the_window_begins_is_pending() -> None:
    cfg = config(metric="x", condition="< 1", delay="48h", window="1h")
    assert isinstance(plan(cfg, RESOLVED, RESOLVED + timedelta(hours=2), early=True), Pending)


def test_every_step_keeps_points_under_the_limit() -> None:
    p = planned(config(metric="x_seconds", condition="< 1s p99", mode="every-step", tolerance="5%"))
    assert p.step == timedelta(minutes=5) and "[5m]" in p.query and p.range_start == RESOLVED + timedelta(minutes=5)
    long = plan(
        config(metric="x", condition="< 1", mode="every-step", delay="8760h"), RESOLVED, RESOLVED + timedelta(days=400)
    )
    assert isinstance(long, QueryPlan) and long.step is not None
    assert long.window / long.step <= 11_000


def test_relative_to_recorded_incident_value() -> None:
    p = planned(config(metric="x_seconds", condition="< 50% of baseline p99"), incident=IncidentFacts(actual_value=2.0))
    assert p.threshold is not None and p.threshold.value == pytest.approx(1.0)


def test_relative_with_baseline_window_plans_a_second_query() -> None:
    facts = IncidentFacts(triggered_at=RESOLVED - timedelta(days=3))
    p = planned(config(metric="x_seconds", condition="<= 0.5x baseline p99", baseline_window="1h"), incident=facts)
    assert p.threshold is None and p.baseline_query is not None
    assert p.baseline_query.at == facts.triggered_at + timedelta(hours=1)  # type: ignore[operator]
    assert "[1h]" in p.baseline_query.query


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        (lambda: config(metric="x_seconds", condition="< 50% of baseline p99"), "condition"),
        (
            lambda: config(metric="x_seconds", condition="< 50% of baseline p99", baseline_window="1h"),
            "baseline_window",
        ),
    ],
)
def test_relative_without_a_baseline_is_a_config_error(cfg: object, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        planned(cfg())  # type: ignore[operator]
    assert error.value.field == field


def test_early_every_step_waits_for_the_first_whole_step() -> None:
    """Regression: 2 minutes into an every-step window, the range query would end before its first step."""
    cfg = config(metric="x_seconds", condition="< 1s p99", mode="every-step", delay="6h")
    assert isinstance(plan(cfg, RESOLVED, RESOLVED + timedelta(minutes=2), early=True), Pending)
    ready = plan(cfg, RESOLVED, RESOLVED + timedelta(minutes=5), early=True)
    assert isinstance(ready, QueryPlan)
    assert ready.range_start <= ready.end


def test_otel_attribute_labels_before_resolution_use_the_promoted_label() -> None:
    """A backend that cannot list names (Prometheus 2 holds no dotted labels) is asked for `service_name`."""
    cfg = config(metric="app_orders_total", condition="< 5", labels={"service.name": "checkout", "route": "/pay"})
    assert planned(cfg).query == 'sum(increase(app_orders_total{route="/pay",service_name="checkout"}[48h]))'
