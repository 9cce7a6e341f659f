"""GitHub refuses label names over 50 characters (#24): `file` shortens the labels it puts on an issue by
`fit_label`'s rule, and the idempotency check (`find_filed`, which lists by the incident label) still finds the
issues filed that way. Against the GitHub sandbox, which refuses long labels as GitHub does; every exchange is
held to GitHub's API description."""

from __future__ import annotations

import hashlib

import pytest
from github import Auth, Github, GithubException

from tests.adapters.test_filing import REPO, action_items, created, github_tracker, parsed
from verifier.domain.labels import fit_label
from verifier.services.filing import file_items
from verifier_sandbox.github import GitHubSandbox

LONG_ID = "INC-2026-11-20-checkout-latency-regression-eu-west-1-prod"  # 57 characters: the label is 66


def test_the_sandbox_refuses_a_label_over_50_characters_as_github_does(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    repo = Github(base_url=github.url, auth=Auth.Token(github.token), retry=None).get_repo(REPO)

    with pytest.raises(GithubException) as refused:
        repo.create_issue(title="t", labels=["x" * 51])
    repo.create_issue(title="t", labels=["x" * 50])

    assert refused.value.status == 422
    assert refused.value.data["errors"][0]["message"] == "name is too long (maximum is 50 characters)"
    assert github.issue(REPO, 1).labels == ["x" * 50]


def test_filing_shortens_a_long_incident_label_and_finds_the_issue_again(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    tracker = github_tracker(github)
    doc = action_items(id=LONG_ID)  # the file's own labels are refused over 50 characters when it is read

    first = file_items(parsed(doc), tracker, None, dry_run=False)
    second = file_items(parsed(doc), tracker, None, dry_run=False)

    full = f"incident:{LONG_ID}"
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    incident = f"{full[:41]}~{digest}"
    assert [i.status for i in first.items] == ["created", "created"]
    assert [c["labels"] for c in created(github)] == [
        ["post-incident", "priority:P1", incident, "team-payments"],
        ["post-incident", "priority:P3", incident],
    ]
    assert len(incident) == 50 and incident.startswith("incident:INC-2026-11-20-checkout-latency")
    assert [(i.status, i.key) for i in second.items] == [("already filed", i.key) for i in first.items]
    assert len(created(github)) == 2


def test_a_label_within_the_limit_is_kept_as_it_is(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    incident_id = "I" * 41  # `incident:` + 41 = 50 characters: kept
    file_items(parsed(action_items(id=incident_id)), github_tracker(github), None, dry_run=False)
    assert [c["labels"][2] for c in created(github)] == [f"incident:{incident_id}"] * 2
    assert fit_label(f"incident:{incident_id}", 50) == f"incident:{incident_id}"
