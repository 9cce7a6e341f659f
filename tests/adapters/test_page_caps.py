"""Listings stop at the page cap (#22): a tracker whose listing does not end within `max_pages` pages stops with
a `TrackerError` naming the cap, on Jira Cloud, Jira Data Center and GitHub, over the contract-validated
sandboxes; one page fewer lists everything."""

from __future__ import annotations

import pytest

from tests.adapters.test_github_adapter import REPO
from tests.adapters.test_jira_adapter import connect
from verifier.adapters.github import GitHubTracker, WritePacer
from verifier.adapters.jira import JiraTracker
from verifier.adapters.retry import RetryPolicy
from verifier.connections import GitHubConnection
from verifier.errors import TrackerError
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.jira import JiraSandbox

LABEL = "postmortem"


def test_a_jira_search_past_the_page_cap_stops_with_the_cap_named(jira: JiraSandbox) -> None:
    keys = [jira.add_issue(summary=f"item {n}", labels=[LABEL]) for n in range(3)]
    policy = RetryPolicy(sleep=lambda _: None)
    capped = JiraTracker(connect(jira), retry=policy, page_size=1, max_pages=2)
    with pytest.raises(TrackerError, match=r"^Jira search \(.*\): stopped at the cap of 2 pages"):
        list(capped.resolved_tickets(LABEL, lookback_days=30))
    enough = JiraTracker(connect(jira), retry=policy, page_size=1, max_pages=3)
    assert [t.key for t in enough.resolved_tickets(LABEL, lookback_days=30)] == keys


def test_a_github_listing_past_the_page_cap_stops_with_the_cap_named(github: GitHubSandbox) -> None:
    numbers = [github.add_issue(REPO, title=f"item {n}", labels=[LABEL], state="closed") for n in range(101)]
    connection = GitHubConnection.model_validate(
        {"api_url": github.url, "repositories": (REPO,), "token": github.token}
    )

    def tracker(max_pages: int) -> GitHubTracker:
        return GitHubTracker(
            connection, pacer=WritePacer(sleep=lambda _: None), sleep=lambda _: None, max_pages=max_pages
        )

    with pytest.raises(TrackerError, match=rf"^GitHub list {REPO} issues: stopped at the cap of 1 pages"):
        list(tracker(1).resolved_tickets(LABEL, lookback_days=30))
    assert [t.key for t in tracker(2).resolved_tickets(LABEL, lookback_days=30)] == [f"{REPO}#{n}" for n in numbers]
