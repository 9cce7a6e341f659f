"""Result comments written with a signing key carry the signature, so the next run knows them for its own."""

from __future__ import annotations

import pytest

from tests.unit.fakes import BOT
from tests.unit.run_tickets import NOW, done
from verifier.domain.actions import Labels, WriteComment, actions_for
from verifier.domain.render import marker_line, parse_marker, render_result
from verifier.domain.selection import recorded_result
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.verdicts import Outcome, Verdict

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
