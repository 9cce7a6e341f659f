"""GitHub issues listed and read through GraphQL (#26), through the real PyGithub client against the sandbox, every
query and answer held to GitHub's published schema (tests/adapters/graphql_contract.py).

What is checked: requests as the sandbox counts them; nested connections past a page read whole; answers with
`errors` refused out loud (never "no issues"); GraphQL's rate limits retried by REST's rule; an answer over the
size cap asked for again in smaller pages; bots named as REST names them; the GraphQL URL beside the REST base.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from graphql import parse, validate
from structlog.testing import capture_logs

from tests.adapters.graphql_contract import GRAPHQL_CONTRACT, load_schema
from tests.adapters.test_github_adapter import LABEL, REPO, tracker
from verifier import defaults
from verifier.adapters.github.graphql_queries import LIST_ISSUES, QUERIES
from verifier.errors import TrackerError, TrackerThrottled
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Reply

_SECOND = timedelta(seconds=1)
MARKER = "<sub>action-item-verifier result v1; verdict=VERIFIED; resolved=2026-01-01T00:00:00Z</sub>"


def sent(server: GitHubSandbox) -> list[tuple[str, dict[str, Any]]]:
    """(operation name, variables) of every GraphQL query the server received, in order."""
    bodies = [json.loads(r.body) for r in server.requests if r.path.endswith("/graphql")]
    return [(b["query"].split("(")[0].removeprefix("query ").strip(), b["variables"]) for b in bodies]


def listing_page(answer: dict[str, Any]) -> Reply:
    return Reply.json(200, answer)


def test_every_query_the_adapter_sends_is_valid_against_the_published_schema(contracts: Path) -> None:
    schema = load_schema(contracts / GRAPHQL_CONTRACT)
    for query in QUERIES:
        assert validate(schema, parse(query)) == [], query


# -- requests ---------------------------------------------------------------------------------------------------
def test_an_idle_re_run_over_500_issues_costs_five_requests(github: GitHubSandbox) -> None:
    """500 issues already verified (config body, the tool's result comment and label, a reporter's comment): the
    listing is 5 requests, none per issue; the events are not asked for (the marker makes the labels moot)."""
    body = '```yaml\n# action-item-verifier: v1\nmetric: "errors_total"\ncondition: "< 1"\ndelay: "6h"\n```\n'
    for n in range(500):
        number = github.add_issue(REPO, body=body, labels=[LABEL, defaults.VERIFIED_LABEL], state="closed")
        github.add_comment(REPO, number, f"deployed fix {n}", user="carol")
        github.add_comment(REPO, number, MARKER, user=github.login)

    found = list(tracker(github).resolved_tickets(LABEL, 7))

    assert len(found) == 500 and all(len(t.comments) == 2 and t.labelled_by is None for t in found)
    assert found[0].comments[1].author == github.login and found[0].labels == {LABEL, defaults.VERIFIED_LABEL}
    assert [name for name, _ in sent(github)] == ["ListIssues"] * 5
    assert len(github.requests) == 5
    assert github.graphql.costs == [3] * 5  # 100 issues x (comments, labels, events): 301 requests -> 3 points


# -- nested connections read whole -----------------------------------------------------------------------------
def test_comments_and_label_events_past_a_page_are_paged_for_that_issue_alone(github: GitHubSandbox) -> None:
    quiet = github.add_issue(REPO, labels=[LABEL], state="closed")
    busy = github.add_issue(REPO, labels=[LABEL], state="closed", user="alice")
    for n in range(250):
        github.add_comment(REPO, busy, f"comment {n}", user="bob")
    github.edit_labels(REPO, busy, add=[defaults.VERIFIED_LABEL], actor="mallory")
    for n in range(230):  # the last `labeled` event of the judgement label sits on the third page
        github.edit_labels(REPO, busy, add=[f"noise-{n}"], remove=[f"noise-{n - 1}"], actor="bob")
    github.edit_labels(REPO, busy, remove=[defaults.VERIFIED_LABEL], actor="bob")
    github.edit_labels(REPO, busy, add=[defaults.VERIFIED_LABEL], actor="trent")

    found = {t.key: t for t in tracker(github).resolved_tickets(LABEL, 7)}

    ticket = found[f"{REPO}#{busy}"]
    assert [c.body for c in ticket.comments] == [f"comment {n}" for n in range(250)]
    assert ticket.labelled_by == ((defaults.VERIFIED_LABEL, "trent"),)
    assert found[f"{REPO}#{quiet}"].comments == () and found[f"{REPO}#{quiet}"].labelled_by == ()
    follow_ups = [(name, v["number"], v["first"]) for name, v in sent(github)[1:]]
    assert follow_ups == [("MoreComments", busy, 100)] * 2 + [("MoreEvents", busy, 100)] * 4


_MOMENT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _pairs(label: str, actor: str, at: datetime) -> list[tuple[str, str, str, datetime]]:
    """A page of label events: 50 times `label` added and removed again by `actor` in the second `at`."""
    return [(kind, label, actor, at) for _ in range(50) for kind in ("add", "remove")]


@pytest.mark.parametrize(
    "second_and_third",
    [
        pytest.param(_pairs("triage", "bob", _MOMENT) + _pairs("triage", "carol", _MOMENT), id="who"),
        pytest.param(_pairs("triage", "bob", _MOMENT) + _pairs("urgent", "bob", _MOMENT), id="which label"),
        pytest.param(_pairs("triage", "bob", _MOMENT) + _pairs("triage", "bob", _MOMENT + _SECOND), id="when"),
        pytest.param(
            [("add", f"l{n}", "bob", _MOMENT) for n in range(100)]
            + [("remove", f"l{n}", "bob", _MOMENT) for n in range(100)],
            id="added or removed",
        ),
    ],
)
def test_label_events_alike_but_for_one_field_are_no_repeated_page(
    github: GitHubSandbox, second_and_third: list[tuple[str, str, str, datetime]]
) -> None:
    """Two pages of label events alike but for who made them, which label, when, or whether it was added or
    removed: different events, not a page answered twice, so every page is read and who added the judgement label
    last is known (the first page comes with the issue; the pages after it are held by a guard of their own)."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    first = _pairs("filler", "bob", _MOMENT - _SECOND)[:-1]  # and the issue's first event: labelled `postmortem`
    for kind, label, actor, at in first + second_and_third:
        change = {"add": [label]} if kind == "add" else {"remove": [label]}
        github.edit_labels(REPO, number, **change, actor=actor, at=at)
    github.edit_labels(REPO, number, add=[defaults.VERIFIED_LABEL], actor="trent")

    with capture_logs() as logs:
        ticket = tracker(github).get_ticket(f"{REPO}#{number}")

    assert ticket.labelled_by == ((defaults.VERIFIED_LABEL, "trent"),)
    assert [line for line in logs if line["event"] == "github.events_unread"] == []
    assert [(name, v["first"]) for name, v in sent(github) if name == "MoreEvents"] == [("MoreEvents", 100)] * 3


def test_labels_past_a_page_are_paged_for_that_issue_alone_and_an_empty_body_stays_empty(
    github: GitHubSandbox,
) -> None:
    names = [LABEL, *(f"area-{n:03}" for n in range(149))]
    number = github.add_issue(REPO, labels=names, state="closed", body=None)

    ticket = tracker(github).get_ticket(f"{REPO}#{number}")

    assert ticket.labels == frozenset(names) and ticket.body == ""
    assert [(name, v["number"], v["first"]) for name, v in sent(github)[1:]] == [("MoreLabels", number, 100)]


def test_label_events_of_one_page_are_read_with_the_issue_and_not_asked_for_again(github: GitHubSandbox) -> None:
    """GitHub gives the last page its `endCursor` too: with `hasNextPage` false it is never followed."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    github.edit_labels(REPO, number, add=[defaults.VERIFIED_LABEL], actor="trent")
    ticket = tracker(github).get_ticket(f"{REPO}#{number}")
    assert ticket.labelled_by == ((defaults.VERIFIED_LABEL, "trent"),)
    assert [name for name, _ in sent(github)] == ["GetIssue"]


# -- errors in a 200 answer: refused out loud -------------------------------------------------------------------
def is_listing(request: Any) -> bool:
    return request.path.endswith("/graphql") and b"ListIssues" in request.body


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        # an error beside partial data: half an answer is not read as the whole
        (
            {
                "data": {
                    "repository": {"issues": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}
                },
                "errors": [{"type": "SERVICE_UNAVAILABLE", "path": ["repository", "issues"], "message": "timed out"}],
            },
            "GraphQL errors SERVICE_UNAVAILABLE: timed out",
        ),
        (
            {"data": {"repository": None}, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible"}]},
            "GraphQL errors FORBIDDEN: Resource not accessible",
        ),
        ({"data": None}, "unexpected GraphQL answer: no data"),
    ],
)
def test_an_answer_with_errors_is_refused_never_read_as_no_issues(
    github: GitHubSandbox, answer: dict[str, Any], named: str
) -> None:
    github.add_issue(REPO, labels=[LABEL], state="closed")
    github.faults.inject(listing_page(answer), times=10, match=is_listing)
    sleeps: list[float] = []

    with pytest.raises(TrackerError) as caught:
        list(tracker(github, sleeps).resolved_tickets(LABEL, 7))

    assert f"GitHub list {REPO} issues failed: {named}" in str(caught.value)
    assert len(github.requests) == 1 and sleeps == []  # the same answer would come again: not retried


def test_a_missing_repository_is_refused_with_githubs_not_found(github: GitHubSandbox) -> None:
    with pytest.raises(TrackerError, match=r"GraphQL errors NOT_FOUND: Could not resolve to a Repository"):
        list(tracker(github, repositories=("acme/gone",)).resolved_tickets(LABEL, 7))


def test_get_ticket_of_a_pull_request_falls_back_to_rest_and_says_so(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    ticket = tracker(github).get_ticket(f"{REPO}#{number}")
    assert ticket.kind == "pull request"
    assert [r.path for r in github.requests] == ["/graphql", f"/repos/{REPO}/issues/{number}"]
    with pytest.raises(TrackerError, match="HTTP 404"):
        tracker(github).get_ticket(f"{REPO}#999")


# -- rate limits: GraphQL's points, handled like REST's ---------------------------------------------------------
def test_a_rate_limited_answer_waits_for_the_reset_then_reads(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    github.rate_limit_graphql(1, reset_in=3)
    sleeps: list[float] = []

    found = list(tracker(github, sleeps).resolved_tickets(LABEL, 7))

    assert [t.key for t in found] == [f"{REPO}#{number}"]
    assert len(sleeps) == 1 and 2 <= sleeps[0] <= 5  # until x-ratelimit-reset, as for REST's primary limit
    first, second = github.requests
    assert first.body == second.body  # the same page asked again


def test_a_rate_limit_that_resets_too_late_stops_the_run_without_waiting(github: GitHubSandbox) -> None:
    github.add_issue(REPO, labels=[LABEL], state="closed")
    github.rate_limit_graphql(1, reset_in=3600)
    sleeps: list[float] = []

    with pytest.raises(TrackerThrottled) as caught:
        list(tracker(github, sleeps).resolved_tickets(LABEL, 7))

    assert sleeps == [] and len(github.requests) == 1
    assert "GraphQL primary rate limit" in str(caught.value) and "RATE_LIMITED" in str(caught.value)


def test_the_sandbox_answers_a_spent_quota_as_github_does(github: GitHubSandbox) -> None:
    github.rate_limit_graphql(1, reset_in=60)
    auth = {"Authorization": f"bearer {github.token}"}
    variables = {"owner": "acme", "name": "api", "first": 1, "comments": 1}
    answer = requests.post(f"{github.url}/graphql", json={"query": LIST_ISSUES, "variables": variables}, headers=auth)
    assert answer.status_code == 200 and answer.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert (answer.headers["x-ratelimit-remaining"], answer.headers["x-ratelimit-resource"]) == ("0", "graphql")


def test_a_secondary_limit_on_graphql_is_retried_after_its_retry_after(github: GitHubSandbox) -> None:
    github.add_issue(REPO, labels=[LABEL], state="closed")
    github.throttle(1, status=403, retry_after=2, match=is_listing)
    sleeps: list[float] = []
    assert len(list(tracker(github, sleeps).resolved_tickets(LABEL, 7))) == 1
    assert sleeps == [2.0]


def test_a_5xx_on_a_query_is_retried_it_is_a_read(github: GitHubSandbox) -> None:
    github.add_issue(REPO, labels=[LABEL], state="closed")
    github.fail(times=2, status=502, match=is_listing)
    assert len(list(tracker(github).resolved_tickets(LABEL, 7))) == 1
    assert len(github.requests) == 3 and github.writes() == []


# -- size: one hostile issue does not take its neighbours down --------------------------------------------------
def test_a_page_over_the_size_cap_is_asked_for_again_in_smaller_pages(github: GitHubSandbox) -> None:
    quiet = github.add_issue(REPO, labels=[LABEL], state="closed")  # listed first: updated longest ago
    loud = [github.add_issue(REPO, labels=[LABEL], state="closed") for _ in range(6)]
    for number in loud:  # 6 x 100 comments of 60,000 characters: 36 MB, over the 32 MiB cap of one answer
        for n in range(100):
            github.add_comment(REPO, number, f"{n} " + "x" * 60_000, user="mallory")

    found = list(tracker(github).resolved_tickets(LABEL, 7))

    assert [t.key for t in found] == [f"{REPO}#{n}" for n in [quiet, *loud]]
    assert [len(t.comments) for t in found] == [0] + [100] * 6
    # 100 and 20 issues: refused at the cap; 4 (18 MB) read; the next page at full size again (3 left)
    assert [v["first"] for _, v in sent(github)] == [100, 20, 4, 100]


def test_one_issue_over_the_size_cap_is_read_in_smaller_pages_of_comments(github: GitHubSandbox) -> None:
    """A single read (`get_ticket`) over the cap: its first page of comments, then each page after it, asked for
    again smaller (100, then 20). Bodies of 60,000 characters each escaped to 6 bytes (`\\u00e9`): 100 of them are
    36 MB, over the 32 MiB cap of one answer; 80 are under it."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    for n in range(120):
        github.add_comment(REPO, number, f"{n} " + "\u00e9" * 60_000, user="mallory")
    client = tracker(github)
    github.clear_requests()

    with capture_logs() as logs:
        ticket = client.get_ticket(f"{REPO}#{number}")

    assert [c.id for c in ticket.comments] == [str(c.id) for c in github.issue(REPO, number).comments]
    assert len(ticket.comments) == 120
    asked = sent(github)
    assert [(operation, v.get("comments", v.get("first"))) for operation, v in asked] == [
        ("GetIssue", 100),
        ("GetIssue", 20),
        ("MoreComments", 100),
        ("MoreComments", 20),  # the same page again, smaller
        ("MoreComments", 100),  # the next one at full size again: 80 left, under the cap
    ]
    assert asked[0][1] == {"owner": "acme", "name": "api", "number": number, "comments": 100}  # no `first`
    after = [v["after"] for _, v in asked[2:]]
    assert after[0] == after[1] != after[2]
    too_large = [line for line in logs if line["event"] == "github.answer_too_large"]
    assert too_large == [
        {
            "event": "github.answer_too_large",
            "log_level": "warning",
            "action": "read",
            "ticket": f"{REPO}#{number}",
            "issues": 1,
            "comments": 100,
        }
    ]


def test_a_single_read_refused_by_graphql_names_the_issue_and_is_not_asked_again(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    refusal = {"data": {"repository": None}, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible"}]}
    github.faults.inject(Reply.json(200, refusal), match=lambda r: b"GetIssue" in r.body)
    sleeps: list[float] = []
    with pytest.raises(TrackerError) as caught:
        tracker(github, sleeps).get_ticket(f"{REPO}#{number}")
    assert (
        str(caught.value) == f"{REPO}#{number}: GitHub read failed: GraphQL errors FORBIDDEN: Resource not accessible"
    )
    assert [name for name, _ in sent(github)] == ["GetIssue"] and sleeps == []


# -- who is who -------------------------------------------------------------------------------------------------
def test_a_bot_is_named_as_rest_names_it(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", user="action-item-verifier[bot]")
    github.add_comment(REPO, number, MARKER, user="action-item-verifier[bot]")
    [ticket] = tracker(github).resolved_tickets(LABEL, 7)
    assert (ticket.creator, ticket.comments[0].author) == ("action-item-verifier[bot]",) * 2
    bot = json.loads(github.requests[0].body)  # GraphQL names it without the suffix, as GitHub does
    assert "__typename" in bot["query"]


@pytest.mark.parametrize("fixture", ["github", "github_enterprise"])
def test_graphql_lives_beside_the_rest_base(request: pytest.FixtureRequest, fixture: str) -> None:
    server: GitHubSandbox = request.getfixturevalue(fixture)
    server.add_issue(REPO, labels=[LABEL], state="closed")
    assert len(list(tracker(server).resolved_tickets(LABEL, 7))) == 1
    expected = {"github": "/graphql", "github_enterprise": "/api/graphql"}[fixture]  # REST: /, or /api/v3
    assert [r.path for r in server.requests] == [expected]


# -- the sandbox keeps GitHub's rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(("first", "kind"), [(101, "EXCESSIVE_PAGINATION"), (None, "MISSING_PAGINATION_BOUNDARIES")])
def test_the_sandbox_refuses_pages_github_refuses(github: GitHubSandbox, first: int | None, kind: str) -> None:
    github.add_issue(REPO)
    query = 'query($first: Int) { repository(owner: "acme", name: "api") { issues(first: $first) { totalCount } } }'
    auth = {"Authorization": f"token {github.token}"}
    answer = requests.post(f"{github.url}/graphql", json={"query": query, "variables": {"first": first}}, headers=auth)
    assert answer.status_code == 200 and [e["type"] for e in answer.json()["errors"]] == [kind]


def test_the_sandbox_refuses_a_field_the_schema_does_not_have() -> None:
    query = '{ repository(owner: "acme", name: "api") { issues(first: 1) { nodes { assignee } } } }'
    with GitHubSandbox() as github:  # not the contract-checked fixture: the query is wrong on purpose
        github.add_repo(REPO)
        auth = {"Authorization": f"token {github.token}"}
        answer = requests.post(f"{github.url}/graphql", json={"query": query}, headers=auth).json()
    assert "data" not in answer and "Cannot query field 'assignee' on type 'Issue'" in answer["errors"][0]["message"]


def test_a_graphql_rate_limit_that_names_no_wait_waits_the_secondary_limits_minute_capped(
    github: GitHubSandbox,
) -> None:
    """No Retry-After, no spent quota in the headers (a secondary limit's answer): the customary minute, within
    `max_rate_limit_wait` (30 s here), then the query again."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    limited = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit already exceeded."}]}
    github.faults.inject(Reply.json(200, limited), times=1, match=lambda r: r.path.endswith("/graphql"))
    sleeps: list[float] = []

    found = [t.key for t in tracker(github, sleeps).resolved_tickets(LABEL, 7)]

    assert found == [f"{REPO}#{number}"]
    assert sleeps == [30]


def test_a_graphql_rate_limit_without_headers_that_outlasts_the_retries_is_the_primary_limit_by_ticket(
    github: GitHubSandbox,
) -> None:
    """RATE_LIMITED is GraphQL's point quota: named the primary limit even when no header says the quota is spent,
    and a single read names its issue."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    limited = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit already exceeded."}]}
    github.faults.inject(Reply.json(200, limited), times=50, match=lambda r: r.path.endswith("/graphql"))
    with pytest.raises(TrackerThrottled) as caught:
        tracker(github).get_ticket(f"{REPO}#{number}")
    assert re.match(
        rf"{REPO}#{number}: GitHub read failed: GraphQL primary rate limit \(the token's hourly request quota is "
        r"spent, resets at \d\d:\d\d:\d\d UTC\): GraphQL errors RATE_LIMITED: API rate limit already exceeded\.\. The run stops",
        str(caught.value),
    )
