"""The Jira sandbox's indexed lookups (#26: so the benchmark can seed and run 50,000 tickets) answer what the
full scans answered: an issue by key or id, numbers per project, `key in (...)` searches whatever else the query
says, and a listing paged by `nextPageToken` lists every issue once, in order, as it is now."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from verifier_sandbox.jira import JiraSandbox


@pytest.fixture
def jira() -> Iterator[JiraSandbox]:
    with JiraSandbox("cloud") as server:
        for n in range(7):
            server.add_issue(project="OPS", summary=f"ops {n}", labels=["post-incident"] if n % 2 else ["other"])
            server.add_issue(project="WEB", summary=f"web {n}", labels=["post-incident"], status="To Do")
        yield server


def _get(jira: JiraSandbox, path: str, **params: object) -> requests.Response:
    return requests.get(f"{jira.url}/rest/api/3/{path}", params=params, auth=(jira.email, jira.api_token), timeout=10)


def _keys(jira: JiraSandbox, jql: str, page: int = 50) -> list[str]:
    found: list[str] = []
    token = None
    while True:
        answer = _get(jira, "search/jql", jql=jql, maxResults=page, fields="summary", nextPageToken=token)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += [issue["key"] for issue in body["issues"]]
        token = body.get("nextPageToken")
        if token is None:
            assert body["isLast"] is True
            return found


def test_numbers_count_per_project_and_issues_are_found_by_key_and_by_id(jira: JiraSandbox) -> None:
    assert [k for k in jira.issues if k.startswith("OPS")] == [f"OPS-{n}" for n in range(1, 8)]
    assert [k for k in jira.issues if k.startswith("WEB")] == [f"WEB-{n}" for n in range(1, 8)]
    web3 = jira.issue("WEB-3")
    assert _get(jira, "issue/WEB-3", fields="summary").json()["fields"]["summary"] == "web 2"
    assert _get(jira, f"issue/{web3.id}", fields="summary").json()["key"] == "WEB-3"
    assert _get(jira, "issue/WEB-99").status_code == 404
    assert _get(jira, "issue/99999").status_code == 404


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("key in (OPS-2, web-3, OPS-99) ORDER BY key ASC", ["OPS-2", "WEB-3"]),
        ('key in (OPS-2, OPS-3, WEB-3) AND labels = "post-incident" ORDER BY key ASC', ["OPS-2", "WEB-3"]),
        ("key in (OPS-2, OPS-3) AND statusCategory = Done AND key = OPS-3", ["OPS-3"]),
        ("key = OPS-2 AND key = OPS-3", []),
        ("(key = OPS-1 OR key = WEB-7) AND summary ~ web", ["WEB-7"]),
        # Not confined to the keys named: the other alternative, or a negation, reaches every issue.
        ('key = OPS-1 OR labels = "other" ORDER BY key ASC', ["OPS-1", "OPS-3", "OPS-5", "OPS-7"]),
        ("NOT key in (OPS-1, OPS-2, OPS-3, OPS-4, OPS-5, OPS-6) AND project = OPS", ["OPS-7"]),
        ("key != OPS-1 AND project = OPS AND labels = other", ["OPS-3", "OPS-5", "OPS-7"]),
    ],
)
def test_a_key_search_finds_what_testing_every_issue_finds(jira: JiraSandbox, jql: str, expected: list[str]) -> None:
    assert _keys(jira, jql) == expected


def test_a_paged_listing_lists_every_issue_once_in_order_as_it_is_now(jira: JiraSandbox) -> None:
    expected = [f"WEB-{n}" for n in range(7, 0, -1)] + [f"OPS-{n}" for n in range(7, 0, -1)]
    assert _keys(jira, "ORDER BY key DESC", page=3) == expected
    first = _get(jira, "search/jql", jql="project = OPS ORDER BY key ASC", maxResults=3, fields="summary").json()
    assert [i["key"] for i in first["issues"]] == ["OPS-1", "OPS-2", "OPS-3"]
    jira.issue("OPS-4").summary = "renamed between pages"
    second = _get(
        jira,
        "search/jql",
        jql="project = OPS ORDER BY key ASC",
        maxResults=3,
        fields="summary",
        nextPageToken=first["nextPageToken"],
    ).json()
    assert [(i["key"], i["fields"]["summary"]) for i in second["issues"]] == [
        ("OPS-4", "renamed between pages"),
        ("OPS-5", "ops 4"),
        ("OPS-6", "ops 5"),
    ]
    another_query = _get(jira, "search/jql", jql="project = WEB", nextPageToken=first["nextPageToken"])
    assert another_query.status_code == 400


def test_a_token_of_a_listing_no_longer_kept_is_refused_as_expired(jira: JiraSandbox) -> None:
    jql = "project = OPS ORDER BY key ASC"
    old = _get(jira, "search/jql", jql=jql, maxResults=3).json()["nextPageToken"]
    for _ in range(64):
        _get(jira, "search/jql", jql=jql, maxResults=3)
    answer = _get(jira, "search/jql", jql=jql, maxResults=3, nextPageToken=old)
    assert answer.status_code == 400
    assert "invalid or expired" in answer.text
