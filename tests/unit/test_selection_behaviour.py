"""Whose config counts once texts were edited, and when a done ticket counts as judged by someone else."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.protocol import result_marker
from verifier.domain.selection import judged_elsewhere, select_config
from verifier.domain.tickets import Comment
from verifier.domain.verdicts import Outcome

ALICE, BOB, MALLORY = "alice", "bob", "mallory"
TRUSTED = frozenset({BOT, ALICE, BOB})
US = frozenset({BOT})
JUDGED = ("verification-failed", "verified-by-otel")
OTHER = BLOCK.replace("100ms", "250ms")


def _edited(author: str, by: str | None, body: str = OTHER) -> Comment:
    return Comment("5", author, body, NOW - timedelta(hours=2), updated=NOW - timedelta(hours=1), updated_by=by)


def test_a_trusted_authors_config_she_edited_herself_still_counts() -> None:
    choice = select_config(done("A-1", comments=(_edited(ALICE, ALICE),)), TRUSTED).choice
    assert choice is not None and choice.where == "comment 5" and choice.config is not None
    assert choice.config.condition.text == "< 250ms p99"


def test_a_config_edited_by_someone_else_is_ignored_even_if_the_editor_is_trusted() -> None:
    selection = select_config(done("A-1", comments=(_edited(ALICE, BOB),)), TRUSTED)
    assert selection.choice is not None and selection.choice.where == "body"
    assert selection.ignored_authors == ("alice (edited by bob)",)


def test_a_config_edited_where_the_tracker_does_not_say_by_whom_is_ignored_and_named() -> None:
    selection = select_config(done("A-1", comments=(_edited(ALICE, None),)), TRUSTED)
    assert selection.choice is not None and selection.choice.where == "body"
    assert selection.ignored_authors == ("alice (edited by someone)",)


def test_a_description_edited_by_an_untrusted_person_is_not_the_reporters_config() -> None:
    selection = select_config(done("A-1", body_edited_by=(MALLORY,)), TRUSTED)
    assert selection.choice is None
    assert selection.ignored_authors == (f"{BOT} (description edited by {MALLORY})",)


def test_a_description_edited_by_its_reporter_or_a_trusted_person_keeps_its_config() -> None:
    selection = select_config(done("A-1", body_edited_by=(BOT, ALICE)), TRUSTED)
    assert selection.choice is not None and selection.choice.where == "body"
    assert selection.ignored_authors == ()


def test_with_a_signing_key_an_unsigned_filed_config_gives_way_to_a_trusted_comment() -> None:
    comment = Comment("6", ALICE, OTHER, NOW - timedelta(hours=1))
    selection = select_config(done("A-1", comments=(comment,)), TRUSTED, US, key=b"k" * 32)
    assert selection.choice is not None and selection.choice.where == "comment 6"
    assert selection.ignored_authors == (f"{BOT} (not signed with the signing key)",)


def test_the_articles_result_written_in_the_second_of_a_sub_second_resolution_counts_as_judged_elsewhere() -> None:
    resolved = NOW.replace(microsecond=0) - timedelta(days=3)
    article = Comment("5", ALICE, "Verified: `latency` now meets condition < 100ms", resolved)
    ticket = done("A-1", resolved_at=resolved + timedelta(microseconds=600_000), comments=(article,))
    assert judged_elsewhere(ticket, US, TRUSTED, JUDGED) == (
        f'judged elsewhere: alice\'s "Verified" comment of {resolved:%Y-%m-%d}'
    )


def test_labels_of_a_judgement_elsewhere_are_all_named() -> None:
    ticket = done("A-1", labels=frozenset({"post-incident", *JUDGED}))
    assert judged_elsewhere(ticket, US, TRUSTED, JUDGED) == (
        "judged elsewhere: labelled verification-failed, verified-by-otel with no result of ours"
    )


def test_a_result_marker_pasted_by_someone_else_does_not_explain_the_label() -> None:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    earlier = resolved - timedelta(days=10)
    pasted = Comment("5", MALLORY, result_marker(Outcome.VERIFIED, earlier, early=False), resolved)
    ticket = done("A-1", labels=frozenset({"post-incident", "verified-by-otel"}), comments=(pasted,))
    assert judged_elsewhere(ticket, US, TRUSTED, JUDGED) == (
        "judged elsewhere: labelled verified-by-otel with no result of ours"
    )
