"""The two ports the services talk through. Adapters implement them; tests use fakes or the sandbox servers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Protocol, runtime_checkable

from verifier.domain.action_items import ActionItem
from verifier.domain.alerts import AlertRule
from verifier.domain.identity import Identities
from verifier.domain.measurement import Measurement
from verifier.domain.outcomes import RunOutcome
from verifier.domain.tickets import Filed, Flavour, Ticket


class WriteGate(Protocol):
    """The run's write budget as every tracker adapter meets it, set (`WRITE_GATE`) around each `Tracker` write call
    the run charges. Adapters do not ask it themselves: the guarded transport every adapter sends through
    (`verifier.adapters.http.GuardedAdapter`) asks it before each write request, so the budget caps every request
    the tracker receives, retries and second requests of one call included, whatever the adapter does."""

    def charge(self) -> bool:
        """One more write request is about to be sent: False, and it is not sent (`WriteRefused`)."""
        ...

    def stopped(self) -> bool:
        """The run was stopped: no retry is waited for (`verifier.adapters.retry`)."""
        ...


WRITE_GATE: ContextVar[WriteGate | None] = ContextVar("write_gate", default=None)


class Tracker(Protocol):
    """An issue tracker holding post-incident action items (Jira or GitHub).

    Every method raises `TrackerError` (never a client library's own exception) when the tracker fails.
    """

    flavour: Flavour
    #: The writes that can carry labels in the same request: "comment" (Jira: one issue edit adds both), "reopen"
    #: (GitHub: one issue update reopens and labels). The run asks for the fewest requests it can.
    labels_with: frozenset[str]

    def account(self) -> str:
        """The identity the tool writes as (Jira accountId or name, GitHub login): its comments are trusted."""
        ...

    def trust(self, entries: Iterable[str]) -> Identities:
        """Resolve the trusted authors (`VERIFIER_TRUSTED_AUTHORS`: names, or `name=id` with the id pinned) to
        immutable ids (GitHub user id; Jira Cloud accountId; Data Center user key), once, at start. From then on
        every person this adapter reads is named by `Identities.name`: a renamed trusted account keeps its entry,
        and a name taken over by another account does not inherit trust. An entry not found trusts nobody."""
        ...

    def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
        """Done tickets carrying `label`, resolved within the lookback, streamed page by page.

        Tickets closed as not-a-fix (Won't Do, Duplicate, GitHub `not_planned`, ...) are left out.
        Each ticket comes with its comments (all pages of them).

        Pages are read as the caller iterates, so thousands of tickets are never held at once. The caller must
        not write while iterating: reopening takes a ticket out of the search and would shift the offsets
        (`startAt`, GitHub's `page`) of the pages still to come. The run writes only once the listing is done.
        """
        ...

    def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
        """Every open ticket carrying `label`, whatever its age, and every done one updated since `since`.

        What the weekly report and the overdue reminders read: tickets of any resolution (not-a-fix ones
        included), with `created`, `priority` and all their comments, streamed page by page like
        `resolved_tickets` (the caller must not write while iterating). GitHub pull requests are left out.
        A tracker may return a few done tickets updated a little before `since` (Jira reads JQL times in the
        user's time zone); callers judge by the tickets' own times.
        """
        ...

    def get_ticket(self, key: str) -> Ticket:
        """One ticket by key, with all its comments."""
        ...

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        """Add a comment written in this tracker's `flavour`; returns the new comment's id, or "" when the
        request does not tell it. `labels`, only where `labels_with` has "comment", are added in the same request."""
        ...

    def delete_comment(self, key: str, comment_id: str) -> None:
        """Delete one of the tool's own comments (a duplicate result written by a concurrent run)."""
        ...

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        """Add labels, keeping those the ticket already has."""
        ...

    def reopen(self, key: str, labels: Iterable[str] = ()) -> bool:
        """Move the ticket back to an open state; False when the workflow offers no way to do so (then nothing
        is written). `labels`, only where `labels_with` has "reopen", are added in the same request."""
        ...

    # -- filing action items ---------------------------------------------------------------------------------
    def find_filed(self, incident_id: str, fingerprint: str) -> Filed:
        """The ticket an earlier filing made for this action item, open or closed (`Filed.ticket`, None when there
        is none), and the keys of tickets carrying the fingerprint that another account created (`squatted`).

        Searches the tickets labelled with the incident (Jira `incident-<id>`, GitHub `incident:<id>`) and
        matches the fingerprint their body carries (`action_items.fingerprint_in`); the title alone is not trusted,
        since people rename tickets, and only a ticket the tool's own account created counts (`tickets.own_filing`).
        Search indexes lag behind writes (Jira Cloud by seconds), so a filing
        repeated at once may not see a ticket just created.
        """
        ...

    def edit_body(self, key: str, body: str) -> None:
        """Replace the ticket's body (written in this tracker's `flavour`). Filing signs a config block for the
        ticket's key, which exists only once the ticket does: create, then edit the body to the signed one."""
        ...

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        """File `item` as a new ticket and return it as the tracker now shows it.

        Title `[Post-Incident] <title>`, body `action_items.render_body` in this tracker's flavour (the v1 config block,
        the incident facts and the fingerprint), the seed's labels (post-incident, the incident, ...) plus the
        item's own, its priority and assignee. `config_comment` also writes the seed's "Automated Verification
        Config" comment where the seed has one (Jira), and only when its three fields say exactly what the
        body's block says; GitHub ignores it. Never retried after an answer that may mean it was stored.
        """
        ...


class Metrics(Protocol):
    """A Prometheus-compatible query API (Prometheus, Mimir, Thanos, VictoriaMetrics, Grafana Cloud).

    Raises `QueryRejected` when the backend refuses a query and `BackendUnavailable` when it cannot answer.
    """

    def instant(self, query: str, at: datetime) -> Measurement:
        """Evaluate `query` at one instant."""
        ...

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        """Evaluate `query` at every step from `start` to `end`."""
        ...


class RunMetrics(Protocol):
    """Where a run's figures go for dashboards and alerts (a Pushgateway). Raises `VerifierError` when it fails."""

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
        """The run's own figures: tickets by verdict, errors, writes, duration, when it ended and whether it
        handled every ticket; `dry_run` marks every series of a run that wrote nothing."""
        ...

    def push_services(
        self, *, results: Mapping[str, Mapping[RunOutcome, int]], overdue: Mapping[str, int] | None, dry_run: bool
    ) -> None:
        """Tickets by service then verdict, and open tickets past their SLA by service (None: not listed)."""
        ...


@runtime_checkable
class AlertRules(Protocol):
    """What a backend tells about the alerting rules it (or its ruler) evaluates: how an alert that left no
    ALERTS series is told from a rule that was never there (`domain/silence.py`). Optional: without it an alert
    condition that saw no firing is INCONCLUSIVE."""

    def alert_rules(self, name: str) -> tuple[AlertRule, ...] | None:
        """The alerting rules named `name` (`/api/v1/rules?type=alert`); None when the backend has no such API."""
        ...


@runtime_checkable
class MetricCatalog(Protocol):
    """What a backend tells about the series it holds: lets a config's metric name be resolved to the series
    that really exists (`domain/resolution.py`). Optional: a `Metrics` without it is queried as planned."""

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        """Names of the series matching `selector` with samples between `start` and `end`; None when the
        backend has no such API."""
        ...

    def metric_type(self, name: str) -> str | None:
        """The metadata API's type for the family `name` (counter, gauge, histogram, ...), or None."""
        ...

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        """Label names the series matching `selector` carry between `start` and `end`."""
        ...

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        """Values of `label` on the series matching `selector` between `start` and `end` (`__type__`)."""
        ...

    def metric_unit(self, name: str) -> str | None:
        """The metadata API's unit for the family `name` (`seconds`), or None (also for an empty unit)."""
        ...


@runtime_checkable
class FeatureList(Protocol):
    """Prometheus's `/api/v1/features` (3.x): which optional features the backend has on, by category."""

    def features(self) -> Mapping[str, Mapping[str, bool]] | None:
        """`{"otlp_receiver": {"native_delta_ingestion": True, ...}, ...}`, or None when the backend cannot say."""
        ...


@runtime_checkable
class BatchReads(Protocol):
    """A tracker that reads many tickets in one request (Jira: a search for `key in (…)`; GitHub: one GraphQL query
    naming each issue). Optional: the run re-reads one ticket at a time from a tracker without it."""

    #: The most keys one call may name.
    batch_size: int

    def get_tickets(self, keys: Sequence[str]) -> Mapping[str, Ticket]:
        """The tickets named, as `get_ticket` reads them, by key; a key missing from the answer is left out
        (the caller reads it alone). Raises `TrackerError`."""
        ...
