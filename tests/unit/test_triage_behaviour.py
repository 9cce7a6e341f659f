"""What the run decides for one ticket when results are signed, and when someone else judged it."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.config import canonical, render_config
from verifier.domain.formats import find_config
from verifier.domain.protocol import config_signature, result_marker, result_signature
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.triage import AlreadyRecorded, Measure, Policy, Skip, triage
from verifier.domain.verdicts import Outcome

KEY = b"k" * 32
ALICE = "alice"  # a trusted reporter, not the tool
SIGNED = Policy(frozenset({BOT, ALICE}), frozenset({BOT}), frozenset(), signing_key=KEY)


def _signed_block() -> str:
    config = find_config(BLOCK)
    assert config is not None
    return render_config(replace(config, signature=config_signature(KEY, canonical(config))), Flavour.MARKDOWN)


def test_with_a_signing_key_the_tools_own_unsigned_config_is_ignored_and_named() -> None:
    decided = triage(done("A-1"), NOW, SIGNED)
    assert decided == Skip("no trusted config", (f"{BOT} (not signed with the signing key)",))


def test_with_a_signing_key_the_tools_own_signed_config_is_measured() -> None:
    assert isinstance(triage(done("A-1", body=_signed_block()), NOW, SIGNED), Measure)


def _result(signature: str | None) -> Comment:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    body = result_marker(Outcome.VERIFIED, resolved, early=False, signature=signature)
    return Comment("7", BOT, body, NOW)


def test_with_a_signing_key_an_unsigned_result_does_not_count_as_recorded() -> None:
    ticket = done("A-1", reporter=ALICE, comments=(_result(None),))
    assert isinstance(triage(ticket, NOW, SIGNED), Measure)


def test_with_a_signing_key_a_signed_result_counts_as_recorded() -> None:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    signature = result_signature(KEY, "A-1", Outcome.VERIFIED, resolved, early=False)
    ticket = done("A-1", reporter=ALICE, comments=(_result(signature),))
    decided = triage(ticket, NOW, SIGNED)
    assert isinstance(decided, AlreadyRecorded) and decided.recorded.marker.signature == signature


def test_a_ticket_judged_elsewhere_is_skipped_with_why_and_the_ignored_configs() -> None:
    policy = Policy(frozenset({BOT}), frozenset({BOT}), frozenset(), judged_labels=frozenset({"verified-by-otel"}))
    stranger = Comment("5", "mallory", BLOCK, NOW)
    ticket = done("A-1", labels=frozenset({"post-incident", "verified-by-otel"}), comments=(stranger,))
    assert triage(ticket, NOW, policy) == Skip(
        "judged elsewhere: labelled verified-by-otel with no result of ours", ("mallory",), elsewhere=True
    )
