"""How `find_config` reads each of the three formats, which one wins, and the reason a broken one gives
(verifier/domain/formats.py).

More of how configs are found (verifier/domain/formats.py): where a block's header may stand, what
`carries_config` says of the same texts, the reasons a broken block gives, and what `essentials` keeps of a long
comment (the listing keeps only that, so it must lead to the same decision as the whole text).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from verifier.domain import formats
from verifier.domain.config import render_config
from verifier.domain.formats import MAX_BLOCK, MAX_TEXT, carries_config, essentials, find_config
from verifier.domain.metric import Kind
from verifier.domain.protocol import parse_result, reminder_marker, result_marker
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome
from verifier.errors import ConfigError

SEED_COMMENT = """*Automated Verification Config*
{code}
metric: http_server_request_duration_seconds
condition: < 100ms p99
delay_hours: 48
{code}"""

SEED_SECTION = """Add connection pooling to the payments client.

## Verification Criteria
Once implemented, this fix will be verified by checking:
- **Metric**: `http_server_request_duration_seconds`
- **Expected**: < 100ms p99
- **Verification Window**: 48 hours after deployment

This ticket was auto-generated from incident **INC-2041**.
"""


def test_seed_comment_exactly_as_the_seed_writes_it() -> None:
    config = find_config(SEED_COMMENT)
    assert config is not None
    assert config.metric == "http_server_request_duration_seconds"
    assert config.condition.text == "< 100ms p99"
    assert config.delay == config.window == timedelta(hours=48)
    assert config.source == "seed-comment"


@pytest.mark.parametrize("macro", ["{code:yaml}|{code}", "{noformat}|{noformat}", "{code:language=yaml}|{code}"])
def test_seed_comment_in_other_blocks(macro: str) -> None:
    opening, closing = macro.split("|")
    text = SEED_COMMENT.replace("{code}", opening, 1)[::-1].replace("}edoc{", closing[::-1], 1)[::-1]
    config = find_config(text)
    assert config is not None and config.condition.quantile == pytest.approx(0.99)


def test_seed_comment_keeps_promql_braces_and_colons() -> None:
    text = SEED_COMMENT.replace(
        "metric: http_server_request_duration_seconds",
        'metric: sum(rate(errors_total{job="api", path=~"/v1:.*"}[$window])) / sum(rate(requests_total[$window]))',
    ).replace("< 100ms p99", "error_rate < 0.1%")
    config = find_config(text)
    assert config is not None
    assert config.metric.startswith('sum(rate(errors_total{job="api", path=~"/v1:.*"}')


def test_seed_section_gives_the_same_config() -> None:
    assert find_config(SEED_SECTION) == find_config(SEED_COMMENT)


def test_seed_section_in_jira_wiki() -> None:
    text = "h2. Verification Criteria\n* *Metric*: {{http_server_request_duration_seconds}}\n* *Expected*: < 100ms p99\n* *Verification Window*: 24 hours after deployment\n"
    config = find_config(text)
    assert config is not None and config.delay == timedelta(hours=24)


def test_project_block_wins_over_section_in_the_same_text() -> None:
    block = "```yaml\n# action-item-verifier: v1\nmetric: other_seconds\ncondition: < 1s p90\n```"
    config = find_config(SEED_SECTION + "\n" + block)
    assert config is not None and config.metric == "other_seconds"


def test_last_block_wins() -> None:
    first = "```yaml\n# action-item-verifier: v1\nmetric: a_seconds\ncondition: < 1s p90\n```"
    second = "```yaml\n# action-item-verifier: v1\nmetric: b_seconds\ncondition: < 1s p90\n```"
    config = find_config(first + "\ntext\n" + second)
    assert config is not None and config.metric == "b_seconds"


def test_all_fields() -> None:
    text = """```yaml
# action-item-verifier: v1
metric: http.server.request.duration
unit: s
condition: "< 250ms p95"
delay: 72h
window: 24h
labels: {service: checkout, "on": "yes"}
mode: every-step
tolerance: 5%
```"""
    config = find_config(text)
    assert config is not None
    assert config.delay == timedelta(hours=72) and config.window == timedelta(hours=24)
    assert config.labels == (("on", "yes"), ("service", "checkout"))
    assert (config.mode, config.tolerance_percent) == ("every-step", 5.0)


def test_no_config_is_none() -> None:
    assert find_config("Just a ticket.\n```python\nprint(1)\n```") is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s p99\nfoo: 1\n```", "foo"),
        ("```yaml\n# action-item-verifier: v1\ncondition: < 1s p99\n```", "metric"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x_seconds\n```", "condition"),
        ("```yaml\n# action-item-verifier: v1\nmetric: [1, 2]\ncondition: < 1\n```", "metric"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\ndelay_hours: abc\n```", "delay_hours"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\ndelay: 1h\ndelay_hours: 1\n```", "delay"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\ndelay: 24h\nwindow: 48h\n```", "window"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\ntolerance: 5%\n```", "tolerance"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\nmode: sometimes\n```", "mode"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\nbaseline_window: 1h\n```", "baseline_window"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\nlabels: [a]\n```", "labels"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\nlabels: {__name__: y}\n```", "labels"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\nunit: furlongs\n```", "unit"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1\nunit: bytes\n```", "unit"),
        ("```yaml\n# action-item-verifier: v1\nmetric: sum(x)\ncondition: < 1s p99\n```", "condition"),
        ("```yaml\n# action-item-verifier: v1\nmetric: x_total\ncondition: < 1 p99\n```", "condition"),
        ("```yaml\n# action-item-verifier: v2\nmetric: x\ncondition: < 1\n```", "version"),
        ("```yaml\n# action-item-verifier: v1\nmetric: &a x\ncondition: *a\n```", "block"),
        ("```yaml\n# action-item-verifier: v1\nmetric: [unclosed\n```", "block"),
        ("```yaml\n# action-item-verifier: v1\n- a list\n```", "block"),
        ("## Verification Criteria\nSome prose only.\n", "metric"),
        (
            "## Verification Criteria\n- **Metric**: `x`\n- **Expected**: < 1\n- **Verification Window**: soon\n",
            "delay_hours",
        ),
        ("*Automated Verification Config*\n{code}\nmetric x\n{code}", "block"),
    ],
)
def test_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        find_config(text)
    assert error.value.field == field
    assert "\n" not in str(error.value)


# --- properties -------------------------------------------------------------------------------------------

_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}(_seconds|_bytes|_ratio|_total)?", fullmatch=True)
_label_values = st.text(max_size=15)
_conditions = st.builds(
    lambda op, n, unit, q: f"{op} {n}{unit}{q}",
    st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
    st.integers(0, 10_000),
    st.sampled_from(["", "ms", "s", "%", "B", "GiB"]),
    st.sampled_from(["", " p99", " p50", " p99.9"]),
)


@st.composite
def configs(draw: st.DrawFn) -> str:
    """A valid config block text built from parts (rendered by hand, not by render_config)."""
    name = draw(_names)
    condition = draw(_conditions)
    if " p" in condition and name.endswith("_total"):
        name = name.removesuffix("_total")
    fields = [f"metric: {name}", f'condition: "{condition}"']
    delay_h = draw(st.integers(1, 200))
    fields.append(f"delay_hours: {delay_h}")
    fields.append(f"window: {draw(st.integers(1, delay_h))}h")
    labels = draw(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _label_values, max_size=3))
    if labels:
        fields.append("labels:\n" + "\n".join(f"  {k!s}: {_yaml_str(v)}" for k, v in labels.items()))
    if draw(st.booleans()):
        fields.append("mode: every-step")
        fields.append(f"tolerance: {draw(st.integers(0, 99))}%")
    return "```yaml\n# action-item-verifier: v1\n" + "\n".join(fields) + "\n```"


def _yaml_str(value: str) -> str:
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\u{ord(c):04x}" for c in value) + '"'


@settings(max_examples=300)
@given(configs(), st.sampled_from(list(Flavour)))
def test_render_then_parse_gives_back_the_same_config(text: str, flavour: Flavour) -> None:
    try:
        original = find_config(text)
    except ConfigError:
        return  # some drawn combinations contradict (e.g. a time unit on a _bytes metric)
    assert original is not None
    assert find_config(render_config(original, flavour)) == original


@settings(max_examples=300)
@given(
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=200).filter(
        lambda s: s.strip()
    ),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(list(Flavour)),
)
def test_render_then_parse_with_arbitrary_metric_text(metric: str, label: str, flavour: Flavour) -> None:
    """Any text as the metric (an expression, as far as the parser knows) and any label value survive."""
    block = "```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 5ms\n```"
    base = find_config(block)
    assert base is not None
    candidate = replace(base, metric=metric.strip())
    try:
        kind = candidate.understood.kind
    except ConfigError:
        assume(False)  # e.g. a bare `_bucket` name with no quantile: rejected by design, not a round-trip case
    if kind is not Kind.EXPRESSION:
        candidate = replace(candidate, labels=(("a", label),))  # labels go with bare names only
    assert find_config(render_config(candidate, flavour)) == candidate


_fragments = st.sampled_from(
    [
        "```yaml\n",
        "```\n",
        "~~~\n",
        "{code}",
        "{code:yaml}",
        "{noformat}",
        "*Automated Verification Config*\n",
        "# action-item-verifier: v1\n",
        "## Verification Criteria\n",
        "- **Metric**: `x`\n",
        "- **Expected**: < 1\n",
        "- **Verification Window**: 2 hours after deployment\n",
        "metric: x\n",
        "condition: < 1ms p99\n",
        "labels: {a: b}\n",
        "delay_hours: 1e400\n",
        "&a [*a]\n",
        "\x00",
        "h2. Verification Criteria\n",
    ]
)


@settings(max_examples=500)
@given(st.lists(st.one_of(_fragments, st.text(max_size=30)), max_size=12))
def test_arbitrary_text_raises_only_config_error(parts: list[str]) -> None:
    try:
        find_config("".join(parts))
    except ConfigError as error:
        assert str(error)


def test_a_lone_surrogate_in_a_block_is_a_config_error() -> None:
    """Regression (found by the fuzz job): libyaml raised UnicodeEncodeError on a lone surrogate."""
    with pytest.raises(ConfigError) as error:
        find_config("{code}# action-item-verifier: v1\n\ud800{code}")
    assert error.value.field == "block"


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
        "tolerance, baseline_window, min_events, type, temporality, no_data, traffic, recheck_after, "
        "conditions, alert, firing_at_most)",
    )


def test_carries_config_for_each_format() -> None:
    assert carries_config("## Verification Criteria\n")
    assert carries_config("```\n" + HEADER + "\n```")
    assert carries_config("{code:yaml}\n\n" + HEADER + "\n{code}")
    assert carries_config("*Automated Verification Config*\n{code}\nanything\n{code}")
    assert not carries_config("```\nmetric: x\n```\n{code}\nmetric: x\n{code}")
    assert not carries_config("{code}\nmetric: x\n{code}\n*Automated Verification Config*")


HEADER = "# action-item-verifier: v1"
FIELDS = "metric: x_seconds\ncondition: < 1s\n"
PROJECT = f"```yaml\n{HEADER}\n{FIELDS}```"
JIRA_PROJECT = "{code:yaml}\n" + HEADER + "\n" + FIELDS + "{code}"
SEED = "{code}\n" + FIELDS + "{code}"
TITLE = "Automated Verification Config"
PROSE = "Some notes about the incident, long enough to be worth shortening.\n" * 20


def _reason_2(text: str) -> tuple[str, str]:
    with pytest.raises(ConfigError) as error:
        find_config(text)
    return error.value.field, error.value.reason


# Where the project's header may stand: find_config and carries_config agree on every text.


@pytest.mark.parametrize(
    "text",
    [
        f"```yaml\n\n{HEADER}\n{FIELDS}```",
        "{code:yaml}\n\n\n" + HEADER + "\n" + FIELDS + "{code}",
    ],
)
def test_empty_lines_before_the_header_are_skipped_by_both_readers(text: str) -> None:
    config = find_config(text)
    assert config is not None
    assert config.metric == "x_seconds"
    assert carries_config(text)


@pytest.mark.parametrize(
    "text",
    [
        f"```yaml\n  \n{HEADER}\n{FIELDS}```",
        f"```yaml\n\t\n{HEADER}\n{FIELDS}```",
        f"```yaml\nXX\n{HEADER}\n{FIELDS}```",
        f"```yaml\nnotes\n{HEADER}\n{FIELDS}```",
        "{code:yaml}\n  \n" + HEADER + "\n" + FIELDS + "{code}",
        "{code}\nXX\n" + HEADER + "\n" + FIELDS + "{code}",
    ],
)
def test_a_header_after_a_line_of_spaces_or_text_is_no_config_for_either_reader(text: str) -> None:
    assert find_config(text) is None
    assert not carries_config(text)


def test_a_seed_block_right_after_the_title_is_the_seeds_config() -> None:
    text = TITLE + SEED
    config = find_config(text)
    assert config is not None
    assert (config.metric, config.source) == ("x_seconds", "seed-comment")
    assert carries_config(text)


def test_the_last_of_two_seed_comments_wins() -> None:
    first = "{code}\nmetric: first_seconds\ncondition: < 1s\n{code}"
    config = find_config("*" + TITLE + "*\n" + first + "\n" + SEED)
    assert config is not None
    assert (config.metric, config.source) == ("x_seconds", "seed-comment")


@pytest.mark.parametrize("after", ["\xa0", "X", "yaml"])
def test_a_fence_followed_by_anything_but_spaces_or_tabs_does_not_close_a_block(after: str) -> None:
    # CommonMark: a closing fence may be followed only by spaces or tabs.
    assert find_config(f"```yaml\n{HEADER}\n{FIELDS}```{after}\n") is None
    assert find_config(f"```yaml\n{HEADER}\n{FIELDS}``` \t\n") is not None


def test_a_block_on_the_line_right_after_another_blocks_closing_fence_is_read() -> None:
    config = find_config("```\nlog excerpt\n```\n" + PROJECT)
    assert config is not None
    assert config.metric == "x_seconds"


# Texts written in a web editor (GitHub's returns CRLF line ends).


@pytest.mark.parametrize(
    "text",
    [
        PROJECT + "\nThanks",
        JIRA_PROJECT,
        "## Verification Criteria\n- **Metric**: `x_seconds`\n- **Expected**: < 1s\n",
        "h3. Verification Criteria\n- *Metric*: {{x_seconds}}\n- *Expected*: < 1s\n",
        "*" + TITLE + "*\n" + SEED,
    ],
)
def test_a_config_written_with_windows_line_ends_is_read(text: str) -> None:
    crlf = text.replace("\n", "\r\n")
    config = find_config(crlf)
    assert config is not None
    assert config == find_config(text)
    assert (config.metric, config.condition.text) == ("x_seconds", "< 1s")
    assert carries_config(crlf)


# The reasons a broken block gives.


def test_a_control_character_in_a_block_is_explained() -> None:
    assert _reason_2(f"```yaml\n{HEADER}\nmetric: a\x07b\n```") == (
        "block",
        "is not valid YAML: unacceptable character #x0007: control characters are not allowed",
    )


@pytest.mark.parametrize("value", ["!!bool maybe", "!!int ''", "!!float ''", "!!timestamp soon"])
def test_a_yaml_tag_its_value_does_not_fit_is_explained(value: str) -> None:
    field, reason = _reason_2(f"```yaml\n{HEADER}\nmetric: x\ncondition: {value}\n```")
    assert (field, reason) == ("block", "holds a tagged value (such as !!bool) that cannot be read")


@pytest.mark.parametrize("point", [0xD800, 0xDBFF, 0xDC00, 0xDFFF])
def test_a_lone_surrogate_anywhere_in_the_surrogate_range_is_explained(point: int) -> None:
    assert _reason_2(f"```yaml\n{HEADER}\nmetric: a{chr(point)}\n```") == (
        "block",
        "contains a lone surrogate, which is not valid Unicode text",
    )


def test_without_libyaml_a_block_nested_too_deeply_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML's pure-Python loader (when it was built without libyaml) composes nodes recursively.
    monkeypatch.setattr(formats, "_LOADER", yaml.SafeLoader)
    text = f"```yaml\n{HEADER}\n{FIELDS}labels: " + "[" * 900 + "]" * 900 + "\n```"
    assert _reason_2(text) == ("block", "is nested too deeply")


# Seed comments and sections.


def test_a_quoted_empty_seed_value_is_empty() -> None:
    text = "*" + TITLE + '*\n{code}\nmetric: x\ncondition: ""\n{code}'
    assert _reason_2(text) == ("condition", "is empty")
    assert _reason_2(text.replace('""', "''")) == ("condition", "is empty")


@pytest.mark.parametrize("metric", ["XHR_errors_total", "XboxX", "*a*"])
def test_seed_values_framed_by_other_characters_keep_them(metric: str) -> None:
    config = find_config("*" + TITLE + "*\n{code}\nmetric: " + metric + "\ncondition: < 1\n{code}")
    assert config is not None
    assert config.metric == metric


def test_a_bare_section_metric_is_read_whole() -> None:
    config = find_config("## Verification Criteria\n- **Metric**: XHR_errors_total\n- **Expected**: < 1\n")
    assert config is not None
    assert config.metric == "XHR_errors_total"


# essentials: what a listing keeps of a long comment.


def test_a_comment_up_to_the_limit_is_kept_whole_and_a_longer_one_shortened() -> None:
    assert essentials(PROSE, keep_whole=len(PROSE)) == PROSE
    assert essentials(PROSE, keep_whole=len(PROSE) - 1) == ""


def test_a_comment_of_the_longest_readable_length_is_shortened_and_a_longer_one_kept() -> None:
    longest = "x" * MAX_TEXT
    assert essentials(longest) == ""
    assert essentials(longest + "x") == longest + "x"  # find_config refuses it whole: the same refusal later


def test_a_long_comment_keeps_its_reminder_and_signed_result_markers_as_written() -> None:
    resolved = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    reminder = reminder_marker(date(2026, 11, 28))
    result = result_marker(Outcome.VERIFIED, resolved, early=False, signature="ab12" * 8)
    text = f"{PROSE}<!-- {reminder} -->\n{PROSE}<!-- {result} -->\n{PROSE}"
    kept = essentials(text, keep_whole=100)
    assert kept == reminder + "\n" + result
    marker = parse_result(kept)
    assert marker is not None
    assert marker.signature == "ab12" * 8


def test_a_long_comment_keeps_a_seed_block_with_its_title() -> None:
    text = PROSE + "*" + TITLE + "*\n" + SEED + "\n" + PROSE
    kept = essentials(text, keep_whole=100)
    assert kept == TITLE + "\n" + SEED
    assert find_config(kept) == find_config(text)


def test_a_title_right_before_its_block_is_kept_as_one_span() -> None:
    text = PROSE + TITLE + SEED + "\n" + PROSE
    assert essentials(text, keep_whole=100) == TITLE + SEED


def test_a_title_after_a_project_block_is_not_kept() -> None:
    text = PROSE + JIRA_PROJECT + "\n" + PROSE + TITLE + "\n" + PROSE
    assert essentials(text, keep_whole=100) == JIRA_PROJECT


@pytest.mark.parametrize(
    "block", [f"```yaml\n\n{HEADER}\n{FIELDS}```", "{code:yaml}\n\n" + HEADER + "\n" + FIELDS + "{code}"]
)
def test_a_long_comment_keeps_a_project_block_after_empty_lines(block: str) -> None:
    assert essentials(PROSE + block + "\n" + PROSE, keep_whole=100) == block


@pytest.mark.parametrize("not_a_header", ["  ", "XX"])
def test_a_long_comment_drops_blocks_whose_first_line_is_not_the_header(not_a_header: str) -> None:
    fenced = f"~~~\n{not_a_header}\n{HEADER}\nmetric: other\n~~~"
    jira = "{noformat}\n" + not_a_header + "\n" + HEADER + "\nmetric: other\n{noformat}"
    text = PROSE + fenced + "\n" + jira + "\n" + PROSE + PROJECT + "\n" + PROSE
    assert essentials(text, keep_whole=100) == PROJECT


def test_a_long_comment_keeps_every_block_and_section_it_reads_in_order() -> None:
    section = "## Verification Criteria\n- **Metric**: `s_seconds`\n- **Expected**: < 1s\n"
    text = PROSE + section + "## Other\n" + PROSE + JIRA_PROJECT + "\n" + PROSE + PROJECT + "\n" + PROSE
    assert essentials(text, keep_whole=100) == section + "\n" + JIRA_PROJECT + "\n" + PROJECT


def test_a_long_comment_written_with_crlf_line_ends_is_shortened_to_what_it_reads() -> None:
    section = "## Verification Criteria\n- **Metric**: `s_seconds`\n- **Expected**: < 1s\n"
    text = (PROSE + section + "## Other\n" + PROSE + PROJECT + "\n" + PROSE).replace("\n", "\r\n")
    kept = essentials(text, keep_whole=100)
    assert kept == section + "\n" + PROJECT
    assert find_config(kept) == find_config(text)


# A section's span ends at the next heading, even one inside a fenced block: cut out of the text around it, a fence
# it opens can swallow a later block. Then the decision would change, and the comment is kept whole.
SWALLOWING = "## Verification Criteria\n- **Metric**: `s_seconds`\n- **Expected**: < 1s\n```\n# a comment\n```\n"


def test_a_long_comment_is_kept_whole_when_shortening_would_read_another_config() -> None:
    text = PROSE + SWALLOWING + PROSE + PROJECT + "\n" + PROSE
    assert find_config(text).metric == "x_seconds"  # type: ignore[union-attr]
    assert essentials(text, keep_whole=100) == text


def test_a_long_comment_is_kept_whole_when_shortening_would_give_another_error() -> None:
    broken = "```yaml\n# action-item-verifier: v2\nmetric: x\n```"
    section = SWALLOWING.replace("- **Metric**: `s_seconds`\n", "")  # shortened, its error would be the section's
    text = PROSE + section + PROSE + broken + "\n" + PROSE
    assert _reason_2(text)[0] == "version"
    assert essentials(text, keep_whole=100) == text


def test_a_long_comment_is_kept_whole_when_shortening_would_read_another_signature() -> None:
    first = f"```yaml\n{HEADER}\n{FIELDS}# sig: {'1' * 32}\n```"
    last = f"```yaml\n{HEADER}\n{FIELDS}# sig: {'2' * 32}\n```"
    text = PROSE + first + "\n" + SWALLOWING + PROSE + last + "\n" + PROSE
    assert find_config(text).signature == "2" * 32  # type: ignore[union-attr]
    assert essentials(text, keep_whole=100) == text


def test_a_long_comment_is_kept_whole_when_shortening_would_read_the_same_fields_from_another_format() -> None:
    text = PROSE + "*" + TITLE + "*\n" + SEED + "\n" + SWALLOWING + PROSE + PROJECT + "\n" + PROSE
    assert find_config(text).source == "block"  # type: ignore[union-attr]
    assert essentials(text, keep_whole=100) == text
