"""The run's summary as the operator reads it on the terminal and as `--json` / `--report` hand it on."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from verifier.domain.backlog import Plan
from verifier.services.run import RunReport, TicketResult
from verifier.services.summary import Streamed, as_json, as_text

STARTED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def result(key: str, outcome: str = "VERIFIED", reason: str = "held", **fields: object) -> TicketResult:
    return TicketResult(key, f"https://tracker/{key}", outcome, reason, **fields)  # type: ignore[arg-type]


def test_an_empty_run_says_it_found_no_tickets() -> None:
    assert as_text(RunReport(STARTED, dry_run=False)) == "0 tickets: no tickets; 0 writes in 0.0s"


def test_each_ticket_is_a_line_aligned_on_the_longest_key() -> None:
    report = RunReport(
        STARTED,
        dry_run=False,
        results=[
            result("OPS-1", value=0.08123, threshold=0.1, writes=2, actions=["comment", "label verified"]),
            result("PLATFORM-12", "FAILED", "regressed", value=0.2, threshold=0.1),
            result("OPS-3", "PENDING", "not due yet", value=None, threshold=0.1),
        ],
        duration_seconds=1.26,
    )
    assert as_text(report).splitlines() == [
        "OPS-1        VERIFIED      0.08123 vs threshold 0.1; held [wrote: comment, label verified]",
        "PLATFORM-12  FAILED        0.2 vs threshold 0.1; regressed",
        "OPS-3        PENDING       not due yet",
        "3 tickets: 1 failed, 1 pending, 1 verified; 2 writes in 1.3s",
    ]


def test_a_lone_key_is_not_padded_and_a_value_without_threshold_is_not_compared() -> None:
    report = RunReport(STARTED, dry_run=False, results=[result("A-1", value=3.0)])
    assert as_text(report).splitlines()[0] == "A-1  VERIFIED      held"


def test_a_dry_run_says_what_it_would_write_and_that_it_wrote_nothing() -> None:
    report = RunReport(STARTED, dry_run=True, results=[result("A-1", actions=["comment"])])
    assert as_text(report).splitlines() == [
        "A-1  VERIFIED      held [would write: comment]",
        "1 ticket: 1 verified; 0 writes in 0.0s (dry run: nothing written)",
    ]


def test_a_ticket_left_for_the_next_run_says_why() -> None:
    report = RunReport(STARTED, dry_run=False, results=[result("A-1", deferred="the write budget ran out")])
    assert (
        as_text(report).splitlines()[0] == "A-1  VERIFIED      held [left for the next run: the write budget ran out]"
    )


def test_overdue_tickets_are_listed_and_only_those_reminded_now_are_counted() -> None:
    overdue = [
        result("A-1", "OVERDUE", "P1 due 2026-11-23", actions=["reminder", "label overdue"], writes=2),
        result("A-2", "OVERDUE", "P2 due 2026-11-20", actions=["reminder"], deferred="the write budget ran out"),
        result("LONGKEY-3", "OVERDUE", "P3 due 2026-11-01", actions=["label overdue"]),
        result("A-4", "OVERDUE", "P3 due 2026-11-02"),
    ]
    report = RunReport(STARTED, dry_run=False, overdue=overdue, reminders_checked=True)
    lines = as_text(report).splitlines()
    assert lines[0] == "A-1        OVERDUE       P1 due 2026-11-23 [wrote: reminder, label overdue]"
    assert lines[-2:] == ["0 tickets: no tickets; 2 writes in 0.0s", "4 open tickets overdue: 1 reminded now"]
    dry = RunReport(STARTED, dry_run=True, overdue=overdue, reminders_checked=True)
    assert as_text(dry).splitlines()[-1] == "4 open tickets overdue: 1 would be reminded now"


def test_without_reminders_the_overdue_line_is_left_out() -> None:
    assert "overdue" not in as_text(RunReport(STARTED, dry_run=False, results=[result("A-1")]))


def test_tickets_judged_elsewhere_are_named_so_and_explained() -> None:
    report = RunReport(STARTED, dry_run=False, results=[result("A-1", "ELSEWHERE", "labelled verified")])
    assert as_text(report).splitlines()[1:] == [
        "1 ticket: 1 judged elsewhere; 0 writes in 0.0s",
        "judged elsewhere: a verified/failed label or the article's result comment and no result of this tool; "
        "left alone (run --rejudge judges them)",
    ]


def test_run_errors_and_an_interruption_end_the_summary() -> None:
    report = RunReport(STARTED, dry_run=False, errors=["listing the tracker failed: 503"], interrupted=True)
    assert as_text(report).splitlines() == [
        "0 tickets: no tickets; 0 writes in 0.0s",
        "error: listing the tracker failed: 503",
        "interrupted: stopped taking new tickets; the next run picks up the rest",
    ]


def plan_lines(plan: Plan) -> list[str]:
    return as_text(RunReport(STARTED, dry_run=True, plan=plan)).splitlines()[1:]


def test_a_plan_with_nothing_to_write_says_so() -> None:
    assert plan_lines(Plan(0)) == ["first-run plan: a real run would write nothing"]


def test_a_plan_within_the_budget_counts_each_kind_in_order_singular_or_plural() -> None:
    plan = Plan(4, {"reminder": 1, "label": 2, "comment": 1}, budget=10, runs=1)
    assert plan_lines(plan) == [
        "first-run plan: a real run would write 4 requests (1 comment, 2 labels, 1 reminder)",
        "  within the write budget (10): one run writes it all",
    ]


def test_a_plan_that_never_fits_the_budget_says_to_raise_it() -> None:
    plan = Plan(3, {"comment": 3}, budget=2, runs=None)
    assert plan_lines(plan)[1] == (
        "  VERIFIER_MAX_WRITES=2 is smaller than one ticket's writes: raise it, or nothing is written"
    )


def test_a_plan_over_several_runs_says_when_the_last_one_starts_in_hours_then_days() -> None:
    hours = Plan(6, {"comment": 6}, budget=2, runs=3, interval=timedelta(hours=6))
    assert plan_lines(hours)[1] == (
        "  the write budget (2 a run) needs 3 runs: at one run every 6h, the last one starts 12h after the first"
    )
    days = Plan(60, {"comment": 60}, budget=2, runs=30, interval=timedelta(hours=2))
    assert plan_lines(days)[1] == (
        "  the write budget (2 a run) needs 30 runs: at one run every 2h, the last one starts 2.41667 days after "
        "the first"
    )
    two_days = Plan(4, {"comment": 4}, budget=2, runs=2, interval=timedelta(hours=48))
    assert plan_lines(two_days)[1].endswith("at one run every 2 days, the last one starts 2 days after the first")
    just_under = Plan(4, {"comment": 4}, budget=2, runs=2, interval=timedelta(hours=47))
    assert plan_lines(just_under)[1].endswith("at one run every 47h, the last one starts 47h after the first")


def test_the_json_report_carries_every_figure_and_ticket_field() -> None:
    due = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    report = RunReport(
        STARTED,
        dry_run=False,
        results=[
            result("A-1", value=0.05, threshold=0.1, query="q", due_at=due, actions=["comment"], writes=1),
            result("A-2", "ERROR", "backend down"),
        ],
        overdue=[result("A-3", "OVERDUE", "P1 due", service="search")],
        reminders_checked=True,
        errors=["e"],
        duration_seconds=1.23456,
    )
    assert as_json(report) == {
        "started": "2026-11-26T12:00:00+00:00",
        "dry_run": False,
        "duration_seconds": 1.235,
        "exit_code": 74,  # a run-level error after a write: not retried
        "interrupted": False,
        "deadline_passed": False,
        "writes": 1,
        "counts": {"ERROR": 1, "VERIFIED": 1},
        "errors": ["e"],
        "tickets": [
            {
                "key": "A-1",
                "url": "https://tracker/A-1",
                "outcome": "VERIFIED",
                "reason": "held",
                "value": 0.05,
                "threshold": 0.1,
                "query": "q",
                "due_at": "2026-11-24T12:00:00+00:00",
                "actions": ["comment"],
                "writes": 1,
                "deferred": "",
                "service": None,
                "graph": None,
                "data": None,
                "refused": [],
            },
            {
                "key": "A-2",
                "url": "https://tracker/A-2",
                "outcome": "ERROR",
                "reason": "backend down",
                "value": None,
                "threshold": None,
                "query": None,
                "due_at": None,
                "actions": [],
                "writes": 0,
                "deferred": "",
                "service": None,
                "graph": None,
                "data": None,
                "refused": [],
            },
        ],
        "overdue": [
            {
                "key": "A-3",
                "url": "https://tracker/A-3",
                "outcome": "OVERDUE",
                "reason": "P1 due",
                "value": None,
                "threshold": None,
                "query": None,
                "due_at": None,
                "actions": [],
                "writes": 0,
                "deferred": "",
                "service": "search",
                "graph": None,
                "data": None,
                "refused": [],
            }
        ],
        "plan": None,
    }


def test_the_json_report_leaves_overdue_unknown_when_reminders_were_not_checked() -> None:
    assert as_json(RunReport(STARTED, dry_run=True))["overdue"] is None


def test_the_json_plan_gives_the_last_run_in_hours_or_none_when_it_never_fits() -> None:
    plan = Plan(6, {"comment": 6}, budget=2, runs=3, interval=timedelta(hours=6))
    assert as_json(RunReport(STARTED, dry_run=True, plan=plan))["plan"] == {
        "writes": 6,
        "by_kind": {"comment": 6},
        "budget": 2,
        "runs": 3,
        "last_run_after_hours": 12.0,
    }
    never = Plan(3, {"comment": 3}, budget=2, runs=None)
    assert as_json(RunReport(STARTED, dry_run=True, plan=never))["plan"]["last_run_after_hours"] is None


def test_one_ticket_one_write_and_one_overdue_ticket_are_counted_in_the_singular() -> None:
    report = RunReport(STARTED, dry_run=False, results=[result("A-1", writes=1, actions=["comment"])])
    report.reminders_checked = True
    report.overdue = [result("B-2", "OVERDUE", "past its due date")]
    assert as_text(report).splitlines()[-2:] == [
        "1 ticket: 1 verified; 1 write in 0.0s",
        "1 open ticket overdue: 0 reminded now",
    ]


def test_the_output_streamed_a_ticket_at_a_time_is_that_of_the_whole_report() -> None:
    """`run` prints each ticket once final and keeps none (#26): the same JSON as `as_json` (the tickets first),
    the file's redacted, and the same table as `as_text`."""
    for results in ([], [result("A-1")], [result("A-1"), result("B-2", "FAILED", "grew", value=3.5, threshold=1.0)]):
        report = RunReport(started=STARTED, dry_run=False, results=results, errors=["listing tickets stopped: x"])
        if results:
            results[-1].due_at = STARTED - timedelta(hours=2)
            results[-1].data = {"steps": 4, "events": ["a"]}
        text, out, file = io.StringIO(), io.StringIO(), io.StringIO()
        streamed = Streamed(
            STARTED, False, json_out=out, file=file, redact=lambda d: json.loads(json.dumps(d).replace("grew", "***"))
        )
        table = Streamed(STARTED, False, text=text)
        for one in results:
            streamed(one)
            table(one)
        streamed.close(report)
        table.close(report)
        whole = json.loads(json.dumps(as_json(report), default=lambda v: v.isoformat()))
        assert json.loads(out.getvalue()) == whole and out.getvalue().endswith("}\n")
        assert list(json.loads(out.getvalue()))[:3] == ["started", "dry_run", "tickets"]
        assert ("grew" in out.getvalue(), "grew" in file.getvalue()) == (len(results) == 2, False)
        assert text.getvalue() == as_text(report) + "\n"
