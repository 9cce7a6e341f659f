"""A result comment always fits its tracker (#22): every value from outside is cut to a documented length, and
whatever the verdict holds, the comment stays under Jira's 32,767 UTF-16 units and GitHub's 65,536 characters
and keeps its marker."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.helpers import RESOLVED
from verifier.domain.evidence import Evidence
from verifier.domain.render import (
    COMMENT_LIMIT,
    MAX_NOTE_CHARS,
    MAX_NOTES,
    MAX_QUERY_CHARS,
    MAX_REASON_CHARS,
    MAX_SERIES_CHARS,
    comment_length,
    cut,
    parse_marker,
    render_result,
)
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Verdict

ASTRAL = "\U0001f600"  # two UTF-16 units: what makes Jira's count longer than the characters
HOSTILE = st.text(alphabet=st.sampled_from(["a", "|", "[", "@", "\\", "`", "{", "!", ASTRAL, "h", ":"]))


@settings(max_examples=40, deadline=None)
@given(
    outcome=st.sampled_from(list(Outcome)),
    flavour=st.sampled_from(list(Flavour)),
    reason=st.builds(lambda s, n: (s or "x") * n, HOSTILE, st.integers(1, 40_000)),
    series=st.builds(lambda s, n: s * n, HOSTILE, st.integers(0, 40_000)),
    query=st.builds(lambda s, n: s * n, HOSTILE, st.integers(0, 40_000)),
    notes=st.lists(st.builds(lambda s, n: s * n, HOSTILE, st.integers(0, 5_000)), max_size=30),
)
def test_any_result_comment_fits_its_tracker_and_keeps_its_marker(
    outcome: Outcome, flavour: Flavour, reason: str, series: str, query: str, notes: list[str]
) -> None:
    verdict = Verdict(
        outcome, reason, value=0.5, op="<", query=query or None, series=series or None, notes=tuple(notes)
    )
    text = render_result(verdict, RESOLVED, flavour)
    assert comment_length(text, flavour) <= COMMENT_LIMIT[flavour]
    marker = parse_marker(text)
    assert marker is not None and marker.verdict is outcome


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_16_kb_label_value_is_shown_cut_to_the_documented_length(flavour: Flavour) -> None:
    label = "route=" + "r" * 16_384
    text = render_result(Verdict(Outcome.FAILED, "the condition broke", 0.9, series=label), RESOLVED, flavour)
    assert "r" * (MAX_SERIES_CHARS - len("route=") - 1) + "…" in text
    assert "r" * (MAX_SERIES_CHARS - len("route=")) not in text


def test_each_outside_value_is_cut_at_its_own_length() -> None:
    verdict = Verdict(
        Outcome.ERROR,
        "e" * 5_000,
        query="q" * 9_000,
        notes=tuple(f"{n}" + "n" * 2_000 for n in range(MAX_NOTES + 3)),
    )
    text = render_result(verdict, RESOLVED, Flavour.MARKDOWN)
    assert "E" + "e" * (MAX_REASON_CHARS - 2) + "…." in text and "e" * MAX_REASON_CHARS not in text
    assert "q" * (MAX_QUERY_CHARS - 1) + "…" in text and "q" * MAX_QUERY_CHARS not in text
    assert "n" * (MAX_NOTE_CHARS - 2) + "…" in text and "n" * (MAX_NOTE_CHARS - 1) not in text
    assert text.count("| Note |") == MAX_NOTES + 1 and "3 more notes left out" in text


def test_when_the_graph_link_makes_it_too_long_the_graph_and_notes_are_left_out_and_the_comment_says_so() -> None:
    # The link carries the query, percent-encoded: a long trusted query makes it longer than the tracker takes.
    link = "https://grafana.example/explore?q=" + "%7B" * 12_000
    verdict = Verdict(
        Outcome.FAILED, "the condition broke", 0.9, query="q", notes=("a note",), evidence=Evidence(link, "Grafana")
    )
    whole = render_result(replace(verdict, evidence=Evidence(link[:200], "Grafana")), RESOLVED, Flavour.JIRA_WIKI)
    text = render_result(verdict, RESOLVED, Flavour.JIRA_WIKI)
    assert "Graph of the window" in whole and "a note" in whole
    assert comment_length(text, Flavour.JIRA_WIKI) <= 32_767 and parse_marker(text) is not None
    assert "Graph of the window" not in text and "a note" not in text
    assert "1 more note left out, the comment would not fit the tracker's limit" in text


def test_cut_keeps_short_text_whole() -> None:
    assert cut("abc", 3) == "abc" and cut("abcd", 3) == "ab…"
