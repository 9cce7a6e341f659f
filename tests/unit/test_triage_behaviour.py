"""What the run decides for one ticket when results are signed, and when someone else judged it."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.config import canonical, render_config
from verifier.domain.formats import find_config
from verifier.domain.models import bound_facts
from verifier.domain.protocol import bound_config_signature, config_signature, result_marker, result_signature
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.triage import AlreadyRecorded, Measure, Policy, Skip, triage
from verifier.domain.verdicts import Outcome

KEY = b"k" * 32
ALICE = "alice"  # a trusted reporter, not the tool
SIGNED = Policy(frozenset({BOT, ALICE}), frozenset({BOT}), frozenset(), signing_key=KEY)


def _signed_block(ticket: str = "A-1") -> str:
    """The block as `file` signs it for `ticket` (a body of just the block: its facts are all empty)."""
    config = find_config(BLOCK)
    assert config is not None
    signature = bound_config_signature(KEY, ticket, canonical(config), bound_facts(BLOCK))
    return render_config(replace(config, signature=signature), Flavour.MARKDOWN)


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


def test_with_a_signing_key_a_block_signed_for_another_ticket_is_not_the_tools() -> None:
    decided = triage(done("A-2", body=_signed_block("A-1")), NOW, SIGNED)
    assert decided == Skip("no trusted config", (f"{BOT} (not signed with the signing key)",))


def test_with_a_signing_key_a_body_whose_facts_changed_is_not_the_tools() -> None:
    body = "**Actual Value**: 1.84\n" + _signed_block()  # the block was signed for a body with no facts
    decided = triage(done("A-1", body=body), NOW, SIGNED)
    assert decided == Skip("no trusted config", (f"{BOT} (not signed with the signing key)",))


def test_with_a_signing_key_a_block_signed_in_the_earlier_format_is_named_for_re_signing() -> None:
    config = find_config(BLOCK)
    assert config is not None
    earlier = render_config(replace(config, signature=config_signature(KEY, canonical(config))), Flavour.MARKDOWN)
    decided = triage(done("A-1", body=earlier), NOW, SIGNED)
    reason = f"{BOT} (signed in the earlier format, not bound to its ticket: run `file` again to re-sign)"
    assert decided == Skip("no trusted config", (reason,))
