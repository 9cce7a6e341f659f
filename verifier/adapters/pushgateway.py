"""Pushes a run's metrics to a Pushgateway, so a dashboard and an alert can see every run.

The run's figures go to the group `job=<job>` by POST (pushadd) rather than PUT: a failed run updates its own
series but leaves `action_item_verifier_last_success_timestamp_seconds` as the last good run set it, which is
what the "no successful run for two intervals" alert reads.

The fix-hold figures by service (`action_item_verifier_results{service,verdict}`, `..._overdue{service}`) go to
a group of their own, `job=<job>,breakdown=service`, by PUT: each run replaces the whole group, so a service
that had no ticket in this run has no series left over from an earlier one. (A POST cannot do that: a metric
with no series at all is not sent, so it would not replace the old series.)

Every series carries `dry_run="true"` or `"false"`: a scheduled run in dry-run mode (VERIFIER_DRY_RUN) pushes like a
real one, so the absence and no-success alerts keep watching a first install (the chart's default is a dry run),
and alerts about what was written (fixes reopened) can leave dry runs out. The label is on every series of a
metric, so the next push of that metric replaces it whichever mode the run was in. Runs started by hand
(`run --issue`, `--now`, `--dry-run`) push nothing (`verifier.services.push`): these two groups describe the
scheduled run only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import requests
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

from verifier import defaults
from verifier.adapters.http import GuardedAdapter, guard
from verifier.domain.outcomes import TICKET_OUTCOMES, RunOutcome
from verifier.errors import VerifierError

#: The `verdict` label's values, each pushed every run (0 when no ticket had it) so a series never goes stale.
VERDICTS = TICKET_OUTCOMES
#: The grouping label of the per-service group, which each run replaces as a whole.
SERVICE_GROUP = {"breakdown": "service"}
#: The label every pushed series carries: whether the run that pushed it was a dry run.
DRY_RUN_LABEL = "dry_run"


def push_run_metrics(
    url: str,
    job: str,
    *,
    counts: Mapping[RunOutcome, int],
    errors: int,
    writes: int,
    duration_seconds: float,
    finished_at: float,
    succeeded: bool,
    dry_run: bool,
    timeout_seconds: float = 10,
) -> None:
    """Push one run's figures; raises VerifierError when the Pushgateway cannot take them."""
    registry = CollectorRegistry()
    mode = _mode(dry_run)
    tickets = Gauge(
        "action_item_verifier_tickets",
        "Tickets seen by the last run, by verdict.",
        ["verdict", DRY_RUN_LABEL],
        registry=registry,
    )
    for verdict in VERDICTS:
        tickets.labels(verdict.value, mode).set(counts.get(verdict, 0))

    def gauge(name: str, documentation: str, value: float) -> None:
        Gauge(name, documentation, [DRY_RUN_LABEL], registry=registry).labels(mode).set(value)

    gauge("action_item_verifier_run_errors", "Tickets or listings that hit an error.", errors)
    gauge("action_item_verifier_writes", "Tracker writes made by the last run (0 in a dry run).", writes)
    gauge("action_item_verifier_run_duration_seconds", "Duration of the last run.", duration_seconds)
    gauge("action_item_verifier_last_run_timestamp_seconds", "When the last run ended.", finished_at)
    if succeeded:
        gauge(
            "action_item_verifier_last_success_timestamp_seconds",
            "When the last run that handled every ticket ended.",
            finished_at,
        )
    try:
        pushadd_to_gateway(url, job=job, registry=registry, timeout=timeout_seconds, handler=guarded_handler)
    except OSError as error:  # urllib's URLError / HTTPError are OSErrors
        raise VerifierError(f"pushing metrics to {url} failed: {error}") from None


def push_service_metrics(
    url: str,
    job: str,
    *,
    results: Mapping[str, Mapping[RunOutcome, int]],
    overdue: Mapping[str, int] | None,
    dry_run: bool,
    timeout_seconds: float = 10,
) -> None:
    """Replace the per-service group with this run's figures: `results` is tickets by service, then by verdict
    (every verdict of a service is pushed, zeros included); `overdue` is open tickets past their SLA by service,
    or None when the run did not list the open tickets (reminders off): then the metric is not pushed at all."""
    registry = CollectorRegistry()
    mode = _mode(dry_run)
    verdicts = Gauge(
        "action_item_verifier_results",
        "Tickets judged by the last run, by the service their incident names and by verdict.",
        ["service", "verdict", DRY_RUN_LABEL],
        registry=registry,
    )
    for service, counts in results.items():
        for verdict in VERDICTS:
            verdicts.labels(service, verdict.value, mode).set(counts.get(verdict, 0))
    if overdue is not None:
        late = Gauge(
            "action_item_verifier_overdue",
            "Open action items past the SLA of their priority, by service, as the last run found them.",
            ["service", DRY_RUN_LABEL],
            registry=registry,
        )
        for service, count in overdue.items():
            late.labels(service, mode).set(count)
    try:
        push_to_gateway(
            url,
            job=job,
            grouping_key=SERVICE_GROUP,
            registry=registry,
            timeout=timeout_seconds,
            handler=guarded_handler,
        )
    except OSError as error:
        raise VerifierError(f"pushing metrics to {url} failed: {error}") from None


def _mode(dry_run: bool) -> str:
    return "true" if dry_run else "false"


def guarded_handler(
    url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
) -> Callable[[], None]:
    """prometheus_client's public `handler` hook: the push sent through the guarded transport
    (`verifier.adapters.http`), so a Pushgateway that answers slowly or hugely cannot hold the run."""

    def handle() -> None:
        with requests.Session() as session:
            guard(
                session,
                GuardedAdapter(what="the Pushgateway's answer", max_bytes=defaults.PUSHGATEWAY_MAX_ANSWER_BYTES),
            )
            try:
                answer = session.request(method, url, data=data, headers=dict(headers), timeout=timeout)
            except requests.RequestException as error:
                raise OSError(str(error) or type(error).__name__) from None
            if answer.status_code >= 400:
                raise OSError(f"HTTP {answer.status_code} {answer.reason}: {answer.text[:200]}")

    return handle


class Pushgateway:
    """`verifier.ports.RunMetrics` on a Pushgateway: the two pushes above, for one URL and job."""

    def __init__(self, url: str, job: str) -> None:
        self.url, self.job = url, job

    def push_run(
        self,
        *,
        counts: Mapping[RunOutcome, int],
        errors: int,
        writes: int,
        duration_seconds: float,
        finished_at: float,
        succeeded: bool,
        dry_run: bool,
    ) -> None:
        push_run_metrics(
            self.url,
            self.job,
            counts=counts,
            errors=errors,
            writes=writes,
            duration_seconds=duration_seconds,
            finished_at=finished_at,
            succeeded=succeeded,
            dry_run=dry_run,
        )

    def push_services(
        self, *, results: Mapping[str, Mapping[RunOutcome, int]], overdue: Mapping[str, int] | None, dry_run: bool
    ) -> None:
        push_service_metrics(self.url, self.job, results=results, overdue=overdue, dry_run=dry_run)
