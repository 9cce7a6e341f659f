"""What the Jira adapter looks people up by, what it sends for each write, and what it says when something fails,
through the real adapter against the contract-checked Jira sandbox (#27: written from mutmut's survivors in
`adapters.jira`; each test is named for the behaviour it holds).

- Trust: a trusted author is the one user whose email or display name is the entry exactly, among all the user
  search finds by prefix; on Data Center, the one whose user name is the entry. Anything else trusts nobody, out
  loud.
- Filing: an assignee given by a partial name is the one active person it matches (no app, no deactivated account).
- Every request's path quotes the key and the comment id whole: a key holding `/../` cannot move a write to
  another ticket (urllib3 removes dot segments from a path).
- Every failed request names its ticket and what it was doing; the log lines say what was done.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests
import structlog

from tests.adapters import test_jira_adapter as jr
from tests.adapters.contract import MALFORMED
from tests.adapters.test_filing import action_items, created, jira_tracker, parsed
from tests.tls import private_ca
from verifier.adapters.jira import JiraTracker, history, reading
from verifier.adapters.jira.filing import seed_comment
from verifier.adapters.retry import RetryPolicy
from verifier.domain.formats import find_config
from verifier.domain.protocol import fingerprint_line
from verifier.errors import TrackerError
from verifier.services.filing import file_items
from verifier_sandbox.http import Reply
from verifier_sandbox.jira import JiraSandbox, JiraTransition
from verifier_sandbox.jira_model import JiraUser

INJECTED = "HTTP 500: sandbox: injected failure"


def _events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ("event", "log_level")} for e in logs if e["event"] == name]


def _failing(server: JiraSandbox, suffix: str, method: str | None = None) -> None:
    server.fail(times=10, match=lambda r: r.path.endswith(suffix) and (method is None or r.method == method))


# -- trust -----------------------------------------------------------------------------------------------------
def test_a_trusted_author_is_the_one_user_whose_email_or_display_name_is_the_entry(jira_cloud: JiraSandbox) -> None:
    trent = jira_cloud.user("trent")
    jira_cloud.user("trent-ops")  # "Trent Ops", found by the same prefix: not the one named
    jira_cloud.users["twin"] = replace(JiraUser.named("twin"), display_name="Twin")
    jira_cloud.users["twin-2"] = replace(JiraUser.named("twin-2"), display_name="Twin")
    tracker = jira_tracker(jira_cloud)

    with structlog.testing.capture_logs() as logs:
        identities = tracker.trust(["Trent", "trent@example.com", "Tren", "Twin"])

    assert dict(identities.ids) == {
        "Trent": trent.account_id,
        "trent@example.com": trent.account_id,
        "Tren": None,  # a prefix of two people is neither
        "Twin": None,  # two people with one display name: nobody
    }
    assert [r.param("query") for r in jira_cloud.requests if r.path.endswith("/user/search")] == [
        "Trent",
        "trent@example.com",
        "Tren",
        "Twin",
    ]
    assert _events(logs, "jira.trusted_author_not_resolved") == [
        {"name": "Tren", "matches": 0},
        {"name": "Twin", "matches": 2},
    ]
    assert _events(logs, "jira.trusted_authors") == [
        {
            "mapping": [
                "Tren -> not found (not trusted)",
                f"Trent -> {trent.account_id}",
                "Twin -> not found (not trusted)",
                f"trent@example.com -> {trent.account_id}",
            ]
        }
    ]


def test_a_data_center_trusted_author_is_the_user_with_that_exact_name(jira_dc: JiraSandbox) -> None:
    jira_dc.user("trent")
    jira_dc.user("trent-ops")  # found by the prefix `trent` too
    tracker = jira_tracker(jira_dc)

    identities = tracker.trust(["trent"])

    key = f"JIRAUSER{int(hashlib.sha256(b'trent').hexdigest()[:6], 16)}"  # the sandbox's key for trent
    assert dict(identities.ids) == {"trent": key}
    assert [r.param("username") for r in jira_dc.requests if r.path.endswith("/user/search")] == ["trent"]


def test_a_user_search_that_fails_trusts_nobody_and_says_so(jira_cloud: JiraSandbox) -> None:
    _failing(jira_cloud, "/user/search")
    _failing(jira_cloud, "/myself")
    tracker = jira_tracker(jira_cloud)

    with structlog.testing.capture_logs() as logs:
        identities = tracker.trust(["trent@example.com"])

    assert dict(identities.ids) == {"trent@example.com": None}
    assert _events(logs, "tracker.own_account_unknown") == [
        {"error": f"Jira read the signed-in user failed: {INJECTED} (after 4 attempts)"}
    ]
    assert _events(logs, "jira.trusted_author_lookup_failed") == [
        {
            "name": "trent@example.com",
            "error": f"Jira look up the trusted author 'trent@example.com' failed: {INJECTED} (after 4 attempts)",
        }
    ]


# -- filing ----------------------------------------------------------------------------------------------------
def test_an_assignee_by_part_of_a_name_is_the_one_active_person_it_matches(jira_cloud: JiraSandbox) -> None:
    dana = jira_cloud.user("dana")  # "Dana"
    jira_cloud.users["dana-bot"] = replace(JiraUser.named("dana-bot"), account_type="app")
    jira_cloud.users["dana-old"] = replace(JiraUser.named("dana-old"), active=False)
    doc = action_items()
    doc["items"][0]["assignee"] = "Dan"  # a prefix of all three, the name of none

    report = file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)

    assert report.error is None
    assert jira_cloud.issue("OPS-1").assignee == dana


def test_an_assignee_lookup_that_fails_names_the_assignee(jira_cloud: JiraSandbox) -> None:
    _failing(jira_cloud, "/user/search")
    doc = action_items()
    doc["items"][0]["assignee"] = "dana"

    report = file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)

    assert f"Jira look up the assignee 'dana' failed: {INJECTED} (after 4 attempts)" in str(report.error)
    assert jira_cloud.issues == {}


def test_the_seed_comment_carries_every_resolved_field_on_its_own_line() -> None:
    text = "*Automated Verification Config*\n{code}\nmetric: checkout_latency\ncondition: < 300\ndelay_hours: 1.5\ntype: gauge\nunit: ms\n{code}"
    config = find_config(text)
    assert config is not None and config.type == "gauge" and config.unit == "ms"

    assert seed_comment(config) == (
        "*Automated Verification Config*\n{code}\nmetric: checkout_latency\ncondition: < 300\ndelay_hours: 1.5\n"
        "type: gauge\nunit: ms\n{code}"
    )


def test_edit_body_replaces_the_description_and_a_failure_names_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue(description="before")
    tracker = jr.tracker(jira)

    tracker.edit_body(key, "after, signed")

    (write,) = jira.writes()
    assert (write.method, write.path, write.json()) == (
        "PUT",
        f"/rest/api/2/issue/{key}",
        {"fields": {"description": "after, signed"}},
    )
    assert jira.issue(key).description == "after, signed"
    _failing(jira, f"/issue/{key}")
    with pytest.raises(TrackerError) as caught:
        tracker.edit_body(key, "again")
    assert caught.value.ticket == key
    assert str(caught.value) == f"{key}: Jira edit the description failed: {INJECTED} (after 4 attempts)"


# -- paths -----------------------------------------------------------------------------------------------------
def _write_through(tracker: Any, method: str, key: str) -> Any:
    return {
        "add_labels": lambda: tracker.add_labels(key, ["moved"]),
        "edit_body": lambda: tracker.edit_body(key, "moved"),
        "reopen": lambda: tracker.reopen(key),
        "comment": lambda: tracker.comment(key, "moved"),
        "comment_and_label": lambda: tracker.comment(key, "moved", ["moved"]),
    }[method]()


@pytest.mark.parametrize("method", ["add_labels", "edit_body", "reopen", "comment", "comment_and_label"])
def test_a_key_with_dot_segments_cannot_move_a_write_to_another_ticket(jira: JiraSandbox, method: str) -> None:
    first, second = jira.add_issue(description="one"), jira.add_issue(description="two")
    before = (jira.issue(second).labels[:], jira.issue(second).description, jira.issue(second).status)

    with pytest.raises(TrackerError):
        _write_through(jr.tracker(jira), method, f"{first}/../{second}")

    assert (jira.issue(second).labels, jira.issue(second).description, jira.issue(second).status) == before
    assert jira.issue(second).comments == []
    assert all("%2F" in r.path for r in jira.requests if "/issue/" in r.path)


def test_a_key_with_dot_segments_cannot_read_another_ticket(jira: JiraSandbox) -> None:
    first, second = jira.add_issue(description="one"), jira.add_issue(description="two")

    with pytest.raises(TrackerError, match="HTTP 404"):
        jr.tracker(jira).get_ticket(f"{first}/../{second}")

    assert [r.path for r in jira.requests if "/issue/" in r.path] == [f"/rest/api/2/issue/{first}%2F..%2F{second}"]


def test_a_ticket_read_asks_for_the_fields_it_reads_and_its_history(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jr.tracker(jira).get_ticket(key)
    (read,) = [r for r in jira.requests if r.path.endswith(f"/issue/{key}")]
    assert read.query == (("fields", ",".join(reading.READ_FIELDS)), ("expand", "changelog"))


def test_a_comment_id_with_dot_segments_cannot_delete_another_tickets_comment(jira: JiraSandbox) -> None:
    first, second = jira.add_issue(), jira.add_issue()
    theirs = jira.add_comment(second, "keep me")

    with pytest.raises(TrackerError):
        jr.tracker(jira).delete_comment(second, f"0/../../{second}/comment/{theirs}")
    with pytest.raises(TrackerError):
        jr.tracker(jira).delete_comment(f"{first}/../{second}", theirs)

    assert [c.body for c in jira.issue(second).comments] == ["keep me"]


# -- what a failure names --------------------------------------------------------------------------------------
def test_each_failed_write_names_its_ticket_and_what_it_was_doing(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    comment = jira.add_comment(key, "a result")
    tracker = jr.tracker(jira)
    _failing(jira, f"/issue/{key}", "PUT")
    _failing(jira, f"/comment/{comment}", "DELETE")

    with pytest.raises(TrackerError) as labels:
        tracker.add_labels(key, ["verified"])
    with pytest.raises(TrackerError) as deleted:
        tracker.delete_comment(key, comment)

    assert (labels.value.ticket, deleted.value.ticket) == (key, key)
    assert str(labels.value) == f"{key}: Jira add labels failed: {INJECTED} (after 4 attempts)"
    assert str(deleted.value) == f"{key}: Jira delete comment failed: {INJECTED} (after 4 attempts)"
    assert [c.body for c in jira.issue(key).comments] == ["a result"]


def test_a_ticket_read_that_fails_names_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    _failing(jira, f"/issue/{key}", "GET")

    with pytest.raises(TrackerError) as caught:
        jr.tracker(jira).get_ticket(key)

    assert caught.value.ticket == key
    assert str(caught.value) == f"{key}: Jira read failed: {INJECTED} (after 4 attempts)"


def test_an_issue_without_its_fields_is_refused_naming_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    issue = {k: v for k, v in _as_served(jira, key).items() if k != "fields"}
    jira.faults.inject(Reply.json(200, issue), match=lambda r: r.path.endswith(f"/issue/{key}"))

    with pytest.raises(TrackerError) as caught:
        jr.tracker(jira).get_ticket(key)

    assert (caught.value.ticket, str(caught.value)) == (key, f"{key}: Jira returned the issue without its fields")


def test_an_issue_of_an_unexpected_shape_is_refused_naming_the_ticket_and_the_fault(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    issue = _as_served(jira, key)
    issue["fields"]["created"] = "yesterday"
    jira.faults.inject(Reply.json(200, issue), match=lambda r: r.path.endswith(f"/issue/{key}"))

    with pytest.raises(TrackerError) as caught:
        jr.tracker(jira).get_ticket(key)

    assert (caught.value.ticket, str(caught.value)) == (
        key,
        f"{key}: unexpected Jira issue shape: Invalid isoformat string: 'yesterday'",
    )


def test_an_issue_without_a_description_has_an_empty_body(jira: JiraSandbox) -> None:
    key = jira.add_issue(description=None)
    assert jr.tracker(jira).get_ticket(key).body == ""


def test_comments_missing_from_the_issue_are_read_from_their_own_pages(jira: JiraSandbox) -> None:
    """An issue whose `comment` field is missing, or carries no `comments`, has its comments read page by page."""
    keys = [jira.add_issue() for _ in range(2)]
    for key, comment in zip(keys, ({"drop": True}, {"total": 1, "startAt": 0, "maxResults": 0}), strict=True):
        jira.add_comment(key, f"a result on {key}")
        issue = _as_served(jira, key)
        if "drop" in comment:
            del issue["fields"]["comment"]
        else:
            issue["fields"]["comment"] = comment
        jira.faults.inject(Reply.json(200, issue), match=lambda r, key=key: r.path.endswith(f"/issue/{key}"))

    tracker = jr.tracker(jira)
    assert [[c.body for c in tracker.get_ticket(key).comments] for key in keys] == [[f"a result on {k}"] for k in keys]


def test_a_reopen_that_fails_names_the_ticket_and_the_step(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    tracker = jr.tracker(jira)
    _failing(jira, "/transitions", "GET")
    with pytest.raises(TrackerError) as listing:
        tracker.reopen(key)
    assert listing.value.ticket == key
    assert str(listing.value) == f"{key}: Jira list transitions failed: {INJECTED} (after 4 attempts)"

    jira.faults.clear()
    jira.fail(times=1, match=lambda r: r.path.endswith("/transitions") and r.method == "POST")
    with pytest.raises(TrackerError) as posting:
        tracker.reopen(key)
    assert posting.value.ticket == key
    assert str(posting.value) == f"{key}: Jira reopen failed: {INJECTED}"
    assert jira.issue(key).status == "Done"


def test_a_history_page_that_fails_is_a_gap_naming_the_ticket(jira_cloud: JiraSandbox) -> None:
    key = jira_cloud.add_issue(labels=[jr.LABEL])
    for n in range(120):
        jira_cloud.edit_labels(key, add=[f"noise-{n}"], remove=[f"noise-{n - 1}"], editor="alice")
    tracker = jr.tracker(jira_cloud)
    assert tracker.get_ticket(key).history_gap is None
    pages = [r for r in jira_cloud.requests if r.path.endswith("/changelog")]
    assert [(r.param("startAt"), r.param("maxResults")) for r in pages] == [("0", "100"), ("100", "100")]

    _failing(jira_cloud, "/changelog")
    with structlog.testing.capture_logs() as logs:
        gap = tracker.get_ticket(key).history_gap

    assert gap == f"its history could not be read: {key}: Jira read the history failed: {INJECTED} (after 4 attempts)"
    assert [e["ticket"] for e in _events(logs, "jira.history_unread")] == [key]


def test_reading_permissions_that_fails_says_what_was_read(jira_cloud: JiraSandbox) -> None:
    _failing(jira_cloud, "/mypermissions")
    with pytest.raises(TrackerError) as caught:
        jira_tracker(jira_cloud).access(datetime.now(UTC))
    assert str(caught.value) == f"Jira read my permissions failed: {INJECTED} (after 4 attempts)"


# -- the history trust reads (verifier.adapters.jira.history: pure, fed as the adapter feeds it) ------------------
def _change(ident: str, who: str, created: str, *items: tuple[str, str | None, str | None]) -> dict[str, Any]:
    changes = [{"field": field, "fromString": old, "toString": new} for field, old, new in items]
    return {"id": ident, "author": {"name": who}, "created": created, "items": changes}


def _who(user: Any) -> str:
    return str(user["name"]) if isinstance(user, dict) else ""


LABELLED = _change("1", "alice", "2026-01-01T00:00:00.000+0000", ("labels", "", "pm"), ("status", "Done", "Open"))
REOPENED = _change("2", "bob", "2026-01-02T00:00:00.000+0000", ("status", "Open", "Done"))


def test_the_inline_history_is_whole_when_it_holds_every_item() -> None:
    asked: list[int] = []

    def fetch(start: int) -> dict[str, Any]:
        asked.append(start)
        return {}

    kept = [{"id": "1", "author": {"name": "alice"}, "created": LABELLED["created"], "items": LABELLED["items"][:1]}]
    assert history.whole_history("OPS-1", {"histories": [LABELLED, REOPENED, "junk"], "total": 2}, fetch) == (
        kept,
        None,
    )
    assert history.whole_history("OPS-1", {"histories": [LABELLED]}, fetch) == (kept, None)
    assert asked == []
    assert history.whole_history("OPS-1", None, fetch) == ([], "the tracker sent no history")
    assert history.whole_history("OPS-1", {"histories": [LABELLED, REOPENED], "total": 5}, None) == (
        kept,
        "2 of 5 history items came and there are no more pages",
    )


@pytest.mark.parametrize(
    ("pages", "asked"),
    [
        ({0: [2, {"total": 5}], 2: [2, {"total": 5}], 4: [1, {"total": 5}]}, [0, 2, 4]),  # to the total
        ({0: [1, {"total": 9, "isLast": False}], 1: [1, {"total": 9, "isLast": True}]}, [0, 1]),  # to isLast
        ({0: [1, {"total": 9}], 1: [0, {"total": 9}]}, [0, 1]),  # to an empty page
    ],
    ids=["total", "isLast", "empty page"],
)
def test_a_longer_history_is_read_page_by_page_to_its_end(pages: dict[int, list[Any]], asked: list[int]) -> None:
    served: list[int] = []
    made = iter(range(100, 200))

    def fetch(start: int) -> dict[str, Any]:
        served.append(start)
        count, rest = pages.get(start, [0, {}])
        edits = [_change(str(next(made)), f"user{start}", "2026-01-03T00:00:00.000+0000", ("description", "a", "b"))]
        return {"values": [*edits, *(REOPENED | {"id": str(next(made))} for _ in range(count - 1))][:count], **rest}

    found, gap = history.whole_history("OPS-1", {"histories": [LABELLED], "total": 50}, fetch)

    assert (served, gap) == (asked, None)
    assert [h["author"]["name"] for h in found] == [f"user{start}" for start in asked if pages[start][0]]


def test_a_history_that_fails_or_repeats_itself_is_a_gap_said_out_loud() -> None:
    def failing(start: int) -> dict[str, Any]:
        raise TrackerError("Jira read the history failed: HTTP 500", ticket="OPS-1")

    def repeating(start: int) -> dict[str, Any]:
        return {"values": [LABELLED], "total": 9}

    kept = history.relevant([LABELLED])
    with structlog.testing.capture_logs() as logs:
        assert history.whole_history("OPS-1", {"histories": [LABELLED], "total": 9}, failing) == (
            kept,
            "its history could not be read: OPS-1: Jira read the history failed: HTTP 500",
        )
        assert history.whole_history("OPS-2", {"histories": [LABELLED], "total": 9}, repeating) == (
            kept,
            "its history could not be read: OPS-2: Jira history: page 2 repeats an earlier page; stopped (the "
            "listing does not advance)",
        )
    assert [e["ticket"] for e in _events(logs, "jira.history_unread")] == ["OPS-1", "OPS-2"]
    assert _events(logs, "jira.history_unread")[0] == {
        "ticket": "OPS-1",
        "error": "OPS-1: Jira read the history failed: HTTP 500",
    }


def test_who_edited_the_body_and_who_added_each_label_in_the_order_jira_recorded_them() -> None:
    """Sorted by time, then by id as a number (`"11"` before `"100"`); the last to add a label is its adder, a
    label nobody added came with the ticket (its creator's), and a gap leaves nobody known to have added one."""
    changes = history.relevant(
        [
            _change("100", "dave", "2026-01-03T00:00:00.000+0000", ("description", "c", "d")),
            _change("11", "erin", "2026-01-03T00:00:00.000+0000", ("description", "b", "c")),
            _change("10", "carol", "2026-01-03T00:00:00.000+0000", ("description", "a", "b")),
            _change(
                "9", "bob", "2026-01-04T00:00:00.000+0000", ("description", "d", "e"), ("labels", "pm", "pm verified")
            ),
            _change("12", "mallory", "2026-01-02T00:00:00.000+0000", ("labels", "pm", "pm verified")),
            _change("13", "mallory", "2026-01-02T00:00:00.000+0000", ("labels", "other", "other pm")),
            _change("14", "carol", "2026-01-05T00:00:00.000+0000", ("description", "e", "f")),
        ]
    )
    fields = {"creator": {"name": "alice"}, "labels": ["pm", "verified", "other"]}

    assert history.trust_fields(changes, fields, _who, None) == {
        "creator": "alice",
        "body_edited_by": ("carol", "erin", "dave", "bob"),
        "labelled_by": (("pm", "mallory"), ("verified", "bob"), ("other", "alice")),
        "history_gap": None,
    }
    assert history.trust_fields(changes, fields, _who, "a gap") == {
        "creator": "alice",
        "body_edited_by": ("carol", "erin", "dave", "bob"),
        "labelled_by": None,
        "history_gap": "a gap",
    }


# -- reopening: the cached transition -------------------------------------------------------------------------
def test_a_cached_transition_that_fails_otherwise_than_by_refusal_is_not_tried_again(jira: JiraSandbox) -> None:
    first, second = jira.add_issue(), jira.add_issue()
    tracker = jr.tracker(jira)
    for key in (first, second):
        tracker.get_ticket(key)
    assert tracker.reopen(first) is True
    jira.fail(times=1, match=lambda r: r.path.endswith(f"/issue/{second}/transitions") and r.method == "POST")

    with pytest.raises(TrackerError, match="Jira reopen failed: HTTP 500"):
        tracker.reopen(second)

    lists = [r for r in jira.requests if r.method == "GET" and r.path.endswith("/transitions")]
    assert len(lists) == 1  # first's only: a 500 may have moved the ticket, so nothing else is tried
    assert len([w for w in jira.writes() if w.path.endswith("/transitions")]) == 2


def test_a_refused_cached_transition_is_forgotten_even_when_the_ticket_offers_none(jira: JiraSandbox) -> None:
    first, stuck, also_stuck = jira.add_issue(), jira.add_issue(workflow="none"), jira.add_issue(workflow="none")
    tracker = jr.tracker(jira)
    for key in (first, stuck, also_stuck):
        tracker.get_ticket(key)  # one project, issue type and status: one workflow status for the three

    with structlog.testing.capture_logs() as logs:
        assert tracker.reopen(first) is True
        assert tracker.reopen(stuck) is False  # the cached transition refused, none offered
        assert tracker.reopen(also_stuck) is False  # asks afresh: no second refused write

    assert [w.json() for w in jira.writes()] == [{"transition": {"id": "11"}}] * 2
    assert _events(logs, "jira.reopened") == [{"ticket": first, "transition": "To Do"}]
    (refused,) = _events(logs, "jira.cached_transition_refused")
    assert refused["ticket"] == stuck and refused["error"].startswith(f"{stuck}: Jira reopen failed: HTTP 400")
    assert _events(logs, "jira.no_reopen_transition") == [
        {"ticket": stuck, "configured": None, "offered": []},
        {"ticket": also_stuck, "configured": None, "offered": []},
    ]


def test_reopening_by_the_cached_transition_logs_its_name(jira: JiraSandbox) -> None:
    jira.set_workflow("review", [JiraTransition("41", "Back to review", "In Review", "indeterminate")])
    keys = [jira.add_issue(workflow="review") for _ in range(2)]
    tracker = jr.tracker(jira, reopen_transition="Escalate")
    with structlog.testing.capture_logs() as logs:
        assert tracker.reopen(keys[0]) is False
    assert _events(logs, "jira.no_reopen_transition") == [
        {"ticket": keys[0], "configured": "Escalate", "offered": ["Back to review"]}
    ]

    tracker = jr.tracker(jira)
    for key in keys:
        tracker.get_ticket(key)
    with structlog.testing.capture_logs() as logs:
        assert all(tracker.reopen(key) for key in keys)
    assert _events(logs, "jira.reopened") == [{"ticket": key, "transition": "Back to review"} for key in keys]


# -- searches --------------------------------------------------------------------------------------------------
def test_the_report_search_counts_from_utc_whatever_the_machines_time_zone(
    jira_cloud: JiraSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        tracker = jira_tracker(jira_cloud, extra_jql="team = core")
        jql = tracker.report_jql("postmortem", datetime(2026, 3, 10, 8, 30, tzinfo=UTC))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert jql == (
        'labels = "postmortem" AND (statusCategory != Done OR updated >= "2026/03/09 08:30") AND project = "OPS" '
        "AND (team = core) ORDER BY key ASC"
    )


def test_the_report_listing_logs_its_search(jira_cloud: JiraSandbox) -> None:
    key = jira_cloud.add_issue(labels=[jr.LABEL], status="In Progress")
    tracker = jr.tracker(jira_cloud)
    since = datetime(2026, 3, 10, tzinfo=UTC)
    with structlog.testing.capture_logs() as logs:
        assert [t.key for t in tracker.post_incident_tickets(jr.LABEL, since)] == [key]
    assert _events(logs, "jira.search") == [{"jql": tracker.report_jql(jr.LABEL, since)}]


def test_a_search_that_fails_names_what_it_was_doing(jira: JiraSandbox) -> None:
    jira.add_issue(labels=[jr.LABEL])
    _failing(jira, "/search/jql" if jira.cloud else "/search")

    with pytest.raises(TrackerError) as caught:
        list(jr.tracker(jira).resolved_tickets(jr.LABEL, 7))

    assert caught.value.ticket is None
    assert str(caught.value) == f"Jira search failed: {INJECTED} (after 4 attempts)"


def test_a_cloud_search_page_without_a_token_is_the_last_and_one_without_issues_lists_none(
    jira_cloud: JiraSandbox,
) -> None:
    """Jira Cloud leaves `nextPageToken` out on the last page (`isLast` may be missing too), a page that says
    `isLast` is the last whatever token it carries, and a page may carry no `issues`: the listing ends there,
    empty, after one request."""
    jira_cloud.add_issue(labels=[jr.LABEL])
    tracker = jr.tracker(jira_cloud)
    for answer in ({"issues": []}, {"isLast": True}, {"issues": [], "isLast": True, "nextPageToken": "more"}):
        jira_cloud.clear_requests()
        jira_cloud.faults.inject(Reply.json(200, answer), match=lambda r: r.path.endswith("/search/jql"))

        assert list(tracker.resolved_tickets(jr.LABEL, 7)) == []
        assert len([r for r in jira_cloud.requests if r.path.endswith("/search/jql")]) == 1


def test_a_cloud_search_whose_token_leads_back_stops_at_the_cycle(jira_cloud: JiraSandbox) -> None:
    """Empty pages whose `nextPageToken` comes round again: stopped at the second page, naming the cycle, well
    before the page cap."""
    jira_cloud.faults.inject(
        Reply.json(200, {"issues": [], "isLast": False, "nextPageToken": "round"}),
        times=10,
        match=lambda r: r.path.endswith("/search/jql"),
    )
    tracker = JiraTracker(jr.connect(jira_cloud), retry=RetryPolicy(sleep=lambda _: None), max_pages=5)

    with pytest.raises(TrackerError) as caught:
        list(tracker.resolved_tickets(jr.LABEL, 7))

    assert str(caught.value) == (
        f"Jira search ({tracker.jql(jr.LABEL, 7)}): page 2 leads back to an earlier page token; stopped (a cycle)"
    )
    assert [r.param("nextPageToken") for r in jira_cloud.requests if r.path.endswith("/search/jql")] == [None, "round"]


def _as_served(server: JiraSandbox, key: str) -> dict[str, Any]:
    """The issue as the sandbox serves it (for a search page answered by hand)."""
    auth = (server.email, server.api_token) if server.cloud else None
    headers = {} if server.cloud else {"Authorization": f"Bearer {server.pat}"}
    answer = requests.get(f"{server.url}/rest/api/2/issue/{key}", auth=auth, headers=headers, timeout=10)
    issue: dict[str, Any] = answer.json()
    return issue


def test_a_cloud_search_page_served_again_under_a_new_token_stops_the_listing(jira_cloud: JiraSandbox) -> None:
    key = jira_cloud.add_issue(labels=[jr.LABEL])
    issue = _as_served(jira_cloud, key)
    for token in ("one", "two", "three"):
        jira_cloud.faults.inject(
            Reply.json(200, {"issues": [issue], "isLast": False, "nextPageToken": token}),
            match=lambda r: r.path.endswith("/search/jql"),
        )
    tracker = jr.tracker(jira_cloud)

    with pytest.raises(TrackerError) as caught:
        list(tracker.resolved_tickets(jr.LABEL, 7))

    assert str(caught.value) == (
        f"Jira search ({tracker.jql(jr.LABEL, 7)}): page 2 repeats an earlier page; stopped (the listing does not "
        "advance)"
    )


def test_a_cloud_search_whose_last_page_carries_an_earlier_token_ends_there(jira_cloud: JiraSandbox) -> None:
    """Only a token that would be followed can lead back: the last page's is never asked for."""
    for answer in (
        {"issues": [], "isLast": False, "nextPageToken": "a"},
        {"issues": [], "isLast": True, "nextPageToken": "a"},
    ):
        jira_cloud.faults.inject(Reply.json(200, answer), match=lambda r: r.path.endswith("/search/jql"))

    assert list(jr.tracker(jira_cloud).resolved_tickets(jr.LABEL, 7)) == []
    assert [r.param("nextPageToken") for r in jira_cloud.requests if r.path.endswith("/search/jql")] == [None, "a"]


def test_a_data_center_search_page_without_issues_or_total_ends_the_listing(jira_dc: JiraSandbox) -> None:
    """A page without `issues` lists none; a page without `total` is the last: one request each."""
    key = jira_dc.add_issue(labels=[jr.LABEL])
    issue = _as_served(jira_dc, key)
    tracker = jr.tracker(jira_dc)
    for answer, listed in (({"startAt": 0, "maxResults": 50}, []), ({"startAt": 0, "issues": [issue]}, [key])):
        jira_dc.clear_requests()
        jira_dc.faults.inject(Reply.json(200, answer), match=lambda r: r.path.endswith("/search"))

        assert [t.key for t in tracker.resolved_tickets(jr.LABEL, 7)] == listed
        assert len([r for r in jira_dc.requests if r.path.endswith("/search")]) == 1


def test_a_data_center_search_page_served_again_stops_the_listing(jira_dc: JiraSandbox) -> None:
    key = jira_dc.add_issue(labels=[jr.LABEL])
    page = {"startAt": 0, "maxResults": 1, "total": 3, "issues": [_as_served(jira_dc, key)]}
    jira_dc.faults.inject(Reply.json(200, page), times=3, match=lambda r: r.path.endswith("/search"))
    tracker = jr.tracker(jira_dc)

    with pytest.raises(TrackerError) as caught:
        list(tracker.resolved_tickets(jr.LABEL, 7))

    assert str(caught.value) == (
        f"Jira search ({tracker.jql(jr.LABEL, 7)}): page 2 repeats an earlier page; stopped (the listing does not "
        "advance)"
    )


def test_a_label_with_quotes_and_backslashes_is_searched_for_exactly(jira: JiraSandbox) -> None:
    label = 'post"mortem\\x'
    key = jira.add_issue(labels=[label])
    jira.add_issue(labels=["post"])
    tracker = jr.tracker(jira)

    assert tracker.jql(label, 7) == (
        'labels = "post\\"mortem\\\\x" AND statusCategory = Done AND resolved >= -7d ORDER BY key ASC'
    )
    assert [t.key for t in tracker.resolved_tickets(label, 7)] == [key]


def test_data_center_batched_reads_ask_for_no_reconciliation(jira_dc: JiraSandbox) -> None:
    keys = [jira_dc.add_issue() for _ in range(2)]
    tracker = jr.tracker(jira_dc)
    for key in keys:
        tracker.get_ticket(key)
    assert sorted(tracker.get_tickets(keys)) == keys
    (search,) = [r for r in jira_dc.requests if "/search" in r.path]
    assert search.param("reconcileIssues") is None


def test_the_tickets_remembered_for_reconciling_and_reopening_are_the_latest_read(
    jira_cloud: JiraSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both memories keep the last `_WORKFLOWS_KEPT` tickets read (here two of three): the ids a batched re-read
    reconciles, and the workflow status a reopen takes its cached transition by."""
    monkeypatch.setattr(reading, "_WORKFLOWS_KEPT", 2)
    first, second, third = (jira_cloud.add_issue() for _ in range(3))
    tracker = jr.tracker(jira_cloud)
    for key in (first, second, third):
        tracker.get_ticket(key)

    tracker.get_tickets([first, second, third])
    (search,) = [r for r in jira_cloud.requests if r.path.endswith("/search/jql")]
    assert search.params("reconcileIssues") == [str(jira_cloud.issue(key).id) for key in (second, third)]

    for key in (third, second, first):
        assert tracker.reopen(key) is True
    listed = [r.path for r in jira_cloud.requests if r.method == "GET" and r.path.endswith("/transitions")]
    # third's status lists and caches the transition; second's takes it; first's status was forgotten.
    assert listed == [f"/rest/api/2/issue/{key}/transitions" for key in (third, first)]


@pytest.mark.parametrize(
    "other",
    [{"project": "WEB"}, {"issue_type": "Bug"}, {"status": "Closed", "category": "done"}],
    ids=["project", "issue type", "status"],
)
def test_a_transition_cached_for_one_workflow_status_is_never_sent_for_another(
    jira: JiraSandbox, other: dict[str, str]
) -> None:
    """A workflow belongs to a project and an issue type, and what it offers depends on the status: elsewhere
    transition 11 may mean something else (here: archiving), so each is asked for on its own."""
    jira.set_workflow(
        "web",
        [JiraTransition("11", "Archive", "Archived", "done"), JiraTransition("21", "Back to work", "To Do", "new")],
    )
    ops, web = jira.add_issue(), jira.add_issue(workflow="web", **other)
    tracker = jr.tracker(jira)
    for key in (ops, web):
        tracker.get_ticket(key)

    assert tracker.reopen(ops) is True and tracker.reopen(web) is True

    assert (jira.issue(ops).status, jira.issue(web).status) == ("To Do", "To Do")
    assert [(w.path, w.json()) for w in jira.writes()] == [
        (f"/rest/api/2/issue/{ops}/transitions", {"transition": {"id": "11"}}),
        (f"/rest/api/2/issue/{web}/transitions", {"transition": {"id": "21"}}),
    ]


@pytest.mark.parametrize(
    ("priorities", "levels"),
    [
        (None, ["P0", "P1", "P2", "P3", None, None]),  # the default mapping: by name
        ({"P0": "1", "P1": "hIGH", "P2": "3"}, ["P0", "P1", "P2", "P3", None, None]),  # by id, by name any case
        ({"P0": "5", "P1": "Medium", "P2": "2"}, [None, "P2", "P1", "P3", "P0", None]),
    ],
    ids=["default", "ids and names", "reordered"],
)
def test_a_tickets_priority_is_read_through_the_filing_mapping(
    jira: JiraSandbox, priorities: dict[str, str] | None, levels: list[str | None]
) -> None:
    names = ["Highest", "High", "Medium", "Low", "Lowest", None]
    keys = [jira.add_issue(priority=name) for name in names]
    tracker = jr.tracker(jira, **({"priorities": priorities} if priorities else {}))

    assert [tracker.get_ticket(key).priority for key in keys] == levels


def test_the_tracker_says_which_credential_it_uses_and_nothing_of_it(jira: JiraSandbox) -> None:
    tracker = jr.tracker(jira)
    method = "email+api_token" if jira.cloud else "pat"
    assert repr(tracker) == f"JiraTracker(url={jira.url!r}, auth={method})"


def test_an_assignee_by_email_is_the_user_with_that_email_among_longer_ones(jira_cloud: JiraSandbox) -> None:
    dana = jira_cloud.user("dana")
    jira_cloud.users["dana-au"] = JiraUser.named("dana-au", "dana@example.com.au")  # found by the same prefix
    doc = action_items()
    doc["items"][0]["assignee"] = "DANA@example.com"

    report = file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)

    assert report.error is None
    assert jira_cloud.issue("OPS-1").assignee == dana


def test_an_ambiguous_assignee_names_five_of_the_people_it_matches(jira_cloud: JiraSandbox) -> None:
    for n in range(6):
        jira_cloud.user(f"dana-{n}")
    doc = action_items()
    doc["items"][0]["assignee"] = "Dana"

    report = file_items(parsed(doc), jira_tracker(jira_cloud), None, dry_run=False)

    assert "the assignee 'Dana' matches 6 users (Dana 0, Dana 1, Dana 2, Dana 3, Dana 4); give an email" in str(
        report.error
    )
    assert jira_cloud.issues == {}


def test_filing_sends_the_due_date_and_each_mapped_field_value(jira_cloud: JiraSandbox) -> None:
    jira_cloud.user("alice")
    jira_cloud.custom_fields = {"customfield_10042": "string", "customfield_10016": "number"}
    doc = action_items()
    doc["items"][0]["fields"] = {"team": "Payments", "story_points": 3}
    mapping = {"team": "customfield_10042", "story_points": "customfield_10016"}
    tracker = jira_tracker(jira_cloud, custom_fields=mapping)
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)

    with structlog.testing.capture_logs() as logs:
        report = file_items(
            parsed(doc), tracker, None, dry_run=False, now=now, sla_days={"P1": 7, "P3": 90}, field_names=set(mapping)
        )

    assert report.error is None
    first, second = (body["fields"] for body in created(jira_cloud))
    assert (first["duedate"], first["customfield_10042"], first["customfield_10016"]) == ("2026-11-28", "Payments", 3)
    assert second["duedate"] == "2027-02-19" and "customfield_10042" not in second
    assert [e["ticket"] for e in logs if e["event"] == "jira.created"] == ["OPS-1", "OPS-2"]
    assert [e["fingerprint"] for e in logs if e["event"] == "jira.created"] == [
        item.fingerprint for item in report.items
    ]
    assert _events(logs, "jira.seed_comment_skipped") == [  # unit, labels and a window: more than the seed's fields
        {"ticket": "OPS-1", "reason": "the config needs more than the seed's fields"}
    ]


def test_a_create_answer_without_a_key_is_refused_naming_it(jira_cloud: JiraSandbox) -> None:
    jira_cloud.user("alice")
    jira_cloud.faults.inject(Reply.json(201, {}), match=lambda r: r.method == "POST" and r.path.endswith("/issue"))

    report = file_items(parsed(), jira_tracker(jira_cloud), None, dry_run=False)

    assert "Jira create the issue: the answer carries no issue key" in str(report.error)


def test_filing_without_a_project_says_which_setting_is_missing(jira_cloud: JiraSandbox) -> None:
    report = file_items(parsed(), jira_tracker(jira_cloud, project=None), None, dry_run=False)
    assert str(report.error) == (
        'item 1 ("Add connection pooling to the payments client"): '
        "filing needs the Jira project key to create issues in (VERIFIER_JIRA_PROJECT)"
    )
    assert jira_cloud.writes() == []


# -- what is read ----------------------------------------------------------------------------------------------
def test_a_comment_edited_by_someone_else_says_who_and_when(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    ours = jira.add_comment(key, "a result", author=jira.bot.name)
    jira.add_comment(key, "untouched", author="bob")
    at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    jira.edit_comment(key, ours, "a forged result", editor="mallory", at=at)

    edited, untouched = jr.tracker(jira).get_ticket(key).comments

    mallory = jira.user("mallory").account_id if jira.cloud else "mallory"
    assert (edited.id, edited.body, edited.updated_by, edited.updated) == (ours, "a forged result", mallory, at)
    assert untouched.updated_by == (jira.user("bob").account_id if jira.cloud else "bob")  # Jira: its author


def test_a_filed_ticket_is_found_by_its_creator_never_its_editable_reporter(jira: JiraSandbox) -> None:
    """Someone else created an issue carrying the item's fingerprint and set its reporter to the tool's account:
    it is a squatter, not the tool's filing."""
    fingerprint = "0123456789abcdef"
    body = f"An action item.\n\n{fingerprint_line(fingerprint)}"
    squatter = jira.add_issue(
        description=body, labels=["incident-INC-7"], creator="mallory", reporter=jira.bot.name, status="To Do"
    )
    tracker = jira_tracker(jira)

    with structlog.testing.capture_logs():
        filed = tracker.find_filed("INC-7", fingerprint)

    assert (filed.ticket, filed.squatted) == (None, (squatter,))
    (search,) = [r for r in jira.requests if "/search" in r.path]
    assert search.param("jql") == 'labels = "incident-INC-7" AND project = "OPS" ORDER BY key ASC'
    assert search.param("fields") == "description,creator,reporter" and search.param("expand") is None


def test_a_not_a_fix_resolution_is_skipped_naming_the_ticket(jira: JiraSandbox) -> None:
    skipped = jira.add_issue(labels=[jr.LABEL], resolution="Won't Do")
    kept = jira.add_issue(labels=[jr.LABEL])
    tracker = jr.tracker(jira)

    with structlog.testing.capture_logs() as logs:
        assert [t.key for t in tracker.resolved_tickets(jr.LABEL, 7)] == [kept]

    assert _events(logs, "jira.skip_not_a_fix") == [{"ticket": skipped, "resolution": "Won't Do"}]
    assert _events(logs, "jira.search") == [{"jql": tracker.jql(jr.LABEL, 7)}]


def test_the_listing_looks_back_at_least_one_day(jira_cloud: JiraSandbox) -> None:
    tracker = jira_tracker(jira_cloud)
    assert tracker.jql("postmortem", 1) == (
        'labels = "postmortem" AND statusCategory = Done AND resolved >= -1d AND project = "OPS" ORDER BY key ASC'
    )
    with pytest.raises(ValueError, match=r"^lookback_days must be at least 1$"):
        tracker.jql("postmortem", 0)


def test_the_cloud_id_check_trusts_the_ca_bundle_the_tracker_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`access` reads the site's tenant_info with the tracker's own TLS settings: a site behind a private CA is
    checked, not reported unreadable."""
    ca = private_ca(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # as many images set it
    with JiraSandbox("cloud").use_tls(ca.server_context()) as site:
        tracker = jira_tracker(site, cloud_id=site.cloud_id, api_gateway_url=site.url, ca_bundle=str(ca.ca_bundle))
        found = tracker.access(datetime.now(UTC))
    assert f"VERIFIER_JIRA_CLOUD_ID is {site.url}'s cloud id" in found.granted
    assert found.warnings == () and found.missing == ()


def test_a_comment_with_labels_that_fails_names_the_ticket_and_is_sent_once(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    _failing(jira, f"/issue/{key}", "PUT")
    with pytest.raises(TrackerError) as caught:
        jr.tracker(jira).comment(key, "a result", ["verified"])
    assert caught.value.ticket == key
    assert str(caught.value) == f"{key}: Jira comment and label failed: {INJECTED}"  # a PUT that adds a comment
    assert len(jira.writes()) == 1


def test_a_signed_in_user_without_an_id_is_refused(jira_cloud: JiraSandbox) -> None:
    jira_cloud.faults.inject(Reply.json(200, {"active": True}), match=lambda r: r.path.endswith("/myself"))
    with pytest.raises(TrackerError) as caught:
        jr.tracker(jira_cloud).account()
    assert str(caught.value) == "Jira's /myself answer carries no account id or user name"


@pytest.mark.parametrize(
    "page_items",
    [["not an issue"], [None], "issues", ()],
    ids=["a string", "null", "not a list", "a page that is a list"],
)
def test_a_search_page_whose_issues_are_not_objects_is_refused_naming_the_search(
    jira: JiraSandbox, page_items: Any
) -> None:
    """A strange answer stops the listing with a TrackerError the run reports ("listing tickets stopped"), not an
    AttributeError that ended the whole run with a traceback."""
    key = jira.add_issue(labels=[jr.LABEL])
    issue = _as_served(jira, key)
    items = [issue, *page_items] if isinstance(page_items, list) else page_items
    page: Any = {"issues": items, "isLast": True} if jira.cloud else {"issues": items, "startAt": 0, "total": 2}
    if page_items == ():
        page = [issue]
    off_contract = [(MALFORMED, "issues that are not objects")]
    search = "/search/jql" if jira.cloud else "/search"
    jira.faults.inject(Reply.json(200, page, off_contract), match=lambda r: r.path.endswith(search))
    tracker = jr.tracker(jira)

    with pytest.raises(TrackerError) as caught:
        list(tracker.resolved_tickets(jr.LABEL, 7))

    assert caught.value.ticket is None
    assert str(caught.value) == f"Jira search ({tracker.jql(jr.LABEL, 7)}): its issues are not all objects"


def test_an_issue_answered_as_something_else_than_an_object_is_refused_naming_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    answer = Reply.json(200, ["not", "an", "issue"], [(MALFORMED, "an issue that is a list")])
    jira.faults.inject(answer, match=lambda r: r.path.endswith(f"/issue/{key}"))

    with pytest.raises(TrackerError) as caught:
        jr.tracker(jira).get_ticket(key)

    assert caught.value.ticket == key
    assert str(caught.value) == f"{key}: Jira answered the issue with something other than an object"
