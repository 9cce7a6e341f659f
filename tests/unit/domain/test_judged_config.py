"""The config that was judged is the config that is current (#20): a result records the fingerprint of the config
it judged, a write is refused when the ticket as re-read has another newest trusted config, and a result on
another config does not stand for the current one."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.actions import Labels, judged_elsewise, missing_writes
from verifier.domain.binding import fingerprint_of
from verifier.domain.config import canonical
from verifier.domain.formats import find_config
from verifier.domain.protocol import config_fingerprint, parse_result, result_marker, result_signature, signed_by
from verifier.domain.selection import recorded_result, select_config
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.verdicts import Outcome, Verdict

US = frozenset({BOT})
TRUSTED = frozenset({BOT, "alice"})
OLD = find_config(BLOCK)
NEWER = BLOCK.replace("100ms", "50ms")
assert OLD is not None
OLD_FP = fingerprint_of(OLD)


def _with_newer(minutes_ago: float = 30) -> Comment:
    return Comment("8", "alice", NEWER, NOW - timedelta(minutes=minutes_ago))


def test_the_fingerprint_is_of_the_canonical_fields_and_pinned() -> None:
    assert OLD is not None and OLD_FP == config_fingerprint(canonical(OLD)) == "7d872958b6d405e9"
    again = find_config(BLOCK.replace("```yaml", "```yaml  ").replace("p99", "p99   "))
    assert fingerprint_of(again) == OLD_FP  # the same config however it was written
    assert fingerprint_of(find_config(NEWER)) != OLD_FP
    assert fingerprint_of(None) is None


def test_a_verdict_measured_on_a_config_no_longer_current_is_not_written() -> None:
    ticket = done("A-1", body=BLOCK, comments=(_with_newer(),))
    verdict = Verdict(Outcome.VERIFIED, "held", config=OLD_FP)
    decision = missing_writes(
        verdict, ticket.resolved_at, ticket, Flavour.MARKDOWN, Labels(), trusted=TRUSTED, own=US,
        already_written=False, judged=OLD_FP,
    )  # fmt: skip
    assert decision.actions == ()
    assert (
        decision.note
        == "the config changed since it was judged (comment 8): nothing written, the next run judges the new one"
    )


def test_a_verdict_on_the_current_config_is_written_with_its_fingerprint() -> None:
    ticket = done("A-1", body=BLOCK)
    verdict = Verdict(Outcome.VERIFIED, "held", config=OLD_FP)
    decision = missing_writes(
        verdict, ticket.resolved_at, ticket, Flavour.MARKDOWN, Labels(), trusted=TRUSTED, own=US,
        already_written=False, judged=OLD_FP,
    )  # fmt: skip
    assert decision.note == "" and len(decision.actions) == 2
    assert f"; config={OLD_FP}" in decision.actions[0].body  # type: ignore[union-attr]


def test_judged_elsewise_compares_fingerprints_only_when_there_is_one() -> None:
    current = select_config(done("A-1", body=BLOCK), TRUSTED, US).choice
    assert judged_elsewise(None, current) is None
    assert judged_elsewise(OLD_FP, current) is None
    assert judged_elsewise("0" * 16, current) is not None
    assert judged_elsewise(OLD_FP, None) == (
        "the config changed since it was judged: nothing written, the next run judges the new one"
    )


def test_a_result_recording_another_config_does_not_stand_for_a_newer_trusted_one() -> None:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    result = Comment("9", BOT, result_marker(Outcome.VERIFIED, resolved, early=False, config=OLD_FP), NOW)
    # The newer config is older than the result (written while the result was): only the fingerprint tells.
    ticket = done("A-1", body=BLOCK, comments=(_with_newer(), result))
    choice = select_config(ticket, TRUSTED, US).choice
    assert choice is not None and choice.where == "comment 8"
    assert recorded_result(ticket, US, choice, early=False) is None  # due again
    same = done("A-1", body=BLOCK, comments=(result,))
    assert recorded_result(same, US, select_config(same, TRUSTED, US).choice, early=False) is not None
    unrecorded = Comment("9", BOT, result_marker(Outcome.VERIFIED, resolved, early=False), NOW)  # older releases
    older = done("A-1", body=BLOCK, comments=(_with_newer(), unrecorded))
    assert recorded_result(older, US, select_config(older, TRUSTED, US).choice, early=False) is not None


@given(st.sampled_from(list(Outcome)), st.booleans(), st.text("0123456789abcdef", min_size=16, max_size=16))
def test_a_signed_marker_covers_the_judged_config(outcome: Outcome, early: bool, config: str) -> None:
    resolved = NOW.replace(microsecond=0)
    signature = result_signature(b"k" * 32, "A-1", outcome, resolved, early=early, config=config)
    marker = parse_result(result_marker(outcome, resolved, early=early, signature=signature, config=config))
    assert marker is not None and marker.config == config and signed_by(b"k" * 32, "A-1", marker)
    other = "f" * 16 if config != "f" * 16 else "0" * 16
    moved = parse_result(result_marker(outcome, resolved, early=early, signature=signature, config=other))
    assert moved is not None and not signed_by(b"k" * 32, "A-1", moved)
