"""Several conditions (`conditions:`) and the alert stayed silent (`alert:`), in the domain: the parser is total
and keeps every condition through its round trips, the verdict is the worst of the conditions', and the alert's
verdict says what it stood on (#24)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier import defaults
from verifier.domain.action_items import ActionItem, IncidentContext
from verifier.domain.alerts import AlertCondition, AlertRule
from verifier.domain.binding import signed_body, signed_for
from verifier.domain.conditions import RANK, combine, worst
from verifier.domain.config import VerificationConfig, build_config, canonical, render_config
from verifier.domain.formats import find_config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import QueryPlan, alert_selector, plan
from verifier.domain.protocol import config_fingerprint
from verifier.domain.render import render_result
from verifier.domain.silence import judge_alert
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Verdict
from verifier.errors import ConfigError

RESOLVED = datetime(2026, 3, 1, 12, tzinfo=UTC)
NOW = RESOLVED + timedelta(days=3)
LATENCY = {"metric": "http_server_request_duration_seconds", "condition": "< 300ms p99"}
ERRORS = {"metric": "checkout_errors_total", "condition": "< 5", "labels": {"service": "checkout"}}
ALERT = {"alert": "CheckoutLatencyHigh", "labels": {"service": "checkout"}}


def block(fields: dict[str, object]) -> str:
    return "```yaml\n# action-item-verifier: v1\n" + json.dumps(fields) + "\n```"


def planned(config: VerificationConfig) -> QueryPlan:
    found = plan(config, RESOLVED, NOW)
    assert isinstance(found, QueryPlan)
    return found


# -- the parser ---------------------------------------------------------------------------------------------------
def test_several_conditions_keep_their_own_fields_and_share_the_window() -> None:
    config = build_config({"conditions": [LATENCY, ERRORS, ALERT], "delay": "24h", "window": "6h"}, "block")
    assert [p.metric for p in config.parts] == [
        "http_server_request_duration_seconds",
        "checkout_errors_total",
        "ALERTS",
    ]
    assert [p.condition.text for p in config.parts[:2]] == ["< 300ms p99", "< 5"]
    assert config.parts[1].labels == (("service", "checkout"),)
    assert config.parts[2].alert == AlertCondition("CheckoutLatencyHigh", timedelta(0), (("service", "checkout"),))
    assert {(p.delay, p.window) for p in config.parts} == {(timedelta(hours=24), timedelta(hours=6))}
    assert (config.metric, config.condition) == (config.parts[0].metric, config.parts[0].condition)


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"conditions": [LATENCY] * 11}, "conditions", f"holds 11 conditions; at most {defaults.MAX_CONDITIONS}"),
        ({"conditions": []}, "conditions", "must be a non-empty list"),
        ({"conditions": "x"}, "conditions", "must be a non-empty list"),
        ({"conditions": [LATENCY], "metric": "x"}, "metric", "belongs inside each entry"),
        ({"conditions": [{**LATENCY, "window": "1h"}]}, "conditions[1].window", "is config-wide"),
        ({"conditions": [LATENCY, {"metric": "x"}]}, "conditions[2].condition", "is missing"),
        ({"conditions": [LATENCY, 3]}, "conditions[2]", "must be a mapping"),
        ({"conditions": [{"conditions": [LATENCY]}]}, "conditions[1].conditions", "is config-wide"),
        ({"conditions": [{"alert": "A", "condition": "< 1"}]}, "conditions[1].condition", "does not apply"),
        ({"alert": "A", "firing_at_most": "2d", "delay": "1d"}, "firing_at_most", "shorter than the window"),
        ({"alert": "A", "labels": {"alertstate": "pending"}}, "labels", "cannot set alertname or alertstate"),
        ({"alert": "A\nB"}, "alert", "control character"),
        ({"alert": "A" * 201}, "alert", "longer than 200"),
        ({"firing_at_most": "5m"}, "alert", "is missing"),
    ],
)
def test_a_bad_config_of_several_is_one_error_naming_the_field(raw: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(raw, "block")
    assert caught.value.field == field
    assert words in caught.value.reason
    assert "\n" not in str(caught.value)


def test_ten_conditions_are_the_most() -> None:
    assert len(build_config({"conditions": [LATENCY] * defaults.MAX_CONDITIONS}, "block").parts) == 10


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    ["metric", "condition", "alert", "firing_at_most", "labels", "window", "delay", "conditions", "unit", "type", "x"]
)
_ENTRY = st.dictionaries(_KEYS, _VALUES | st.sampled_from(["< 1", "A", "5m", "0s", "up", "1h"]), max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES | st.lists(_ENTRY, max_size=12) | st.sampled_from(["A", "5m", "1h"]), max_size=5))
def test_the_parser_is_total(raw: dict[str, object]) -> None:
    """Whatever the fields: a config, or a ConfigError (one line); never another exception."""
    try:
        config = build_config(raw, "block")
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(config, VerificationConfig)
    assert find_config(render_config(config, Flavour.MARKDOWN)) == config


_NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)
_METRIC_PART = st.builds(
    lambda metric, number: {"metric": metric, "condition": f"< {number}"},
    st.sampled_from(["up", "checkout_errors_total", "rate(x_total[5m])", 'sum(y{a="}"})']),
    st.integers(0, 10**6),
)
_ALERT_PART = st.builds(
    lambda name, labels, minutes: {
        "alert": name,
        "labels": labels,
        **({"firing_at_most": f"{minutes}m"} if minutes else {}),
    },
    _NAMES,
    st.dictionaries(st.sampled_from(["service", "env", "job"]), _NAMES, max_size=2),
    st.integers(0, 30),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_METRIC_PART | _ALERT_PART, min_size=1, max_size=defaults.MAX_CONDITIONS), st.sampled_from(list(Flavour))
)
def test_every_condition_survives_the_round_trip_and_the_fingerprint_binds_each(
    entries: list[dict[str, object]], flavour: Flavour
) -> None:
    config = build_config({"conditions": entries, "delay": "48h"}, "block")
    assert find_config(render_config(config, flavour)) == config
    fingerprint = config_fingerprint(canonical(config))
    for number in range(len(entries)):
        changed = [dict(e) for e in entries]
        if "alert" in changed[number]:
            changed[number]["alert"] = str(changed[number]["alert"]) + "x"
        else:
            changed[number]["condition"] = str(changed[number]["condition"]) + "1"
        other = build_config({"conditions": changed, "delay": "48h"}, "block")
        assert config_fingerprint(canonical(other)) != fingerprint, number


@pytest.mark.parametrize("flavour", list(Flavour))
def test_recheck_after_is_config_wide_beside_several_conditions_or_an_alert(flavour: Flavour) -> None:
    several = build_config({"conditions": [LATENCY, ALERT], "delay": "48h", "recheck_after": "30d"}, "block")
    assert {p.recheck_after for p in several.parts} == {timedelta(days=30)} == {several.recheck_after}
    alone = build_config({**ALERT, "delay": "48h", "recheck_after": "30d"}, "block")
    assert alone.recheck_after == timedelta(days=30)
    for config in (several, alone):
        written = render_config(config, flavour)
        assert written.count("recheck_after") == 1
        assert find_config(written) == config
    without = build_config({"conditions": [LATENCY, ALERT], "delay": "48h"}, "block")
    assert config_fingerprint(canonical(without)) != config_fingerprint(canonical(several))
    with pytest.raises(ConfigError) as refused:
        build_config({"conditions": [{**LATENCY, "recheck_after": "30d"}], "delay": "48h"}, "block")
    assert refused.value.field == "conditions[1].recheck_after"
    with pytest.raises(ConfigError) as too_late:
        build_config({**ALERT, "delay": "48h", "recheck_after": "365d"}, "block")
    assert too_late.value.field == "recheck_after"


def test_a_single_condition_config_is_written_as_before() -> None:
    config = build_config(LATENCY, "block")
    assert config.parts == () and config.alert is None
    assert canonical(config) == (
        'metric: "http_server_request_duration_seconds"\ncondition: "< 300ms p99"\ndelay: "48h"\nwindow: "48h"'
    )


def test_the_signature_binds_every_condition() -> None:
    """A filed body signed with several conditions: changing any one of them breaks the signature."""
    key = b"k" * 32
    config = build_config({"conditions": [LATENCY, ERRORS, ALERT]}, "file")
    context = IncidentContext("CheckoutLatencyHigh", "m", 0.5, 1.8, "checkout", "production", RESOLVED)
    item = ActionItem("Pool connections", "Fix.", "P1", None, "INC-1", context, config)
    body = signed_body(key, "OPS-1", item, Flavour.MARKDOWN)
    filed = find_config(body)
    assert filed is not None and filed.parts == config.parts
    assert signed_for(key, "OPS-1", body, filed)
    for old, new in (('"< 5"', '"< 50"'), ('"CheckoutLatencyHigh"', '"Other"'), ('"< 300ms p99"', '"< 3s p99"')):
        edited = body.replace(old, new)
        assert edited != body
        changed = find_config(edited)
        assert changed is not None
        assert not signed_for(key, "OPS-1", edited, changed), old


# -- worst of ------------------------------------------------------------------------------------------------------
_OUTCOMES = st.sampled_from([Outcome.VERIFIED, Outcome.INCONCLUSIVE, Outcome.FAILED, Outcome.ERROR, Outcome.INVALID])


@given(st.lists(_OUTCOMES, min_size=1, max_size=defaults.MAX_CONDITIONS))
def test_the_verdict_of_several_is_the_worst(outcomes: list[Outcome]) -> None:
    config = build_config({"conditions": [LATENCY] * len(outcomes)}, "block")
    whole = planned(config)
    verdicts = [Verdict(o, f"reason {n}") for n, o in enumerate(outcomes, start=1)]
    combined = combine(whole, verdicts)
    expected = (
        Outcome.INVALID
        if Outcome.INVALID in outcomes
        else Outcome.ERROR
        if Outcome.ERROR in outcomes
        else Outcome.FAILED
        if Outcome.FAILED in outcomes
        else Outcome.INCONCLUSIVE
        if Outcome.INCONCLUSIVE in outcomes
        else Outcome.VERIFIED
    )
    assert combined.outcome is expected is worst(outcomes)
    assert [p.outcome for p in combined.parts] == outcomes
    assert all(p.condition == "http_server_request_duration_seconds < 300ms p99" for p in combined.parts)
    assert combined.config == config_fingerprint(canonical(config))
    first = outcomes.index(expected) + 1
    if expected is Outcome.VERIFIED:
        assert combined.reason == (
            f"all {len(outcomes)} conditions held" if len(outcomes) > 1 else "the condition held"
        )
    else:
        assert combined.reason.startswith(f"{outcomes.count(expected)} of {len(outcomes)} conditions ")
        assert combined.reason.endswith(
            f"condition {first} (http_server_request_duration_seconds < 300ms p99): reason {first}"
        )


def test_rank_orders_failed_over_inconclusive_over_verified() -> None:
    assert RANK[Outcome.FAILED] > RANK[Outcome.INCONCLUSIVE] > RANK[Outcome.VERIFIED]


def test_the_comment_shows_each_condition_on_its_own_line() -> None:
    config = build_config({"conditions": [LATENCY, ALERT], "delay": "3h"}, "block")
    whole = planned(config)
    from verifier.domain.units import SECONDS, Threshold

    held = Verdict(Outcome.VERIFIED, "the condition held", 0.08, Threshold(0.3, SECONDS, False), "<", query="q1")
    fired = Verdict(
        Outcome.FAILED,
        "alert CheckoutLatencyHigh fired again in the window: about 2m (120 firing samples)",
        120.0,
        Threshold(0.0, SECONDS, False),
        "<=",
        query="q2",
    )
    verdict = combine(whole, [held, fired])
    markdown = render_result(verdict, RESOLVED, Flavour.MARKDOWN)
    assert (
        "| Condition 1 | VERIFIED: http\\_server\\_request\\_duration\\_seconds < 300ms p99: measured 0.08 seconds against < 0.3 seconds; the condition held |"
        in markdown
    )
    assert (
        '| Condition 2 | FAILED: alert CheckoutLatencyHigh{service="checkout"} silent: measured 120 seconds against <= 0 seconds; alert CheckoutLatencyHigh fired again in the window: about 2m (120 firing samples) |'
        in markdown
    )
    assert "Condition 1:\n\n```promql\nq1\n```" in markdown and "Condition 2:\n\n```promql\nq2\n```" in markdown
    wiki = render_result(verdict, RESOLVED, Flavour.JIRA_WIKI)
    assert "||Condition 2|FAILED: alert CheckoutLatencyHigh" in wiki
    assert f"config={config_fingerprint(canonical(config))}" in wiki


# -- the alert ----------------------------------------------------------------------------------------------------
def alert_plan(**fields: object) -> QueryPlan:
    return planned(build_config({"alert": "CheckoutLatencyHigh", "delay": "3h", **fields}, "block"))


RULE = AlertRule("CheckoutLatencyHigh", "checkout", 15.0, "ok")


def firing(samples: float | None) -> Measurement:
    return Measurement(() if samples is None else (Series((), ((0.0, samples),)),))


def test_the_alert_query_counts_firing_samples_of_the_escaped_selector() -> None:
    hostile = AlertCondition('x",alertstate="pending', labels=(("service", 'a"}or vector(1)#\\'),))
    assert alert_selector(hostile) == (
        'ALERTS{alertname="x\\",alertstate=\\"pending",alertstate="firing",service="a\\"}or vector(1)#\\\\"}'
    )
    assert alert_plan().query == 'max(count_over_time(ALERTS{alertname="CheckoutLatencyHigh",alertstate="firing"}[3h]))'


@pytest.mark.parametrize(
    ("samples", "rules", "fields", "outcome", "reason"),
    [
        (None, (RULE,), {}, Outcome.VERIFIED, "alert CheckoutLatencyHigh stayed silent over the window"),
        (
            8.0,
            (RULE,),
            {},
            Outcome.FAILED,
            "alert CheckoutLatencyHigh fired again in the window: about 2m (8 firing samples)",
        ),
        (8.0, None, {}, Outcome.FAILED, "alert CheckoutLatencyHigh fired again in the window (8 firing samples)"),
        (
            8.0,
            (RULE,),
            {"firing_at_most": "2m"},
            Outcome.VERIFIED,
            "alert CheckoutLatencyHigh fired for about 2m, within the allowed 2m",
        ),
        (
            9.0,
            (RULE,),
            {"firing_at_most": "2m"},
            Outcome.FAILED,
            "alert CheckoutLatencyHigh fired again in the window: about 135s (9 firing samples)",
        ),
        (None, None, {}, Outcome.INCONCLUSIVE, "no rule data: the backend has no rules API (/api/v1/rules)"),
        (
            None,
            (),
            {},
            Outcome.INCONCLUSIVE,
            "no rule data: the backend evaluates no alerting rule named 'CheckoutLatencyHigh'",
        ),
        (
            None,
            (replace(RULE, health="err", last_error="many-to-many matching"),),
            {},
            Outcome.INCONCLUSIVE,
            "no rule data: the alerting rule 'CheckoutLatencyHigh' fails to evaluate: many-to-many matching",
        ),
        (
            None,
            (replace(RULE, evaluated=False, health="unknown"),),
            {},
            Outcome.INCONCLUSIVE,
            "no rule data: the alerting rule 'CheckoutLatencyHigh' has not been evaluated",
        ),
        (float("nan"), (RULE,), {}, Outcome.INCONCLUSIVE, "the count of the alert's firing samples is nan"),
        (
            3.0,
            (replace(RULE, interval_seconds=None),),
            {"firing_at_most": "5m"},
            Outcome.INCONCLUSIVE,
            "the rules API gives no evaluation interval",
        ),
    ],
)
def test_the_alert_verdict(
    samples: float | None, rules: tuple[AlertRule, ...] | None, fields: dict[str, object], outcome: Outcome, reason: str
) -> None:
    verdict = judge_alert(alert_plan(**fields), firing(samples), rules)
    assert verdict.outcome is outcome
    assert verdict.reason.startswith(reason), verdict.reason


def test_a_backend_warning_makes_the_alert_inconclusive() -> None:
    verdict = judge_alert(alert_plan(), Measurement((), warnings=("partial response",)), (RULE,))
    assert (verdict.outcome, verdict.reason) == (Outcome.INCONCLUSIVE, "the backend warned: partial response")


def test_the_incident_alert_is_added_at_filing() -> None:
    from verifier.domain.filing import parse_filing

    text = """
incident: {id: INC-1, alert_name: CheckoutLatencyHigh, metric_name: m, threshold_value: 1, actual_value: 2,
           service_name: checkout, environment: prod, triggered_at: "2026-03-01T10:00:00Z"}
items:
  - title: One
    priority: P1
    verification: {metric: up, condition: "> 0", delay: 24h, alert_silent: true}
  - title: Two
    priority: P1
    verification: {alert_silent: {firing_at_most: 5m}, delay: 24h}
  - title: Three
    priority: P1
    verification: {conditions: [{metric: up, condition: "> 0"}, {metric: x_total, condition: "< 3"}]}
"""
    items = parse_filing(text).items
    one, two, three = (i.verification for i in items)
    assert [p.alert.name if p.alert else p.metric for p in one.parts] == ["up", "CheckoutLatencyHigh"]
    assert one.delay == timedelta(hours=24) and one.parts[1].delay == timedelta(hours=24)
    assert two.parts == () and two.alert == AlertCondition("CheckoutLatencyHigh", timedelta(minutes=5))
    assert [p.metric for p in three.parts] == ["up", "x_total"]


def test_check_config_numbers_each_condition_and_shows_the_whole_config() -> None:
    from verifier.domain.explain import explain

    out = explain(block({"conditions": [ERRORS, ALERT], "delay": "3h"}), now=NOW)
    assert out["condition 1"] == "checkout_errors_total < 5"
    assert out["query 1"] == 'sum(increase(checkout_errors_total{service="checkout"}[3h]))'
    assert out["condition 2"] == 'alert CheckoutLatencyHigh{service="checkout"} silent'
    assert out["threshold 2"] == "fired for at most 0s"
    assert out["query 2"] == (
        'max(count_over_time(ALERTS{alertname="CheckoutLatencyHigh",alertstate="firing",service="checkout"}[3h]))'
    )
    assert find_config(block({}).replace("{}", out["config"])) == find_config(
        block({"conditions": [ERRORS, ALERT], "delay": "3h"})
    )


@pytest.mark.parametrize("flavour", list(Flavour))
def test_ten_conditions_of_the_longest_values_fit_the_trackers_comment(flavour: Flavour) -> None:
    from verifier.domain.evidence import Evidence
    from verifier.domain.render import COMMENT_LIMIT, comment_length

    huge = "x" * 4000
    config = build_config({"conditions": [{"metric": "up", "condition": "< 1"}] * 10}, "block")
    whole = planned(config)
    part = Verdict(
        Outcome.FAILED,
        "r" * 5000,
        2.0,
        None,
        "<",
        query="q" * 4000,
        series="{" + "s" * 5000 + "}",
        notes=("n" * 600,) * 20,
        evidence=Evidence("https://prometheus/graph?" + "g" * 20_000, "Prometheus"),
    )
    comment = render_result(combine(whole, [replace(part, condition=huge)] * 10), RESOLVED, flavour)
    assert comment_length(comment, flavour) <= COMMENT_LIMIT[flavour]
    assert all(f"Condition {n}" in comment for n in range(1, 11))


def test_odd_rules_api_answers_are_passed_over() -> None:
    from verifier.adapters.prometheus import parse_alert_rules

    groups = [
        None,
        {"name": "g", "rules": "x"},
        {"name": "g", "interval": True, "rules": [None, {"type": "recording", "name": "A"}]},
        {
            "name": "g2",
            "interval": float("inf"),
            "rules": [{"type": "alerting", "name": "A", "health": "ok", "lastEvaluation": "0001-01-01T00:00:00Z"}],
        },
        {
            "name": "g3",
            "interval": 30,
            "rules": [
                {
                    "type": "alerting",
                    "name": "A",
                    "health": "err",
                    "lastError": "e" * 900,
                    "lastEvaluation": "2026-03-01T00:00:00Z",
                },
                {"type": "alerting", "name": "B"},
            ],
        },
    ]
    assert list(parse_alert_rules(groups, "A")) == [
        AlertRule("A", "g2", None, "ok", "", evaluated=False),
        AlertRule("A", "g3", 30.0, "err", "e" * 500, evaluated=True),
    ]


@pytest.mark.parametrize("text", ["0s", " 0 ", "0m", "00h", "0.0 seconds"])
def test_a_zero_allowance_is_silence(text: str) -> None:
    assert build_config({"alert": "A", "firing_at_most": text}, "block").alert == AlertCondition("A")


def test_a_zero_allowance_followed_by_anything_else_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"alert": "A", "firing_at_most": "0s" + " " * 50 + "x"}, "block")
    assert caught.value.field == "firing_at_most"


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        _KEYS, _VALUES | st.lists(_ENTRY | _VALUES, max_size=12) | st.sampled_from(["A", "5m", "1h"]), max_size=5
    ),
    st.booleans(),
)
def test_a_text_holding_any_block_is_a_config_no_config_or_a_config_error(raw: dict[str, object], header: bool) -> None:
    import yaml

    body = yaml.safe_dump(raw, default_flow_style=False) if raw else ""
    text = "```yaml\n" + ("# action-item-verifier: v1\n" if header else "# something else\n") + body + "```"
    try:
        found = find_config(text)
    except ConfigError as error:
        assert header and "\n" not in str(error)
        return
    assert found is None if not header else isinstance(found, VerificationConfig)


def test_the_run_summary_lists_each_condition_under_its_ticket() -> None:
    from verifier.services.run import RunReport, TicketResult
    from verifier.services.summary import as_json, as_text

    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    conditions: list[dict[str, object]] = [
        {"line": "VERIFIED: up < 1: measured 0.5 against < 1; the condition held", "graph": "https://p/graph?a"},
        {"line": "FAILED: alert A silent; alert A fired again in the window (3 firing samples)", "graph": None},
    ]
    failed = TicketResult("OPS-1", "u", Outcome.FAILED, "1 of 2 conditions did not hold", conditions=conditions)
    report = RunReport(started, dry_run=False, results=[failed, TicketResult("OPS-22", "u", Outcome.VERIFIED, "held")])
    assert as_text(report).splitlines()[:4] == [
        "OPS-1   FAILED        1 of 2 conditions did not hold",
        "                      condition 1: VERIFIED: up < 1: measured 0.5 against < 1; the condition held "
        "[graph: https://p/graph?a]",
        "                      condition 2: FAILED: alert A silent; alert A fired again in the window (3 firing samples)",
        "OPS-22  VERIFIED      held",
    ]
    one, other = as_json(report)["tickets"]
    assert one["conditions"] == conditions and "conditions" not in other
