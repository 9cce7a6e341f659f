"""A POST the tracker may have processed is never sent again, whatever the client libraries' retry rules become.

The sandboxes store the write and then fail the answer (a 502, or a connection closed without an answer): the
client cannot know the comment or ticket exists, so sending again would file it twice. Their request logs must hold
one POST. The control cases show the retries are live: a POST the server refused before processing (429/503) is
sent again, and so is a GET that failed after processing.
"""

from __future__ import annotations

import pytest

from tests.adapters.test_filing import github_tracker, jira_tracker, parsed
from tests.adapters.test_github_adapter import REPO
from verifier.errors import TrackerError
from verifier.services.filing import file_items
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import RecordedRequest
from verifier_sandbox.jira import JiraSandbox


def posts(server: JiraSandbox | GitHubSandbox) -> list[RecordedRequest]:
    return [r for r in server.requests if r.method == "POST"]


def is_post(request: RecordedRequest) -> bool:
    return request.method == "POST"


@pytest.mark.parametrize("status", [502, None], ids=["502", "dropped"])
def test_jira_comment_stored_then_failed_is_posted_once(jira: JiraSandbox, status: int | None) -> None:
    key = jira.add_issue()
    jira.fail_after_processing(times=3, status=status, match=is_post)
    with pytest.raises(TrackerError, match=f"{key}: Jira comment failed"):
        jira_tracker(jira).comment(key, "hello")
    assert len(posts(jira)) == 1
    assert [c.body for c in jira.issue(key).comments] == ["hello"]


@pytest.mark.parametrize("status", [502, None], ids=["502", "dropped"])
def test_github_comment_stored_then_failed_is_posted_once(github: GitHubSandbox, status: int | None) -> None:
    number = github.add_issue(REPO, state="closed")
    github.fail_after_processing(times=3, status=status, match=is_post)
    with pytest.raises(TrackerError, match="GitHub comment failed"):
        github_tracker(github).comment(f"{REPO}#{number}", "hello")
    assert len(posts(github)) == 1
    assert [c.body for c in github.issue(REPO, number).comments] == ["hello"]


@pytest.mark.parametrize("status", [502, None], ids=["502", "dropped"])
def test_a_ticket_created_then_failed_is_filed_once(
    jira_cloud: JiraSandbox, github: GitHubSandbox, status: int | None
) -> None:
    jira_cloud.user("alice")
    github.add_repo(REPO)
    for server, tracker in ((jira_cloud, jira_tracker(jira_cloud)), (github, github_tracker(github))):
        server.fail_after_processing(times=3, status=status, match=is_post)
        report = file_items(parsed(), tracker, None, dry_run=False)
        assert report.error is not None and "create the issue failed" in report.error
        assert len(posts(server)) == 1, type(server).__name__


def test_control_a_refused_post_and_a_failed_get_are_sent_again(jira: JiraSandbox, github: GitHubSandbox) -> None:
    key = jira.add_issue()
    jira.fail(times=1, status=503, match=is_post)  # refused before processing
    jira_tracker(jira).comment(key, "hello")
    assert len(posts(jira)) == 2 and len(jira.issue(key).comments) == 1
    jira.fail_after_processing(times=1, status=502, match=lambda r: r.method == "GET")
    assert jira_tracker(jira).get_ticket(key).key == key
    number = github.add_issue(REPO, state="closed")
    github.throttle(times=1, status=429, retry_after=0, match=is_post)
    github_tracker(github).comment(f"{REPO}#{number}", "hello")
    assert len(posts(github)) == 2 and len(github.issue(REPO, number).comments) == 1
