"""What `build_config` accepts and refuses, with the exact reason a ticket's author reads, and how `render_config`
writes a config back: the checks of verifier/domain/config.py one by one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from verifier.domain.config import DEFAULT_DELAY, MAX_METRIC_LENGTH, build_config, canonical, render_config
from verifier.domain.tickets import Flavour
from verifier.errors import ConfigError

BASE = {"metric": "http_requests_seconds", "condition": "< 1s p99"}


def _error(**fields: object) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        build_config({**BASE, **fields}, "block")
    return error.value


def _reason(**fields: object) -> tuple[str, str]:
    error = _error(**fields)
    return error.field, error.reason


def test_a_minimal_config_takes_the_defaults() -> None:
    config = build_config(BASE, "seed-comment")
    assert config.metric == "http_requests_seconds"
    assert config.condition.text == "< 1s p99"
    assert config.delay == DEFAULT_DELAY == timedelta(hours=48)
    assert config.window == DEFAULT_DELAY
    assert config.unit is None
    assert config.labels == ()
    assert config.mode == "window"
    assert config.tolerance_percent == 0.0
    assert config.baseline_window is None
    assert config.source == "seed-comment"
    assert config.signature is None


def test_an_unknown_field_is_named_with_the_known_ones() -> None:
    assert _reason(zeta=1, alpha=2) == (
        "alpha",
        "unknown field (known fields: metric, condition, delay_hours, delay, window, unit, labels, mode, "
        "tolerance, baseline_window, min_events, type, temporality, no_data, traffic, recheck_after, "
        "conditions, alert, firing_at_most)",
    )


def test_a_missing_metric_or_condition_is_named() -> None:
    with pytest.raises(ConfigError) as error:
        build_config({"condition": "< 1"}, "block")
    assert (error.value.field, error.value.reason) == ("metric", "is missing")
    with pytest.raises(ConfigError) as error:
        build_config({"metric": "x"}, "block")
    assert (error.value.field, error.value.reason) == ("condition", "is missing")


def test_a_metric_may_be_as_long_as_the_limit_but_no_longer() -> None:
    name = "a" * MAX_METRIC_LENGTH
    assert build_config({"metric": name, "condition": "< 1"}, "block").metric == name
    with pytest.raises(ConfigError) as error:
        build_config({"metric": name + "a", "condition": "< 1"}, "block")
    assert (error.value.field, error.value.reason) == ("metric", "is longer than 4000 characters")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "must be text, not bool"),
        ([1], "must be text, not list"),
        ("   ", "is empty"),
        ("a\x00b", "contains a NUL character or a lone surrogate"),
        ("a" + chr(0xD800) + "b", "contains a NUL character or a lone surrogate"),
        ("a" + chr(0xDFFF) + "b", "contains a NUL character or a lone surrogate"),
    ],
)
def test_a_text_field_must_be_non_empty_clean_text(value: object, reason: str) -> None:
    assert _reason(unit=value) == ("unit", reason)


def test_text_fields_are_stripped_and_numbers_read_as_text() -> None:
    config = build_config({"metric": "  up  ", "condition": "< 1", "unit": 1}, "block")
    assert config.metric == "up"
    assert config.unit == "1"


def test_characters_next_to_the_surrogates_are_accepted() -> None:
    config = build_config({**BASE, "labels": {"a": "\ud7ff\ue000"}}, "block")
    assert config.labels == (("a", "\ud7ff\ue000"),)


def test_delay_and_delay_hours_together_are_refused() -> None:
    assert _reason(delay="1h", delay_hours=1) == ("delay", "is given twice: use either delay_hours or delay")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(24, timedelta(hours=24)), (1.5, timedelta(minutes=90)), (" 36 ", timedelta(hours=36)), ("2", timedelta(hours=2))],
)
def test_delay_hours_reads_numbers_and_numeric_text(value: object, expected: timedelta) -> None:
    config = build_config({**BASE, "delay_hours": value}, "block")
    assert config.delay == expected
    assert config.window == expected  # the window defaults to the delay


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("soon", "'soon' is not a number of hours"),
        (True, "must be a number of hours, not bool"),
        ([48], "must be a number of hours, not list"),
        (10**6 + 1, "must be at most 8784 hours"),
        (-(10**6) - 1, "must be at most 8784 hours"),
        (10**400, "must be at most 8784 hours"),
    ],
)
def test_bad_delay_hours_are_explained(value: object, reason: str) -> None:
    assert _reason(delay_hours=value) == ("delay_hours", reason)


def test_a_million_hours_is_refused_by_the_duration_limit() -> None:
    field, reason = _reason(delay_hours=10**6)
    assert field == "delay_hours"
    assert reason == "must be at most 8784 hours"


def test_delay_as_a_duration() -> None:
    config = build_config({**BASE, "delay": "72h", "window": "24h"}, "block")
    assert config.delay == timedelta(hours=72)
    assert config.window == timedelta(hours=24)


def test_a_duration_field_must_be_text() -> None:
    assert _reason(delay=48) == ("delay", "must be a duration such as 48h, not int")
    assert build_config({**BASE, "delay": "2h", "window": None}, "block").window == timedelta(hours=2)


def test_a_window_equal_to_the_delay_is_fine_but_longer_is_refused() -> None:
    assert build_config({**BASE, "delay": "24h", "window": "24h"}, "block").window == timedelta(hours=24)
    assert _reason(delay="24h", window="25h") == (
        "window",
        "25h is longer than the delay 24h: it would measure time before the fix",
    )


def test_labels_are_sorted_and_read_as_text() -> None:
    config = build_config({**BASE, "labels": {"zone": "a", "code": 500, "service.name": "x", "_x": 1.5}}, "block")
    assert config.labels == (("_x", "1.5"), ("code", "500"), ("service.name", "x"), ("zone", "a"))


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (["a"], 'must be a mapping of label names to values, e.g. {service: "checkout"}'),
        ({"__name__": "x"}, "'__name__' is not a valid Prometheus label name"),
        ({"1a": "x"}, "'1a' is not a valid Prometheus label name"),
        ({"a-b": "x"}, "'a-b' is not a valid Prometheus label name"),
        ({1: "x"}, "'1' is not a valid Prometheus label name"),
        ({"a": True}, "the value of 'a' must be text"),
        ({"a": None}, "the value of 'a' must be text"),
        ({"a": "x\x00"}, "the value of 'a' contains a NUL character or a lone surrogate"),
        ({"a": "x\udc00"}, "the value of 'a' contains a NUL character or a lone surrogate"),
    ],
)
def test_bad_labels_are_explained(labels: object, reason: str) -> None:
    assert _reason(labels=labels) == ("labels", reason)


def test_a_single_leading_underscore_label_is_allowed() -> None:
    assert build_config({**BASE, "labels": {"_a": "x"}}, "block").labels == (("_a", "x"),)


def test_labels_on_a_promql_expression_are_refused() -> None:
    with pytest.raises(ConfigError) as error:
        build_config({"metric": "sum(rate(x_total[5m]))", "condition": "< 1", "labels": {"a": "b"}}, "block")
    assert (error.value.field, error.value.reason) == (
        "labels",
        "apply to a bare metric name; write the matchers into the PromQL expression",
    )


def test_modes() -> None:
    assert build_config({**BASE, "mode": "window"}, "block").mode == "window"
    assert build_config({**BASE, "mode": "every-step"}, "block").mode == "every-step"
    assert _reason(mode="Every-Step") == ("mode", "'Every-Step' is not a mode (use 'window' or 'every-step')")


@pytest.mark.parametrize(("text", "percent"), [("5%", 5.0), (" 2.5 % ", 2.5), ("0%", 0.0), ("99.9%", 99.9)])
def test_tolerance_is_a_percentage_of_steps(text: str, percent: float) -> None:
    config = build_config({**BASE, "mode": "every-step", "tolerance": text}, "block")
    assert config.tolerance_percent == percent


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("5", "'5' must be a percentage of steps, such as 5%"),
        (5, "'5' must be a percentage of steps, such as 5%"),
        ("-1%", "'-1%' must be a percentage of steps, such as 5%"),
        ("100%", "must be at least 0% and below 100%"),
        ("1" * 400 + "%", "must be at least 0% and below 100%"),
    ],
)
def test_bad_tolerances_are_explained(value: object, reason: str) -> None:
    assert _reason(mode="every-step", tolerance=value) == ("tolerance", reason)


def test_tolerance_needs_every_step_mode() -> None:
    assert _reason(tolerance="5%") == ("tolerance", "applies only to mode: every-step")
    assert _reason(mode="window", tolerance="5%") == ("tolerance", "applies only to mode: every-step")


def test_baseline_window_needs_a_relative_condition() -> None:
    assert _reason(baseline_window="1h") == (
        "baseline_window",
        "is set, but the condition is not relative to a baseline",
    )


def test_every_field_rendered_for_markdown() -> None:
    config = build_config(
        {
            "metric": 'say "hi"\\',
            "condition": "< 1s",
            "delay": "90m",
            "window": "30m",
            "unit": "seconds",
            "mode": "every-step",
            "tolerance": "2.5%",
        },
        "block",
    )
    assert render_config(config, Flavour.MARKDOWN) == (
        "```yaml\n"
        "# action-item-verifier: v1\n"
        'metric: "say \\"hi\\"\\\\"\n'
        'condition: "< 1s"\n'
        'delay: "90m"\n'
        'window: "30m"\n'
        'unit: "seconds"\n'
        "mode: every-step\n"
        'tolerance: "2.5%"\n'
        "```"
    )


def test_a_minimal_config_rendered_for_jira_leaves_out_the_defaults() -> None:
    config = build_config({"metric": "x_seconds", "condition": "< 1s", "delay_hours": 48}, "block")
    assert render_config(config, Flavour.JIRA_WIKI) == (
        '{code:yaml}\n# action-item-verifier: v1\nmetric: "x_seconds"\ncondition: "< 1s"\n'
        'delay: "48h"\nwindow: "48h"\n{code}'
    )


def test_a_baseline_window_and_a_signature_are_rendered_last() -> None:
    from dataclasses import replace

    config = build_config({"metric": "x_seconds", "condition": "< 110% of baseline", "baseline_window": "2h"}, "block")
    text = render_config(replace(config, signature="abc"), Flavour.MARKDOWN)
    assert text.endswith('\nbaseline_window: "2h"\n# sig: abc\n```')
    assert canonical(replace(config, signature="abc")) == (
        'metric: "x_seconds"\ncondition: "< 110% of baseline"\ndelay: "48h"\nwindow: "48h"\nbaseline_window: "2h"'
    )


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("tab\there", '"tab\\x09here"'),
        ("\x7f", '"\\x7f"'),
        ("\xa0é", '"\xa0é"'),
        ("\u2028", '"\\u2028"'),
        ("\u2029", '"\\u2029"'),
        ("\ufeff", '"\\ufeff"'),
        ("\ufffe", '"\\ufffe"'),
        ("\U0001f600", '"\U0001f600"'),
        ("~ ", '"~ "'),
    ],
)
def test_metric_text_is_escaped_only_where_yaml_needs_it(text: str, quoted: str) -> None:
    config = build_config({"metric": f"m{text}m", "condition": "< 1"}, "block")
    line = render_config(config, Flavour.MARKDOWN).split("\n")[2]
    assert line == f'metric: "m{quoted[1:-1]}m"'


def test_jira_escapes_macro_tags_in_any_case_but_markdown_does_not() -> None:
    config = build_config({"metric": "{code} {NOFORMAT} {color}", "condition": "< 1"}, "block")
    jira = render_config(config, Flavour.JIRA_WIKI).split("\n")[2]
    assert jira == 'metric: "\\x7bcode} \\x7bNOFORMAT} {color}"'
    markdown = render_config(config, Flavour.MARKDOWN).split("\n")[2]
    assert markdown == 'metric: "{code} {NOFORMAT} {color}"'


def test_labels_are_rendered_as_a_sorted_flow_mapping_of_quoted_text() -> None:
    config = build_config({"metric": "x_seconds", "condition": "< 1s", "labels": {"b": 'q"', "a": 1}}, "block")
    assert render_config(config, Flavour.MARKDOWN).split("\n")[6] == 'labels: {"a": "1", "b": "q\\""}'


def test_a_unit_annotation_that_looks_like_a_jira_macro_cannot_close_the_block() -> None:
    config = build_config({"metric": "x_total", "condition": "< 1", "unit": "{code}"}, "block")
    assert render_config(config, Flavour.JIRA_WIKI).split("\n")[6] == 'unit: "\\x7bcode}"'


def test_the_last_character_below_the_astral_planes_is_escaped_in_four_digits() -> None:
    config = build_config({"metric": "m\uffffm", "condition": "< 1"}, "block")
    assert render_config(config, Flavour.MARKDOWN).split("\n")[2] == 'metric: "m\\uffffm"'


@pytest.mark.parametrize("value", [chr(0xD800), chr(0xDFFF)])
def test_label_values_at_the_ends_of_the_surrogate_range_are_refused(value: str) -> None:
    assert _reason(labels={"a": value}) == (
        "labels",
        "the value of 'a' contains a NUL character or a lone surrogate",
    )


def test_a_capital_x_in_a_metric_is_written_as_it_is() -> None:
    config = build_config({"metric": "Xyz_seconds", "condition": "< 1s"}, "block")
    assert render_config(config, Flavour.MARKDOWN).split("\n")[2] == 'metric: "Xyz_seconds"'


def test_a_label_name_ending_in_a_newline_is_refused() -> None:
    # `$` alone also matches before a final newline: the whole name must be a label name.
    assert _error(labels={"ab\n": "x"}).field == "labels"
