"""The run's outcomes are one vocabulary of enum members (#23): a verdict, or why a ticket has none."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.unit.fakes import BOT
from tests.unit.services.test_remind import REMIND, open_ticket
from tests.unit.services.test_run import NOW, setup, ticket
from verifier.adapters.pushgateway import VERDICTS
from verifier.domain.outcomes import TICKET_OUTCOMES, NotJudged, Outcome
from verifier.domain.protocol import parse_result
from verifier.services.run import run
from verifier.services.summary import as_json, as_text


def test_every_result_of_a_run_carries_an_enum_member_and_writes_its_plain_word() -> None:
    elsewhere = ticket(
        "A-3", labels=frozenset({"post-incident", "verified-by-otel"}), labelled_by=(("verified-by-otel", BOT),)
    )
    tracker, metrics = setup(
        ticket("A-1"), ticket("A-2", body="no config"), elsewhere, open_ticket("A-9", created_days=10)
    )
    report = run(tracker, metrics, REMIND, NOW)
    outcomes = {r.key: r.outcome for r in (*report.results, *report.overdue)}
    assert outcomes == {
        "A-1": Outcome.VERIFIED,
        "A-2": NotJudged.SKIPPED,
        "A-3": NotJudged.ELSEWHERE,
        "A-9": NotJudged.OVERDUE,
    }
    assert all(type(o) in (Outcome, NotJudged) for o in outcomes.values())
    assert report.counts() == {"ELSEWHERE": 1, "SKIPPED": 1, "VERIFIED": 1}
    written = json.loads(json.dumps(as_json(report)))
    assert sorted(r["outcome"] for r in written["tickets"]) == ["ELSEWHERE", "SKIPPED", "VERIFIED"]
    assert written["counts"] == {"ELSEWHERE": 1, "SKIPPED": 1, "VERIFIED": 1}
    assert written["overdue"][0]["outcome"] == "OVERDUE"
    assert "1 judged elsewhere, 1 skipped, 1 verified" in as_text(report)


def test_the_pushed_verdicts_are_the_vocabulary_in_its_order() -> None:
    assert [v.value for v in VERDICTS] == [
        "VERIFIED", "FAILED", "INCONCLUSIVE", "PENDING", "INVALID", "ERROR", "SKIPPED", "ELSEWHERE"
    ]  # fmt: skip
    assert set(VERDICTS) == set(TICKET_OUTCOMES) == {*Outcome, *NotJudged} - {NotJudged.OVERDUE}


def test_a_result_marker_never_carries_a_not_judged_word() -> None:
    resolved = "2026-11-20T00:00:00Z"
    for word in NotJudged:
        assert parse_result(f"action-item-verifier result v1; verdict={word}; resolved={resolved}") is None
    marker = parse_result(f"action-item-verifier result v1; verdict=FAILED; resolved={resolved}")
    assert marker is not None and marker.verdict is Outcome.FAILED
    assert marker.resolved_at == datetime(2026, 11, 20, tzinfo=UTC)
