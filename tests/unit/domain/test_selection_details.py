"""Which config and which recorded result a ticket's verification uses, in the cases between the obvious ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.unit.fakes import BOT
from verifier.domain.actions import Labels, WriteComment, actions_for
from verifier.domain.measurement import Series
from verifier.domain.render import render_result
from verifier.domain.selection import recorded_result, select_config
from verifier.domain.tickets import Comment, Flavour, Ticket
from verifier.domain.triage import AlreadyRecorded, Judged, Measure, Policy, Skip, triage
from verifier.domain.verdicts import Outcome, Verdict

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RESOLVED = NOW - timedelta(days=5)
OWN = frozenset({BOT})
BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: < 100ms p99\n```"


def ticket(*comments: Comment, body: str = BLOCK, resolved: datetime | None = RESOLVED) -> Ticket:
    return Ticket("OPS-7", "u", "t", "Done", resolved, "Done", frozenset(), body, BOT, comments)


def result(cid: str, at: datetime, *, early: bool = False, outcome: Outcome = Outcome.VERIFIED) -> Comment:
    return Comment(cid, BOT, render_result(Verdict(outcome, "x", early=early), RESOLVED, Flavour.MARKDOWN), at)


def test_the_body_config_is_named_as_the_body() -> None:
    choice = select_config(ticket(), OWN).choice
    assert choice is not None and (choice.where, choice.created, choice.error) == ("body", None, None)


def test_a_broken_config_names_the_ticket() -> None:
    choice = select_config(ticket(body=BLOCK.replace("< 100ms", "soon")), OWN).choice
    assert choice is not None and choice.error is not None and str(choice.error).startswith("OPS-7: ")
    decision = triage(ticket(body=BLOCK.replace("100ms", "100kB")), NOW, Policy(OWN, OWN, frozenset()))
    assert isinstance(decision, Judged) and decision.verdict.reason.startswith("OPS-7: ")


def test_a_result_written_in_the_same_second_as_the_config_counts_for_it() -> None:
    config = Comment("5", BOT, BLOCK, RESOLVED + timedelta(days=1))
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
    assert isinstance(triage(t, NOW, Policy(OWN, OWN, frozenset(), early=True)), AlreadyRecorded)
    assert isinstance(triage(t, NOW, Policy(OWN, OWN, frozenset(), early=False)), Measure)


def test_an_open_ticket_is_skipped_as_not_resolved() -> None:
    decision = triage(ticket(resolved=None), NOW, Policy(OWN, OWN, frozenset()))
    assert isinstance(decision, Skip) and decision.reason == "not resolved"


def test_a_jira_ticket_gets_its_result_in_wiki_markup() -> None:
    verdict = Verdict(Outcome.VERIFIED, "the condition held")
    (comment, _label) = actions_for(verdict, ticket(), Flavour.JIRA_WIKI, Labels(), already_written=False)
    assert isinstance(comment, WriteComment) and comment.body.startswith("h3. (/) Verified")


def test_a_series_is_described_with_all_its_labels() -> None:
    assert Series((("job", "api"), ("pod", "a-1")), ()).describe() == '{job="api", pod="a-1"}'
    assert Series((), ()).describe() == "{}"
