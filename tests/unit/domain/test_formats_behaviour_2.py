"""More of how configs are found (verifier/domain/formats.py): where a block's header may stand, what
`carries_config` says of the same texts, the reasons a broken block gives, and what `essentials` keeps of a long
comment (the listing keeps only that, so it must lead to the same decision as the whole text)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml

from verifier.domain import formats
from verifier.domain.formats import MAX_TEXT, carries_config, essentials, find_config
from verifier.domain.protocol import parse_result, reminder_marker, result_marker
from verifier.domain.verdicts import Outcome
from verifier.errors import ConfigError

HEADER = "# action-item-verifier: v1"
FIELDS = "metric: x_seconds\ncondition: < 1s\n"
PROJECT = f"```yaml\n{HEADER}\n{FIELDS}```"
JIRA_PROJECT = "{code:yaml}\n" + HEADER + "\n" + FIELDS + "{code}"
SEED = "{code}\n" + FIELDS + "{code}"
TITLE = "Automated Verification Config"
PROSE = "Some notes about the incident, long enough to be worth shortening.\n" * 20


def _reason(text: str) -> tuple[str, str]:
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
    assert _reason(f"```yaml\n{HEADER}\nmetric: a\x07b\n```") == (
        "block",
        "is not valid YAML: unacceptable character #x0007: control characters are not allowed",
    )


@pytest.mark.parametrize("value", ["!!bool maybe", "!!int ''", "!!float ''", "!!timestamp soon"])
def test_a_yaml_tag_its_value_does_not_fit_is_explained(value: str) -> None:
    field, reason = _reason(f"```yaml\n{HEADER}\nmetric: x\ncondition: {value}\n```")
    assert (field, reason) == ("block", "holds a tagged value (such as !!bool) that cannot be read")


@pytest.mark.parametrize("point", [0xD800, 0xDBFF, 0xDC00, 0xDFFF])
def test_a_lone_surrogate_anywhere_in_the_surrogate_range_is_explained(point: int) -> None:
    assert _reason(f"```yaml\n{HEADER}\nmetric: a{chr(point)}\n```") == (
        "block",
        "contains a lone surrogate, which is not valid Unicode text",
    )


def test_without_libyaml_a_block_nested_too_deeply_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML's pure-Python loader (when it was built without libyaml) composes nodes recursively.
    monkeypatch.setattr(formats, "_LOADER", yaml.SafeLoader)
    text = f"```yaml\n{HEADER}\n{FIELDS}labels: " + "[" * 900 + "]" * 900 + "\n```"
    assert _reason(text) == ("block", "is nested too deeply")


# Seed comments and sections.


def test_a_quoted_empty_seed_value_is_empty() -> None:
    text = "*" + TITLE + '*\n{code}\nmetric: x\ncondition: ""\n{code}'
    assert _reason(text) == ("condition", "is empty")
    assert _reason(text.replace('""', "''")) == ("condition", "is empty")


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
    assert _reason(text)[0] == "version"
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
