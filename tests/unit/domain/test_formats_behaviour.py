"""How `find_config` reads each of the three formats, which one wins, and the reason a broken one gives
(verifier/domain/formats.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from verifier.domain.formats import MAX_BLOCK, MAX_TEXT, carries_config, find_config
from verifier.errors import ConfigError

HEADER = "# action-item-verifier: v1"


def _block(*lines: str, fence: str = "```yaml") -> str:
    closing = fence.split("yaml")[0].rstrip() if fence.startswith(("`", "~")) else fence
    return "\n".join([fence, HEADER, *lines, closing])


def _reason(text: object) -> tuple[str, str]:
    with pytest.raises(ConfigError) as error:
        find_config(text)  # type: ignore[arg-type]
    return error.value.field, error.value.reason


def test_the_text_must_be_text_of_bounded_length() -> None:
    assert _reason(None) == ("text", "must be text, not NoneType")
    assert _reason(b"x") == ("text", "must be text, not bytes")
    assert _reason("x" * (MAX_TEXT + 1)) == ("text", "is longer than 1000000 characters")
    assert find_config("x" * MAX_TEXT) is None


def test_a_project_block_records_its_source_and_signature() -> None:
    config = find_config(_block("metric: x_seconds", "condition: < 1s", "# sig: " + "ab12" * 8))
    assert config is not None
    assert (config.metric, config.source, config.signature) == ("x_seconds", "block", "ab12" * 8)
    unsigned = find_config(_block("metric: x_seconds", "condition: < 1s"))
    assert unsigned is not None
    assert unsigned.signature is None


def test_a_project_block_in_jira_records_its_signature() -> None:
    text = "{code:yaml}\n" + HEADER + "\nmetric: x_seconds\ncondition: < 1s\n# sig: " + "0" * 32 + "\n{code}"
    config = find_config(text)
    assert config is not None
    assert (config.source, config.signature) == ("block", "0" * 32)


@pytest.mark.parametrize("fence", ["```", "~~~", "````yaml", "~~~~"])
def test_project_blocks_in_any_fence(fence: str) -> None:
    closing = fence.removesuffix("yaml")
    text = f"Intro\n{fence}\n{HEADER}\nmetric: x_seconds\ncondition: < 1s\n{closing}\nOutro"
    config = find_config(text)
    assert config is not None
    assert config.metric == "x_seconds"


def test_a_longer_tilde_fence_closes_a_shorter_opening_only_when_exact() -> None:
    text = f"~~~~~\n{HEADER}\nmetric: x_seconds\ncondition: < 1s\n~~~\n"
    assert find_config(text) is not None  # `~~~~~` opens as `~~~` with `~~` as its info string


def test_a_backtick_fence_with_a_backtick_in_its_info_string_opens_nothing() -> None:
    text = f"```a`b\n{HEADER}\nmetric: x_seconds\ncondition: < 1s\n```\n"
    assert find_config(text) is None


def test_an_unclosed_block_is_no_config() -> None:
    assert find_config(f"```yaml\n{HEADER}\nmetric: x_seconds\ncondition: < 1s\n") is None


def test_the_last_of_several_project_blocks_wins_in_jira_too() -> None:
    first = "{code:yaml}\n" + HEADER + "\nmetric: a_seconds\ncondition: < 1s\n{code}"
    second = "{code:yaml}\n" + HEADER + "\nmetric: b_seconds\ncondition: < 1s\n{code}"
    config = find_config(first + "\n" + second)
    assert config is not None
    assert config.metric == "b_seconds"


def test_a_project_block_wins_over_a_later_seed_comment_and_section() -> None:
    block = _block("metric: block_seconds", "condition: < 1s")
    seed = "*Automated Verification Config*\n{code}\nmetric: seed_seconds\ncondition: < 1s\n{code}"
    section = "## Verification Criteria\n- **Metric**: `section_seconds`\n- **Expected**: < 1s\n"
    config = find_config(block + "\n" + seed + "\n" + section)
    assert config is not None
    assert (config.metric, config.source) == ("block_seconds", "block")
    config = find_config(section + "\n" + seed)
    assert config is not None
    assert (config.metric, config.source) == ("seed_seconds", "seed-comment")
    config = find_config(seed + "\n" + section)
    assert config is not None
    assert (config.metric, config.source) == ("seed_seconds", "seed-comment")


def test_the_last_of_two_sections_wins() -> None:
    one = "## Verification Criteria\n- **Metric**: `one_seconds`\n- **Expected**: < 1s\n"
    two = "## Verification Criteria\n- **Metric**: `two_seconds`\n- **Expected**: < 1s\n"
    config = find_config(one + "## Other\n" + two)
    assert config is not None
    assert (config.metric, config.source) == ("two_seconds", "seed-section")


def test_a_seed_block_before_the_title_is_not_a_config() -> None:
    text = "{code}\nmetric: x_seconds\ncondition: < 1s\n{code}\n*Automated Verification Config*"
    assert find_config(text) is None
    assert not carries_config(text)


def test_seed_comment_lines() -> None:
    text = (
        "*automated verification config*\n{noformat}\n\n  metric : 'x_seconds'  \ncondition: \"< 1s\"\n"
        "delay_hours: 2\n{noformat}"
    )
    config = find_config(text)
    assert config is not None
    assert (config.metric, config.condition.text, config.delay) == ("x_seconds", "< 1s", timedelta(hours=2))
    assert config.source == "seed-comment"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ("metric: x\n\nno colon here", "block", "line 4 is not 'field: value': no colon here"),
        ("metric: x\nmetric: y", "metric", "is given twice"),
        ("metric: x\n" + "  " + "y" * 100, "block", "line 3 is not 'field: value': " + "y" * 80),
    ],
)
def test_broken_seed_comments_are_explained(body: str, field: str, reason: str) -> None:
    assert _reason("*Automated Verification Config*\n{code}\n" + body + "\n{code}") == (field, reason)


@pytest.mark.parametrize("value", ["'< 1", "< 1'", "'", "\"< 1'"])
def test_seed_values_are_unquoted_only_when_quoted_at_both_ends(value: str) -> None:
    text = "*Automated Verification Config*\n{code}\nmetric: x\ncondition: " + value + "\n{code}"
    field, reason = _reason(text)
    assert field == "condition"
    assert reason.startswith(f"cannot read '{value}'")


@pytest.mark.parametrize("value", ["'< 1'", '"< 1"'])
def test_quoted_seed_values_lose_their_quotes(value: str) -> None:
    text = "*Automated Verification Config*\n{code}\nmetric: x\ncondition: " + value + "\n{code}"
    config = find_config(text)
    assert config is not None
    assert config.condition.text == "< 1"


@pytest.mark.parametrize(
    ("section", "metric", "condition", "delay"),
    [
        (
            "## Verification Criteria\n- **Metric**: `a_seconds`\n- **Expected**: `< 1s`\n"
            "- **Verification Window**: 2 days after deployment\n",
            "a_seconds",
            "< 1s",
            timedelta(days=2),
        ),
        (
            "### Verification Criteria:\n* *Metric*: a_seconds\n+ Expected: < 1s\n"
            "- **Verification Window:** 90 minutes\n",
            "a_seconds",
            "< 1s",
            timedelta(minutes=90),
        ),
        (
            "h3. Verification Criteria\n- *Metric*: {{a_seconds\\{x\\}}}\n- *Expected*: {{< 1s}}\n"
            "- *Verification Window*: {{36h}}\n",
            "a_seconds{x}",
            "< 1s",
            timedelta(hours=36),
        ),
        (
            "## verification criteria\n- **metric**: `a_seconds`\n- **EXPECTED**: < 1s\n"
            "- **Verification Window**: 1.5 hrs\n",
            "a_seconds",
            "< 1s",
            timedelta(minutes=90),
        ),
        (
            "## Verification Criteria\n- **Metric**: `a_seconds`\n- **Expected**: < 1s\n"
            "- **Verification Window**: 3d\n",
            "a_seconds",
            "< 1s",
            timedelta(days=3),
        ),
        (
            "## Verification Criteria\n- **Metric**: `a_seconds`\n- **Expected**: < 1s\n",
            "a_seconds",
            "< 1s",
            timedelta(hours=48),
        ),
    ],
)
def test_section_variants(section: str, metric: str, condition: str, delay: timedelta) -> None:
    config = find_config("Prose.\n\n" + section + "\n## Next\n- **Metric**: `other_seconds`\n")
    assert config is not None
    assert (config.metric, config.condition.text, config.delay, config.source) == (
        metric,
        condition,
        delay,
        "seed-section",
    )


def test_a_section_without_a_metric_is_explained() -> None:
    assert _reason("## Verification Criteria\n- **Expected**: < 1s\n") == (
        "metric",
        "the Verification Criteria section names no '- **Metric**: `...`'",
    )


def test_a_metric_bullet_after_the_next_heading_is_not_the_sections() -> None:
    assert _reason("## Verification Criteria\n- **Expected**: < 1s\n## Other\n- **Metric**: `x`\n")[0] == "metric"


def test_an_unreadable_window_is_explained() -> None:
    text = "## Verification Criteria\n- **Metric**: `x`\n- **Expected**: < 1\n- **Verification Window**: " + ("w" * 100)
    assert _reason(text) == ("delay_hours", "cannot read the Verification Window '" + "w" * 80 + "' (e.g. '48 hours')")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("`", "`"),
        ("{{", "{{"),
        ("`a_seconds`", "a_seconds"),
        ("{{ a }}", "a"),
        ("`a_seconds", "`a_seconds"),
        ("{{a}", "{{a}"),
    ],
)
def test_code_marks_are_stripped_only_when_whole(value: str, expected: str) -> None:
    config = find_config(f"## Verification Criteria\n- **Metric**: {value}\n- **Expected**: < 1\n")
    assert config is not None
    assert config.metric == expected


@pytest.mark.parametrize("value", ["``", "{{}}", "` `"])
def test_empty_code_marks_leave_an_empty_metric(value: str) -> None:
    assert _reason(f"## Verification Criteria\n- **Metric**: {value}\n- **Expected**: < 1\n") == ("metric", "is empty")


def test_a_block_of_another_version_is_refused() -> None:
    text = "```yaml\n# action-item-verifier: v2\nmetric: x\n```"
    assert _reason(text) == ("version", "'v2' is not a config version this tool reads (v1)")
    long = "```yaml\n# action-item-verifier: " + "v" * 50 + "\nmetric: x\n```"
    assert _reason(long) == ("version", "'" + "v" * 40 + "' is not a config version this tool reads (v1)")


def test_the_header_may_be_spaced_and_follow_blank_lines() -> None:
    text = "```yaml\n\n\n  #  action-item-verifier :  v1  \nmetric: x_seconds\ncondition: < 1s\n```"
    config = find_config(text)
    assert config is not None
    assert config.metric == "x_seconds"


def test_a_block_longer_than_the_limit_is_refused() -> None:
    filler = "#" + "x" * MAX_BLOCK
    assert _reason(_block("metric: x", filler)) == ("block", "is longer than 20000 characters")


def test_a_block_at_the_limit_is_read() -> None:
    head = "\n" + HEADER + "\nmetric: x_seconds\ncondition: < 1s\n#"
    body_length = MAX_BLOCK
    text = "```yaml" + head + "x" * (body_length - len(head) + 1 - 1) + "\n```"
    config = find_config(text)
    assert config is not None


@pytest.mark.parametrize(
    ("lines", "field", "reason"),
    [
        ((), "metric", "is missing (the block is empty)"),
        (("- a",), "block", "must be a mapping of fields such as 'metric: ...'"),
        (("metric: [a", ""), "block", "is not valid YAML: did not find expected ',' or ']' (line 4)"),
        (("metric: 2026-13-45",), "block", "holds a number or date that cannot be read"),
        (("metric: &a x", "condition: *a"), "block", "YAML anchors and aliases are not allowed in a config"),
    ],
)
def test_broken_project_blocks_are_explained(lines: tuple[str, ...], field: str, reason: str) -> None:
    assert _reason(_block(*lines)) == (field, reason)


def test_numbers_as_field_names_are_read_as_text() -> None:
    assert _reason(_block("metric: x", "condition: < 1", "1: a")) == (
        "1",
        "unknown field (known fields: metric, condition, delay_hours, delay, window, unit, labels, mode, "
        "tolerance, baseline_window, min_events, type, temporality)",
    )


def test_carries_config_for_each_format() -> None:
    assert carries_config("## Verification Criteria\n")
    assert carries_config("```\n" + HEADER + "\n```")
    assert carries_config("{code:yaml}\n\n" + HEADER + "\n{code}")
    assert carries_config("*Automated Verification Config*\n{code}\nanything\n{code}")
    assert not carries_config("```\nmetric: x\n```\n{code}\nmetric: x\n{code}")
    assert not carries_config("{code}\nmetric: x\n{code}\n*Automated Verification Config*")
