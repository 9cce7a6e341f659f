"""The composition root: settings in, adapters and run options out. The only module that knows which adapter
serves which port; tracker clients are imported here, lazily, so that commands which need none start fast."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError

from verifier.domain.actions import Labels
from verifier.errors import SettingsError, VerifierError
from verifier.services.run import RunOptions, RunReport, TicketResult
from verifier.settings import MetricsSettings, RunSettings

if TYPE_CHECKING:
    from verifier.adapters.prometheus import PrometheusMetrics
    from verifier.ports import Tracker

#: GitHub's closing reasons that are not a fix; Jira's come from settings.
GITHUB_NOT_A_FIX = ("not_planned", "duplicate")
#: The `service` label of a ticket whose incident context names no service.
UNKNOWN_SERVICE = "unknown"


def metrics(settings: MetricsSettings) -> PrometheusMetrics:
    from verifier.adapters.prometheus import PrometheusMetrics

    return PrometheusMetrics(settings.connection())


def tracker(settings: RunSettings) -> Tracker:
    """The configured tracker's adapter. Connection checks the settings could not make (one sign-in method, a
    readable private key...) raise SettingsError naming the variables, like any other bad setting."""
    try:
        return _tracker(settings)
    except ValidationError as error:
        prefix = f"VERIFIER_{settings.tracker.upper()}_"
        raise SettingsError([_connection_problem(prefix, e) for e in error.errors()]) from None


def _connection_problem(prefix: str, error: Any) -> str:
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    location = [str(part) for part in error.get("loc", ())]
    return f"{prefix}{location[0].upper()}: {message}" if location else f"{prefix.rstrip('_')}: {message}"


def _tracker(settings: RunSettings) -> Tracker:
    ca_bundle = Path(settings.tracker_ca_bundle) if settings.tracker_ca_bundle else None
    if settings.tracker == "jira":
        from verifier.adapters.jira import JiraConnection, JiraTracker

        assert settings.jira_url is not None  # checked by RunSettings
        return JiraTracker(
            JiraConnection(
                url=settings.jira_url,
                email=settings.jira_email,
                api_token=settings.jira_api_token,
                pat=settings.jira_pat,
                project=settings.jira_project,
                extra_jql=settings.jira_extra_jql,
                not_fix_resolutions=settings.jira_not_fix_resolutions,
                reopen_transition=settings.jira_reopen_transition,
                issue_type=settings.jira_issue_type,
                priorities=settings.jira_priorities,
                verify_tls=settings.tracker_verify_tls,
                ca_bundle=ca_bundle,
                timeout_seconds=settings.tracker_timeout_seconds,
            )
        )
    from verifier.adapters.github import GitHubConnection, GitHubTracker

    return GitHubTracker(
        GitHubConnection(
            api_url=settings.github_api_url,
            repositories=settings.github_repository,
            token=settings.github_token,
            app_id=settings.github_app_id,
            app_private_key=settings.github_app_private_key,
            installation_id=settings.github_installation_id,
            app_slug=settings.github_app_slug,
            ca_bundle=ca_bundle,
            verify_tls=settings.tracker_verify_tls,
            timeout_seconds=settings.tracker_timeout_seconds,
        )
    )


def run_options(
    settings: RunSettings,
    metrics_settings: MetricsSettings | None = None,
    *,
    dry_run: bool = False,
    early: bool = False,
    issues: tuple[str, ...] = (),
    rejudge: bool = False,
) -> RunOptions:
    not_a_fix = settings.jira_not_fix_resolutions if settings.tracker == "jira" else GITHUB_NOT_A_FIX
    return RunOptions(
        label=settings.label,
        lookback_days=settings.lookback_days,
        trusted_authors=frozenset(settings.trusted_authors),
        not_a_fix=frozenset(not_a_fix),
        labels=Labels(
            verified=settings.verified_label,
            failed=settings.failed_label,
            inconclusive=settings.inconclusive_label,
            invalid=settings.invalid_label,
        ),
        concurrency=settings.concurrency,
        max_writes=settings.max_writes,
        dry_run=dry_run or settings.dry_run,
        early=early,
        issues=issues,
        accept_warnings=metrics_settings.accept_warnings if metrics_settings else False,
        overdue_reminders=settings.overdue_reminders,
        sla_days=dict(settings.sla_days),
        rejudge=rejudge or settings.rejudge,
        run_interval=timedelta(seconds=settings.run_interval_seconds),
    )


def push_metrics(settings: RunSettings, report: RunReport) -> None:
    """Push the run's metrics; a Pushgateway that is down is logged, never a reason to fail the run."""
    from verifier.adapters.pushgateway import push_run_metrics, push_service_metrics

    assert settings.pushgateway_url is not None
    counts = report.counts()
    try:
        push_run_metrics(
            settings.pushgateway_url,
            settings.pushgateway_job,
            counts=counts,
            errors=counts.get("ERROR", 0) + len(report.errors),
            writes=report.writes,
            duration_seconds=report.duration_seconds,
            finished_at=time.time(),
            succeeded=report.exit_code == 0,
        )
        push_service_metrics(
            settings.pushgateway_url,
            settings.pushgateway_job,
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
        outcomes = counts.setdefault(result.service or UNKNOWN_SERVICE, {})
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    return counts


def checks(settings: RunSettings, metrics_settings: MetricsSettings) -> list[tuple[str, Callable[[], str]]]:
    """What `doctor` checks: each a name and a function that returns a detail or raises VerifierError."""

    def tracker_check() -> str:
        return f"signed in as {tracker(settings).account()}"

    def metrics_check() -> str:
        with metrics(metrics_settings) as backend:
            backend.ping()
        return f"{metrics_settings.url} answered"

    return [(f"tracker ({settings.tracker})", tracker_check), ("metrics backend", metrics_check)]
