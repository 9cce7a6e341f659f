"""A run's report for people (a table on the terminal) and for machines (`--summary-file FILE`, `--json`): whole
(`as_text`, `as_json`), or streamed as the run goes (`Streamed`: the CLI's, so nothing per ticket is kept)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TextIO

from verifier.domain.backlog import KINDS, Plan
from verifier.domain.outcomes import NotJudged
from verifier.services.run import RunReport, TicketResult


def as_json(report: RunReport, *, tickets: bool = True) -> dict[str, Any]:
    return {
        "started": report.started.isoformat(),
        "dry_run": report.dry_run,
        "duration_seconds": round(report.duration_seconds, 3),
        "exit_code": report.exit_code,
        "interrupted": report.interrupted,
        "deadline_passed": report.deadline_passed,
        "writes": report.writes,
        "counts": report.counts(),
        "errors": report.errors,
        "tickets": [_result(result) for result in report.results] if tickets else [],
        "overdue": [_result(result) for result in report.overdue] if report.reminders_checked else None,
        "plan": _plan_json(report.plan) if report.plan else None,
    }


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _result(result: TicketResult) -> dict[str, Any]:
    fields = asdict(result)
    if not fields["conditions"]:  # a config of one condition reports as it always has
        del fields["conditions"]
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}


class Streamed:
    """The run's output as it goes (#26): each ticket's result once final (a line of the table on `text`, a
    ticket of the JSON on `json_out` and on `file`, redacted with `redact`), then, at `close`, the rest of the
    report. The JSON is `as_json`'s with the tickets first and in the order they were done."""

    def __init__(
        self,
        started: datetime,
        dry_run: bool,
        *,
        text: TextIO | None = None,
        json_out: TextIO | None = None,
        file: TextIO | None = None,
        redact: Callable[[Any], Any] = lambda data: data,
    ) -> None:
        self._text, self._redact, self._dry_run = text, redact, dry_run
        self._json = [out for out in (json_out, file) if out is not None]
        self._file = file
        self._width = 0
        self._tickets = 0
        head = json.dumps({"started": started.isoformat(), "dry_run": dry_run}, indent=2)
        self._write_json(head[: -len("\n}")] + ',\n  "tickets": [')

    def __call__(self, result: TicketResult) -> None:
        """One ticket's final result (the run's `RunReport.sink`; called under the report's lock)."""
        if self._text is not None:
            self._width = max(self._width, len(result.key))
            self._text.write("".join(line + "\n" for line in _lines(result, self._width, self._dry_run)))
        if self._json:
            fields = _result(result)
            for out in self._json:
                text = json.dumps(self._redact(fields) if out is self._file else fields, indent=2, default=_plain)
                out.write(("\n    " if not self._tickets else ",\n    ") + text.replace("\n", "\n    "))
        self._tickets += 1

    def close(self, report: RunReport) -> None:
        """The rest of the report: the open tickets overdue and the summary lines, or the JSON's other fields."""
        if self._text is not None:
            width = max((len(r.key) for r in report.overdue), default=self._width or 6)
            lines = [
                line for result in report.overdue for line in _lines(result, max(width, self._width), report.dry_run)
            ]
            self._text.write("".join(line + "\n" for line in [*lines, *_tail(report)]))
        if self._json:
            rest = as_json(report, tickets=False)
            for name in ("started", "dry_run", "tickets"):
                del rest[name]
            for out in self._json:
                data = self._redact(rest) if out is self._file else rest
                end = "" if out is self._file else "\n"  # the file as `json.dump` writes it
                out.write(("\n  ]," if self._tickets else "],") + json.dumps(data, indent=2, default=_plain)[1:] + end)

    def _write_json(self, text: str) -> None:
        for out in self._json:
            out.write(self._redact(text) if out is self._file else text)


def as_text(report: RunReport) -> str:
    width = max((len(r.key) for r in (*report.results, *report.overdue)), default=6)
    lines = [line for result in (*report.results, *report.overdue) for line in _lines(result, width, report.dry_run)]
    return "\n".join([*lines, *_tail(report)])


def _lines(result: TicketResult, width: int, dry_run: bool) -> list[str]:
    """A ticket's lines of the table: its result, then each of its conditions."""
    lines = []
    detail = result.reason
    if result.value is not None and result.threshold is not None:
        detail = f"{result.value:.4g} vs threshold {result.threshold:.4g}; {detail}"
    if result.actions:
        verb = "would write" if dry_run else "wrote"
        detail += f" [{verb}: {', '.join(result.actions)}]"
    if result.deferred:
        detail += f" [left for the next run: {result.deferred}]"
    if result.refused:
        detail += f" [refused: {'; '.join(result.refused)}]"
    lines.append(f"{result.key:<{width}}  {result.outcome:<12}  {detail}")
    for number, condition in enumerate(result.conditions, start=1):
        graph = f" [graph: {condition['graph']}]" if condition.get("graph") else ""
        lines.append(f"{'':<{width}}  {'':<12}  condition {number}: {condition['line']}{graph}")
    return lines


def _tail(report: RunReport) -> list[str]:
    """The table's last lines: the counts, the overdue tickets, errors, and what stopped the run."""
    lines = []
    counts = ", ".join(f"{n} {_name(k)}" for k, n in report.counts().items()) or "no tickets"
    mode = " (dry run: nothing written)" if report.dry_run else ""
    tickets, writes = _count(sum(report.counts().values()), "ticket"), _count(report.writes, "write")
    lines.append(f"{tickets}: {counts}; {writes} in {report.duration_seconds:.1f}s{mode}")
    if report.reminders_checked:
        reminded = sum(1 for r in report.overdue if "reminder" in r.actions and not r.deferred)
        verb = "would be reminded" if report.dry_run else "reminded"
        lines.append(f"{_count(len(report.overdue), 'open ticket')} overdue: {reminded} {verb} now")
    if report.counts().get(NotJudged.ELSEWHERE):
        lines.append(
            "judged elsewhere: a verified/failed label or the article's result comment and no result of this tool; "
            "left alone (run --rejudge judges them)"
        )
    lines.extend(f"error: {e}" for e in report.errors)
    if report.interrupted:
        lines.append("interrupted: stopped taking new tickets; the next run picks up the rest")
    if report.deadline_passed:
        lines.append(
            "deadline: the run's deadline (VERIFIER_RUN_DEADLINE_SECONDS) passed with measurements still running; "
            "the verdicts ready were written, the next run judges the rest"
        )
    if report.plan is not None:
        lines.extend(_plan_text(report.plan))
    return lines


def _name(outcome: str) -> str:
    return "judged elsewhere" if outcome == NotJudged.ELSEWHERE else outcome.lower()


def _plan_json(plan: Plan) -> dict[str, Any]:
    after = plan.last_run_after
    return {
        "writes": plan.writes,
        "by_kind": plan.by_kind,
        "budget": plan.budget,
        "runs": plan.runs,
        "last_run_after_hours": None if after is None else after.total_seconds() / 3600,
    }


def _plan_text(plan: Plan) -> list[str]:
    """What a real run would write, and how long the write budget takes to write it all."""
    if not plan.writes:
        return ["first-run plan: a real run would write nothing"]
    kinds = ", ".join(f"{plan.by_kind[k]} {k}{'s' if plan.by_kind[k] != 1 else ''}" for k in KINDS if k in plan.by_kind)
    lines = [f"first-run plan: a real run would write {plan.writes} requests ({kinds})"]
    every = _hours(plan.interval)
    if plan.runs is None:
        lines.append(
            f"  VERIFIER_MAX_WRITES={plan.budget} is smaller than one ticket's writes: raise it, or nothing is written"
        )
    elif plan.runs <= 1:
        lines.append(f"  within the write budget ({plan.budget}): one run writes it all")
    else:
        after = plan.last_run_after or timedelta()
        lines.append(
            f"  the write budget ({plan.budget} a run) needs {plan.runs} runs: at one run every {every}, the last "
            f"one starts {_hours(after)} after the first"
        )
    return lines


def _hours(duration: timedelta) -> str:
    hours = duration.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g}h"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
