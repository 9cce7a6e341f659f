"""The write budget is honoured in one place every tracker adapter passes through: the guarded transport (#23).

Inside a write call the run charges (`Allowance.retries_charged`, which sets `verifier.ports.WRITE_GATE`), every
write request after the first (charged by the caller) is charged as it is sent, and one without room is not sent.
The adapters do not ask: a bare guarded session with no retry rule and no adapter code around it (what a new
tracker's client starts from) is held to the same count, and so are both adapters' retries.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.adapters.test_filing import github_tracker, jira_tracker
from tests.adapters.test_github_adapter import REPO
from verifier.adapters.http import GuardedAdapter, WriteRefused, guard, is_write
from verifier.errors import TrackerError
from verifier.services.budget import Allowance, Budget
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import RecordedRequest
from verifier_sandbox.jira import JiraSandbox


def is_post(request: RecordedRequest) -> bool:
    return request.method == "POST"


def first_charged(left: int) -> Allowance:
    """One write call's allowance, its first request charged as the run charges it; `left` more in the budget."""
    allowance = Allowance(Budget(left), reserved=1)
    assert allowance.charge()
    return allowance


@pytest.mark.parametrize("left", [0, 1])
def test_a_bare_guarded_session_sends_no_write_request_the_budget_has_no_room_for(
    github: GitHubSandbox, left: int
) -> None:
    """No adapter, no retry rule: only the transport stands between the caller and the server."""
    session = guard(requests.Session(), GuardedAdapter())
    url = f"{github.url}/repos/{REPO}/issues/1/comments"
    allowance = first_charged(left)
    sent, refused = 0, None
    with allowance.retries_charged():
        for _ in range(5):
            session.get(f"{github.url}/repos/{REPO}", timeout=5)  # reads cost nothing
            try:
                session.post(url, json={"body": "x"}, timeout=5)
            except WriteRefused as error:
                refused = str(error)
                assert error.request is not None and (error.request.method, error.request.url) == ("POST", url)
                break
            sent += 1
    assert refused == "the write budget has no room for this write request: it was not sent"
    assert sent == 1 + left
    assert sum(map(is_post, github.requests)) == 1 + left
    assert allowance.sent == 1 + left
    session.post(url, json={"body": "x"}, timeout=5)  # outside a charged call (filing, the demo): not counted
    assert sum(map(is_post, github.requests)) == 2 + left


@pytest.mark.parametrize("left", [0, 1])
def test_both_adapters_retries_are_charged_by_the_transport(
    jira: JiraSandbox, github: GitHubSandbox, left: int
) -> None:
    """A write refused before processing is sent again (`test_retry_rule`) only while the budget has room."""
    number = github.add_issue(REPO, state="closed")
    cases = ((jira, jira_tracker(jira), jira.add_issue()), (github, github_tracker(github), f"{REPO}#{number}"))
    for server, tracker, key in cases:
        server.fail(times=5, status=503, match=is_post)
        allowance = first_charged(left)
        with allowance.retries_charged(), pytest.raises(TrackerError, match="write budget has no room"):
            tracker.comment(key, "hello")
        assert (sum(map(is_post, server.requests)), allowance.sent) == (1 + left, 1 + left), type(server).__name__


def test_a_stopped_run_sends_no_retry(jira: JiraSandbox) -> None:
    import threading

    stop = threading.Event()
    stop.set()
    jira.fail(times=5, status=503, match=is_post)
    allowance = first_charged(10)
    with allowance.retries_charged(stop), pytest.raises(TrackerError):
        jira_tracker(jira).comment(jira.add_issue(), "hello")
    assert sum(map(is_post, jira.requests)) == 1


def prepared(method: str, url: str, body: object = None) -> requests.PreparedRequest:
    return requests.Request(method, url, data=None if body is None else json.dumps(body)).prepare()


def test_what_counts_as_a_write_request() -> None:
    api = "https://api.github.com"
    assert [is_write(prepared(m, f"{api}/repos/o/r/issues/1")) for m in ("GET", "HEAD", "OPTIONS")] == [False] * 3
    assert [is_write(prepared(m, f"{api}/repos/o/r/issues/1")) for m in ("POST", "PUT", "PATCH", "DELETE")] == [
        True
    ] * 4
    assert is_write(prepared("POST", f"{api}/graphql", {"query": "query { viewer { login } }"})) is False
    assert is_write(prepared("POST", f"{api}/graphql", {"query": "  { viewer { login } }"})) is False
    assert is_write(prepared("POST", f"{api}/graphql", {"query": "mutation { addComment }"})) is True
    assert is_write(prepared("POST", f"{api}/graphql", {"query": "queryless"})) is True
    assert is_write(prepared("POST", f"{api}/graphql", ["not", "an", "object"])) is True
    assert is_write(prepared("POST", f"{api}/graphql")) is True
    as_bytes = requests.Request("POST", f"{api}/graphql", json={"query": "query { viewer { login } }"}).prepare()
    assert isinstance(as_bytes.body, bytes) and is_write(as_bytes) is False  # json= sends bytes
    assert is_write(requests.PreparedRequest()) is False  # no method set: read as a GET
