"""The composition root: settings in, adapters and run options out. The only module that knows which adapter
serves which port; tracker clients are imported here, lazily, so that commands which need none start fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from verifier.domain.actions import Labels
from verifier.errors import VerifierError
from verifier.services.run import RunOptions, RunReport
from verifier.settings import MetricsSettings, RunSettings

if TYPE_CHECKING:
    from verifier.adapters.prometheus import PrometheusMetrics
    from verifier.ports import Tracker

#: GitHub's closing reasons that are not a fix; Jira's come from settings.
GITHUB_NOT_A_FIX = ("not_planned", "duplicate")


def metrics(settings: MetricsSettings) -> PrometheusMetrics:
    from verifier.adapters.prometheus import PrometheusMetrics

    return PrometheusMetrics(settings.connection())


def tracker(settings: RunSettings) -> Tracker:
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
    metrics_settings: MetricsSettings,
    *,
    dry_run: bool = False,
    early: bool = False,
    issues: tuple[str, ...] = (),
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
        accept_warnings=metrics_settings.accept_warnings,
    )


def push_metrics(settings: RunSettings, report: RunReport) -> None:
    """Push the run's metrics; a Pushgateway that is down is logged, never a reason to fail the run."""
    from verifier.adapters.pushgateway import push_run_metrics

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
    except VerifierError as error:
        structlog.get_logger("verifier").warning("metrics_push_failed", error=str(error))


def checks(settings: RunSettings, metrics_settings: MetricsSettings) -> list[tuple[str, Callable[[], str]]]:
    """What `doctor` checks: each a name and a function that returns a detail or raises VerifierError."""

    def tracker_check() -> str:
        return f"signed in as {tracker(settings).account()}"

    def metrics_check() -> str:
        with metrics(metrics_settings) as backend:
            backend.ping()
        return f"{metrics_settings.url} answered"

    return [(f"tracker ({settings.tracker})", tracker_check), ("metrics backend", metrics_check)]
