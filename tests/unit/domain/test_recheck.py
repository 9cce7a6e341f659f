"""A later re-check (`recheck_after`, #24): when it is due (the clock passed in), what it writes, its marker."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import BOT
from tests.unit.run_tickets import NOW, done
from verifier.domain.actions import AddLabel, Labels, Reopen, WriteComment
from verifier.domain.binding import fingerprint_of
from verifier.domain.formats import find_config
from verifier.domain.protocol import (
    REGRESSED_LABEL,
    parse_recheck,
    parse_result,
    recheck_marker,
    recheck_signature,
    recheck_signed_by,
    result_marker,
    result_signature,
)
from verifier.domain.recheck import decide_recheck, recheck_actions, window_end
from verifier.domain.render import render_recheck, render_result
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import AlreadyRecorded, Measure, Policy, triage
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import ConfigError
from verifier.services.stream import listing_days

BLOCK = (
    '```yaml\n# action-item-verifier: v1\nmetric: checkout_errors_total\ncondition: "< 10"\ndelay: 48h\n'
    'recheck_after: "30d"\n```'
)
CONFIG = find_config(BLOCK)
assert CONFIG is not None
FINGERPRINT = fingerprint_of(CONFIG)
POLICY = Policy(frozenset({BOT}), frozenset({BOT}), frozenset())
KEY = b"k" * 32
SIGNED = replace(POLICY, trusted=frozenset({BOT, "alice"}), signing_key=KEY)  # alice files: her body needs no sig
RESOLVED_DAYS = 40


def _ticket(*comments: Comment, **kw: object) -> Ticket:
    return done("A-1", RESOLVED_DAYS, body=BLOCK, comments=comments, **kw)


RESOLVED = _ticket().resolved_at
assert RESOLVED is not None
WINDOW_END = RESOLVED + timedelta(hours=48)
RECHECK_END = WINDOW_END + timedelta(days=30)


def _result(outcome: Outcome = Outcome.VERIFIED, *, early: bool = False, key: bytes | None = None) -> Comment:
    signature = result_signature(key, "A-1", outcome, RESOLVED, early=early, config=FINGERPRINT) if key else None
    body = "### Verified\n\n" + result_marker(outcome, RESOLVED, early=early, signature=signature, config=FINGERPRINT)
    return Comment("10", BOT, body, WINDOW_END + timedelta(hours=1))


def _recheck(
    outcome: Outcome = Outcome.FAILED, *, author: str = BOT, key: bytes | None = None, edited: bool = False
) -> Comment:
    signature = recheck_signature(key, "A-1", outcome, RESOLVED, FINGERPRINT) if key else None
    body = "### Re-check\n\n" + recheck_marker(outcome, RESOLVED, signature=signature, config=FINGERPRINT)
    at = RECHECK_END + timedelta(hours=1)
    return Comment("11", author, body, at, updated=at + timedelta(minutes=5) if edited else None)


@given(minutes=st.integers(0, 60 * 24 * 80), settle=st.integers(0, 3600))
def test_a_verified_fix_is_re_checked_once_its_later_window_is_over_and_settled(minutes: int, settle: int) -> None:
    now = WINDOW_END + timedelta(minutes=minutes)
    policy = replace(POLICY, settle=timedelta(seconds=settle))
    decided = triage(_ticket(_result()), now, policy)
    if now - timedelta(seconds=settle) >= RECHECK_END:
        assert isinstance(decided, Measure) and decided.recheck
        # The same window length, 30 days later.
        assert (decided.plan.start, decided.plan.end) == (RECHECK_END - timedelta(hours=48), RECHECK_END)
        assert decided.plan.query == "sum(increase(checkout_errors_total[48h]))"
        assert "re-check 30 days after the window judged VERIFIED on" in decided.plan.notes[-1]
    else:
        assert isinstance(decided, AlreadyRecorded) and not decided.recheck
        assert decided.recorded.marker.verdict is Outcome.VERIFIED


@given(outcome=st.sampled_from([Outcome.FAILED, Outcome.INCONCLUSIVE, Outcome.INVALID]), early=st.booleans())
def test_only_a_scheduled_verified_result_is_re_checked(outcome: Outcome, early: bool) -> None:
    later = RECHECK_END + timedelta(days=1)
    assert not isinstance(triage(_ticket(_result(outcome)), later, POLICY), Measure)
    early_result = _ticket(_result(early=True))
    decided = triage(early_result, later, replace(POLICY, early=early))
    assert not (isinstance(decided, Measure) and decided.recheck)


def test_without_recheck_after_a_verified_fix_stays_recorded() -> None:
    plain = BLOCK.replace('recheck_after: "30d"\n', "")
    ticket = done("A-1", RESOLVED_DAYS, body=plain, comments=(_result(),))
    config = find_config(plain)
    assert config is not None
    comment = _result()
    body = comment.body.replace(FINGERPRINT, fingerprint_of(config))
    decided = triage(replace(ticket, comments=(replace(comment, body=body),)), NOW, POLICY)
    assert isinstance(decided, AlreadyRecorded) and not decided.recheck


def test_on_call_s_early_run_never_re_checks() -> None:
    assert not isinstance(triage(_ticket(_result()), NOW, replace(POLICY, early=True)), Measure)


def test_a_written_re_check_is_recorded_so_a_second_run_measures_nothing() -> None:
    decided = triage(_ticket(_result(), _recheck()), NOW, POLICY)
    assert isinstance(decided, AlreadyRecorded) and decided.recheck
    assert decided.recorded.marker.verdict is Outcome.FAILED


def test_a_re_check_marker_not_the_tools_does_not_count() -> None:
    for forged in (_recheck(author="mallory"), _recheck(edited=True)):
        decided = triage(_ticket(_result(), forged), NOW, POLICY)
        assert isinstance(decided, Measure) and decided.recheck
    # With a signing key, only a re-check signed as one counts; a result's signature does not verify as one.
    unsigned = triage(_ticket(_result(key=KEY), _recheck(), reporter="alice"), NOW, SIGNED)
    assert isinstance(unsigned, Measure) and unsigned.recheck
    signed = triage(_ticket(_result(key=KEY), _recheck(key=KEY), reporter="alice"), NOW, SIGNED)
    assert isinstance(signed, AlreadyRecorded) and signed.recheck


def test_the_lookback_counts_from_the_re_check_s_window() -> None:
    """The window ended 38 days ago, before a 7-day lookback; its re-check ended 8 days ago, inside a 10-day one."""
    inside = triage(_ticket(_result()), NOW, replace(POLICY, judged_since=NOW - timedelta(days=10)))
    assert isinstance(inside, Measure) and inside.recheck
    outside = triage(_ticket(_result()), NOW, replace(POLICY, judged_since=NOW - timedelta(days=7)))
    assert not isinstance(outside, Measure)


# ------------------------------------------------------------------------------------------------ the markers


def test_a_re_check_marker_is_not_a_result_and_a_result_is_not_a_re_check() -> None:
    recheck = recheck_marker(Outcome.FAILED, RESOLVED, signature="ab" * 16, config=FINGERPRINT)
    result = result_marker(Outcome.VERIFIED, RESOLVED, early=False, config=FINGERPRINT)
    assert parse_result(recheck) is None and parse_recheck(result) is None
    got = parse_recheck(recheck)
    assert got is not None and (got.verdict, got.resolved_at, got.signature, got.config) == (
        Outcome.FAILED,
        RESOLVED,
        "ab" * 16,
        FINGERPRINT,
    )
    # A marker quoted in a comment's text does not make it the other kind: the last marker says.
    assert parse_result(result + "\n" + recheck) is None
    assert parse_recheck(recheck + "\n" + result) is None
    assert recheck_signature(KEY, "A-1", Outcome.FAILED, RESOLVED, FINGERPRINT) != result_signature(
        KEY, "A-1", Outcome.FAILED, RESOLVED, early=False, config=FINGERPRINT
    )


# ------------------------------------------------------------------------------------------------ the writes

FAILED = Verdict(Outcome.FAILED, "re-check: the condition broke", value=300.0, config=FINGERPRINT, recheck=True)


def _actions(verdict: Verdict, *, reopens: bool, written: bool = False, **kw: object) -> list[object]:
    ticket = _ticket(_result(), **kw)  # type: ignore[arg-type]
    return list(recheck_actions(verdict, ticket, Flavour.MARKDOWN, Labels(), already_written=written, reopens=reopens))


def test_a_regression_is_commented_and_labelled_and_reopened_only_by_the_setting() -> None:
    comment_only = _actions(FAILED, reopens=False)
    assert [type(a) for a in comment_only] == [WriteComment, AddLabel]
    assert comment_only[1] == AddLabel(REGRESSED_LABEL)
    body = comment_only[0].body  # type: ignore[attr-defined]
    assert "Re-check failed: the fix regressed since it was verified" in body
    assert "not reopened, by the verifier's setting" in body
    assert parse_recheck(body) is not None and parse_result(body) is None
    reopening = _actions(FAILED, reopens=True)
    assert [type(a) for a in reopening] == [WriteComment, AddLabel, Reopen]
    assert "Reopened and labelled regressed-later" in reopening[0].body  # type: ignore[attr-defined]


def test_a_label_riding_with_the_comment_costs_no_request_of_its_own() -> None:
    ticket = _ticket(_result())
    got = recheck_actions(
        FAILED,
        ticket,
        Flavour.JIRA_WIKI,
        Labels(),
        already_written=False,
        reopens=False,
        labels_with=frozenset({"comment"}),
    )
    assert len(got) == 1 and isinstance(got[0], WriteComment) and got[0].labels == (REGRESSED_LABEL,)


def test_holding_still_and_inconclusive_write_one_comment_and_nothing_else() -> None:
    held = _actions(replace(FAILED, outcome=Outcome.VERIFIED), reopens=True)
    assert len(held) == 1 and "Re-checked: the fix still holds" in held[0].body  # type: ignore[attr-defined]
    unsure = _actions(replace(FAILED, outcome=Outcome.INCONCLUSIVE), reopens=True)
    assert len(unsure) == 1 and "Not reopened and not labelled" in unsure[0].body  # type: ignore[attr-defined]
    assert _actions(replace(FAILED, outcome=Outcome.ERROR), reopens=True) == []


def test_what_is_written_already_is_not_written_again() -> None:
    labelled = frozenset({"post-incident", REGRESSED_LABEL})
    assert _actions(FAILED, reopens=False, written=True, labels=labelled) == []
    assert _actions(FAILED, reopens=False, written=True) == [AddLabel(REGRESSED_LABEL)]


def test_deciding_on_the_ticket_as_re_read_finds_the_re_check_written_meanwhile() -> None:
    ticket = _ticket(_result(), _recheck(), labels=frozenset({"post-incident", REGRESSED_LABEL}))
    decision = decide_recheck(
        FAILED, ticket.resolved_at, ticket, Flavour.MARKDOWN, Labels(), trusted=POLICY.trusted, own=POLICY.own,
        already_written=False, reopens=False,
    )  # fmt: skip
    assert decision.actions == ()


def test_the_re_check_comment_differs_from_a_result_comment_only_around_the_table() -> None:
    verdict = replace(FAILED, recheck=False)
    result = render_result(verdict, RESOLVED, Flavour.MARKDOWN)
    recheck = render_recheck(verdict, RESOLVED, Flavour.MARKDOWN, None, reopens=False)
    assert result.split("\n")[1:6] == recheck.split("\n")[1:6]  # the summary and the table


def test_a_missing_reopen_is_re_applied_only_where_the_comment_announced_it() -> None:
    """A run killed after the comment re-applies the reopen; switching the setting later reopens nothing."""
    resolved = _ticket().resolved_at
    for announced in (True, False):
        body = render_recheck(FAILED, RESOLVED, Flavour.MARKDOWN, None, reopens=announced)
        comment = replace(_recheck(), body=body)
        ticket = _ticket(_result(), comment, labels=frozenset({"post-incident", REGRESSED_LABEL}))
        decision = decide_recheck(
            FAILED, resolved, ticket, Flavour.MARKDOWN, Labels(), trusted=POLICY.trusted, own=POLICY.own,
            already_written=True, reopens=True,
        )  # fmt: skip
        assert [type(a) for a in decision.actions] == ([Reopen] if announced else [])


@given(
    delay_hours=st.integers(1, 366 * 24),
    recheck_hours=st.integers(1, 366 * 24),
    lookback=st.integers(1, 3650),
    age=st.floats(0, 1),
)
def test_every_re_check_a_config_may_ask_for_is_within_the_listings_reach(
    delay_hours: int, recheck_hours: int, lookback: int, age: float
) -> None:
    """The trackers' queries list done tickets resolved within `listing_days(lookback)`; a re-check that ended
    within the lookback is of a ticket resolved within that reach, or its config is refused."""
    text = BLOCK.replace("delay: 48h", f"delay: {delay_hours}h").replace('"30d"', f'"{recheck_hours}h"')
    try:
        config = find_config(text)
    except ConfigError as error:
        assert error.field == "recheck_after" and delay_hours + recheck_hours > 366 * 24
        return
    assert config is not None and config.recheck_after == timedelta(hours=recheck_hours)
    ended = NOW - timedelta(days=lookback) * age  # the re-check's window ended within the lookback
    resolved = ended - config.delay - config.recheck_after
    assert resolved >= NOW - timedelta(days=listing_days(lookback))


# ------------------------------------------------------------------------ deciding on the ticket as re-read

ALICE = "alice"
TRUSTED = frozenset({BOT, ALICE})
OWN = frozenset({BOT})
COMMENT_AT = WINDOW_END + timedelta(days=2)


def _config_comment(author: str, at: timedelta = timedelta(0), cid: str = "20") -> Comment:
    return Comment(cid, author, BLOCK, COMMENT_AT + at)


def _decide(ticket: Ticket, **kw: object) -> object:
    args: dict[str, object] = {"trusted": TRUSTED, "own": OWN, "already_written": False, "reopens": False}
    return decide_recheck(FAILED, RESOLVED, ticket, Flavour.JIRA_WIKI, Labels(), **{**args, **kw})  # type: ignore[arg-type]


def test_a_ticket_resolved_again_since_it_was_listed_is_left_for_the_next_run() -> None:
    ticket = _ticket(_result())
    decision = decide_recheck(
        FAILED, RESOLVED - timedelta(days=1), ticket, Flavour.MARKDOWN, Labels(), trusted=TRUSTED, own=OWN,
        already_written=False, reopens=True,
    )  # fmt: skip
    assert (decision.actions, decision.note) == ((), "the ticket changed since it was listed, left for the next run")


def test_the_decision_is_rendered_for_the_tracker_with_the_label_riding_and_dated_by_the_config() -> None:
    """Jira's wiki markup, the regressed label in the comment's request, and the config's time (a trusted person's
    comment) carried for the write phase's check that nothing newer was written meanwhile."""
    ticket = _ticket(_result(), _config_comment(ALICE))
    decision = _decide(ticket, labels_with=frozenset({"comment"}))
    body = render_recheck(FAILED, RESOLVED, Flavour.JIRA_WIKI, None, reopens=False)
    assert decision.actions == (WriteComment(body, labels=(REGRESSED_LABEL,)),)  # type: ignore[attr-defined]
    assert body != render_recheck(FAILED, RESOLVED, Flavour.MARKDOWN, None, reopens=False)
    assert decision.config_since == COMMENT_AT  # type: ignore[attr-defined]
    assert decision.note == ""  # type: ignore[attr-defined]


def test_a_config_in_the_body_gives_no_config_time_and_no_config_at_all_none_either() -> None:
    assert _decide(_ticket(_result())).config_since is None  # type: ignore[attr-defined]
    bare = done("A-1", RESOLVED_DAYS, body="no config here", comments=(_result(),))
    decision = _decide(bare)
    assert decision.config_since is None and len(decision.actions) == 2  # type: ignore[attr-defined]


def test_with_a_signing_key_the_re_check_is_signed_and_an_unsigned_config_under_the_tools_name_is_not_read() -> None:
    """Alice filed the ticket (her body needs no signature); a config comment under the tool's account without the
    key's signature is someone else's, so the body's config is the one judged (it has no time)."""
    ticket = _ticket(_result(key=KEY), _config_comment(BOT), reporter=ALICE)
    decision = _decide(ticket, signing_key=KEY, reopens=True)
    comment, label, reopen = decision.actions  # type: ignore[attr-defined]
    marker = parse_recheck(comment.body)
    signature = recheck_signature(KEY, "A-1", Outcome.FAILED, RESOLVED, FINGERPRINT)
    assert marker is not None and marker.signature == signature and marker.config == FINGERPRINT
    assert recheck_signed_by(KEY, "A-1", marker)
    assert comment.body == render_recheck(FAILED, RESOLVED, Flavour.JIRA_WIKI, signature, reopens=True)
    assert (label, reopen) == (AddLabel(REGRESSED_LABEL), Reopen(note_if_impossible=True))
    assert decision.config_since is None  # type: ignore[attr-defined]
    unkeyed = _decide(ticket, reopens=True)
    assert unkeyed.config_since == COMMENT_AT  # type: ignore[attr-defined]  # without a key, the tool's comment counts


def test_a_reopen_that_failed_before_is_not_noted_again() -> None:
    labels = frozenset({"post-incident", Labels().reopen_failed})
    got = _actions(FAILED, reopens=True, labels=labels)
    assert got[-1] == Reopen(note_if_impossible=False, label_if_impossible=False)
    assert _actions(FAILED, reopens=True)[-1] == Reopen(note_if_impossible=True)


def test_a_verdict_on_a_config_no_longer_current_writes_nothing_and_says_where_the_new_one_is() -> None:
    ticket = _ticket(_result(), _config_comment(ALICE, cid="21"))
    decision = _decide(ticket, judged="0" * 16)
    assert decision.actions == ()  # type: ignore[attr-defined]
    assert decision.note == (  # type: ignore[attr-defined]
        "the config changed since it was judged (comment 21): nothing written, the next run judges the new one"
    )
    assert _decide(ticket, judged=FINGERPRINT).note == ""  # type: ignore[attr-defined]


def test_a_re_check_written_before_the_config_now_current_or_without_the_keys_signature_is_not_recorded() -> None:
    labelled = frozenset({"post-incident", REGRESSED_LABEL})
    older = _ticket(_result(), _recheck(), _config_comment(ALICE, at=timedelta(days=40)), labels=labelled)
    assert [type(a) for a in _decide(older).actions] == [WriteComment]  # type: ignore[attr-defined]
    unsigned = _ticket(_result(key=KEY), _recheck(), labels=labelled, reporter=ALICE)
    assert [type(a) for a in _decide(unsigned, signing_key=KEY).actions] == [WriteComment]  # type: ignore[attr-defined]
    signed = _ticket(_result(key=KEY), _recheck(key=KEY), labels=labelled, reporter=ALICE)
    assert _decide(signed, signing_key=KEY).actions == ()  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------- which re-check counts


def _with_recheck_after(text: str) -> Ticket:
    block = BLOCK.replace('recheck_after: "30d"', f'recheck_after: "{text}"')
    config = find_config(block)
    assert config is not None
    result = _result()
    body = result.body.replace(FINGERPRINT, fingerprint_of(config))
    return done("A-1", RESOLVED_DAYS, body=block, comments=(replace(result, body=body),))


def test_the_re_checks_note_says_how_long_after_and_when_the_verification_was() -> None:
    verified = (WINDOW_END + timedelta(hours=1)).date().isoformat()
    for text, said in (("30d", "30 days"), ("1d", "1 days"), ("36h", "1.5 days"), ("12h", "12 hours")):
        decided = triage(_with_recheck_after(text), NOW, POLICY)
        assert isinstance(decided, Measure) and decided.recheck, text
        assert decided.plan.notes[-1] == f"re-check {said} after the window judged VERIFIED on {verified}"


def test_a_re_check_of_another_config_is_passed_over_for_the_one_of_the_current_config() -> None:
    other = find_config(BLOCK.replace("< 10", "< 20"))
    assert other is not None
    marker = recheck_marker(Outcome.VERIFIED, RESOLVED, signature=None, config=fingerprint_of(other))
    later = Comment("12", BOT, "### Re-check\n\n" + marker, RECHECK_END + timedelta(hours=2))
    found = triage(_ticket(_result(), _recheck(), later), NOW, POLICY)
    assert isinstance(found, AlreadyRecorded) and found.recheck
    assert found.recorded.comment.id == "11" and found.recorded.marker.verdict is Outcome.FAILED
    assert isinstance(triage(_ticket(_result(), later), NOW, POLICY), Measure)


def test_a_strangers_re_check_marker_before_the_tools_does_not_hide_it() -> None:
    forged = replace(_recheck(Outcome.VERIFIED, author="mallory"), id="9", created=RECHECK_END)
    found = triage(_ticket(_result(), forged, _recheck()), NOW, POLICY)
    assert isinstance(found, AlreadyRecorded) and found.recorded.comment.id == "11"


def test_a_config_written_the_same_second_as_the_re_check_leaves_it_recorded() -> None:
    labelled = frozenset({"post-incident", REGRESSED_LABEL})
    recheck = _recheck()
    same = Comment("30", ALICE, BLOCK, recheck.created)
    assert _decide(_ticket(_result(), recheck, same, labels=labelled)).actions == ()  # type: ignore[attr-defined]


def test_a_re_check_waits_for_its_window_to_settle() -> None:
    """Half an hour after the re-check's window ended, with an hour to settle, it is not due yet; an hour later it is."""
    policy = replace(POLICY, settle=timedelta(hours=1))
    early = triage(_ticket(_result()), RECHECK_END + timedelta(minutes=30), policy)
    assert isinstance(early, AlreadyRecorded) and not early.recheck
    due = triage(_ticket(_result()), RECHECK_END + timedelta(minutes=90), policy)
    assert isinstance(due, Measure) and due.recheck


def test_an_unsigned_re_check_before_the_signed_one_does_not_hide_it() -> None:
    unsigned = replace(_recheck(), id="9", created=RECHECK_END)
    ticket = _ticket(_result(key=KEY), unsigned, _recheck(key=KEY), reporter="alice")
    found = triage(ticket, NOW, SIGNED)
    assert isinstance(found, AlreadyRecorded) and found.recheck and found.recorded.comment.id == "11"


def test_the_window_ends_after_the_delay_and_a_re_check_s_after_it_too() -> None:
    plain = find_config(BLOCK.replace('recheck_after: "30d"\n', ""))
    assert plain is not None and CONFIG is not None
    assert window_end(plain, RESOLVED) == RESOLVED + timedelta(hours=48)
    assert window_end(CONFIG, RESOLVED) == RESOLVED + timedelta(hours=48) + timedelta(days=30)
