"""After a run: push its figures, overall and by service, where dashboards and alerts read them."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from verifier import defaults
from verifier.errors import VerifierError
from verifier.ports import RunMetrics
from verifier.services.run import RunReport, TicketResult


def push_metrics(sink: RunMetrics, report: RunReport, *, finished_at: float) -> None:
    """Push the run's metrics; a sink that is down is logged, never a reason to fail the run."""
    counts = report.counts()
    failed_reminders = sum(1 for result in report.overdue if result.outcome == "ERROR")
    try:
        sink.push_run(
            counts=counts,
            errors=counts.get("ERROR", 0) + failed_reminders + len(report.errors),
            writes=report.writes,
            duration_seconds=report.duration_seconds,
            finished_at=finished_at,
            succeeded=report.complete,
        )
        sink.push_services(
            results=by_service(report.results),
            overdue={service: sum(n.values()) for service, n in by_service(report.overdue).items()}
            if report.reminders_checked
            else None,
        )
    except VerifierError as error:
        structlog.get_logger("verifier").warning("metrics_push_failed", error=str(error))


def by_service(results: Iterable[TicketResult]) -> dict[str, dict[str, int]]:
    """Ticket counts by service (`unknown` when the ticket names none), then by outcome."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        outcomes = counts.setdefault(result.service or defaults.UNKNOWN_SERVICE, {})
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    return counts
