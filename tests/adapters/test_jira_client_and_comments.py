"""What the Jira client sends and says, and how a ticket's comments and people are read, through the real adapter
against the contract-checked Jira sandbox (#27: written from mutmut's survivors in `adapters.jira.client` and
`adapters.jira.reading`; each test is named for the behaviour it holds).

- The deployment (Cloud or Data Center) is read once and logged with its version; a failed read says so.
- Every request asks for JSON, a read sends no body, an answer that is not JSON is refused naming the ticket.
- Failure lines: an empty error answer says "no details", a 401 carries its advice, the attempts are counted, a
  throttled read names its ticket, every retry's log line names the call.
- TLS: `verify_tls` false without a CA bundle reaches a site whose certificate nobody trusts.
- Comment pages: 100 a page, quoted keys, their own page cap and repeat check naming the ticket, a page without a
  total or without comments ends the reading.
- People: the id the trust rules compare (Cloud accountId, Data Center user name, else key, else display name); a
  person the answer leaves out is nobody, never a name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from urllib3.exceptions import InsecureRequestWarning

from tests.adapters import test_jira_adapter as jr
from tests.adapters.contract import MALFORMED
from tests.adapters.test_jira_lookups_and_lines import INJECTED, _as_served, _events, _failing
from tests.tls import private_ca
from verifier.adapters.jira import JiraTracker, client
from verifier.adapters.retry import RetryPolicy
from verifier.errors import TrackerError, TrackerThrottled
from verifier_sandbox.http import Reply
from verifier_sandbox.jira import JiraSandbox


def _with_comments(server: JiraSandbox, key: str, comments: list[dict[str, Any]], *, total: int | None = None) -> None:
    """The issue `key` answered with `comments` inline (and `total`, when more are to be read by page)."""
    issue = _as_served(server, key)
    issue["fields"]["comment"] = {
        "comments": comments,
        "startAt": 0,
        "maxResults": len(comments),
        "total": len(comments) if total is None else total,
    }
    server.faults.inject(Reply.json(200, issue), match=lambda r: r.path.endswith(f"/issue/{key}"))


def _one_try(server: JiraSandbox, attempts: int = 1) -> JiraTracker:
    return JiraTracker(jr.connect(server), retry=RetryPolicy(attempts=attempts, sleep=lambda _: None))


def _refused(read: Callable[[], object]) -> TrackerError:
    """The TrackerError `read` ends with."""
    with pytest.raises(TrackerError) as caught:
        read()
    return caught.value


def _comment_pages(server: JiraSandbox, key: str) -> list[Any]:
    return [r for r in server.requests if r.path.endswith(f"/issue/{key}/comment") and r.method == "GET"]


# -- the deployment ----------------------------------------------------------------------------------------------
def test_the_deployment_is_read_once_and_logged_with_its_version(jira: JiraSandbox) -> None:
    tracker = jr.tracker(jira)
    key = jira.add_issue()
    with structlog.testing.capture_logs() as logs:
        tracker.account()
        tracker.get_ticket(key)
    assert _events(logs, "jira.deployment") == [
        {"cloud": jira.cloud, "version": "1001.0.0-SNAPSHOT" if jira.cloud else "9.12.15"}
    ]
    assert len([r for r in jira.requests if r.path.endswith("/serverInfo")]) == 1


def test_a_failed_deployment_read_says_what_was_read(jira: JiraSandbox) -> None:
    _failing(jira, "/serverInfo")
    refused = _refused(lambda: jr.tracker(jira).account())
    assert refused.ticket is None
    assert str(refused) == f"Jira read serverInfo failed: {INJECTED} (after 4 attempts)"


# -- requests and failure lines -----------------------------------------------------------------------------------
def test_every_request_asks_for_json_and_a_read_sends_no_body(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    tracker = jr.tracker(jira)
    tracker.get_ticket(key)
    tracker.comment(key, "a result")
    assert jira.requests and all(r.headers.get("accept") == "application/json" for r in jira.requests)
    assert all(r.body == b"" for r in jira.requests if r.method == "GET")
    (posted,) = [r for r in jira.requests if r.method == "POST"]
    assert posted.json()["body"] == "a result"


def test_an_answer_that_is_not_json_is_refused_naming_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    page = Reply(200, b"<html>maintenance</html>", (("Content-Type", "application/json"), (MALFORMED, "not JSON")))
    jira.faults.inject(page, match=lambda r: r.path.endswith(f"/issue/{key}"))
    refused = _refused(lambda: jr.tracker(jira).get_ticket(key))
    assert refused.ticket == key
    assert str(refused) == f"{key}: Jira read: the answer is not JSON"


def test_an_error_answer_without_a_body_says_no_details(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.faults.inject(Reply.empty(500), match=lambda r: r.path.endswith(f"/issue/{key}"))
    refused = _refused(lambda: _one_try(jira).get_ticket(key))
    assert str(refused) == f"{key}: Jira read failed: HTTP 500: no details"


def test_a_refused_credential_says_how_to_renew_it(jira: JiraSandbox) -> None:
    jira.faults.inject(Reply.json(401, {"errorMessages": ["expired"], "errors": {}}))
    refused = _refused(lambda: _one_try(jira).account())
    advice = client._CLOUD_401_ADVICE + client._SCOPED_401_ADVICE if jira.cloud else client._DC_401_ADVICE
    assert str(refused) == f"Jira read the signed-in user failed: HTTP 401: expired. {advice}"


def test_two_attempts_are_counted_and_one_is_not(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    _failing(jira, f"/issue/{key}", "GET")
    lines = [str(_refused(lambda n=n: _one_try(jira, n).get_ticket(key))) for n in (1, 2)]
    assert lines == [f"{key}: Jira read failed: {INJECTED}", f"{key}: Jira read failed: {INJECTED} (after 2 attempts)"]


def test_a_read_throttled_beyond_the_cap_names_its_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.throttle(times=1, retry_after=3600)
    with pytest.raises(TrackerThrottled) as caught:
        jr.tracker(jira).get_ticket(key)
    assert caught.value.ticket == key
    assert str(caught.value).startswith(f"{key}: Jira read failed: HTTP 429")


def test_each_retry_is_logged_naming_the_call(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.fail(times=1, status=502, match=lambda r: r.path.endswith(f"/issue/{key}"))
    with structlog.testing.capture_logs() as logs:
        jr.tracker(jira).get_ticket(key)
    assert [e["call"] for e in logs if e["event"] == "tracker.retry"] == ["jira read"]


def test_verify_tls_off_without_a_ca_bundle_reaches_a_site_nobody_trusts(tmp_path: Path) -> None:
    """The escape hatch a lab Jira needs; with it on, the same site is refused (the certificate is checked)."""
    ca = private_ca(tmp_path)
    with JiraSandbox("dc").use_tls(ca.server_context()) as site:
        unverified = JiraTracker(jr.connect(site, verify_tls=False), retry=RetryPolicy(attempts=1))
        with pytest.warns(InsecureRequestWarning):  # urllib3 says so on every such request
            assert unverified.account() == site.bot.name
        with pytest.raises(TrackerError, match="SSLError"):
            _one_try(site).account()


# -- comment pages -----------------------------------------------------------------------------------------------
def test_comment_pages_ask_for_a_hundred_at_a_time(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    for n in range(130):
        jira.add_comment(key, f"comment {n}")
    assert len(jr.tracker(jira).get_ticket(key).comments) == 130
    assert [(r.param("startAt"), r.param("maxResults")) for r in _comment_pages(jira, key)] == [
        ("20", "100"),
        ("120", "100"),
    ]


def test_a_comment_page_that_fails_names_the_ticket_and_what_was_read(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    for n in range(25):
        jira.add_comment(key, f"comment {n}")
    _failing(jira, f"/issue/{key}/comment", "GET")
    refused = _refused(lambda: jr.tracker(jira).get_ticket(key))
    assert refused.ticket == key
    assert str(refused) == f"{key}: Jira read comments failed: {INJECTED} (after 4 attempts)"


def test_a_comment_page_served_again_stops_naming_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    ids = [jira.add_comment(key, f"comment {n}") for n in range(3)]
    served = _as_served(jira, key)["fields"]["comment"]["comments"]
    _with_comments(jira, key, served[:1], total=1000)
    again = Reply.json(200, {"comments": served[1:], "startAt": 1, "maxResults": 100, "total": 1000})
    jira.faults.inject(again, times=5, match=lambda r: r.path.endswith(f"/issue/{key}/comment"))
    refused = _refused(lambda: jr.tracker(jira).get_ticket(key))
    assert refused.ticket == key
    assert str(refused) == (
        f"{key}: Jira comments: page 2 repeats an earlier page; stopped (the listing does not advance)"
    )
    assert len(ids) == 3


def test_comment_pages_stop_at_the_trackers_page_cap_naming_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    for n in range(5):
        jira.add_comment(key, f"comment {n}")
    served = _as_served(jira, key)["fields"]["comment"]["comments"]
    _with_comments(jira, key, served[:1], total=1000)
    for n, comment in enumerate(served[1:4]):  # one comment a page, each new, never the end
        page = {"comments": [comment], "startAt": 1 + n, "maxResults": 100, "total": 1000}
        jira.faults.inject(Reply.json(200, page), match=lambda r: r.path.endswith(f"/issue/{key}/comment"))
    capped = JiraTracker(jr.connect(jira), retry=RetryPolicy(attempts=1), max_pages=2)
    refused = _refused(lambda: capped.get_ticket(key))
    assert refused.ticket == key
    assert str(refused) == f"{key}: Jira comments: stopped at the cap of 2 pages (the listing did not end)"


def test_a_comment_page_without_a_total_is_the_last(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    for n in range(5):
        jira.add_comment(key, f"comment {n}")
    served = _as_served(jira, key)["fields"]["comment"]["comments"]
    _with_comments(jira, key, served[:3], total=40)
    last = Reply.json(200, {"comments": served[3:], "startAt": 3, "maxResults": 100}, [(MALFORMED, "no total")])
    jira.faults.inject(last, match=lambda r: r.path.endswith(f"/issue/{key}/comment"))
    ticket = jr.tracker(jira).get_ticket(key)
    assert [c.body for c in ticket.comments] == [f"comment {n}" for n in range(5)]
    assert len(_comment_pages(jira, key)) == 1


def test_a_comment_page_without_comments_ends_the_reading(jira: JiraSandbox) -> None:
    """Comments deleted between pages leave Jira's page short: what was read stands, nothing is read twice."""
    key = jira.add_issue()
    for n in range(5):
        jira.add_comment(key, f"comment {n}")
    served = _as_served(jira, key)["fields"]["comment"]["comments"]
    _with_comments(jira, key, served[:3], total=5)
    empty = Reply.json(200, {"startAt": 3, "maxResults": 100, "total": 5}, [(MALFORMED, "no comments")])
    jira.faults.inject(empty, match=lambda r: r.path.endswith(f"/issue/{key}/comment"))
    ticket = jr.tracker(jira).get_ticket(key)
    assert [c.body for c in ticket.comments] == [f"comment {n}" for n in range(3)]
    assert len(_comment_pages(jira, key)) == 1


def test_an_answered_key_with_dot_segments_cannot_read_another_tickets_comments(jira: JiraSandbox) -> None:
    """A strange answer names its issue `A/../B`: the comment pages are still asked of that key, quoted whole."""
    first, second = jira.add_issue(), jira.add_issue()
    jira.add_comment(second, "another ticket's comment")
    issue = _as_served(jira, first)
    issue["key"] = f"{first}/../{second}"
    issue["fields"]["comment"] = {"comments": [], "startAt": 0, "maxResults": 0, "total": 1}
    jira.faults.inject(Reply.json(200, issue), match=lambda r: r.path.endswith(f"/issue/{first}"))

    with pytest.raises(TrackerError, match="HTTP 404"):
        jr.tracker(jira).get_ticket(first)

    assert [r.path for r in jira.requests if r.path.endswith("/comment")] == [
        f"/rest/api/2/issue/{first}%2F..%2F{second}/comment"
    ]


# -- people --------------------------------------------------------------------------------------------------------
def _authors(server: JiraSandbox, people: list[Any], *, trusted: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """(author, updated_by) of one comment per person in `people` (the author object as answered)."""
    key = server.add_issue()
    server.add_comment(key, "a result")
    (template,) = _as_served(server, key)["fields"]["comment"]["comments"]
    comments = []
    for n, person in enumerate(people):
        comment = {k: v for k, v in template.items() if k not in ("author", "updateAuthor")}
        comments.append({**comment, "id": str(9000 + n), **({} if person is _ABSENT else {"author": person})})
    _with_comments(server, key, comments)
    tracker = jr.tracker(server)
    if trusted:
        tracker.trust(list(trusted))
    return [(c.author, c.updated_by) for c in tracker.get_ticket(key).comments]


_ABSENT = object()


def test_a_person_the_answer_leaves_out_is_nobody(jira: JiraSandbox) -> None:
    """No author, an author that is not an object, or one with no field that names a person: the empty name, which
    the trust rules never trust; and no one edited a comment whose answer names no editor."""
    assert _authors(jira, [_ABSENT, "alice", None, {"active": True}, {"displayName": ""}]) == [("", None)] * 5


def test_a_person_is_named_by_the_id_trust_compares(jira_dc: JiraSandbox) -> None:
    """Data Center: the user name, else the user key, else the display name."""
    people = [
        {"name": "bob", "key": "JIRAUSER1", "displayName": "Bob"},
        {"key": "JIRAUSER2", "displayName": "Carol"},
        {"displayName": "Dave"},
    ]
    assert [a for a, _ in _authors(jira_dc, people)] == ["bob", "JIRAUSER2", "Dave"]


def test_a_cloud_person_without_an_account_id_is_named_by_display_name(jira_cloud: JiraSandbox) -> None:
    assert [a for a, _ in _authors(jira_cloud, [{"displayName": "Mallory", "active": True}])] == ["Mallory"]


def test_a_display_name_of_a_trusted_entry_without_its_id_is_not_the_entry(jira_cloud: JiraSandbox) -> None:
    """Someone shown as a trusted person but answered without an account id is marked, never the person."""
    jira_cloud.user("trent")
    found = _authors(jira_cloud, [{"displayName": "Trent"}], trusted=("Trent",))
    assert found == [("Trent (id unknown)", None)]


def test_an_answered_key_with_dot_segments_cannot_read_another_tickets_history(jira_cloud: JiraSandbox) -> None:
    """The same for Cloud's history pages: asked of the answered key quoted whole, never of another ticket."""
    first, second = jira_cloud.add_issue(), jira_cloud.add_issue()
    issue = _as_served(jira_cloud, first)
    issue["key"] = f"{first}/../{second}"
    issue["fields"]["comment"] = {"comments": [], "startAt": 0, "maxResults": 0, "total": 0}
    issue["changelog"] = {"histories": [], "startAt": 0, "maxResults": 0, "total": 5}
    jira_cloud.faults.inject(Reply.json(200, issue), match=lambda r: r.path.endswith(f"/issue/{first}"))

    jr.tracker(jira_cloud).get_ticket(first)  # the history it could not read is a gap, said in the log

    assert [r.path for r in jira_cloud.requests if r.path.endswith("/changelog")] == [
        f"/rest/api/2/issue/{first}%2F..%2F{second}/changelog"
    ]
