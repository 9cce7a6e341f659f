"""In-memory stand-ins for the two ports, for fast tests of the run's logic (the adapters have their own HTTP tests)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from verifier.defaults import GITHUB_NOT_A_FIX, JIRA_NOT_A_FIX
from verifier.domain.action_items import ActionItem, fingerprint_in, render_body
from verifier.domain.identity import Identities, split_entry
from verifier.domain.measurement import Measurement, Series
from verifier.domain.tickets import Comment, Filed, Flavour, Ticket, fold_resolution, own_filing
from verifier.errors import MetricsError, TrackerError

BOT = "verifier-bot"


@dataclass
class FakeTracker:
    tickets: dict[str, Ticket] = field(default_factory=dict)
    flavour: Flavour = Flavour.MARKDOWN
    reopenable: bool = True
    fail_on: set[str] = field(default_factory=set)  # "comment", "label", "reopen": raise TrackerError once
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    clock: datetime | None = None
    # Closing reasons left out of `resolved_tickets`, as the adapters leave them out (tests/ports holds it).
    not_a_fix: frozenset[str] = frozenset(fold_resolution(r) for r in (*JIRA_NOT_A_FIX, *GITHUB_NOT_A_FIX))
    labels_with: frozenset[str] = frozenset()  # "comment", "reopen": labels ride in the same request
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def account(self) -> str:
        return BOT

    def add(self, ticket: Ticket) -> None:
        self.tickets[ticket.key] = ticket

    def resolved_tickets(self, label: str, lookback_days: int) -> Iterator[Ticket]:
        cutoff = (self.clock or datetime.now().astimezone()) - timedelta(days=lookback_days)
        for ticket in list(self.tickets.values()):
            if ticket.resolved_at is None or label not in ticket.labels or ticket.resolved_at < cutoff:
                continue
            if fold_resolution(ticket.resolution or "") not in self.not_a_fix:
                yield ticket

    def post_incident_tickets(self, label: str, since: datetime) -> Iterator[Ticket]:
        """Open tickets with the label, and done ones resolved or commented on since `since`."""
        for ticket in list(self.tickets.values()):
            recent = (ticket.resolved_at or since) >= since or any(c.created >= since for c in ticket.comments)
            if label in ticket.labels and ticket.kind == "issue" and (ticket.resolved_at is None or recent):
                yield ticket

    def get_ticket(self, key: str) -> Ticket:
        if key not in self.tickets:
            raise TrackerError("no such ticket (HTTP 404)", ticket=key)
        return self.tickets[key]

    def _maybe_fail(self, kind: str, key: str) -> None:
        if kind in self.fail_on:
            self.fail_on.discard(kind)
            raise TrackerError(f"{kind} failed with HTTP 500", ticket=key)

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        self._maybe_fail("comment", key)
        ticket = self.get_ticket(key)
        if "comment" in self.labels_with and tuple(labels):
            self.tickets[key] = ticket = replace(ticket, labels=ticket.labels | frozenset(labels))
        created = (self.clock or datetime.now().astimezone()) + timedelta(seconds=len(ticket.comments))
        new = Comment(str(next(self._ids)), BOT, body, created)
        self.tickets[key] = replace(ticket, comments=(*ticket.comments, new))
        self.writes.append((key, "comment", body))
        return "" if "comment" in self.labels_with and tuple(labels) else new.id  # as Jira's issue edit

    def delete_comment(self, key: str, comment_id: str) -> None:
        ticket = self.get_ticket(key)
        self.tickets[key] = replace(ticket, comments=tuple(c for c in ticket.comments if c.id != comment_id))
        self.writes.append((key, "delete", comment_id))

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        self._maybe_fail("label", key)
        ticket = self.get_ticket(key)
        added = tuple(labels)
        self.tickets[key] = replace(ticket, labels=ticket.labels | frozenset(added))
        self.writes.append((key, "label", ",".join(added)))

    def reopen(self, key: str, labels: Iterable[str] = ()) -> bool:
        self._maybe_fail("reopen", key)
        self.get_ticket(key)
        if not self.reopenable:
            return False
        if "reopen" in self.labels_with:
            self.tickets[key] = replace(self.tickets[key], labels=self.tickets[key].labels | frozenset(labels))
        self.tickets[key] = replace(self.tickets[key], status="To Do", resolved_at=None, resolution=None)
        self.writes.append((key, "reopen", ""))
        return True

    def trust(self, entries: Iterable[str]) -> Identities:
        return Identities({name: name for name, _ in map(split_entry, entries)})  # a fake's names are its ids

    def find_filed(self, incident_id: str, fingerprint: str) -> Filed:
        label = f"incident:{incident_id}"
        matches = [t for t in self.tickets.values() if label in t.labels and fingerprint_in(t.body) == fingerprint]
        ours, squatted = own_filing([(t.key, t.reporter) for t in matches], BOT)  # the fake's reporter: its creator
        return Filed(self.tickets[ours] if ours else None, squatted)

    def edit_body(self, key: str, body: str) -> None:
        self._maybe_fail("edit_body", key)
        self.tickets[key] = replace(self.get_ticket(key), body=body)
        self.writes.append((key, "edit_body", ""))

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        self._maybe_fail("create", item.title)
        key = f"FAKE-{len(self.tickets) + 1}"
        labels = frozenset({"post-incident", f"incident:{item.incident_id}", *item.labels})
        body = render_body(item, self.flavour)
        ticket = Ticket(
            key, f"https://fake/{key}", f"[Post-Incident] {item.title}", "open", None, None, labels, body, BOT
        )
        self.tickets[key] = ticket
        self.writes.append((key, "create", item.title))
        return ticket


@dataclass
class FakeMetrics:
    """Answers by query text: a Measurement, an error to raise, or a function of the evaluation time."""

    answers: dict[str, Measurement | MetricsError | Callable[[datetime], Measurement]] = field(default_factory=dict)
    asked: list[tuple[str, datetime]] = field(default_factory=list)
    # What a histogram's events query (`sum(increase(..._count[...]))`, `histogram_count`) answers when the test
    # gives no answer of its own: plenty of requests, so that quantile verdicts stand on enough data.
    events: float | None = 10_000.0

    def instant(self, query: str, at: datetime) -> Measurement:
        self.asked.append((query, at))
        default = Measurement(())
        # The events query sums a `_count` (or a native histogram's count); other `_count` queries get no default.
        if self.events is not None and query.startswith("sum(") and ("_count" in query or "histogram_count(" in query):
            default = Measurement((Series((), ((at.timestamp(), self.events),)),))
        answer = self.answers.get(query, default)
        if isinstance(answer, MetricsError):
            raise answer
        return as_sent(answer(at) if callable(answer) else answer)

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        """A function of time is evaluated at every step from `start` to `end`, as a backend evaluates a range
        query (tests/ports/test_metrics_port.py); a Measurement is answered as the test wrote its points."""
        answer = self.answers.get(query)
        if not callable(answer):
            return self.instant(query, end)
        self.asked.append((query, end))
        points: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        at = start
        while at <= end:
            for series in answer(at).series:
                points.setdefault(series.labels, []).extend(series.points)
            at += timedelta(seconds=step_seconds)
        return as_sent(Measurement(tuple(Series(labels, tuple(found)) for labels, found in points.items())))


def as_sent(answer: Measurement) -> Measurement:
    """An answer as the Prometheus adapter hands it on: each series' labels sorted by name, the series by labels."""
    series = (Series(tuple(sorted(s.labels)), s.points) for s in answer.series)
    return replace(answer, series=tuple(sorted(series, key=lambda s: s.labels)))


@dataclass
class FakeCatalog(FakeMetrics):
    """A backend that lists the series it holds (`MetricCatalog`): `names` whatever is asked, no types, units or
    labels. A test overrides what it needs."""

    names: frozenset[str] = frozenset()

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        return self.names

    def metric_type(self, name: str) -> str | None:
        return None

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        return frozenset()

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        return frozenset()

    def metric_unit(self, name: str) -> str | None:
        return None
