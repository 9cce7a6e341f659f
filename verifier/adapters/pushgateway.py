"""Pushes a run's metrics to a Pushgateway, so a dashboard and an alert can see every run.

POST (pushadd) rather than PUT: a failed run updates its own series but leaves
`action_item_verifier_last_success_timestamp_seconds` as the last good run set it, which is what the
"no successful run for two intervals" alert reads.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from verifier.errors import VerifierError


def push_run_metrics(
    url: str,
    job: str,
    *,
    counts: Mapping[str, int],
    errors: int,
    writes: int,
    duration_seconds: float,
    finished_at: float,
    succeeded: bool,
    timeout_seconds: float = 10,
) -> None:
    """Push one run's figures; raises VerifierError when the Pushgateway cannot take them."""
    registry = CollectorRegistry()
    tickets = Gauge(
        "action_item_verifier_tickets", "Tickets seen by the last run, by verdict.", ["verdict"], registry=registry
    )
    for verdict in ("VERIFIED", "FAILED", "INCONCLUSIVE", "PENDING", "INVALID", "ERROR", "SKIPPED"):
        tickets.labels(verdict).set(counts.get(verdict, 0))
    Gauge("action_item_verifier_run_errors", "Tickets or listings that hit an error.", registry=registry).set(errors)
    Gauge("action_item_verifier_writes", "Tracker writes made by the last run.", registry=registry).set(writes)
    Gauge("action_item_verifier_run_duration_seconds", "Duration of the last run.", registry=registry).set(
        duration_seconds
    )
    Gauge("action_item_verifier_last_run_timestamp_seconds", "When the last run ended.", registry=registry).set(
        finished_at
    )
    if succeeded:
        Gauge(
            "action_item_verifier_last_success_timestamp_seconds",
            "When the last run that handled every ticket ended.",
            registry=registry,
        ).set(finished_at)
    try:
        pushadd_to_gateway(url, job=job, registry=registry, timeout=timeout_seconds)
    except OSError as error:  # urllib's URLError / HTTPError are OSErrors
        raise VerifierError(f"pushing metrics to {url} failed: {error}") from None
