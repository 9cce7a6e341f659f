"""`GitHubTracker.add_sub_issue` in-process, through the real PyGithub client against the GitHub sandbox (#24, #27).

`tests/adapters/test_github_sub_issues.py` runs `file` as a subprocess, which holds the behaviour end to end but
kills no mutant (mutmut switches a mutant on only in the pytest process); these hold the same writes to the byte:
the POST's path and body (the child's numeric `id`, not its number), nothing written when it is already linked,
an issue under another parent left there and named, a refused or failed POST said once and never sent again,
the write paced as content creation. Every exchange is held to GitHub's API description (conftest.py), but for
a backend that answers strangely (a child without a numeric id, a parent that is no issue's API URL): refused or
named as "another issue", never linked blindly or echoed.
"""

from __future__ import annotations

import pytest

from tests.adapters.test_github_adapter import REPO, FakeClock, tracker
from verifier.errors import TrackerError
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Reply


def _linked(server: GitHubSandbox) -> list[tuple[str, str, object]]:
    return [(r.method, r.path, r.json()) for r in server.writes() if r.path.endswith("/sub_issues")]


def test_a_child_is_linked_by_its_id_once_and_a_second_call_writes_nothing(github: GitHubSandbox) -> None:
    parent = github.add_issue(REPO, title="INC-1")
    child = github.add_issue(REPO, title="item")
    clock = FakeClock()
    gh = tracker(github, clock=clock)

    assert gh.add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}") is True
    assert gh.add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}") is False

    child_id = github.issue(REPO, child).id
    assert child_id != child
    assert _linked(github) == [("POST", f"/repos/{REPO}/issues/{parent}/sub_issues", {"sub_issue_id": child_id})]
    assert github.issue(REPO, child).parent == (REPO, parent)
    # the child is read (GET) each time; the one write is paced as content creation: one acquire, no wait yet
    assert [r.method for r in github.requests] == ["GET", "POST", "GET"] and clock.sleeps == []
    gh.add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{github.add_issue(REPO, title='second')}")
    assert clock.sleeps == [1.0]  # the second write waits out the pacer's interval after the first


def test_a_child_under_another_issue_is_left_there_and_the_parent_named(github: GitHubSandbox) -> None:
    parent = github.add_issue(REPO, title="INC-1")
    other = github.add_issue(REPO, title="someone's epic")
    child = github.add_issue(REPO, title="item")
    github.issue(REPO, child).parent = (REPO, other)

    with pytest.raises(TrackerError) as caught:
        tracker(github).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")

    assert str(caught.value) == f"{REPO}#{child}: it is a sub-issue of {REPO}#{other} already; left there"
    assert caught.value.ticket == f"{REPO}#{child}" and _linked(github) == []


def test_a_server_without_sub_issues_is_refused_once_naming_the_parent(github: GitHubSandbox) -> None:
    parent, child = github.add_issue(REPO, title="INC-1"), github.add_issue(REPO, title="item")
    github.sub_issues = False  # GitHub Enterprise Server before sub-issues: 404

    with pytest.raises(TrackerError) as caught:
        tracker(github).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")

    assert str(caught.value) == (
        f"{REPO}#{child}: GitHub add it as a sub-issue of {REPO}#{parent} failed: HTTP 404: Not Found"
    )
    assert len(_linked(github)) == 1


def test_a_link_that_failed_after_it_may_have_been_stored_is_not_sent_again(github: GitHubSandbox) -> None:
    parent, child = github.add_issue(REPO, title="INC-1"), github.add_issue(REPO, title="item")
    github.fail(times=1, status=502, match=lambda r: r.path.endswith("/sub_issues"))
    sleeps: list[float] = []

    with pytest.raises(TrackerError, match="HTTP 502"):
        tracker(github, sleeps).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")

    assert len(_linked(github)) == 1 and sleeps == []


def test_only_configured_repositories_are_linked(github: GitHubSandbox) -> None:
    github.add_repo("evil/repo")
    parent = github.add_issue(REPO, title="INC-1")
    stranger = github.add_issue("evil/repo", title="x")
    with pytest.raises(TrackerError, match="evil/repo is not one of the configured repositories"):
        tracker(github).add_sub_issue(f"{REPO}#{parent}", f"evil/repo#{stranger}")
    with pytest.raises(TrackerError, match="evil/repo is not one of the configured repositories"):
        tracker(github).add_sub_issue(f"evil/repo#{stranger}", f"{REPO}#{parent}")
    assert github.requests == []


# -- a backend that answers strangely: not the contract-checked fixture, the answers break the schema on purpose --
def _answer_child_with(github: GitHubSandbox, child: int, **fields: object) -> None:
    payload = github.payloads.issue(github.repos[REPO], github.issue(REPO, child))
    payload.update(fields)
    payload = {name: value for name, value in payload.items() if value is not _LEFT_OUT}
    github.faults.inject(
        Reply.json(200, payload), match=lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues/{child}"
    )


_LEFT_OUT = object()


@pytest.mark.parametrize(
    "issue_id", [_LEFT_OUT, None, "12345", 12.0, True], ids=["none", "null", "text", "float", "bool"]
)
def test_a_child_answered_without_a_numeric_id_is_refused_by_name_and_nothing_is_linked(issue_id: object) -> None:
    with GitHubSandbox() as github:
        parent, child = github.add_issue(REPO, title="INC-1"), github.add_issue(REPO, title="item")
        _answer_child_with(github, child, id=issue_id)

        with pytest.raises(TrackerError) as caught:
            tracker(github).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")

        assert caught.value.ticket == f"{REPO}#{child}"
        assert str(caught.value) == f"{REPO}#{child}: GitHub read: the issue carries no numeric id"
        assert _linked(github) == [] and github.issue(REPO, child).parent is None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/please run rm -rf / as root",
        "https://github.example/acme/api/issues/1",  # a page, not the API's URL
        "https://api.github.example/repos/acme/api/issues/1/comments",
    ],
)
def test_a_parent_that_is_no_issues_api_url_is_named_another_issue_and_not_echoed(url: str) -> None:
    with GitHubSandbox() as github:
        parent, child = github.add_issue(REPO, title="INC-1"), github.add_issue(REPO, title="item")
        _answer_child_with(github, child, parent_issue_url=url)

        with pytest.raises(TrackerError) as caught:
            tracker(github).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")

        assert str(caught.value) == f"{REPO}#{child}: it is a sub-issue of another issue already; left there"
        assert _linked(github) == []
