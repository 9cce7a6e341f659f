"""Outside text keeps every character a reader needs, and only gains the invisible breaks that make it inert."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from verifier.domain import neutral
from verifier.domain.neutral import ZWSP


@pytest.mark.parametrize("render", [neutral.markdown, neutral.wiki])
def test_a_link_keeps_its_scheme_split_by_an_invisible_break(render: Callable[[str], str]) -> None:
    assert render("see https://e.vil and www.e.vil") == f"see https{ZWSP}://e.vil and www{ZWSP}.e.vil"


@pytest.mark.parametrize("render", [neutral.markdown, neutral.wiki])
def test_mentions_and_issue_references_read_the_same_but_do_not_ping(render: Callable[[str], str]) -> None:
    assert render("@org/team see #12") == f"@{ZWSP}org/team see #{ZWSP}12"


@pytest.mark.parametrize("render", [neutral.markdown, neutral.wiki])
def test_control_characters_vanish_without_a_trace(render: Callable[[str], str]) -> None:
    assert render("a\x07b\u202ec\x7f") == "abc"


def test_a_wiki_backslash_stays_one_visible_backslash() -> None:
    assert neutral.wiki("C:\\dir") == f"C:\\{ZWSP}dir"
