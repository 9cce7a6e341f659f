"""What every `Tracker` does, as the services rely on it: run against the fake and both adapters (conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.ports.conftest import Harness
from tests.unit.helpers import config
from verifier import defaults
from verifier.domain.action_items import ActionItem, IncidentContext, fingerprint_in
from verifier.errors import TrackerError

LABEL = defaults.LABEL


def item(title: str = "Add connection pooling") -> ActionItem:
    context = IncidentContext(
        "CheckoutLatencyHigh",
        "latency_seconds",
        0.5,
        1.84,
        "checkout",
        "production",
        datetime(2026, 11, 20, tzinfo=UTC),
    )
    verification = config(metric="latency_seconds", condition="< 250ms p99")
    return ActionItem(title, "Pool connections.", "P1", None, "INC-7", context, verification, ("team-payments",))


def test_account_is_who_the_tools_comments_come_from(harness: Harness) -> None:
    key = harness.done()
    account = harness.tracker.account()
    assert account
    comment_id = harness.tracker.comment(key, "a result")
    comments = harness.tracker.get_ticket(key).comments
    assert [(c.id, c.author, c.body) for c in comments] == [(comment_id, account, "a result")]


def test_resolved_tickets_are_done_labelled_fixes_with_their_comments(harness: Harness) -> None:
    fixed = harness.done(body="the fix")
    harness.comment_by_someone(fixed, "looks good")
    harness.done(labels=("other",))
    harness.open()
    harness.done(resolution=harness.not_a_fix)
    listed = list(harness.tracker.resolved_tickets(LABEL, 7))
    assert [t.key for t in listed] == [fixed]
    (ticket,) = listed
    assert ticket.resolved_at is not None and ticket.body == "the fix" and LABEL in ticket.labels
    assert [c.body for c in ticket.comments] == ["looks good"]
    assert ticket.comments[0].author not in ("", harness.tracker.account())


def test_post_incident_tickets_hold_open_and_recently_done_ones_of_any_resolution(harness: Harness) -> None:
    waiting, fixed, wont = harness.open(), harness.done(), harness.done(resolution=harness.not_a_fix)
    harness.open(labels=("other",))
    since = datetime.now(UTC) - timedelta(days=7)
    keys = {t.key for t in harness.tracker.post_incident_tickets(LABEL, since)}
    assert keys == {waiting, fixed, wont}


def test_get_ticket_reads_one_ticket_and_an_unknown_key_is_a_tracker_error(harness: Harness) -> None:
    key = harness.done(body="body text", labels=(LABEL, "team-payments"))
    ticket = harness.tracker.get_ticket(key)
    assert (ticket.key, ticket.body, ticket.labels) == (key, "body text", frozenset({LABEL, "team-payments"}))
    assert ticket.url
    with pytest.raises(TrackerError):
        harness.tracker.get_ticket(harness.missing)


def test_delete_comment_removes_only_that_comment(harness: Harness) -> None:
    key = harness.done()
    first = harness.tracker.comment(key, "first")
    second = harness.tracker.comment(key, "second")
    harness.tracker.delete_comment(key, second)
    assert [(c.id, c.body) for c in harness.tracker.get_ticket(key).comments] == [(first, "first")]


def test_add_labels_keeps_the_labels_there_and_adding_twice_changes_nothing(harness: Harness) -> None:
    key = harness.done(labels=(LABEL, "team-payments"))
    harness.tracker.add_labels(key, ["verified-by-otel"])
    harness.tracker.add_labels(key, ["verified-by-otel"])
    assert harness.tracker.get_ticket(key).labels == {LABEL, "team-payments", "verified-by-otel"}


def test_reopen_takes_the_ticket_out_of_the_done_listing(harness: Harness) -> None:
    key = harness.done()
    assert harness.tracker.reopen(key) is True
    assert harness.tracker.get_ticket(key).resolved_at is None
    assert list(harness.tracker.resolved_tickets(LABEL, 7)) == []


@pytest.mark.parametrize("write", ["comment", "add_labels", "reopen"])
def test_writes_to_an_unknown_ticket_are_tracker_errors(harness: Harness, write: str) -> None:
    calls = {
        "comment": lambda: harness.tracker.comment(harness.missing, "x"),
        "add_labels": lambda: harness.tracker.add_labels(harness.missing, ["x"]),
        "reopen": lambda: harness.tracker.reopen(harness.missing),
    }
    with pytest.raises(TrackerError):
        calls[write]()


def test_a_created_ticket_is_found_again_by_its_fingerprint(harness: Harness) -> None:
    filed = item()
    assert harness.tracker.find_filed(filed.incident_id, filed.fingerprint).ticket is None
    ticket = harness.tracker.create(filed)
    assert ticket.title == "[Post-Incident] Add connection pooling"
    assert ticket.resolved_at is None and {LABEL, "team-payments"} <= ticket.labels
    assert fingerprint_in(ticket.body) == filed.fingerprint
    found = harness.tracker.find_filed(filed.incident_id, filed.fingerprint)
    assert found.ticket is not None and found.ticket.key == ticket.key and found.squatted == ()
    assert harness.tracker.find_filed(filed.incident_id, item("Something else").fingerprint).ticket is None
