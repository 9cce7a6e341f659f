"""A config inside a quote is not the quoting author's (#20): `formats.unquoted` and the parsers that use it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.run_tickets import BLOCK
from verifier.domain.formats import carries_config, essentials, find_config, unquoted

WIKI = BLOCK.replace("```yaml\n", "{code:yaml}\n").replace("\n```", "\n{code}")
CHATTER = st.text(st.characters(blacklist_characters="{}>`~\r", blacklist_categories=("Cs",)), max_size=200)


def _markdown_quote(text: str) -> str:
    return "\n".join(">" + (" " if n % 2 else "") + line for n, line in enumerate(text.split("\n")))


@given(before=CHATTER, after=CHATTER, jira=st.booleans(), closed=st.booleans())
def test_a_quoted_config_is_never_found(before: str, after: str, jira: bool, closed: bool) -> None:
    jira_quote = "{quote}" + WIKI + ("{quote}" if closed else "")
    quoted = jira_quote if jira else _markdown_quote(BLOCK)
    text = f"{before}\n{quoted}\n{after}"
    assert find_config(text) is None and not carries_config(text)
    assert find_config(essentials(text + "\n" + "x" * 5000)) is None  # a long comment's kept spans too


@given(before=CHATTER, after=CHATTER)
def test_the_authors_own_config_next_to_a_quote_is_still_found(before: str, after: str) -> None:
    text = f"{{quote}}{before}{{quote}}\n{BLOCK}\n> {after}"
    config = find_config(text)
    assert config is not None and config.condition.text == "< 100ms p99"


@given(st.text(max_size=300))
def test_unquoted_only_removes_and_is_idempotent(text: str) -> None:
    once = unquoted(text)
    assert len(once) <= len(text) and unquoted(once) == once


def test_bq_paragraphs_and_titled_quotes_are_quotes() -> None:
    assert unquoted("mine\nbq. theirs\nBQ. theirs too\nmine again") == "mine\nmine again"
    assert unquoted("a{quote:title=x}b{quote}c") == "ac"
