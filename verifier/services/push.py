"""After a run: push its figures, overall and by service, where dashboards and alerts read them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import structlog

from verifier import defaults
from verifier.domain.outcomes import Outcome, RunOutcome
from verifier.errors import VerifierError
from verifier.ports import RunMetrics
from verifier.services.run import RunReport, TicketResult


def push_metrics(sink: RunMetrics, report: RunReport, *, finished_at: float, by_hand: bool = False) -> None:
    """Push the run's metrics, marked when it was a dry run; a sink that is down is logged, never a reason to fail
    the run. A run started by hand (`--issue`, `--now`, `--dry-run`: on-call, or a look at what a run would do)
    pushes nothing: its figures would replace the scheduled run's (a FAILED service back to 0, the last success
    moved, written results replaced by would-be ones), so the alerts on them would clear for a run that judged
    other tickets or wrote nothing. Its result is in its own log and in the tracker. A scheduled run in dry-run
    mode (VERIFIER_DRY_RUN, the chart's dryRun) is not by hand: it pushes, marked."""
    if by_hand:
        structlog.get_logger("verifier").info(
            "metrics_not_pushed",
            reason="a run started with --issue, --now or --dry-run: the scheduled run's series stay as they are",
        )
        return
    counts = report.counts()
    failed_reminders = sum(1 for result in report.overdue if result.outcome is Outcome.ERROR)
    try:
        sink.push_run(
            counts=counts,
            errors=counts.get(Outcome.ERROR, 0) + failed_reminders + len(report.errors),
            writes=report.writes,
            duration_seconds=report.duration_seconds,
            finished_at=finished_at,
            succeeded=report.complete,
            dry_run=report.dry_run,
        )
        sink.push_services(
            results=_named(report.by_service()),
            overdue={service: sum(n.values()) for service, n in by_service(report.overdue).items()}
            if report.reminders_checked
            else None,
            dry_run=report.dry_run,
        )
    except VerifierError as error:
        structlog.get_logger("verifier").warning("metrics_push_failed", error=str(error))


def by_service(results: Iterable[TicketResult]) -> dict[str, dict[RunOutcome, int]]:
    """Ticket counts by service (`unknown` when the ticket names none), then by outcome."""
    counts: dict[str, dict[RunOutcome, int]] = {}
    for result in results:
        outcomes = counts.setdefault(result.service or defaults.UNKNOWN_SERVICE, {})
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    return counts


def _named(counts: Mapping[str | None, Mapping[RunOutcome, int]]) -> dict[str, dict[RunOutcome, int]]:
    """Counts by service as `by_service` names them (`unknown` for a ticket that names none)."""
    named: dict[str, dict[RunOutcome, int]] = {}
    for service, outcomes in counts.items():
        into = named.setdefault(service or defaults.UNKNOWN_SERVICE, {})
        for outcome, count in outcomes.items():
            into[outcome] = into.get(outcome, 0) + count
    return named
