"""The writes a verdict still needs on a ticket as re-read before writing: signed results, early results, and a
reopen that carries the label (GitHub)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.action_items import bound_facts
from verifier.domain.actions import REOPEN_FAILED_NOTE, AddLabel, Decision, Labels, Reopen, WriteComment, missing_writes
from verifier.domain.config import canonical, render_config
from verifier.domain.formats import find_config
from verifier.domain.protocol import bound_config_signature, result_marker, result_signature
from verifier.domain.selection import recorded_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict

KEY = b"k" * 32
US = frozenset({BOT})
LABELS = Labels()
HELD = Verdict(Outcome.VERIFIED, "the condition held")


def _decide(
    verdict: Verdict, ticket: Ticket, labels_with: frozenset[str] = frozenset(), signing_key: bytes | None = None
) -> Decision:
    return missing_writes(
        verdict,
        ticket.resolved_at,
        ticket,
        Flavour.MARKDOWN,
        LABELS,
        trusted=US,
        own=US,
        already_written=False,
        labels_with=labels_with,
        signing_key=signing_key,
    )


def _signed_block(ticket: str = "A-1") -> str:
    """The block as `file` signs it for `ticket` (a body of just the block: its facts are all empty)."""
    config = find_config(BLOCK)
    assert config is not None
    signature = bound_config_signature(KEY, ticket, canonical(config), bound_facts(BLOCK))
    return render_config(replace(config, signature=signature), Flavour.MARKDOWN)


def test_a_failed_verdict_reopens_with_the_label_in_the_same_request_and_still_notes_an_impossible_reopen() -> None:
    failed = Verdict(Outcome.FAILED, "the condition broke")
    decision = _decide(failed, done("A-1"), labels_with=frozenset({"reopen"}))
    assert isinstance(decision.actions[0], WriteComment)
    assert decision.actions[1:] == (Reopen(note_if_impossible=True, labels=(LABELS.failed,)),)


def test_an_early_result_already_written_is_not_written_again_by_the_next_early_run() -> None:
    ticket = done("A-1")
    assert ticket.resolved_at is not None
    marker = result_marker(Outcome.VERIFIED, ticket.resolved_at, early=True)
    ticket = done("A-1", comments=(Comment("7", BOT, marker, NOW - timedelta(hours=1)),))
    decision = _decide(replace(HELD, early=True), ticket)
    assert decision.actions == (AddLabel(LABELS.verified),)


def test_with_a_signing_key_the_result_comment_is_signed() -> None:
    ticket = done("A-1", body=_signed_block())
    [write, _] = _decide(HELD, ticket, signing_key=KEY).actions
    assert isinstance(write, WriteComment)
    after = done("A-1", body=_signed_block(), comments=(Comment("9", BOT, write.body, NOW),))
    assert recorded_result(after, US, None, early=False, key=KEY) is not None


def test_with_a_signing_key_an_unsigned_config_under_the_tools_name_does_not_make_its_result_stale() -> None:
    """A config posted later under the tool's account but not signed is not the judged config: the signed result
    before it still stands, so only the missing label is written."""
    resolved = done("A-1").resolved_at
    assert resolved is not None
    signature = result_signature(KEY, "A-1", Outcome.VERIFIED, resolved, early=False)
    result = Comment("7", BOT, result_marker(Outcome.VERIFIED, resolved, early=False, signature=signature), NOW)
    unsigned = Comment("8", BOT, BLOCK.replace("100ms", "200ms"), NOW + timedelta(hours=1))
    ticket = done("A-1", body=_signed_block(), comments=(result, unsigned))
    decision = _decide(HELD, ticket, signing_key=KEY)
    assert decision.actions == (AddLabel(LABELS.verified),)
    assert decision.config_since is None  # the judged config is the signed body


def test_a_run_stopped_between_the_impossible_reopens_note_and_its_label_does_not_note_twice() -> None:
    """The note goes before the reopen-failed label; a run killed between the two (SIGKILL, a lost node) left the note
    without the label, and the next run, reading only the label, wrote the note again (tests/e2e/test_faults.py's
    SIGKILL test, when the kill fell there). The tool's own note on this resolution counts; anyone else's, an edited
    one, or one from before this resolution does not. The label is still to come, until it is there."""
    failed = Verdict(Outcome.FAILED, "the condition broke")
    ticket = done("A-1")
    assert ticket.resolved_at is not None
    result = Comment(
        "7",
        BOT,
        result_marker(Outcome.FAILED, ticket.resolved_at, early=False),
        ticket.resolved_at + timedelta(hours=1),
    )
    after = ticket.resolved_at + timedelta(hours=1, seconds=1)
    labelled = frozenset({LABELS.failed})

    def reopen(*notes: Comment) -> Decision:
        return _decide(failed, done("A-1", comments=(result, *notes), labels=labelled))

    noted = Comment("8", BOT, REOPEN_FAILED_NOTE, after)
    assert reopen(noted).actions == (Reopen(note_if_impossible=False, label_if_impossible=True),)
    said = done("A-1", comments=(result, noted), labels=labelled | {LABELS.reopen_failed})
    assert _decide(failed, said).actions == (Reopen(note_if_impossible=False, label_if_impossible=False),)
    rewrapped = REOPEN_FAILED_NOTE.replace(": ", ":\n")  # a tracker that gives the text back re-wrapped
    assert reopen(Comment("8", BOT, rewrapped, after)).actions == (Reopen(note_if_impossible=False),)
    assert reopen(Comment("8", "mallory", REOPEN_FAILED_NOTE, after)).actions == (Reopen(note_if_impossible=True),)
    edited = Comment("8", BOT, REOPEN_FAILED_NOTE, after, updated=after + timedelta(minutes=1))
    assert reopen(edited).actions == (Reopen(note_if_impossible=True),)
    before = Comment("8", BOT, REOPEN_FAILED_NOTE, ticket.resolved_at - timedelta(days=1))
    assert reopen(before).actions == (Reopen(note_if_impossible=True),)
    assert reopen().actions == (Reopen(note_if_impossible=True),)
    same_second = Comment("8", BOT, REOPEN_FAILED_NOTE, ticket.resolved_at.replace(microsecond=0))
    assert reopen(same_second).actions == (Reopen(note_if_impossible=False),)


def test_a_ticket_open_when_listed_and_now_needs_no_writes_and_no_note_is_looked_for() -> None:
    failed = Verdict(Outcome.FAILED, "the condition broke")
    assert _decide(failed, done("A-1", resolved_at=None, status="In Progress")).actions == ()
