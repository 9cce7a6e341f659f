"""Total and linear parsing: any text gives a config, no config, or a ConfigError; adversarial text costs linear time.

The block scanners replaced two regexes with lazy bodies (quadratic on unclosed fences); the differential tests
below hold the scanners to exactly what those regexes matched, so no existing ticket reads differently.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.domain.formats import MAX_FENCES, MAX_TEXT, _fenced, _jira_blocks, carries_config, essentials, find_config
from verifier.domain.protocol import parse_reminder, parse_result
from verifier.errors import ConfigError

_OLD_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$", re.M | re.S
)
_OLD_JIRA_BLOCK = re.compile(r"\{(?P<macro>code|noformat)(?::[^}\n]*)?\}(?P<body>.*?)\{(?P=macro)\}", re.S | re.I)
_pieces = st.sampled_from(
    [
        "```",
        "````",
        "~~~",
        "~~~~",
        "`",
        "~",
        " ",
        "\t",
        "\n",
        "yaml",
        "x",
        "{code}",
        "{CODE}",
        "{code:",
        "}",
        "{",
        ":",
        "{noformat}",
        "{noformat:x}",
        "\r",
    ]
)
_texts = st.lists(_pieces, max_size=30).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_texts)
def test_fence_scanner_matches_exactly_what_the_old_regex_matched(text: str) -> None:
    assert list(_fenced(text)) == [(m.start(), m.group("body"), m.end()) for m in _OLD_FENCE.finditer(text)]


@settings(max_examples=1000, deadline=None)
@given(_texts)
def test_jira_block_scanner_matches_exactly_what_the_old_regex_matched(text: str) -> None:
    assert list(_jira_blocks(text)) == [(m.start(), m.group("body"), m.end()) for m in _OLD_JIRA_BLOCK.finditer(text)]


# What configs and comments are made of, CRLF line ends (GitHub's web editor) and a lone CR among them.
_PIECES = [
    "```yaml\n",
    "```\n",
    "```\r\n",
    "~~~\n",
    "{code}",
    "{code:yaml}",
    "{noformat}",
    "*Automated Verification Config*\n",
    "# action-item-verifier: v1\n",
    "# action-item-verifier: v9\n",
    "## Verification Criteria\n",
    "## Verification Criteria\r\n",
    "metric: x\n",
    "condition: < 1ms\n",
    "\n",
    "\r\n",
    "\r",
    "- **Metric**: `x`\n",
]
_config_pieces = st.sampled_from([*_PIECES, "a: b\n"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(_config_pieces, max_size=12).map("".join))
def test_carries_config_agrees_with_find_config(text: str) -> None:
    try:
        found = find_config(text) is not None
    except ConfigError:
        found = True
    assert carries_config(text) == found


BLOCK = (
    "```yaml\n# action-item-verifier: v1\nmetric: http_server_request_duration_seconds\ncondition: < 100ms p99\n{}\n```"
)
JIRA_BLOCK = "{{code:yaml}}\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 100ms p99\n{}\n{{code}}"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("delay: 99999999999999999999d", "delay"),
        ("delay: 99999999999999999999 days", "delay"),
        ("delay_hours: " + "9" * 400, "delay_hours"),
        ('delay_hours: "' + "9" * 400 + '"', "delay_hours"),
        ("delay_hours: " + "9" * 5000, "block"),  # beyond Python's int() digit limit
        ("window: " + "9" * 5000 + "h", "window"),
        ("delay_hours: 1e400", "delay_hours"),
        ("delay_hours: -1e400", "delay_hours"),
        ("delay_hours: .nan", "delay_hours"),
        ("delay: 2026-13-45", "block"),  # YAML reads it as a date, which does not exist
        ("labels: {a: " + "9" * 5000 + "}", "block"),
        ("tolerance: " + "9" * 400 + "%\nmode: every-step", "tolerance"),
    ],
)
@pytest.mark.parametrize("template", [BLOCK, JIRA_BLOCK])
def test_huge_numbers_are_config_errors_naming_the_field(line: str, field: str, template: str) -> None:
    with pytest.raises(ConfigError) as raised:
        find_config(template.format(line))
    assert raised.value.field == field
    assert len(str(raised.value)) < 300


def test_seed_formats_with_huge_numbers_are_config_errors() -> None:
    seed = "*Automated Verification Config*\n{code}\nmetric: x_seconds\ncondition: < 1ms\ndelay_hours: " + "9" * 400
    with pytest.raises(ConfigError, match="delay_hours"):
        find_config(seed + "\n{code}")
    section = "## Verification Criteria\n- **Metric**: `x_seconds`\n- **Expected**: < 1ms\n- **Verification Window**: "
    with pytest.raises(ConfigError, match="delay_hours"):
        find_config(section + "9" * 400 + " hours")


@contextmanager
def _within(seconds: int) -> Iterator[None]:
    """Not a speed goal (those are in bench/bench.py): a guard against quadratic time, which on these texts takes
    minutes; the linear parser takes milliseconds."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"parsing took over {seconds}s: quadratic again?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


ADVERSARIAL = {
    "tildes": "~~~\n" * (MAX_TEXT // 4),
    "backtick fences with spaces": "```   \n" * (MAX_TEXT // 7),
    "backtick runs on one line": ("``` " * (MAX_TEXT // 4)),
    "unclosed code macros": "{code:" * (MAX_TEXT // 6),
    "unclosed code tags": "{code:yaml}\n" * (MAX_TEXT // 12),
    "noformat and code": "{noformat}{code}" * (MAX_TEXT // 16),
    "seed title and blocks": "Automated Verification Config {code:x}" * (MAX_TEXT // 40),
    "spaces after a heading": "## Verification Criteria" + " " * (MAX_TEXT - 30) + "x",
    "spaces in a bullet": "## Verification Criteria\n- **Metric**: a" + " " * (MAX_TEXT - 60) + "b",
    "mixed fences": ("```yaml\n~~~\n{code}\n````\n{noformat:a}\n") * (MAX_TEXT // 45),
    "long tilde fence": "~" * (MAX_TEXT - 10) + "\nx",
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_a_megabyte_of_adversarial_text_is_parsed_in_linear_time(name: str) -> None:
    text = ADVERSARIAL[name]
    assert len(text) <= MAX_TEXT
    with _within(10):
        try:
            find_config(text)
        except ConfigError:
            pass
        carries_config(text)


def test_text_over_the_cap_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=f"longer than {MAX_TEXT}"):
        find_config("x" * (MAX_TEXT + 1))


def test_a_config_block_over_its_cap_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"block.*longer than"):
        find_config(BLOCK.format("# " + "x" * 30_000))


_comment_pieces = st.sampled_from(
    [
        *_PIECES,
        "delay: 2h\n",
        "- **Expected**: < 2ms\n",
        "## Other\n",
        "junk ",
        "action-item-verifier result v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z\n",
        "action\\-item\\-verifier result v1; verdict=VERIFIED; resolved=2026-11-02T12:00:00Z; early\n",
        "action-item-verifier reminder v1; due=2026-11-05\n",
        "metric: y\n",
        "# sig: " + "a" * 32 + "\n",
    ]
)


def _outcome(text: str) -> object:
    try:
        return find_config(text)
    except ConfigError as error:
        return ("error", error.field)


@settings(max_examples=int(os.environ.get("LISTING_EXAMPLES", "1500")), deadline=None)
@given(st.lists(_comment_pieces, max_size=14).map("".join))
def test_what_a_listing_keeps_of_a_comment_decides_exactly_as_the_whole_comment(text: str) -> None:
    kept = essentials(text, keep_whole=0)
    assert parse_result(kept) == parse_result(text)
    assert parse_reminder(kept) == parse_reminder(text)
    if parse_result(text) is not None:
        return  # a text with a result marker is never read as a config (selection.select_config)
    assert _outcome(kept) == _outcome(text)
    assert carries_config(kept) == carries_config(text)
    found = _outcome(text)
    if found is not None and not isinstance(found, tuple):
        assert getattr(found, "signature", None) == getattr(_outcome(kept), "signature", None)


def test_a_large_comment_keeps_only_its_config_block_and_markers() -> None:
    block = "```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s\n```"
    text = "x" * 60_000 + "\n" + block + "\n" + "~~~\n" * 100
    assert essentials(text) == block
    assert essentials("y" * 60_000) == ""
    assert essentials("short") == "short"


FENCED = "```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s\n```\n"


@pytest.mark.parametrize(
    ("block", "flood"),
    [(FENCED, "```\n"), (FENCED, "~~~\n"), (FENCED.replace("```yaml", "{code}").replace("```", "{code}"), "{code}")],
)
def test_a_text_with_a_flood_of_fences_is_not_read_for_config_blocks(block: str, flood: str) -> None:
    assert find_config(block + flood * 10) is not None
    crowded = block + flood * MAX_FENCES
    assert find_config(crowded) is None and not carries_config(crowded) and essentials(crowded, keep_whole=0) == ""
