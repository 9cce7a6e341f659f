"""Result comments written with a signing key carry the signature, so the next run knows them for its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import BOT
from tests.unit.helpers import RESOLVED, config, instant, judge
from tests.unit.run_tickets import NOW, done
from verifier.domain.actions import Labels, WriteComment, actions_for
from verifier.domain.binding import fingerprint_of
from verifier.domain.planning import QueryPlan, plan
from verifier.domain.render import Marker, marker_line, parse_marker, render_result
from verifier.domain.selection import recorded_result
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.verdicts import Outcome, Verdict, invalid

PLAN = plan(
    config(metric="http_server_request_duration_seconds", condition="< 100ms p99", labels='{route: "/pay|x"}'),
    RESOLVED,
    RESOLVED + timedelta(days=3),
)
assert isinstance(PLAN, QueryPlan)


@pytest.mark.parametrize("flavour", list(Flavour))
def test_result_comment_carries_value_threshold_window_query_and_marker(flavour: Flavour) -> None:
    text = render_result(judge(PLAN, instant(0.082)), RESOLVED, flavour)
    assert "0.082 seconds" in text and "< 0.1 seconds" in text
    assert "2026-11-01T12:00:00Z to 2026-11-03T12:00:00Z (48h)" in text
    assert "histogram_quantile(0.99" in text
    assert parse_marker(text) == Marker(Outcome.VERIFIED, RESOLVED, early=False, config=fingerprint_of(PLAN.config))


def test_markdown_table_cells_escape_pipes() -> None:
    text = render_result(Verdict(Outcome.INVALID, "bad", notes=("a | b",)), RESOLVED, Flavour.MARKDOWN)
    assert "| Note | a \\| b |" in text


def test_jira_escapes_macro_characters_in_reason() -> None:
    text = render_result(invalid("unexpected {code} in [link]"), RESOLVED, Flavour.JIRA_WIKI)
    assert "\\{code\\}" in text and "\\[link\\]" in text
    assert parse_marker(text) is not None


def test_marker_survives_jira_escaping_and_markup() -> None:
    line = "_action\\-item\\-verifier result v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z; early_"
    assert parse_marker(line) == Marker(Outcome.FAILED, RESOLVED, early=True)


def test_marker_resolution_is_utc() -> None:
    other_zone = datetime(2026, 11, 1, 13, 0, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=1))
    )
    text = render_result(Verdict(Outcome.INCONCLUSIVE, "no data"), other_zone, Flavour.MARKDOWN)
    marker = parse_marker(text)
    assert marker is not None and marker.resolved_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_no_marker_in_ordinary_text() -> None:
    assert parse_marker("LGTM, verified by hand") is None
    assert parse_marker("action-item-verifier result v1; verdict=MAYBE; resolved=2026-11-01T12:00:00Z") is None


@given(st.sampled_from(list(Outcome)), st.text(max_size=200), st.sampled_from(list(Flavour)), st.booleans())
def test_every_verdict_renders_and_is_recognised(outcome: Outcome, reason: str, flavour: Flavour, early: bool) -> None:
    verdict = Verdict(outcome, reason or "x", early=early)
    marker = parse_marker(render_result(verdict, RESOLVED, flavour))
    assert marker == Marker(outcome, RESOLVED, early)


KEY = b"k" * 32
HELD = Verdict(Outcome.VERIFIED, "the condition held")
SIG = "0123456789abcdef" * 2


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_result_written_with_a_signing_key_is_recognised_by_the_next_signed_run(flavour: Flavour) -> None:
    ticket = done("A-1")
    [write, *_] = actions_for(HELD, ticket, flavour, Labels(), already_written=False, signing_key=KEY)
    assert isinstance(write, WriteComment)
    written = done("A-1", comments=(Comment("9", BOT, write.body, NOW),))
    found = recorded_result(written, frozenset({BOT}), None, early=False, key=KEY)
    assert found is not None and found.marker.verdict is Outcome.VERIFIED


@pytest.mark.parametrize("flavour", list(Flavour))
def test_the_comment_marker_carries_the_signature_it_is_given(flavour: Flavour) -> None:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    marker = parse_marker(render_result(HELD, resolved, flavour, SIG))
    assert marker is not None and marker.signature == SIG
    assert parse_marker(marker_line(HELD, resolved, SIG)) == marker
