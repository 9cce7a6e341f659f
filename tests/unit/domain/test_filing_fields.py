"""`domain.filing_fields`: the helpers the action-items file's readers share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verifier.domain.filing_fields import EXCERPT, MAX_DEPTH, excerpt, load_yaml, read_time
from verifier.errors import ConfigError


def test_an_excerpt_shows_a_number_only_while_its_text_is_cheap_to_make() -> None:
    """A huge integer from the file is named, not printed: its text alone would cost more than the message."""
    assert excerpt(2**998) == str(2**998)[:EXCERPT]  # 999 bits: still shown
    assert excerpt(2**999) == "a int"  # 1,000 bits
    assert excerpt(-(2**998)) == str(-(2**998))[:EXCERPT]
    assert excerpt([1, 2]) == "a list" and excerpt(None) == "None" and excerpt(1.5) == "1.5"
    assert excerpt("a\n  b", 3) == "a b"


def test_a_time_ending_in_z_either_case_is_utc() -> None:
    fired = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
    assert read_time("2026-11-20T09:41:00Z", "triggered_at") == fired
    assert read_time(" 2026-11-20T09:41:00z ", "triggered_at") == fired
    assert read_time("2026-11-20T10:41:00+01:00", "triggered_at") == fired
    with pytest.raises(ConfigError) as error:
        read_time("2026-11-20T09:41:00", "triggered_at")
    assert (error.value.field, error.value.reason) == (
        "triggered_at",
        "'2026-11-20T09:41:00' has no time zone; add Z or +00:00",
    )


def _refusal(text: str) -> tuple[str, str]:
    with pytest.raises(ConfigError) as error:
        load_yaml(text)
    return error.value.field, error.value.reason


def test_an_alias_is_refused_naming_its_line() -> None:
    assert _refusal("a: &x 1\nb: *x\n") == (
        "text",
        "the action-items file is not valid YAML: anchors and aliases (*name) are not allowed (line 2)",
    )


def _lists(value: object) -> int:
    return 1 + max(map(_lists, value), default=0) if isinstance(value, list) else 0


def test_nesting_is_read_to_exactly_the_limit_and_refused_one_level_past_it() -> None:
    """The top mapping is one level: 31 lists inside it make 32."""
    deepest = load_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert _lists(deepest["a"]) == MAX_DEPTH - 1
    past = "a:\n  b: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert _refusal(past) == (
        "text",
        f"the action-items file is not valid YAML: nested deeper than {MAX_DEPTH} levels (line 2)",
    )
    assert load_yaml("a: [" + "[[]]," * 40 + "]\n") == {"a": [[[]]] * 40}  # side by side is not deeper
    # ...and lists closed before do not make room for a deeper one after them.
    after = "a: [" + "[]," * 40 + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "]\n"
    assert _refusal(after)[1].endswith(f"nested deeper than {MAX_DEPTH} levels (line 1)")
