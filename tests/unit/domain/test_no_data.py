"""`no_data: zero` with `traffic:` (#24): the grammar, its refusals, its round trips, and the verdict it gives."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.services.test_filing_file import document, text
from verifier.domain.binding import signed_body, signed_for
from verifier.domain.config import canonical, render_config
from verifier.domain.explain import explain
from verifier.domain.filing import action_item, incident_context, parse_filing
from verifier.domain.formats import find_config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.no_data import MAX_TRAFFIC, Traffic, parse_traffic, traffic_query, traffic_refusal, zeros
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, decide
from verifier.errors import ConfigError

RESOLVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = RESOLVED + timedelta(days=10)


def _block(*lines: str) -> str:
    return "```yaml\n# action-item-verifier: v1\n" + "\n".join(lines) + "\n```"


def _error(*lines: str) -> tuple[str, str]:
    with pytest.raises(ConfigError) as caught:
        find_config(_block(*lines))
    return caught.value.field, caught.value.reason


ERRORS = ("metric: checkout_errors_total", 'condition: "== 0"')


def test_no_data_zero_without_traffic_is_refused_never_judged_on_silence() -> None:
    assert _error(*ERRORS, "no_data: zero") == (
        "no_data",
        "zero needs traffic: a counter showing the window had requests, such as "
        'a counter and a bound, such as: http_server_requests_total{service="checkout"} >= 1000',
    )


def test_traffic_without_no_data_is_refused() -> None:
    assert _error(*ERRORS, "traffic: requests_total >= 10") == ("traffic", "applies only with no_data: zero")


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (("metric: queue_depth", 'condition: "< 10"'), "queue_depth"),  # a gauge by its name
        (("metric: latency_seconds", 'condition: "< 100ms p99"'), "latency_seconds"),  # a histogram
        (("metric: errors_total", 'condition: "< 1"', "type: gauge"), None),  # refused by type: first
        (("metric: sum(rate(errors_total[5m]))", 'condition: "< 1"'), "sum(rate(errors_total[5m]))"),
    ],
)
def test_no_data_zero_applies_only_to_counters(lines: tuple[str, ...], named: str | None) -> None:
    field, reason = _error(*lines, "no_data: zero", "traffic: requests_total >= 10")
    if named is None:
        assert field == "type"
        return
    assert (field, reason) == (
        "no_data",
        f"zero applies only to a counter (a name ending _total, _count or _sum, or type: counter), not to '{named}'",
    )


def test_a_bare_name_declared_a_counter_takes_no_data_zero() -> None:
    config = find_config(
        _block("metric: panics", 'condition: "== 0"', "type: counter", "no_data: zero", "traffic: req_total >= 5")
    )
    assert config is not None and config.no_data == "zero" and config.traffic == Traffic("req_total", 5)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no_data: none", "'none' is not a policy: the only one is 'zero' (without it: INCONCLUSIVE)"),
        ("no_data: [zero]", "'['zero']' is not a policy: the only one is 'zero' (without it: INCONCLUSIVE)"),
    ],
)
def test_an_unknown_policy_is_one_line(text: str, reason: str) -> None:
    assert _error(*ERRORS, text, "traffic: r_total >= 1") == ("no_data", reason)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("requests_total", "is not a counter and a bound"),
        ("requests_total > 10", "is not a counter and a bound"),
        ("requests_total >= -1", "is not a counter and a bound"),
        ("requests_total >= 1.5", "is not a counter and a bound"),
        ("requests_total >= 0", "the bound must be between 1 and"),
        ('requests_total{a="b" >= 1', "without their closing brace"),
        ("requests_total{a=b} >= 1", 'has a label matcher that is not name="value"'),
        ("rate(requests_total[5m]) >= 1", "is not a counter and a bound"),
        ("{} >= 1", "does not start with a metric name"),
    ],
)
def test_traffic_that_is_not_the_grammar_is_one_line(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_traffic(text)
    assert caught.value.field == "traffic" and why in caught.value.reason


def test_traffic_reads_matchers_and_the_bound() -> None:
    got = parse_traffic('  http_requests_total{service="checkout", code!~"5..", path="a\\"}"} >= 1000 ')
    assert got == Traffic('http_requests_total{service="checkout", code!~"5..", path="a\\"}"}', 1000)
    assert traffic_query(got, timedelta(hours=3)) == (
        'sum(increase(http_requests_total{service="checkout", code!~"5..", path="a\\"}"}[3h]))'
    )


@given(st.text(max_size=200))
def test_parse_traffic_is_total(text: str) -> None:
    """Any text is a Traffic or a ConfigError naming `traffic`, and a Traffic reads back from its own text."""
    try:
        got = parse_traffic(text)
    except ConfigError as error:
        assert error.field == "traffic"
        return
    assert parse_traffic(got.text) == got and 1 <= got.minimum <= MAX_TRAFFIC


def test_a_long_run_of_matchers_is_read_in_linear_time() -> None:
    text = "r_total{" + ",".join(f'a{i}="{"x" * 5}"' for i in range(80)) + "} >= 1"
    assert parse_traffic(text).minimum == 1
    with pytest.raises(ConfigError):
        parse_traffic("r_total{" + 'a="x",' * 200 + " >= 1")


@given(
    minimum=st.integers(1, MAX_TRAFFIC),
    recheck_days=st.integers(1, 300),
    flavour=st.sampled_from(list(Flavour)),
    service=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n"), max_size=20),
)
def test_the_new_fields_round_trip_through_the_block_the_tool_writes(
    minimum: int, recheck_days: int, flavour: Flavour, service: str
) -> None:
    """What `file` writes and `check-config` reads back, and what the signature covers (`canonical`)."""
    base = find_config(_block(*ERRORS, "no_data: zero", "traffic: r_total >= 1"))
    assert base is not None
    escaped = service.replace("\\", "\\\\").replace('"', '\\"')
    traffic = parse_traffic(f'requests_total{{service="{escaped}"}} >= {minimum}')
    config = replace(base, traffic=traffic, recheck_after=timedelta(days=recheck_days))
    again = find_config(render_config(config, flavour))
    assert again == config
    assert again is not None and canonical(again) == canonical(config)
    assert f'recheck_after: "{recheck_days * 24}h"' in canonical(config)
    assert canonical(replace(config, traffic=Traffic(traffic.selector, minimum + 1))) != canonical(config)


def test_recheck_after_is_bounded_with_the_delay() -> None:
    assert _error(*ERRORS, "delay: 100d", "recheck_after: 267d") == (
        "recheck_after",
        "6408h after a delay of 2400h is more than 366 days after the fix: the run no longer lists tickets that old",
    )
    config = find_config(_block(*ERRORS, "delay: 100d", "recheck_after: 266d"))
    assert config is not None and config.recheck_after == timedelta(days=266)
    assert _error(*ERRORS, "recheck_after: 0d")[0] == "recheck_after"


# --------------------------------------------------------------------------------------------- the verdict


def _plan(condition: str = "== 0", mode: str = "window") -> QueryPlan:
    config = find_config(
        _block(
            "metric: checkout_panics_total",
            f'condition: "{condition}"',
            "delay: 3h",
            f"mode: {mode}",
            "no_data: zero",
            "traffic: requests_total >= 1000",
        )
    )
    assert config is not None
    planned = plan(config, RESOLVED, NOW)
    assert isinstance(planned, QueryPlan)
    return planned


def _answer(*values: float, warnings: tuple[str, ...] = ()) -> Measurement:
    return Measurement(tuple(Series((("i", str(i)),), ((0.0, v),)) for i, v in enumerate(values)), warnings)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (_answer(), "no data for the traffic: no series for requests_total in the window"),
        (_answer(999.4), "only 999 requests in the window (needs 1,000)"),
        (_answer(600, 399), "only 999 requests in the window (needs 1,000)"),
        (_answer(math.nan), "the traffic in the window is not a finite number (nan)"),
        (_answer(math.inf), "the traffic in the window is not a finite number (inf)"),
        (_answer(5000, warnings=("partial",)), "the traffic query's answer came with warnings: partial"),
    ],
)
def test_traffic_that_does_not_reach_the_bound_refuses_the_zero(answer: Measurement, why: str) -> None:
    assert traffic_refusal(Traffic("requests_total", 1000), answer) == why


def test_traffic_at_the_bound_lets_the_zero_be_judged() -> None:
    assert traffic_refusal(Traffic("requests_total", 1000), _answer(600, 400)) is None


@pytest.mark.parametrize(("condition", "outcome"), [("== 0", "VERIFIED"), ("< 5", "VERIFIED"), ("> 10", "FAILED")])
@pytest.mark.parametrize("mode", ["window", "every-step"])
def test_the_zero_is_judged_like_a_measured_zero(condition: str, outcome: str, mode: str) -> None:
    planned = _plan(condition, mode)
    step = planned.step.total_seconds() if planned.step else 0.0
    zero = zeros(planned.steps, (planned.range_start if planned.step else planned.end).timestamp(), step)
    verdict = decide(planned, zero, events=zero)
    assert verdict.outcome is Outcome(outcome) and verdict.value == 0
    assert verdict.support is not None and verdict.support.steps_with_data == planned.steps


# ------------------------------------------------------------------------------------- filing and check-config


def test_filing_writes_the_new_fields_into_the_signed_block_it_files() -> None:
    """An action-items file's `verification` with the new fields: the filed body's block reads back the same, and
    the bound signature covers them (a changed bound no longer verifies)."""

    doc = document()
    doc["items"][0]["verification"] = {
        "metric": "checkout_errors_total",
        "condition": "== 0",
        "no_data": "zero",
        "traffic": 'http_requests_total{service="checkout"} >= 1000',
        "recheck_after": "30d",
    }
    parsed = parse_filing(text(doc))
    spec = parsed.items[0]
    item = action_item(spec, "INC-7", incident_context(parsed.incident, actual_value=1.84), ())
    key = b"s" * 32
    for flavour in Flavour:
        body = signed_body(key, "A-1", item, flavour)
        found = find_config(body)
        assert found is not None and replace(found, signature=None) == spec.verification
        assert found.traffic == Traffic('http_requests_total{service="checkout"}', 1000)
        assert signed_for(key, "A-1", body, found)
        tampered = body.replace(">= 1000", ">= 1")
        again = find_config(tampered)
        assert again is not None and not signed_for(key, "A-1", tampered, again)


def test_check_config_spells_out_the_traffic_query_and_the_re_check() -> None:
    shown = explain(
        _block(*ERRORS, "no_data: zero", 'traffic: "requests_total >= 1000"', "delay: 3h", "recheck_after: 30d"),
        now=NOW,
    )
    assert shown["no data"] == (
        "no series at all is taken as 0 when sum(increase(requests_total[3h])) >= 1,000 at the window's end; "
        "INCONCLUSIVE otherwise"
    )
    assert shown["re-check"] == "a VERIFIED result is judged again over the window ending 720h after this one"
