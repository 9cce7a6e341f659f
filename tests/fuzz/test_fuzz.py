"""Long hypothesis runs over the parsers and renderers: 100,000 examples each.

Not part of the default test run (`-m "not fuzz"` in pyproject); `.ci/run` runs them as their own step:
    .venv/bin/python -m pytest -m fuzz tests/fuzz
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from verifier.domain import neutral
from verifier.domain.condition import parse_condition
from verifier.domain.config import render_config
from verifier.domain.formats import carries_config, essentials, find_config
from verifier.domain.metric import Kind
from verifier.domain.render import Marker, parse_marker, render_result
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import ConfigError

pytestmark = pytest.mark.fuzz
EXAMPLES = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.generate, Phase.shrink],  # no explain phase: it reruns every failing example many times
)
# The listing and markup properties cost several parses an example: a tenth of the examples keeps the job's time.
FEWER = settings(EXAMPLES, max_examples=max(1, EXAMPLES.max_examples // 10))

_fragments = st.sampled_from(
    [
        "```yaml\n",
        "```\n",
        "~~~\n",
        "{code}",
        "{code:yaml}",
        "{noformat}",
        "{code:",
        "~~~~",
        "```   ",
        "{CODE}",
        "*Automated Verification Config*\n",
        "# action-item-verifier: v1\n",
        "# action-item-verifier: v2\n",
        "## Verification Criteria\n",
        "- **Metric**: `x_seconds`\n",
        "- **Expected**: < 1ms p99\n",
        "- **Verification Window**: 2 hours\n",
        "metric: ",
        "condition: ",
        "delay_hours: ",
        "window: ",
        "labels: {",
        "mode: every-step\n",
        "tolerance: 5%\n",
        "baseline_window: 1h\n",
        "&a ",
        "*a",
        "\x00",
        "\ud800",
        "h2. Verification Criteria\n",
        "* *Metric*: {{x}}\n",
        "< 100ms p99",
        "error_rate < 0.1%",
        "1e400",
        "\n",
        ": ",
        '"',
        "'",
        "\\",
    ]
)
_numbers = st.one_of(
    st.text("0123456789", min_size=16, max_size=6000),
    st.floats().map(repr),
    st.sampled_from(["1e400", "-1e400", ".nan", ".inf", "9" * 400 + "d", "2026-13-45", "0x" + "f" * 300]),
)
_fields = st.sampled_from(["delay_hours: ", "delay: ", "window: ", "tolerance: ", "labels: {a: ", "metric: "])
_huge = st.tuples(_fields, _numbers).map(lambda pair: "\n".join(pair) + "\n")
# One fragment repeated thousands of times: unclosed fences and macros, the shape of a quadratic-time attack.
_repeated = st.tuples(_fragments, st.integers(min_value=100, max_value=2000)).map(lambda pair: pair[0] * pair[1])
_texts = st.lists(st.one_of(_fragments, st.text(max_size=20), _huge, _repeated), max_size=16).map("".join)


@EXAMPLES
@given(_texts)
def test_config_parser_raises_only_config_error(text: str) -> None:
    try:
        find_config(text)
    except ConfigError as error:
        assert str(error)
        assert "\n" not in str(error)


@EXAMPLES
@given(
    st.one_of(
        st.text(max_size=60),
        st.from_regex(r"[a-z_ ]{0,8}(<=|>=|==|!=|<|>) ?-?[0-9.e+]{1,8} ?[a-zA-Zµ%]{0,3}( p[0-9.]{1,5})?"),
    )
)
def test_condition_parser_raises_only_config_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ConfigError:
        return
    assert condition.op in ("<", "<=", ">", ">=", "==", "!=")


_BASE = find_config("```yaml\n# action-item-verifier: v1\nmetric: x\ncondition: < 5ms\n```")
_safe_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=120)


@EXAMPLES
@given(_safe_text, _safe_text, st.sampled_from(list(Flavour)))
def test_render_then_parse_gives_back_the_same_config(metric: str, label: str, flavour: Flavour) -> None:
    assert _BASE is not None
    assume(metric.strip())
    candidate = replace(_BASE, metric=metric.strip())
    try:
        kind = candidate.understood.kind
    except ConfigError:
        assume(False)
    if kind is not Kind.EXPRESSION:
        candidate = replace(candidate, labels=(("a", label),))
    assert find_config(render_config(candidate, flavour)) == candidate


@EXAMPLES
@given(st.sampled_from(list(Outcome)), st.text(max_size=200), st.text(max_size=50), st.sampled_from(list(Flavour)))
def test_every_result_comment_is_recognised(outcome: Outcome, reason: str, note: str, flavour: Flavour) -> None:
    from datetime import UTC, datetime

    resolved = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    verdict = Verdict(outcome, reason or "x", notes=(note,) if note else (), query=note or None)
    assert parse_marker(render_result(verdict, resolved, flavour)) == Marker(outcome, resolved, False)


def _decision(text: str) -> object:
    try:
        config = find_config(text)
    except ConfigError as error:
        return ("error", str(error))
    return (config, config.signature if config else None)


@FEWER
@given(_texts)
def test_what_a_listing_keeps_of_a_comment_decides_as_the_whole_comment(text: str) -> None:
    kept = essentials(text, keep_whole=0)
    assert parse_marker(kept) == parse_marker(text)
    if parse_marker(text) is None:  # a text with a result marker is never read as a config
        assert _decision(kept) == _decision(text)
        assert carries_config(kept) == carries_config(text)


@FEWER
@given(st.text(max_size=300), st.sampled_from(list(Flavour)))
def test_outside_text_never_renders_as_markup(text: str, flavour: Flavour) -> None:
    import re

    out = neutral.markdown(text) if flavour is Flavour.MARKDOWN else neutral.wiki(text)
    # An escaped character renders as itself and ends whatever was open: a space stands in for it (`&\\[A` is no
    # entity, although dropping the pair would leave `&A`).
    live = re.sub(r"\\.", " ", out, flags=re.S)
    assert "\n" not in out and not re.search(r"(?i)\b(https?|ftp)://|\bwww\.|@[A-Za-z0-9]", live)
    if flavour is Flavour.MARKDOWN:
        assert not any(c in live for c in "[]!|`") and not re.search(r"<[A-Za-z/!?]|&[A-Za-z#]", live)
    else:
        assert not any(c in live for c in "[]{}!|")
