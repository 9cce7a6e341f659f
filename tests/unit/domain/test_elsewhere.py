"""Tickets judged by someone else (the article's script, a person): skipped unless `rejudge`."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.fakes import BOT
from tests.unit.services.test_run import NOW, ticket
from verifier.domain.render import marker_line
from verifier.domain.selection import judged_elsewhere
from verifier.domain.tickets import Comment
from verifier.domain.triage import Measure, Policy, Skip, triage
from verifier.domain.verdicts import Outcome, Verdict

OWN = frozenset({BOT})
TRUSTED = frozenset({BOT, "script"})
LABELS = frozenset({"verified-by-otel", "verification-failed"})
RESOLVED = NOW - timedelta(days=3)
VERIFIED = "Verified: `latency_seconds` now meets condition `< 100ms p99` (current value: 0.05)"
FAILED = "Verification FAILED: `latency_seconds` does not meet `< 100ms p99` (current value: 0.4). Reopening."


def comment(author: str, body: str, hours_after_resolution: float, id: str = "7") -> Comment:
    return Comment(id, author, body, RESOLVED + timedelta(hours=hours_after_resolution))


def elsewhere(labels: frozenset[str] = frozenset(), *comments: Comment) -> str | None:
    by_script = tuple((label, "script") for label in labels)  # a trusted account added them
    t = ticket("A-1", labels=frozenset({"post-incident"}) | labels, comments=comments, labelled_by=by_script)
    return judged_elsewhere(t, OWN, TRUSTED, LABELS)


def test_the_article_s_result_comments_by_a_trusted_author_since_the_resolution() -> None:
    assert elsewhere(frozenset(), comment("script", VERIFIED, 1)) == (
        f'judged elsewhere: script\'s "Verified" comment of {(RESOLVED + timedelta(hours=1)):%Y-%m-%d}'
    )
    assert elsewhere(frozenset(), comment("script", FAILED, 1)) is not None
    assert elsewhere(frozenset(), comment("mallory", VERIFIED, 1)) is None  # anyone may comment
    assert elsewhere(frozenset(), comment("script", "I think this is Verified: yes", 1)) is None
    assert elsewhere(frozenset(), comment("script", FAILED, -1)) is None  # reopened and resolved again since


def test_a_label_counts_unless_an_earlier_judgement_explains_it() -> None:
    assert (
        elsewhere(frozenset({"verified-by-otel"}))
        == "judged elsewhere: labelled verified-by-otel with no result of ours"
    )
    assert elsewhere(frozenset({"needs-human"})) is None
    earlier_ours = marker_line(Verdict(Outcome.VERIFIED, "held"), RESOLVED - timedelta(days=5))
    assert elsewhere(frozenset({"verified-by-otel"}), comment(BOT, earlier_ours, -24)) is None
    assert elsewhere(frozenset({"verification-failed"}), comment("script", FAILED, -2)) is None


def test_a_result_of_ours_for_this_resolution_is_never_elsewhere() -> None:
    ours = marker_line(Verdict(Outcome.VERIFIED, "held"), RESOLVED)
    assert (
        elsewhere(frozenset({"verified-by-otel"}), comment(BOT, ours, 1), comment("script", VERIFIED, 2, "8")) is None
    )


def test_triage_skips_them_and_rejudge_measures_them() -> None:
    t = ticket("A-1", labels=frozenset({"post-incident", "verified-by-otel"}), labelled_by=(("verified-by-otel", BOT),))
    policy = Policy(TRUSTED, OWN, frozenset(), judged_labels=LABELS)
    skipped = triage(t, NOW, policy)
    assert isinstance(skipped, Skip) and skipped.elsewhere
    assert isinstance(triage(t, NOW, Policy(TRUSTED, OWN, frozenset(), judged_labels=LABELS, rejudge=True)), Measure)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["script", "mallory", BOT]), st.floats(-48, 48))
def test_any_comment_gives_an_answer_and_only_a_trusted_one_can_skip_a_ticket(
    body: str, author: str, hours: float
) -> None:
    found = elsewhere(frozenset(), comment(author, body, hours))
    assert found is None or (author in TRUSTED and found.startswith("judged elsewhere: ") and "\n" not in found)
