"""What the run decides for one ticket when results are signed, and when someone else judged it."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.action_items import bound_facts
from verifier.domain.config import canonical, render_config
from verifier.domain.formats import find_config
from verifier.domain.protocol import bound_config_signature, config_signature, result_marker, result_signature
from verifier.domain.tickets import Comment, Flavour
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, triage
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


def test_with_a_signing_key_the_tools_own_unsigned_config_is_invalid_and_named() -> None:
    decided = triage(done("A-1"), NOW, SIGNED)
    assert isinstance(decided, Judged) and decided.verdict.outcome is Outcome.INVALID
    assert decided.verdict.reason == f"A-1: body by {BOT} is not signed with the signing key: edited since"


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
    labels = frozenset({"post-incident", "verified-by-otel"})
    ticket = done("A-1", labels=labels, comments=(stranger,), labelled_by=(("verified-by-otel", BOT),))
    assert triage(ticket, NOW, policy) == Skip(
        "judged elsewhere: labelled verified-by-otel with no result of ours", ("mallory",), elsewhere=True
    )


def test_with_a_signing_key_a_block_signed_for_another_ticket_is_not_the_tools() -> None:
    decided = triage(done("A-2", body=_signed_block("A-1")), NOW, SIGNED)
    assert isinstance(decided, Judged) and decided.verdict.outcome is Outcome.INVALID
    assert decided.verdict.reason == f"A-2: body by {BOT} is not signed with the signing key: edited since"


def test_with_a_signing_key_a_body_whose_facts_changed_is_not_the_tools() -> None:
    body = "**Actual Value**: 1.84\n" + _signed_block()  # the block was signed for a body with no facts
    decided = triage(done("A-1", body=body), NOW, SIGNED)
    assert isinstance(decided, Judged) and decided.verdict.outcome is Outcome.INVALID
    assert decided.verdict.reason == f"A-1: body by {BOT} is not signed with the signing key: edited since"


def test_with_a_signing_key_a_block_signed_in_the_earlier_format_is_named_for_re_signing() -> None:
    config = find_config(BLOCK)
    assert config is not None
    earlier = render_config(replace(config, signature=config_signature(KEY, canonical(config))), Flavour.MARKDOWN)
    decided = triage(done("A-1", body=earlier), NOW, SIGNED)
    reason = f"A-1: body by {BOT} is signed in the earlier format, not bound to its ticket: run `file` again to re-sign"
    assert isinstance(decided, Judged) and decided.verdict.reason == reason


# -- every input from a trusted hand (#20) -----------------------------------------------------------------------

RELATIVE = "**Actual Value**: 0.8\n\n" + BLOCK.replace("< 100ms p99", "< 50% of baseline p99")
TRUSTING = Policy(frozenset({BOT, ALICE}), frozenset({BOT}), frozenset(), judged_labels=frozenset({"verified-by-otel"}))


def test_a_baseline_from_a_description_edited_by_someone_untrusted_is_refused_out_loud() -> None:
    config = Comment("5", ALICE, BLOCK.replace("< 100ms p99", "< 50% of baseline p99"), NOW)
    edited = done("A-1", body=RELATIVE, comments=(config,), body_edited_by=("mallory",))
    decided = triage(edited, NOW, TRUSTING)
    assert isinstance(decided, Judged) and decided.verdict.outcome is Outcome.INVALID
    assert decided.verdict.reason == (
        "A-1: the baseline (the incident's value and time) is refused: "
        "the description was edited by mallory, not a trusted author"
    )
    untouched = triage(done("A-1", body=RELATIVE, comments=(config,)), NOW, TRUSTING)
    assert isinstance(untouched, Measure) and untouched.plan.threshold is not None
    assert untouched.plan.threshold.value == 0.4


def test_a_baseline_from_a_description_its_creator_did_not_write_is_refused() -> None:
    config = Comment("5", ALICE, BLOCK.replace("< 100ms p99", "< 50% of baseline p99"), NOW)
    forged = done("A-1", body=RELATIVE, comments=(config,), reporter=ALICE, creator="mallory")
    decided = triage(forged, NOW, TRUSTING)
    assert isinstance(decided, Judged)
    assert decided.verdict.reason.endswith("refused: the description is by mallory, not a trusted author")


def test_a_judgement_label_an_untrusted_account_added_is_judged_here_and_said() -> None:
    labels = frozenset({"post-incident", "verified-by-otel"})
    ticket = done("A-1", labels=labels, labelled_by=(("verified-by-otel", "mallory"),))
    decided = triage(ticket, NOW, TRUSTING)
    note = "not judged elsewhere: labels no trusted account added: verified-by-otel (added by mallory)"
    assert isinstance(decided, Measure) and decided.plan.notes[-1] == note and decided.refused == (note,)
