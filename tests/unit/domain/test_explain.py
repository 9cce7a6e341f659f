"""`check-config` spelled out: what `explain` says of a config, field by field, as an operator reads it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.domain.test_formats import SEED_COMMENT
from tests.unit.helpers import config
from verifier.domain.config import render_config
from verifier.domain.explain import explain
from verifier.domain.tickets import Flavour
from verifier.errors import ConfigError

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def block(**fields: object) -> str:
    return render_config(config(**fields), Flavour.MARKDOWN)


def test_the_seed_comment_is_spelled_out_in_order() -> None:
    assert list(explain(SEED_COMMENT, NOW).items()) == [
        ("format", "seed-comment"),
        ("metric", "http_server_request_duration_seconds (histogram, seconds)"),
        ("condition", "< 100ms p99"),
        ("threshold", "< 0.1 seconds"),
        ("delay", "48h"),
        ("window", "48h ending when the delay is over"),
        ("mode", "window"),
        ("enough data", "a value at the window's end; at least 100 observations in the window; no infinite values"),
        ("query", "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))"),
        ("events query", "sum(increase(http_server_request_duration_seconds_count[48h]))"),
    ]


def test_every_step_mode_names_its_step_and_the_tolerance_its_share_of_steps() -> None:
    text = block(
        metric="http_server_request_duration_seconds",
        condition="< 250ms p99.9",
        mode="every-step",
        tolerance="2.5%",
        delay_hours=24,
        window="6h",
    )
    assert explain(text, NOW) == {
        "format": "block",
        "metric": "http_server_request_duration_seconds (histogram, seconds)",
        "condition": "< 250ms p99.9",
        "threshold": "< 0.25 seconds",
        "delay": "24h",
        "window": "6h ending when the delay is over",
        "mode": "every-step (step 5m)",
        "tolerance": "2.5% of steps",
        "enough data": "90% of the 72 steps with data in every series; at least 100 observations in the window; "
        "no infinite values",
        "query": "histogram_quantile(0.999, sum by (le) (increase(http_server_request_duration_seconds_bucket[5m])))",
        "events query": "sum(increase(http_server_request_duration_seconds_count[6h]))",  # the whole window
    }


def test_a_metric_of_unknown_unit_says_so_and_numbers_each_note() -> None:
    text = block(metric="http.server.request.duration", condition="< 5ms p99", delay_hours=2)
    assert explain(text, NOW) == {
        "format": "block",
        "metric": "http.server.request.duration (histogram, unit unknown)",
        "condition": "< 5ms p99",
        "threshold": "< 0.005 seconds (unit assumed: no unit on the metric)",
        "delay": "2h",
        "window": "2h ending when the delay is over",
        "mode": "window",
        "enough data": "a value at the window's end; at least 100 observations in the window; no infinite values",
        "query": "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_bucket[2h])))",
        "events query": "sum(increase(http_server_request_duration_count[2h]))",
        "note 1": "OpenTelemetry name 'http.server.request.duration' is queried as 'http_server_request_duration'",
        "note 2": "the metric's unit is not known: seconds assumed",
    }


def test_a_relative_condition_in_a_comment_alone_is_judged_against_the_recorded_value() -> None:
    text = block(metric="http_requests_total", condition="> 1.5x baseline", delay_hours=24)
    assert explain(text, NOW) == {
        "format": "block",
        "metric": "http_requests_total (counter, unit unknown)",
        "condition": "> 1.5x baseline",
        "threshold": "> 1.5 x baseline",
        "baseline": "the incident's actual value recorded in the ticket",
        "delay": "24h",
        "window": "24h ending when the delay is over",
        "mode": "window",
        "enough data": "a value at the window's end; no infinite values",  # a counter's increase has no minimum
        "query": "sum(increase(http_requests_total[24h]))",
    }


def test_a_baseline_window_is_shown_as_the_query_measured_after_the_incident() -> None:
    text = block(metric="queue_depth", condition="< 0.5x baseline", baseline_window="1h", delay_hours=24)
    shown = explain(text, NOW)
    assert shown["threshold"] == "< 0.5 x baseline"
    assert shown["baseline"] == "avg_over_time(queue_depth[1h]) over 1h after the incident triggered"
    assert "note 1" not in shown


def test_a_ticket_body_with_the_incident_is_explained_from_its_own_facts() -> None:
    text = "**Triggered At**: 2026-10-30T09:15:00+00:00\n- **Actual Value**: 0.45\n\n" + block(
        metric="queue_depth", condition="< 0.5x baseline", baseline_window="1h", delay_hours=24
    )
    assert explain(text, NOW)["baseline"] == "avg_over_time(queue_depth[1h]) over 1h after the incident triggered"


def test_a_baseline_window_on_a_ticket_that_records_a_value_but_no_trigger_time_is_refused() -> None:
    text = "- **Actual Value**: 0.45\n\n" + block(
        metric="queue_depth", condition="< 0.5x baseline", baseline_window="1h", delay_hours=24
    )
    with pytest.raises(ConfigError, match="trigger time"):
        explain(text, NOW)


def test_a_baseline_from_the_value_on_a_ticket_that_records_a_trigger_time_but_no_value_is_refused() -> None:
    text = "**Triggered At**: 2026-10-30T09:15:00+00:00\n\n" + block(
        metric="queue_depth", condition="< 0.5x baseline", delay_hours=24
    )
    with pytest.raises(ConfigError, match="records no incident value"):
        explain(text, NOW)


def test_a_fixed_threshold_ignores_the_incident_the_ticket_records() -> None:
    text = "- **Actual Value**: 0.45\n\n" + block(metric="queue_depth", condition="< 5", delay_hours=2)
    shown = explain(text, NOW)
    assert shown["threshold"] == "< 5" and "baseline" not in shown and "tolerance" not in shown


def test_text_without_a_config_is_refused_with_where_to_read() -> None:
    with pytest.raises(ConfigError) as refused:
        explain("just a ticket body", NOW)
    assert refused.value.field == "text"
    assert str(refused.value).endswith("no verification config found (see README: 'Verification configs')")


def test_min_events_is_spelled_out() -> None:
    text = block(metric="http_server_request_duration_seconds", condition="< 100ms p99", min_events=2500)
    assert explain(text, NOW)["enough data"] == (
        "a value at the window's end; at least 2,500 observations in the window; no infinite values"
    )
