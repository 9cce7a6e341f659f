"""`file` on GitHub puts the action items under the incident's issue (`incident.issue`) as sub-issues (#24): the
CLI against the GitHub sandbox through PyGithub, the requests the server received out. `POST .../sub_issues`
takes the issue's numeric id, not its number; a server without sub-issues (GitHub Enterprise Server: 404) or a
refusal (422) leaves the items filed and is said once. Every exchange is held to GitHub's API description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from github import Auth, Github, GithubException

from tests.adapters.test_filing import REPO, action_items, cli
from verifier_sandbox.github import GitHubSandbox


def github_env(server: GitHubSandbox, **more: str) -> dict[str, str]:
    return {
        "VERIFIER_TRACKER": "github",
        "VERIFIER_GITHUB_API_URL": server.url,
        "VERIFIER_GITHUB_TOKEN": server.token,
        "VERIFIER_GITHUB_REPOSITORY": REPO,
        **more,
    }


def _incident_issue(server: GitHubSandbox) -> int:
    server.add_repo(REPO)
    return server.add_issue(REPO, title="INC-2041: checkout latency", user="alice")


def _file(tmp_path: Path, issue: str | None) -> Path:
    doc = action_items(**({"issue": issue} if issue else {}))
    del doc["items"][0]["assignee"]
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _linked(server: GitHubSandbox) -> list[tuple[str, Any]]:
    """(parent path, body) of every add-sub-issue request the server received."""
    return [(r.path, r.json()) for r in server.writes() if r.path.endswith("/sub_issues")]


def test_file_adds_each_item_as_a_sub_issue_by_its_id_and_a_rerun_links_nothing_twice(
    github: GitHubSandbox, tmp_path: Path
) -> None:
    parent = _incident_issue(github)
    path = _file(tmp_path, f"{REPO}#{parent}")

    done = cli(path, "--json", **github_env(github))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    items = [github.issue(REPO, n) for n in (2, 3)]
    assert _linked(github) == [(f"/repos/{REPO}/issues/{parent}/sub_issues", {"sub_issue_id": i.id}) for i in items]
    assert items[0].id != items[0].number and all(i.parent == (REPO, parent) for i in items)
    assert [i["sub_issue_of"] for i in report["items"]] == [f"{REPO}#{parent}"] * 2
    assert report["notes"] == [
        "no metrics backend set (VERIFIER_PROMETHEUS_URL): the verification queries were not tried"
    ]

    github.clear_requests()
    again = cli(path, **github_env(github))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("ALREADY FILED") == 2
    assert github.writes() == []  # already under the issue: nothing written
    assert "not sub-issues" not in again.stdout  # and not said to be under another issue (#27)


def test_a_rerun_links_items_filed_before_they_had_a_parent(github: GitHubSandbox, tmp_path: Path) -> None:
    parent = _incident_issue(github)
    assert cli(_file(tmp_path, None), **github_env(github)).returncode == 0
    assert [github.issue(REPO, n).parent for n in (2, 3)] == [None, None]

    done = cli(_file(tmp_path, f"https://github.com/{REPO}/issues/{parent}"), **github_env(github))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ALREADY FILED") == 2 and len(github.repos[REPO].issues) == 3
    assert [github.issue(REPO, n).parent for n in (2, 3)] == [(REPO, parent)] * 2
    assert len(_linked(github)) == 2


def test_a_server_without_sub_issues_files_the_items_and_says_so_once(github: GitHubSandbox, tmp_path: Path) -> None:
    parent = _incident_issue(github)
    github.sub_issues = False  # GitHub Enterprise Server before sub-issues: 404

    done = cli(_file(tmp_path, f"{REPO}#{parent}"), **github_env(github))

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("CREATED") == 2
    notes = [line for line in done.stdout.splitlines() if "sub-issues" in line]
    assert notes == [
        f"note: 2 of 2 items are filed but not sub-issues of {REPO}#{parent} ({REPO}#2, {REPO}#3): "
        f"GitHub add it as a sub-issue of {REPO}#{parent} failed: HTTP 404: Not Found"
    ]
    assert len(_linked(github)) == 2 and [github.issue(REPO, n).parent for n in (2, 3)] == [None, None]


def test_an_item_under_another_issue_is_left_there(github: GitHubSandbox, tmp_path: Path) -> None:
    parent = _incident_issue(github)
    other = github.add_issue(REPO, title="someone's epic")
    assert cli(_file(tmp_path, None), **github_env(github)).returncode == 0  # items 3 and 4
    github.issue(REPO, 3).parent = (REPO, other)
    github.clear_requests()

    done = cli(_file(tmp_path, f"{REPO}#{parent}"), **github_env(github))

    assert done.returncode == 0, done.stderr
    assert github.issue(REPO, 3).parent == (REPO, other) and github.issue(REPO, 4).parent == (REPO, parent)
    assert _linked(github) == [
        (f"/repos/{REPO}/issues/{parent}/sub_issues", {"sub_issue_id": github.issue(REPO, 4).id})
    ]
    assert f"1 of 2 items are filed but not sub-issues of {REPO}#{parent} ({REPO}#3): " in done.stdout
    assert f"({REPO}#3): it is a sub-issue of {REPO}#{other} already; left there\n" in done.stdout


def test_a_dry_run_links_nothing(github: GitHubSandbox, tmp_path: Path) -> None:
    parent = _incident_issue(github)
    done = cli(_file(tmp_path, f"{REPO}#{parent}"), "--dry-run", **github_env(github))
    assert done.returncode == 0, done.stderr
    assert f"note: the items would be filed as sub-issues of {REPO}#{parent}" in done.stdout
    assert github.writes() == []


def test_custom_fields_are_refused_on_github_before_anything_is_written(github: GitHubSandbox, tmp_path: Path) -> None:
    github.add_repo(REPO)
    doc = action_items()
    doc["items"][1]["fields"] = {"team": "Payments"}
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(doc))
    done = cli(path, **github_env(github))
    assert done.returncode == 2 and "item 2" in done.stderr and "'fields.team'" in done.stderr
    assert "no custom fields" in done.stderr and github.writes() == []


def test_the_sandbox_refuses_as_github_does(github: GitHubSandbox) -> None:
    parent = _incident_issue(github)
    child = github.add_issue(REPO, title="child")
    repo = Github(base_url=github.url, auth=Auth.Token(github.token), retry=None).get_repo(REPO)
    issue = repo.get_issue(parent)

    with pytest.raises(GithubException) as by_number:
        issue.add_sub_issue(999)  # a number or an unknown id
    with pytest.raises(GithubException) as itself:
        issue.add_sub_issue(github.issue(REPO, parent).id)
    issue.add_sub_issue(github.issue(REPO, child).id)
    with pytest.raises(GithubException) as twice:
        repo.get_issue(child).add_sub_issue(github.issue(REPO, child).id)

    assert [e.value.status for e in (by_number, itself, twice)] == [422, 422, 422]
    assert repo.get_issue(child).parent_issue_url == f"{github.url}/repos/{REPO}/issues/{parent}"
    github.sub_issues = False
    with pytest.raises(GithubException) as missing:
        issue.add_sub_issue(github.issue(REPO, child).id)
    assert missing.value.status == 404


def test_the_incident_issue_must_be_a_github_issue(github: GitHubSandbox, tmp_path: Path) -> None:
    github.add_repo(REPO)
    for issue in ("12", "acme#12", "https://github.com/acme/api/pull/12", "acme/api#0"):
        done = cli(_file(tmp_path, issue), **github_env(github))
        assert done.returncode == 2 and "'incident.issue'" in done.stderr, issue
    assert github.writes() == []


def test_a_long_incident_label_is_shortened_and_the_rerun_still_finds_and_links_the_items(
    github: GitHubSandbox, tmp_path: Path
) -> None:
    """The 50-character rule (domain/labels.py) covers the incident label; `find_filed` looks for the same name."""
    parent = _incident_issue(github)
    long_id = "INC-2026-11-20-checkout-latency-regression-eu-west-1-prod"
    doc = action_items(id=long_id, issue=f"{REPO}#{parent}")
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    github.sub_issues = False
    assert cli(path, **github_env(github)).returncode == 0

    github.sub_issues = True
    again = cli(path, **github_env(github))

    assert again.returncode == 0, again.stderr
    assert again.stdout.count("ALREADY FILED") == 2 and len(github.repos[REPO].issues) == 3
    labels = {label for n in (2, 3) for label in github.issue(REPO, n).labels if label.startswith("incident:")}
    assert len(labels) == 1 and len(labels.pop()) == 50
    assert [github.issue(REPO, n).parent for n in (2, 3)] == [(REPO, parent)] * 2
