"""`Tracker.post_incident_tickets` (the report's and the reminders' listing) and the `created` / `priority` fields,
through the real clients against the contract-validated sandboxes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.adapters.test_github_adapter import REPO
from tests.adapters.test_github_adapter import tracker as github_tracker
from tests.adapters.test_jira_adapter import LABEL
from tests.adapters.test_jira_adapter import tracker as jira_tracker
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.jira import JiraSandbox


def test_jira_lists_open_tickets_of_any_age_and_done_ones_updated_since(jira: JiraSandbox) -> None:
    now = datetime.now(UTC)
    since = now - timedelta(days=7)
    created = (now - timedelta(days=400)).replace(microsecond=123000)
    old_open = jira.add_issue(labels=[LABEL], status="To Do", created=created, priority="High")
    in_progress = jira.add_issue(labels=[LABEL], status="In Progress", priority="Medium")
    not_a_fix = jira.add_issue(labels=[LABEL], resolution="Won't Do", priority="Lowest")
    old_done = jira.add_issue(labels=[LABEL], resolved=now - timedelta(days=30))
    jira.issue(old_done).updated = now - timedelta(days=30)
    near = jira.add_issue(labels=[LABEL], resolved=since - timedelta(hours=12))
    jira.issue(near).updated = since - timedelta(hours=12)  # inside the day of margin for time zones
    jira.add_issue(labels=["other"], status="To Do")
    jira.add_comment(old_open, "still on it", author="bob")

    found = {t.key: t for t in jira_tracker(jira).post_incident_tickets(LABEL, since)}

    assert list(found) == [old_open, in_progress, not_a_fix, near]
    assert (found[old_open].created, found[old_open].priority, found[old_open].resolved_at) == (created, "P1", None)
    assert [c.body for c in found[old_open].comments] == ["still on it"]
    assert (found[in_progress].priority, found[not_a_fix].priority, found[near].priority) == ("P2", None, None)
    assert found[not_a_fix].resolution == "Won't Do"
    search = next(r for r in reversed(jira.requests) if "/search" in r.path)
    margin = (since - timedelta(days=1)).strftime("%Y/%m/%d %H:%M")
    assert search.param("jql") == (
        f'labels = "{LABEL}" AND (statusCategory != Done OR updated >= "{margin}") ORDER BY key ASC'
    )
    assert {"created", "priority"} <= set(str(search.param("fields")).split(","))


def test_jira_priority_maps_back_through_the_filing_mapping_by_id_or_name(jira_cloud: JiraSandbox) -> None:
    high = jira_cloud.add_issue(labels=[LABEL], status="To Do", priority="High")
    lowest = jira_cloud.add_issue(labels=[LABEL], status="To Do", priority="Lowest")
    adapter = jira_tracker(jira_cloud, priorities={"P0": "2", "P3": "lowest"}, project="OPS")
    found = {t.key: t.priority for t in adapter.post_incident_tickets(LABEL, datetime.now(UTC))}
    assert found == {high: "P0", lowest: "P3"}  # "2" is High's id; names compare without case
    assert adapter.get_ticket(high).priority == "P0"
    search = next(r for r in reversed(jira_cloud.requests) if "/search" in r.path)
    assert 'AND project = "OPS" ORDER BY' in str(search.param("jql"))


def test_github_lists_open_issues_of_any_age_and_closed_ones_updated_since(github: GitHubSandbox) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    since = now - timedelta(days=7)
    created = now - timedelta(days=400)
    old_open = github.add_issue(
        REPO, labels=[LABEL, "priority:P1"], created_at=created, updated_at=now - timedelta(days=300)
    )
    not_a_fix = github.add_issue(REPO, labels=[LABEL, "priority:p3"], state="closed", state_reason="not_planned")
    old_closed = github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(days=30))
    github.add_issue(REPO, labels=[LABEL], pull_request=True)
    github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    github.add_issue(REPO, labels=["other"])

    found = {t.key: t for t in github_tracker(github).post_incident_tickets(LABEL, since)}

    assert list(found) == [f"{REPO}#{old_open}", f"{REPO}#{not_a_fix}"]
    first = found[f"{REPO}#{old_open}"]
    assert (first.created, first.priority, first.resolved_at, first.kind) == (created, "P1", None, "issue")
    assert found[f"{REPO}#{not_a_fix}"].priority == "P3"
    assert f"{REPO}#{old_closed}" not in found
    listings = [json.loads(r.body)["variables"] for r in github.requests if r.path == "/graphql"]
    assert [(v["states"], v["labels"]) for v in listings] == [(["OPEN"], [LABEL]), (["CLOSED"], [LABEL])]
    assert listings[0]["since"] is None
    assert datetime.fromisoformat(listings[1]["since"]) == since
    assert len(github.requests) == 2  # each listing one request: comments, labels and events came with it


def test_github_ticket_priority_is_the_highest_priority_label(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL, "priority:P2", "priority:P0", "priority:urgent"])
    plain = github.add_issue(REPO, labels=[LABEL])
    adapter = github_tracker(github)
    assert adapter.get_ticket(f"{REPO}#{number}").priority == "P0"
    assert adapter.get_ticket(f"{REPO}#{plain}").priority is None
