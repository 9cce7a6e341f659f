"""Whose config counts once texts were edited, and when a done ticket counts as judged by someone else.

Which config and which recorded result a ticket's verification uses, in the cases between the obvious ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import BOT
from tests.unit.run_tickets import BLOCK, NOW, done
from verifier.domain.actions import Labels, WriteComment, actions_for
from verifier.domain.measurement import Series
from verifier.domain.protocol import result_marker
from verifier.domain.render import render_result
from verifier.domain.selection import judged_elsewhere, recorded_result, select_config, untrusted_labels
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, triage
from verifier.domain.verdicts import Outcome, Verdict

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


def test_a_config_edited_by_someone_else_is_refused_even_if_the_editor_is_trusted() -> None:
    selection = select_config(done("A-1", comments=(_edited(ALICE, BOB),)), TRUSTED)
    choice = selection.choice
    assert choice is not None and choice.where == "comment 5" and choice.config is None  # no fallback to the body
    assert str(choice.error) == "A-1: comment 5 by alice carries a config, but it was edited by bob: it is refused"
    assert selection.ignored_authors == ()


def test_a_config_edited_where_the_tracker_does_not_say_by_whom_is_refused_and_named() -> None:
    choice = select_config(done("A-1", comments=(_edited(ALICE, None),)), TRUSTED).choice
    assert choice is not None and choice.where == "comment 5" and choice.config is None
    assert "edited by someone (the tracker does not say who)" in str(choice.error)


def test_a_newer_trusted_config_replaces_a_refused_edited_one() -> None:
    newer = Comment("9", BOB, BLOCK, NOW - timedelta(minutes=30))
    choice = select_config(done("A-1", comments=(_edited(ALICE, MALLORY), newer)), TRUSTED).choice
    assert choice is not None and choice.where == "comment 9" and choice.config is not None


def test_an_edited_trusted_comment_without_a_config_changes_nothing() -> None:
    chatter = _edited(ALICE, MALLORY, body="thanks, closing")
    choice = select_config(done("A-1", comments=(chatter,)), TRUSTED).choice
    assert choice is not None and choice.where == "body" and choice.config is not None


def test_a_description_edited_by_an_untrusted_person_is_refused_not_skipped() -> None:
    selection = select_config(done("A-1", body_edited_by=(MALLORY,)), TRUSTED)
    choice = selection.choice
    assert choice is not None and choice.where == "body" and choice.config is None
    assert str(choice.error) == (
        f"A-1: body by {BOT} carries a config, but the description was edited by {MALLORY}, not a trusted author: "
        "it is refused"
    )


def test_a_description_whose_history_could_not_be_read_is_refused() -> None:
    choice = select_config(done("A-1", history_gap="HTTP 503"), TRUSTED).choice
    assert choice is not None and choice.config is None
    assert "who edited the description is unknown (HTTP 503)" in str(choice.error)


def test_the_creator_not_the_reporter_owns_the_description() -> None:
    forged = done("A-1", reporter=ALICE, creator=MALLORY)
    selection = select_config(forged, TRUSTED)
    assert selection.choice is None and selection.ignored_authors == (MALLORY,)
    assert select_config(done("A-1", reporter=MALLORY, creator=ALICE), TRUSTED).choice is not None


def test_a_config_quoted_by_a_trusted_author_is_not_hers() -> None:
    for quoted in (
        "{quote}\n" + BLOCK + "\n{quote}",
        "\n".join("> " + line for line in BLOCK.splitlines()),
        "{QUOTE}\n" + BLOCK,  # never closed: quoted to the end
    ):
        comment = Comment("7", ALICE, "As mallory said:\n" + quoted, NOW - timedelta(hours=1))
        choice = select_config(done("A-1", body="", comments=(comment,)), TRUSTED).choice
        assert choice is None, quoted


def test_a_description_edited_by_its_reporter_or_a_trusted_person_keeps_its_config() -> None:
    selection = select_config(done("A-1", body_edited_by=(BOT, ALICE)), TRUSTED)
    assert selection.choice is not None and selection.choice.where == "body"
    assert selection.ignored_authors == ()


def test_with_a_signing_key_an_unsigned_filed_config_is_refused_and_a_newer_trusted_comment_wins() -> None:
    alone = select_config(done("A-1"), TRUSTED, US, key=b"k" * 32).choice
    assert alone is not None and alone.config is None
    assert str(alone.error) == f"A-1: body by {BOT} is not signed with the signing key: edited since"
    comment = Comment("6", ALICE, OTHER, NOW - timedelta(hours=1))
    selection = select_config(done("A-1", comments=(comment,)), TRUSTED, US, key=b"k" * 32)
    assert selection.choice is not None and selection.choice.where == "comment 6"


def test_the_articles_result_written_in_the_second_of_a_sub_second_resolution_counts_as_judged_elsewhere() -> None:
    resolved = NOW.replace(microsecond=0) - timedelta(days=3)
    article = Comment("5", ALICE, "Verified: `latency` now meets condition < 100ms", resolved)
    ticket = done("A-1", resolved_at=resolved + timedelta(microseconds=600_000), comments=(article,))
    assert judged_elsewhere(ticket, US, TRUSTED, JUDGED) == (
        f'judged elsewhere: alice\'s "Verified" comment of {resolved:%Y-%m-%d}'
    )


def test_labels_of_a_judgement_elsewhere_are_all_named() -> None:
    ticket = done("A-1", labels=frozenset({"post-incident", *JUDGED}), labelled_by=tuple((j, ALICE) for j in JUDGED))
    assert judged_elsewhere(ticket, US, TRUSTED, JUDGED) == (
        "judged elsewhere: labelled verification-failed, verified-by-otel with no result of ours"
    )


def test_a_result_marker_pasted_by_someone_else_does_not_explain_the_label() -> None:
    resolved = done("A-1").resolved_at
    assert resolved is not None
    earlier = resolved - timedelta(days=10)
    pasted = Comment("5", MALLORY, result_marker(Outcome.VERIFIED, earlier, early=False), resolved)
    labels = frozenset({"post-incident", "verified-by-otel"})
    ticket = done("A-1", labels=labels, comments=(pasted,), labelled_by=(("verified-by-otel", BOB),))
    assert judged_elsewhere(ticket, US, TRUSTED, JUDGED) == (
        "judged elsewhere: labelled verified-by-otel with no result of ours"
    )


def test_a_judgement_label_counts_only_when_a_trusted_account_added_it() -> None:
    labels = frozenset({"post-incident", "verified-by-otel"})
    by_mallory = done("A-1", labels=labels, labelled_by=(("verified-by-otel", MALLORY),))
    unknown = done("A-1", labels=labels)
    assert judged_elsewhere(by_mallory, US, TRUSTED, JUDGED) is None
    assert judged_elsewhere(unknown, US, TRUSTED, JUDGED) is None
    assert untrusted_labels(by_mallory, TRUSTED, JUDGED) == ["verified-by-otel (added by mallory)"]
    assert untrusted_labels(unknown, TRUSTED, JUDGED) == ["verified-by-otel (added by an unknown account)"]
    by_bob = done("A-1", labels=labels, labelled_by=(("verified-by-otel", BOB),))
    assert judged_elsewhere(by_bob, US, TRUSTED, JUDGED) is not None
    assert untrusted_labels(by_bob, TRUSTED, JUDGED) == []


_SOURCE = st.tuples(st.sampled_from([ALICE, MALLORY]), st.sampled_from(["no", ALICE, MALLORY, None]), st.booleans())


@given(st.lists(_SOURCE, max_size=6))
def test_the_newest_trusted_config_is_judged_or_refused_never_an_older_one(
    sources: list[tuple[str, str | None, bool]],
) -> None:
    comments = []
    for n, (author, editor, carries) in enumerate(sources):
        created = NOW - timedelta(hours=10 - n)
        text = BLOCK.replace("100ms", f"{n + 1}ms") if carries else "a remark"
        updated = None if editor == "no" else created + timedelta(minutes=5)
        comments.append(Comment(str(n + 1), author, text, created, updated, None if editor == "no" else editor))
    choice = select_config(done("A-1", body="", comments=tuple(comments)), TRUSTED).choice
    newest = [n for n, (author, _, carries) in enumerate(sources) if author == ALICE and carries]
    if not newest:
        assert choice is None
        return
    n = newest[-1]
    author, editor, _ = sources[n]
    assert choice is not None and choice.where == f"comment {n + 1}"
    if editor in ("no", ALICE):
        assert choice.config is not None and choice.config.condition.text == f"< {n + 1}ms p99"
    else:
        assert choice.config is None and "it was edited by" in str(choice.error)


def test_with_a_signing_key_an_unsigned_comment_under_the_tools_name_is_nobodys() -> None:
    unsigned = Comment("6", BOT, OTHER, NOW - timedelta(hours=1))
    selection = select_config(done("A-1", body="", comments=(unsigned,)), TRUSTED, US, key=b"k" * 32)
    assert selection.choice is None and selection.ignored_authors == (f"{BOT} (not signed with the signing key)",)


NOW_DETAILS = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RESOLVED = NOW_DETAILS - timedelta(days=5)
OWN = frozenset({BOT})
BLOCK_DETAILS = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"


def ticket(*comments: Comment, body: str = BLOCK_DETAILS, resolved: datetime | None = RESOLVED) -> Ticket:
    return Ticket("OPS-7", "u", "t", "Done", resolved, "Done", frozenset(), body, BOT, comments)


def result(cid: str, at: datetime, *, early: bool = False, outcome: Outcome = Outcome.VERIFIED) -> Comment:
    return Comment(cid, BOT, render_result(Verdict(outcome, "x", early=early), RESOLVED, Flavour.MARKDOWN), at)


def test_the_body_config_is_named_as_the_body() -> None:
    choice = select_config(ticket(), OWN).choice
    assert choice is not None and (choice.where, choice.created, choice.error) == ("body", None, None)


def test_a_broken_config_names_the_ticket() -> None:
    choice = select_config(ticket(body=BLOCK_DETAILS.replace("< 100ms", "soon")), OWN).choice
    assert choice is not None and choice.error is not None and str(choice.error).startswith("OPS-7: ")
    decision = triage(ticket(body=BLOCK_DETAILS.replace("100ms", "100kB")), NOW_DETAILS, Policy(OWN, OWN, frozenset()))
    assert isinstance(decision, Judged) and decision.verdict.reason.startswith("OPS-7: ")


def test_a_result_written_in_the_same_second_as_the_config_counts_for_it() -> None:
    config = Comment("5", BOT, BLOCK_DETAILS, RESOLVED + timedelta(days=1))
    t = ticket(config, result("6", RESOLVED + timedelta(days=1)), body="no config")
    found = recorded_result(t, OWN, select_config(t, OWN).choice, early=False)
    assert found is not None and found.comment.id == "6"


def test_a_scheduled_result_is_found_behind_a_later_early_one() -> None:
    t = ticket(result("1", RESOLVED + timedelta(days=2)), result("2", RESOLVED + timedelta(days=3), early=True))
    scheduled = recorded_result(t, OWN, select_config(t, OWN).choice, early=False)
    assert scheduled is not None and scheduled.comment.id == "1"
    early = recorded_result(t, OWN, select_config(t, OWN).choice, early=True)
    assert early is not None and early.comment.id == "2"


def test_an_early_run_counts_an_early_result_and_a_scheduled_run_does_not() -> None:
    t = ticket(result("1", RESOLVED + timedelta(days=1), early=True))
    assert isinstance(triage(t, NOW_DETAILS, Policy(OWN, OWN, frozenset(), early=True)), AlreadyRecorded)
    assert isinstance(triage(t, NOW_DETAILS, Policy(OWN, OWN, frozenset(), early=False)), Measure)


def test_an_open_ticket_is_skipped_as_not_resolved() -> None:
    decision = triage(ticket(resolved=None), NOW_DETAILS, Policy(OWN, OWN, frozenset()))
    assert isinstance(decision, Skip) and decision.reason == "not resolved"


def test_a_jira_ticket_gets_its_result_in_wiki_markup() -> None:
    verdict = Verdict(Outcome.VERIFIED, "the condition held")
    (comment, _label) = actions_for(verdict, ticket(), Flavour.JIRA_WIKI, Labels(), already_written=False)
    assert isinstance(comment, WriteComment) and comment.body.startswith("h3. (/) Verified")


def test_a_series_is_described_with_all_its_labels() -> None:
    assert Series((("job", "api"), ("pod", "a-1")), ()).describe() == '{job="api", pod="a-1"}'
    assert Series((), ()).describe() == "{}"
