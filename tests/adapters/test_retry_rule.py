"""One retry rule for every tracker (`verifier.adapters.retry`, #23): the same failure, on the same kind of request,
is sent again by the Jira adapter exactly when it is by the GitHub adapter.

Each case injects one failure into a sandbox and counts the requests of that kind the server received: a write the
server refused before processing it (429, 503) is sent again, one it may have stored (a 502 after storing, a
connection dropped or an answer broken off on the way) is not; a read is sent again after any of those; a refusal
that would be the same again (400, 404) is not. Either way the caller sees a `TrackerError`, never a library's
own exception. The copies of the rule each adapter had disagreed: Jira did not retry a broken-off answer (and let
urllib3's error out), GitHub did not resend a write refused with 503.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.adapters.test_filing import github_tracker, jira_tracker
from tests.adapters.test_github_adapter import REPO
from verifier.errors import TrackerError
from verifier.ports import Tracker
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import RecordedRequest, SandboxServer
from verifier_sandbox.jira import JiraSandbox


def is_graphql(request: RecordedRequest) -> bool:
    return request.path.rstrip("/").endswith("/graphql")


def is_write(request: RecordedRequest) -> bool:
    return request.method == "POST" and not is_graphql(request)


def is_read(request: RecordedRequest) -> bool:
    """The issue's own read: Jira's GET `/rest/api/2/issue/KEY`; GitHub's GraphQL query (a POST that reads, #26)
    or REST's GET `/repos/o/r/issues/N`; not its comments or events."""
    if is_graphql(request):
        return True
    return request.method == "GET" and request.path.rstrip("/").split("/")[-2] in ("issue", "issues")


@dataclass(frozen=True)
class Case:
    fault: Callable[[SandboxServer, Callable[[RecordedRequest], bool]], None]
    write: bool  # a comment (POST), else a read of the issue (GET)
    sent: int  # how many requests of that kind reach the server
    fails: bool


def refuse(status: int, *headers: tuple[str, str]) -> Callable[[SandboxServer, Callable[..., bool]], None]:
    def inject(server: SandboxServer, match: Callable[[RecordedRequest], bool]) -> None:
        server.faults.inject(lambda: server.error(status, "sandbox: refused").with_headers(headers), match=match)

    return inject


def after(status: int | None) -> Callable[[SandboxServer, Callable[..., bool]], None]:
    return lambda server, match: server.fail_after_processing(status=status, match=match)


def cut(server: SandboxServer, match: Callable[[RecordedRequest], bool]) -> None:
    server.cut_short(match=match)


CASES = {
    "write refused 503": Case(refuse(503), write=True, sent=2, fails=False),
    "write refused 429 retry-after": Case(refuse(429, ("Retry-After", "0")), write=True, sent=2, fails=False),
    "write stored then 502": Case(after(502), write=True, sent=1, fails=True),
    "write stored then dropped": Case(after(None), write=True, sent=1, fails=True),
    "write stored then cut short": Case(cut, write=True, sent=1, fails=True),
    "write refused 400": Case(refuse(400), write=True, sent=1, fails=True),
    "read 502": Case(after(502), write=False, sent=2, fails=False),
    "read 503": Case(refuse(503), write=False, sent=2, fails=False),
    "read dropped": Case(after(None), write=False, sent=2, fails=False),
    "read cut short": Case(cut, write=False, sent=2, fails=False),
    "read 404": Case(refuse(404), write=False, sent=1, fails=True),
}


def attempt(server: SandboxServer, tracker: Tracker, key: str, case: Case) -> tuple[int, bool]:
    """How many requests of the case's kind the server received, and whether the call failed (as TrackerError)."""
    match = is_write if case.write else is_read
    before = sum(map(match, server.requests))
    case.fault(server, match)
    failed = False
    try:
        if case.write:
            tracker.comment(key, "hello")
        else:
            assert tracker.get_ticket(key).key == key
    except TrackerError:
        failed = True
    return sum(map(match, server.requests)) - before, failed


@pytest.mark.parametrize("name", list(CASES))
def test_jira_and_github_send_a_failed_request_again_by_one_rule(
    name: str, jira: JiraSandbox, github: GitHubSandbox
) -> None:
    case = CASES[name]
    number = github.add_issue(REPO, state="closed")
    found = {
        "jira": attempt(jira, jira_tracker(jira), jira.add_issue(), case),
        "github": attempt(github, github_tracker(github), f"{REPO}#{number}", case),
    }
    assert found == {"jira": (case.sent, case.fails), "github": (case.sent, case.fails)}


def test_a_cut_short_answer_is_a_broken_answer_to_the_client(github: GitHubSandbox) -> None:
    """The fault the cases above lean on: the status and headers arrive, the body stops halfway."""
    import requests

    number = github.add_issue(REPO)
    github.cut_short(match=is_read)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{github.url}/repos/{REPO}/issues/{number}", timeout=5).json()


def test_what_a_failure_below_http_means() -> None:
    """The failures no sandbox fault produces, by the same rule: the same again fails at once, a broken answer may
    have been processed, a connection that never opened sent nothing; an error that is not a transport's is not
    the rule's to judge."""
    import requests
    import urllib3

    from verifier.adapters import retry
    from verifier.adapters.http import AnswerTooLarge, DeadlinePassed, WriteRefused

    never_opened = requests.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))
    )  # type: ignore[arg-type]
    cases = {
        requests.exceptions.InvalidURL("x"): retry.Failure(),
        requests.exceptions.TooManyRedirects("x"): retry.Failure(),
        AnswerTooLarge("x"): retry.Failure(),
        WriteRefused("x"): retry.Failure(),
        requests.exceptions.ContentDecodingError("x"): retry.Failure(transient=True),
        requests.exceptions.ChunkedEncodingError("x"): retry.Failure(transient=True),
        urllib3.exceptions.ProtocolError("x"): retry.Failure(transient=True),
        DeadlinePassed("x"): retry.Failure(transient=True),
        requests.ReadTimeout("x"): retry.Failure(transient=True),
        requests.ConnectTimeout("x"): retry.Failure(refused=True),
        never_opened: retry.Failure(refused=True, transient=True),
        requests.ConnectionError("reset"): retry.Failure(transient=True),
        ValueError("x"): None,
    }
    assert [(repr(e), retry.transport(e)) for e in cases] == [(repr(e), f) for e, f in cases.items()]
    assert retry.answer(503) == retry.answer(429) == retry.Failure(refused=True)
    assert retry.answer(403, limited=True, wait=7.0) == retry.Failure(refused=True, wait=7.0)
    assert [retry.answer(s).transient for s in (500, 502, 504, 400, 404, 409, 422)] == [True] * 3 + [False] * 4
