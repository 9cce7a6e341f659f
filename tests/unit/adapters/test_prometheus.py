"""Pure parts of the Prometheus adapter: response parsing, exemplars, range checks, the connection model."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from verifier.adapters.prometheus import (
    PrometheusConnection,
    check_range,
    parse_alert_rules,
    parse_exemplars,
    parse_query_response,
    unix_seconds,
)
from verifier.domain.alerts import AlertRule
from verifier.domain.measurement import Measurement, Series
from verifier.errors import BackendUnavailable, QueryRejected


def body(result_type: str, result: object, **extra: object) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": result_type, "result": result}, **extra}


def test_vector_becomes_sorted_series_with_float_values() -> None:
    result = [
        {"metric": {"job": "b", "__name__": "up"}, "value": [1700000000.5, "NaN"]},
        {"metric": {"job": "a", "__name__": "up"}, "value": [1700000000.5, "+Inf"]},
        {"metric": {"job": "c", "__name__": "up"}, "value": [1700000000.5, "-Inf"]},
    ]
    m = parse_query_response(body("vector", result), "up")
    assert [s.labels for s in m.series] == [
        (("__name__", "up"), ("job", "a")),
        (("__name__", "up"), ("job", "b")),
        (("__name__", "up"), ("job", "c")),
    ]
    assert m.series[0].points == ((1700000000.5, math.inf),)
    assert math.isnan(m.series[1].points[0][1])
    assert m.series[2].points[0][1] == -math.inf


def test_scalar_is_one_series_without_labels() -> None:
    m = parse_query_response(body("scalar", [1700000000, "0.25"]), "0.25")
    assert m == Measurement(series=(Series(labels=(), points=((1700000000.0, 0.25),)),))


def test_matrix_keeps_every_point() -> None:
    result = [{"metric": {"le": "0.5"}, "values": [[1, "1"], [61, "2.5"]]}]
    m = parse_query_response(body("matrix", result), "q")
    assert m.series == (Series(labels=(("le", "0.5"),), points=((1.0, 1.0), (61.0, 2.5))),)


def test_empty_result_and_warnings() -> None:
    m = parse_query_response(body("vector", [], warnings=["partial response", "store down"]), "q")
    assert m == Measurement(series=(), warnings=("partial response", "store down"))


def test_string_result_is_rejected() -> None:
    with pytest.raises(QueryRejected, match="string") as caught:
        parse_query_response(body("string", [1, "abc"]), '"abc"')
    assert caught.value.query == '"abc"'


def test_native_histograms_are_rejected() -> None:
    result = [{"metric": {}, "histogram": [1, {"count": "2", "sum": "3", "buckets": []}]}]
    with pytest.raises(QueryRejected, match="native histogram"):
        parse_query_response(body("vector", result), "h")


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "success"},
        {"status": "success", "data": None},
        body("weird", []),
        body("vector", [{"metric": {}}]),
        body("vector", [{"metric": {}, "value": [1, "not a number"]}]),
        body("vector", [{"metric": {}, "value": [1]}]),
        body("matrix", [{"metric": {}, "values": "x"}]),
        body("scalar", None),
    ],
)
def test_malformed_bodies_are_backend_failures(bad: dict[str, object]) -> None:
    with pytest.raises(BackendUnavailable, match="malformed"):
        parse_query_response(bad, "q")


def test_exemplars_trace_id_label_variants_newest_first_distinct_and_limited() -> None:
    data = [
        {
            "seriesLabels": {"__name__": "lat_bucket", "le": "0.5"},
            "exemplars": [
                {"labels": {"trace_id": "aaa"}, "value": "0.3", "timestamp": 10.0},
                {"labels": {"traceID": "bbb"}, "value": "0.4", "timestamp": 30.0},
                {"labels": {"span_id": "not-a-trace"}, "value": "0.4", "timestamp": 40.0},
            ],
        },
        {
            "seriesLabels": {"__name__": "lat_bucket", "le": "+Inf"},
            "exemplars": [
                {"labels": {"traceId": "ccc"}, "value": "2", "timestamp": 20.0},
                {"labels": {"trace-id": "aaa"}, "value": "2", "timestamp": 5.0},
            ],
        },
    ]
    assert parse_exemplars({"status": "success", "data": data}, 10) == ["bbb", "ccc", "aaa"]
    assert parse_exemplars({"status": "success", "data": data}, 2) == ["bbb", "ccc"]
    assert parse_exemplars({"status": "success", "data": []}, 5) == []
    assert parse_exemplars({"status": "success", "data": None}, 5) == []


def test_malformed_exemplars_are_backend_failures() -> None:
    with pytest.raises(BackendUnavailable, match="malformed exemplars"):
        parse_exemplars({"status": "success", "data": [{"exemplars": ["x"]}]}, 5)


def test_range_limits() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    check_range("q", start, start + timedelta(seconds=110_000), 10)  # exactly 11,000 steps: what Prometheus allows
    with pytest.raises(QueryRejected, match="at least 11s"):
        check_range("q", start, start + timedelta(seconds=110_010), 10)
    with pytest.raises(QueryRejected, match="positive"):
        check_range("q", start, start, 0)
    with pytest.raises(QueryRejected, match="before its start"):
        check_range("q", start, start - timedelta(seconds=1), 60)


def test_unix_seconds() -> None:
    assert unix_seconds(datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) == "1714564800.000"
    assert unix_seconds(datetime(2024, 5, 1, 14, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=2)))) == (
        "1714564800.250"
    )
    assert unix_seconds(datetime(2024, 5, 1, 12, 0)) == "1714564800.000"  # naive: UTC


def test_a_naive_time_is_utc_whatever_zone_the_machine_is_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image runs in UTC, where reading a naive time as local or as UTC agree; a machine elsewhere must not
    shift every query's time by its zone's offset."""
    monkeypatch.setenv("TZ", "IST-5:30")  # POSIX: UTC+5:30, no zone database needed
    time.tzset()
    try:
        assert unix_seconds(datetime(2024, 5, 1, 12, 0)) == "1714564800.000"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_connection_url_keeps_the_path_prefix_without_trailing_slash() -> None:
    assert PrometheusConnection(url="https://mimir.example/prometheus/").url == "https://mimir.example/prometheus"


@pytest.mark.parametrize("url", ["mimir.example", "ftp://x", "https://u:p@x", "http://x/?a=1", "http://x/#f", ""])
def test_connection_rejects_unusable_urls(url: str) -> None:
    with pytest.raises(ValidationError, match="url"):
        PrometheusConnection(url=url)


def test_bearer_and_basic_auth_are_mutually_exclusive_and_secrets_hidden() -> None:
    with pytest.raises(ValidationError, match="bearer_token and username/password") as caught:
        PrometheusConnection(url="http://x", bearer_token="tok-s3cr3t", username="u", password="pw-s3cr3t")
    assert "s3cr3t" not in str(caught.value)
    connection = PrometheusConnection(url="http://x", username="u", password="pw-s3cr3t")
    assert "s3cr3t" not in repr(connection)
    assert "s3cr3t" not in str(connection.model_dump())
    assert "s3cr3t" not in repr(PrometheusConnection(url="http://x", bearer_token="tok-s3cr3t"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"password": "p"}, "password is set but username"),
        ({"client_key": "/k.pem"}, "client_key is set but client_cert"),
        ({"headers": {"authorization": "Bearer x"}}, "Authorization"),
        ({"retries": -1}, "retries"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_connection_validation_names_the_fields(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PrometheusConnection.model_validate({"url": "http://x", **settings})


# -- the rules API's answer ----------------------------------------------------------------------------------------


def alerting(name: str = "High", **fields: object) -> dict[str, object]:
    return {"type": "alerting", "name": name, "health": "ok", "lastEvaluation": "2026-12-06T10:00:00Z", **fields}


def test_alert_rules_are_read_with_their_group_interval_health_and_error() -> None:
    groups: list[object] = [
        {"name": "checkout", "interval": 30, "rules": [alerting(lastError="boom")]},
        {"name": "search", "interval": 1.5, "rules": [alerting(health="err")]},
    ]
    assert list(parse_alert_rules(groups, "High")) == [
        AlertRule("High", "checkout", 30.0, "ok", last_error="boom", evaluated=True),
        AlertRule("High", "search", 1.5, "err", last_error="", evaluated=True),
    ]


def test_only_alerting_rules_of_that_name_in_well_formed_groups_are_read() -> None:
    groups: list[object] = [
        "not a group",
        {"name": "no rules list", "rules": {"type": "alerting", "name": "High"}},
        {"name": "no rules"},
        {
            "name": "g",
            "interval": 60,
            "rules": [
                "not a rule",
                {"type": "recording", "name": "High", "health": "ok"},
                alerting("Higher"),
                alerting("high"),
                alerting(),
            ],
        },
    ]
    assert list(parse_alert_rules(groups, "High")) == [AlertRule("High", "g", 60.0, "ok")]


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [
        (None, None),
        ("30s", None),
        (True, None),
        (0, None),
        (-5, None),
        (math.inf, None),
        (math.nan, None),
        (2, 2.0),
        (1, 1.0),
        (0.5, 0.5),
    ],
)
def test_a_group_interval_counts_only_as_a_positive_finite_number(interval: object, seconds: float | None) -> None:
    groups: list[object] = [{"name": "g", "interval": interval, "rules": [alerting()]}]
    assert [rule.interval_seconds for rule in parse_alert_rules(groups, "High")] == [seconds]


@pytest.mark.parametrize(
    ("fields", "health", "evaluated"),
    [
        ({}, "ok", True),
        ({"health": None}, "unknown", False),  # never evaluated: Prometheus says "unknown"
        ({"health": "unknown"}, "unknown", False),
        ({"lastEvaluation": None}, "ok", False),
        ({"lastEvaluation": ""}, "ok", False),
        ({"lastEvaluation": "0001-01-01T00:00:00Z"}, "ok", False),  # Go's zero time: never evaluated
        ({"health": "err", "lastEvaluation": "2026-12-06T10:00:00Z"}, "err", True),
    ],
)
def test_a_rule_is_evaluated_when_its_health_is_known_and_it_has_a_last_evaluation(
    fields: dict[str, object], health: str, evaluated: bool
) -> None:
    groups: list[object] = [{"name": "g", "rules": [alerting(**fields)]}]
    assert [(rule.health, rule.evaluated) for rule in parse_alert_rules(groups, "High")] == [(health, evaluated)]


def test_a_rules_group_name_and_error_are_cut_to_a_line_and_missing_ones_are_empty() -> None:
    groups: list[object] = [
        {"name": "g" * 300, "rules": [alerting(lastError="e" * 600)]},
        {"name": None, "rules": [alerting(lastError=None)]},
    ]
    rules = list(parse_alert_rules(groups, "High"))
    assert [(rule.group, rule.last_error) for rule in rules] == [("g" * 200, "e" * 500), ("", "")]


# -- the texts a refusal carries, word for word --------------------------------------------------------------------


def test_a_range_the_backend_would_refuse_is_refused_naming_why() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(QueryRejected) as raised:
        check_range("q", start, start, 0)
    assert str(raised.value) == "range step must be positive, got 0s (query: q)"
    with pytest.raises(QueryRejected) as raised:
        check_range("q", start, start - timedelta(seconds=1), 60)
    assert str(raised.value) == (
        "range end 2023-12-31T23:59:59+00:00 is before its start 2024-01-01T00:00:00+00:00 (query: q)"
    )
    with pytest.raises(QueryRejected) as raised:
        check_range("q", start, start + timedelta(seconds=110_010), 10)
    assert str(raised.value) == (
        "range of 110010s at step 10s needs 11002 points per series, over the limit of 11,000:"
        " use a step of at least 11s or a shorter range (query: q)"
    )
    check_range("q", start, start, 1)  # an empty range is a range


def test_what_a_query_result_cannot_be_is_said_exactly() -> None:
    with pytest.raises(QueryRejected) as rejected:
        parse_query_response(body("string", [1, "abc"]), "s")
    assert str(rejected.value) == "the query evaluates to a string, not to numbers (query: s)"
    with pytest.raises(QueryRejected) as rejected:
        parse_query_response(body("matrix", [{"metric": {}, "histograms": []}]), "h")
    assert str(rejected.value) == "native histogram samples are not supported: aggregate them (query: h)"
    with pytest.raises(BackendUnavailable) as failed:
        parse_query_response(body("weird", []), "w")
    assert str(failed.value) == "malformed response: unknown resultType 'weird' (query: w)"
    with pytest.raises(BackendUnavailable) as failed:
        parse_query_response(body("vector", [{"metric": {}}]), "v")
    assert str(failed.value) == "malformed response: KeyError 'value' (query: v)"


def test_warnings_and_infos_are_kept_as_text_in_order() -> None:
    m = parse_query_response(body("scalar", [1, "2"], warnings=["w1", 5], infos=["i1", "i2"]), "q")
    assert (m.warnings, m.infos) == (("w1", "5"), ("i1", "i2"))
    assert parse_query_response(body("vector", [], warnings=None, infos=None), "q") == Measurement(series=())


def test_exemplars_need_a_trace_id_with_a_value_and_a_negative_limit_keeps_none() -> None:
    data = [
        {
            "exemplars": [
                {"labels": {"trace.id": "dotted"}, "timestamp": 3},
                {"labels": {"traceid": "half"}, "timestamp": 0.5},
                {"labels": {"Trace_ID": ""}, "timestamp": 4},  # no value: not a trace
                {"labels": {"trace_id": "untimed"}},  # no timestamp: the oldest
                {"labels": None, "timestamp": 5},
                {"timestamp": 6},
            ]
        },
        {"exemplars": None},
    ]
    assert parse_exemplars({"data": data}, 5) == ["dotted", "half", "untimed"]
    assert parse_exemplars({"data": data}, 0) == []
    assert parse_exemplars({"data": data}, -1) == []
    with pytest.raises(BackendUnavailable) as failed:
        parse_exemplars({"data": [{"exemplars": [{"labels": {"trace_id": "t"}, "timestamp": "x"}]}]}, 5)
    assert str(failed.value) == "malformed exemplars response: ValueError could not convert string to float: 'x'"


def test_a_retry_after_longer_than_a_minute_waits_a_minute() -> None:
    from verifier.adapters.prometheus import _Retry

    assert _Retry().parse_retry_after("3600") == 60
    assert _Retry().parse_retry_after("60") == 60
    assert _Retry().parse_retry_after("5") == 5
