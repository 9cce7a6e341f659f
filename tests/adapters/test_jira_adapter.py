"""The Jira adapter through the real `jira` client, over HTTP, against the Jira sandbox (Cloud and Data Center).

Every exchange is validated against Atlassian's API description (see conftest.py / contract.py).
"""

from __future__ import annotations

import email.utils
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
import requests
from jira import JIRA
from pydantic import SecretStr, ValidationError

from tests.adapters.contract import ContractValidator
from verifier.adapters.jira import JiraTracker
from verifier.adapters.retry import RetryPolicy
from verifier.connections import JiraConnection
from verifier.domain.tickets import Flavour
from verifier.errors import TrackerError, TrackerThrottled
from verifier_sandbox.http import Reply
from verifier_sandbox.jira import JiraSandbox, JiraTransition

LABEL = "postmortem"


def connect(server: JiraSandbox, **overrides: object) -> JiraConnection:
    auth: dict[str, object] = (
        {"email": server.email, "api_token": server.api_token} if server.cloud else {"pat": server.pat}
    )
    return JiraConnection.model_validate({"url": server.url, **auth, **overrides})


def tracker(server: JiraSandbox, sleeps: list[float] | None = None, **overrides: object) -> JiraTracker:
    naps = sleeps if sleeps is not None else []
    policy = RetryPolicy(backoff_seconds=0.01, sleep=naps.append)
    return JiraTracker(connect(server, **overrides), retry=policy)


def searches(server: JiraSandbox) -> list[str]:
    return [r.path for r in server.requests if "/search" in r.path]


# -- listing ---------------------------------------------------------------------------------------------------
def test_lists_done_tickets_over_several_pages(jira: JiraSandbox) -> None:
    keys = [jira.add_issue(summary=f"item {n}", labels=[LABEL, "team-a"]) for n in range(250)]
    jira.add_issue(labels=["other"])
    jira.add_issue(labels=[LABEL], status="In Progress")
    jira.add_issue(labels=[LABEL], resolved=datetime.now(UTC) - timedelta(days=90))

    found = list(tracker(jira).resolved_tickets(LABEL, lookback_days=30))

    assert [t.key for t in found] == keys
    assert all(t.resolution == "Done" and t.status == "Done" and LABEL in t.labels for t in found)
    pages = [r for r in jira.requests if r.path.endswith(("/search", "/search/jql"))]
    assert len(pages) == 3
    if jira.cloud:
        assert {r.path for r in pages} == {"/rest/api/2/search/jql"}
        assert [r.param("nextPageToken") is None for r in pages] == [True, False, False]
    else:
        assert {r.path for r in pages} == {"/rest/api/2/search"}
        assert [r.param("startAt") for r in pages] == ["0", "100", "200"]
    assert set(pages[0].param("fields").split(",")) == {  # type: ignore[union-attr]
        "summary",
        "status",
        "resolution",
        "resolutiondate",
        "labels",
        "description",
        "reporter",
        "creator",
        "comment",
        "created",
        "priority",
    }


def test_cloud_search_never_touches_the_removed_endpoint(jira_cloud: JiraSandbox) -> None:
    jira_cloud.add_issue(labels=[LABEL])
    assert len(list(tracker(jira_cloud).resolved_tickets(LABEL, 7))) == 1
    assert not [r for r in jira_cloud.requests if r.path.endswith("/search")]


@pytest.mark.parametrize("version", ["2", "3"])
def test_cloud_sandbox_answers_410_on_the_removed_search(jira_cloud: JiraSandbox, version: str) -> None:
    auth = (jira_cloud.email, jira_cloud.api_token)
    answer = requests.get(f"{jira_cloud.url}/rest/api/{version}/search", params={"jql": "labels = x"}, auth=auth)
    assert answer.status_code == 410
    assert "search/jql" in answer.json()["errorMessages"][0]


def test_data_center_pages_are_read_as_the_caller_iterates(jira_dc: JiraSandbox) -> None:
    """Streamed: 250 tickets are never all in memory; each page is asked for when the one before is used up."""
    keys = [jira_dc.add_issue(labels=[LABEL]) for _ in range(250)]
    listing = tracker(jira_dc).resolved_tickets(LABEL, 30)
    first = [next(listing).key for _ in range(100)]
    assert len(searches(jira_dc)) == 1
    rest = [t.key for t in listing]
    assert first + rest == keys
    assert [r.param("startAt") for r in jira_dc.requests if r.path.endswith("/search")] == ["0", "100", "200"]


def test_comments_beyond_the_first_page(jira: JiraSandbox) -> None:
    key = jira.add_issue(labels=[LABEL])
    for n in range(130):
        jira.add_comment(key, f"comment {n}", author="bob" if n % 2 else "carol")

    (ticket,) = tracker(jira).resolved_tickets(LABEL, 7)

    assert [c.body for c in ticket.comments] == [f"comment {n}" for n in range(130)]
    bob = jira.user("bob")
    assert ticket.comments[1].author == (bob.account_id if jira.cloud else "bob")
    pages = [r for r in jira.requests if r.path.endswith(f"/issue/{key}/comment")]
    assert [r.param("startAt") for r in pages] == ["20", "120"]


def test_not_a_fix_resolutions_are_skipped(jira: JiraSandbox) -> None:
    fixed = jira.add_issue(labels=[LABEL], resolution="Fixed")
    done = jira.add_issue(labels=[LABEL], resolution="Done")
    for resolution in ("Won't Do", "Duplicate", "won\u2019t fix", "CANNOT REPRODUCE", "Declined"):
        jira.add_issue(labels=[LABEL], resolution=resolution)

    assert [t.key for t in tracker(jira).resolved_tickets(LABEL, 7)] == [fixed, done]
    custom = tracker(jira, not_fix_resolutions=("Fixed",))
    assert fixed not in [t.key for t in custom.resolved_tickets(LABEL, 7)]


def test_project_and_extra_jql_narrow_the_search(jira_cloud: JiraSandbox) -> None:
    wanted = jira_cloud.add_issue(project="OPS", labels=[LABEL, "sev1"])
    jira_cloud.add_issue(project="OPS", labels=[LABEL])
    jira_cloud.add_issue(project="WEB", labels=[LABEL, "sev1"])
    adapter = tracker(jira_cloud, project="OPS", extra_jql='labels = "sev1"')
    assert [t.key for t in adapter.resolved_tickets(LABEL, 7)] == [wanted]
    jql = jira_cloud.requests[-1].param("jql")
    assert jql == (
        'labels = "postmortem" AND statusCategory = Done AND resolved >= -7d AND project = "OPS" '
        'AND (labels = "sev1") ORDER BY key ASC'
    )


def test_jql_the_sandbox_cannot_evaluate_is_refused_not_ignored(jira: JiraSandbox) -> None:
    jira.add_issue(labels=[LABEL])
    with pytest.raises(TrackerError, match=r"HTTP 400.*does not exist"):
        list(tracker(jira, extra_jql="sprint in openSprints()").resolved_tickets(LABEL, 7))
    with pytest.raises(TrackerError, match=r"HTTP 400.*not supported"):
        list(tracker(jira, extra_jql="reporter = currentUser()").resolved_tickets(LABEL, 7))


def test_get_ticket_reads_every_field(jira: JiraSandbox) -> None:
    resolved = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    key = jira.add_issue(
        summary="Add retries", description="h1. Fix\n* retries", labels=[LABEL, "x"], resolved=resolved
    )
    jira.add_comment(key, "{code}ok{code}", author="bob", created=resolved)
    ticket = tracker(jira).get_ticket(key)
    assert (ticket.title, ticket.body, ticket.labels) == ("Add retries", "h1. Fix\n* retries", {LABEL, "x"})
    assert ticket.resolved_at == resolved.replace(microsecond=890000)
    assert ticket.url == f"{jira.url}/browse/{key}"
    assert ticket.reporter == (jira.user("alice").account_id if jira.cloud else "alice")
    assert ticket.comments[0].created == resolved and ticket.comments[0].body == "{code}ok{code}"


def test_account_is_the_account_id_on_cloud_and_the_user_name_on_data_center(jira: JiraSandbox) -> None:
    adapter = tracker(jira)
    assert adapter.flavour is Flavour.JIRA_WIKI
    assert adapter.account() == (jira.bot.account_id if jira.cloud else "verifier-bot")


# -- writing ---------------------------------------------------------------------------------------------------
def test_comment_is_posted_as_wiki_markup_on_v2(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    tracker(jira).comment(key, "h3. Verified\n* error rate 0.1%")
    (write,) = jira.writes()
    assert (write.method, write.path) == ("POST", f"/rest/api/2/issue/{key}/comment")
    assert write.json() == {"body": "h3. Verified\n* error rate 0.1%"}
    assert jira.issue(key).comments[-1].author == jira.bot


def test_a_comment_with_labels_is_one_issue_edit_sent_once_after_a_5xx_and_again_after_a_503(
    jira: JiraSandbox,
) -> None:
    key = jira.add_issue(labels=[LABEL, "keep-me"])
    assert tracker(jira).comment(key, "h3. Verified", ["verified"]) == ""  # a 204: no id
    (write,) = jira.writes()
    assert (write.method, write.path) == ("PUT", f"/rest/api/2/issue/{key}")
    assert write.json() == {"update": {"comment": [{"add": {"body": "h3. Verified"}}], "labels": [{"add": "verified"}]}}
    issue = jira.issue(key)
    assert ([c.body for c in issue.comments], issue.labels) == (["h3. Verified"], [LABEL, "keep-me", "verified"])
    assert issue.comments[-1].author == jira.bot
    jira.fail(times=1, status=503, match=lambda r: r.method == "PUT")
    tracker(jira).comment(key, "again", ["verified"])  # refused before processing: sent again
    jira.fail(times=1, status=500, match=lambda r: r.method == "PUT")
    with pytest.raises(TrackerError, match="HTTP 500"):
        tracker(jira).comment(key, "once", ["verified"])  # may have been stored: never sent twice
    assert len(jira.writes()) == 4 and [c.body for c in issue.comments] == ["h3. Verified", "again"]
    tracker(jira).add_labels(key, ["x"])  # a labels-only edit is still retried after a 500
    jira.fail(times=1, status=500, match=lambda r: r.method == "PUT")
    tracker(jira).add_labels(key, ["y"])
    assert "y" in issue.labels


def test_add_labels_adds_and_never_replaces(jira: JiraSandbox) -> None:
    key = jira.add_issue(labels=[LABEL, "keep-me"])
    tracker(jira).add_labels(key, ["verified", "verified", "auto"])
    (write,) = jira.writes()
    assert (write.method, write.path) == ("PUT", f"/rest/api/2/issue/{key}")
    assert write.json() == {"update": {"labels": [{"add": "verified"}, {"add": "auto"}]}}
    assert jira.issue(key).labels == [LABEL, "keep-me", "verified", "auto"]
    tracker(jira).add_labels(key, [])
    assert len(jira.writes()) == 1


def test_reopen_prefers_a_transition_to_the_new_category(jira: JiraSandbox) -> None:
    jira.set_workflow(
        "review",
        [
            JiraTransition("41", "Back to review", "In Review", "indeterminate"),
            JiraTransition("51", "Reopen", "Reopened", "new"),
        ],
    )
    key = jira.add_issue(workflow="review")
    assert tracker(jira).reopen(key) is True
    issue = jira.issue(key)
    assert (issue.status, issue.category, issue.resolution, issue.resolved) == ("Reopened", "new", None, None)
    assert jira.writes()[-1].json() == {"transition": {"id": "51"}}


def test_reopen_falls_back_to_in_progress_and_honours_a_configured_name(jira: JiraSandbox) -> None:
    jira.set_workflow("review", [JiraTransition("41", "Back to review", "In Review", "indeterminate")])
    first, second = jira.add_issue(workflow="review"), jira.add_issue()
    assert tracker(jira).reopen(first) is True
    assert jira.issue(first).status == "In Review"
    assert tracker(jira, reopen_transition="in progress").reopen(second) is True
    assert jira.issue(second).status == "In Progress"
    assert tracker(jira, reopen_transition="Escalate").reopen(second) is False


def test_reopen_without_a_transition_returns_false_and_changes_nothing(jira: JiraSandbox) -> None:
    key = jira.add_issue(workflow="none", labels=[LABEL])
    before = (jira.issue(key).status, jira.issue(key).resolution, list(jira.issue(key).labels))
    assert tracker(jira).reopen(key) is False
    assert jira.writes() == []
    assert (jira.issue(key).status, jira.issue(key).resolution, jira.issue(key).labels) == before


# -- failures --------------------------------------------------------------------------------------------------
def test_429_with_retry_after_is_honoured_then_succeeds(jira: JiraSandbox) -> None:
    jira.add_issue(labels=[LABEL])
    jira.throttle(times=2, retry_after=1)
    sleeps: list[float] = []
    assert len(list(tracker(jira, sleeps).resolved_tickets(LABEL, 7))) == 1
    assert sleeps == [1.0, 1.0]
    assert jira.faults.pending == 0


def test_429_on_a_write_is_retried_once_and_writes_once(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.throttle(times=1, retry_after=1, match=lambda r: r.method == "POST")
    tracker(jira).comment(key, "hello")
    assert len(jira.issue(key).comments) == 1
    assert [r.method for r in jira.writes()] == ["POST", "POST"]


def test_a_retry_after_beyond_the_cap_fails_at_once(jira: JiraSandbox) -> None:
    jira.throttle(times=1, retry_after=3600)
    sleeps: list[float] = []
    with pytest.raises(TrackerThrottled, match=r"HTTP 429.*asked to wait 3600s, beyond the cap of 60s.*stops writing"):
        tracker(jira, sleeps).get_ticket(jira.add_issue())
    assert sleeps == [] and len(jira.requests) == 1


def test_5xx_bursts_are_retried_for_reads(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.fail(times=2, status=502)
    sleeps: list[float] = []
    assert tracker(jira, sleeps).get_ticket(key).key == key
    assert sleeps == [0.02]  # urllib3's backoff: the first retry goes at once, then factor × 2ⁿ


def test_503_on_a_write_is_retried_but_a_502_is_not(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.fail(times=1, status=503, match=lambda r: r.method == "POST")
    tracker(jira).comment(key, "first")
    assert [c.body for c in jira.issue(key).comments] == ["first"]
    jira.fail(times=1, status=502, match=lambda r: r.method == "POST")
    with pytest.raises(TrackerError, match="HTTP 502"):
        tracker(jira).comment(key, "second")
    assert len([r for r in jira.writes() if r.method == "POST"]) == 3


def test_retry_after_as_an_http_date_is_honoured(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    jira.faults.inject(Reply.json(429, {"errorMessages": ["slow down"], "errors": {}}, [("Retry-After", when)]))
    sleeps: list[float] = []
    assert tracker(jira, sleeps).get_ticket(key).key == key
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30


def test_throttling_that_never_ends_gives_up_after_the_attempts(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.throttle(times=10, retry_after=1, match=lambda r: r.method == "POST")
    sleeps: list[float] = []
    with pytest.raises(TrackerError, match=r"HTTP 429.*after 4 attempts"):
        tracker(jira, sleeps).comment(key, "hello")
    assert sleeps == [1, 1, 1] and jira.issue(key).comments == []


def test_connection_errors_are_retried_then_fail_naming_the_cause() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    adapter = JiraTracker(
        JiraConnection(url=f"http://127.0.0.1:{port}", pat=SecretStr("p")),
        retry=RetryPolicy(backoff_seconds=0.01, sleep=sleeps.append),
    )
    with pytest.raises(TrackerError, match=r"NewConnectionError \(after 4 attempts\)"):
        adapter.comment("OPS-1", "hello")  # a POST: the request never reached the server
    assert sleeps == [0.02, 0.04]


def test_the_library_clients_own_retries_are_off(jira: JiraSandbox) -> None:
    jira.throttle(times=1, retry_after=0)
    sleeps: list[float] = []
    with pytest.raises(TrackerError, match="HTTP 429"):
        JiraTracker(
            JiraConnection.model_validate(
                {
                    "url": jira.url,
                    **({"email": jira.email, "api_token": jira.api_token} if jira.cloud else {"pat": jira.pat}),
                }
            ),
            retry=RetryPolicy(attempts=1, sleep=sleeps.append),
        ).account()
    assert len(jira.requests) == 1 and sleeps == []  # one try means one request: no retry below ours


def test_a_500_becomes_a_tracker_error_naming_the_ticket(jira: JiraSandbox) -> None:
    key = jira.add_issue()
    jira.fail(times=10, status=500)
    with pytest.raises(TrackerError) as caught:
        tracker(jira).comment(key, "hello")
    assert caught.value.ticket == key
    assert str(caught.value).startswith(f"{key}: Jira comment failed: HTTP 500")
    assert len(jira.writes()) == 1  # a comment is not retried after a 500: it may have been stored


def test_reads_give_up_after_the_attempts(jira: JiraSandbox) -> None:
    jira.fail(times=10, status=500)
    with pytest.raises(TrackerError, match=r"HTTP 500.*after 4 attempts"):
        tracker(jira).get_ticket("OPS-1")


def test_a_slow_tracker_times_out_into_a_tracker_error(jira: JiraSandbox) -> None:
    jira.set_latency(0.3)
    with pytest.raises(TrackerError, match="Timeout"):
        tracker(jira, timeout_seconds=0.05).get_ticket("OPS-1")


def test_wrong_credentials(jira: JiraSandbox) -> None:
    wrong = {"api_token": "not-the-token"} if jira.cloud else {"pat": "not-the-pat"}
    with pytest.raises(TrackerError) as caught:
        tracker(jira, **wrong).account()
    assert "HTTP 401" in str(caught.value)
    assert "not-the" not in str(caught.value)
    hint = "Atlassian API tokens expire" if jira.cloud else "personal access tokens expire"
    assert hint in str(caught.value) and "\n" not in str(caught.value)


# -- configuration ---------------------------------------------------------------------------------------------
def test_connection_needs_exactly_one_auth_method() -> None:
    with pytest.raises(ValidationError, match=r"email \+ api_token .* or pat"):
        JiraConnection(url="https://x.atlassian.net", email="a@b.c", api_token=SecretStr("t"), pat=SecretStr("p"))
    with pytest.raises(ValidationError, match="missing email and api_token"):
        JiraConnection(url="https://x.atlassian.net")
    with pytest.raises(ValidationError, match="missing api_token"):
        JiraConnection(url="https://x.atlassian.net", email="a@b.c")
    with pytest.raises(ValidationError, match="project"):
        JiraConnection(url="https://x", pat=SecretStr("p"), project="ops; DROP")
    with pytest.raises(ValidationError, match="ORDER BY"):
        JiraConnection(url="https://x", pat=SecretStr("p"), extra_jql="a = b order  by key")
    with pytest.raises(ValidationError) as caught:  # plain strings, as settings hand them over
        JiraConnection.model_validate({"url": "https://x", "email": "a", "api_token": "TOKEN-1", "pat": "PAT-2"})
    assert "TOKEN-1" not in str(caught.value) and "PAT-2" not in str(caught.value)


def test_secrets_stay_out_of_reprs_and_errors(jira: JiraSandbox) -> None:
    secret = jira.api_token if jira.cloud else jira.pat
    connection = connect(jira)
    adapter = tracker(jira)
    jira.fail(times=10, status=500)
    with pytest.raises(TrackerError) as caught:
        adapter.get_ticket("OPS-1")
    for text in (repr(connection), str(connection), repr(adapter), str(caught.value), repr(caught.value)):
        assert secret not in text


# -- the sandbox and the contract themselves -------------------------------------------------------------------
def test_sandbox_v3_comment_needs_an_atlassian_document(jira_cloud: JiraSandbox) -> None:
    key = jira_cloud.add_issue()
    auth = (jira_cloud.email, jira_cloud.api_token)
    url = f"{jira_cloud.url}/rest/api/3/issue/{key}/comment"
    assert requests.post(url, json={"body": "plain"}, auth=auth).status_code == 400
    document = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}],
    }
    created = requests.post(url, json={"body": document}, auth=auth)
    assert created.status_code == 201
    assert created.json()["body"] == document
    assert jira_cloud.issue(key).comments[-1].body == "hi"


def test_the_contract_catches_what_the_api_would_reject(jira: JiraSandbox, jira_contract: ContractValidator) -> None:
    """The `jira` library's own transition_issue posts the id as a number, which the description forbids."""
    key = jira.add_issue()
    auth = {"basic_auth": (jira.email, jira.api_token)} if jira.cloud else {"token_auth": jira.pat}
    client = JIRA(server=jira.url, get_server_info=False, max_retries=0, **auth)  # type: ignore[arg-type]
    client.transition_issue(key, "11")
    assert any("transitions: request" in v and "is not of type 'string'" in v for v in jira_contract.violations)
    jira_contract.violations.clear()


def test_sandbox_records_every_request(jira: JiraSandbox) -> None:
    adapter = tracker(jira)
    adapter.account()
    assert [(r.method, r.path) for r in jira.requests] == [
        ("GET", "/rest/api/2/myself"),
        ("GET", "/rest/api/2/serverInfo"),
    ]
    assert json.loads(b"null" if not jira.requests[0].body else jira.requests[0].body) is None


def test_sandbox_cloud_search_by_post_defaults_to_ids_and_pages_by_token(jira_cloud: JiraSandbox) -> None:
    keys = [jira_cloud.add_issue(labels=[LABEL]) for _ in range(3)]
    auth = (jira_cloud.email, jira_cloud.api_token)
    url = f"{jira_cloud.url}/rest/api/3/search/jql"
    first = requests.post(url, json={"jql": f"labels = {LABEL}", "maxResults": 2}, auth=auth).json()
    assert first["issues"] == [{"id": str(jira_cloud.issue(k).id)} for k in keys[:2]]
    assert "total" not in first and first["isLast"] is False
    body = {"jql": f"labels = {LABEL}", "nextPageToken": first["nextPageToken"], "fields": ["summary"]}
    last = requests.post(url, json=body, auth=auth).json()
    assert [i["key"] for i in last["issues"]] == keys[2:] and "nextPageToken" not in last
    assert last["issues"][0]["fields"]["summary"] == "Action item"  # v3 text fields: ADF for rich text only
    other = {"jql": "labels = other", "nextPageToken": first["nextPageToken"]}
    assert requests.post(url, json=other, auth=auth).status_code == 400


def test_sandbox_expands_only_the_entities_named(jira: JiraSandbox) -> None:
    """`expand` is a comma-separated list of entity names; a name Jira does not know expands nothing."""
    key = jira.add_issue(labels=[LABEL])
    jira.edit_description(key, "edited", editor="mallory")
    auth = (jira.email, jira.api_token) if jira.cloud else None
    headers = {} if jira.cloud else {"Authorization": f"Bearer {jira.pat}"}
    url = f"{jira.url}/rest/api/2/issue/{key}"
    expanded = {
        expand: "changelog" in requests.get(url, params={"expand": expand}, auth=auth, headers=headers).json()
        for expand in ("names,changelog", "changelog", "XXchangelogXX", "changelogs", "names")
    }
    assert expanded == {
        "names,changelog": True,
        "changelog": True,
        "XXchangelogXX": False,
        "changelogs": False,
        "names": False,
    }


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('labels = "a" AND statusCategory = Done', ["OPS-1", "OPS-3"]),
        ("labels in (b, c) OR status = 'In Progress'", ["OPS-2", "OPS-3"]),
        ("NOT (labels = a) AND resolution is EMPTY", ["OPS-2"]),
        ('resolved >= "2025-01-02" ORDER BY key DESC', ["OPS-3"]),
        ("resolution = Unresolved OR resolution != Done", ["OPS-2", "OPS-3"]),
        (
            "project = ops AND key in (OPS-1, OPS-2) ORDER BY resolved DESC",
            ["OPS-2", "OPS-1"],
        ),  # empty is "largest", as in Jira
    ],
)
def test_sandbox_jql(jql: str, expected: list[str]) -> None:
    from verifier_sandbox.jql import parse_jql

    server = JiraSandbox("cloud")
    server.add_issue(labels=["a"], resolved=datetime(2025, 1, 1, tzinfo=UTC))
    server.add_issue(labels=["b"], status="In Progress")
    server.add_issue(labels=["a", "c"], resolution="Won't Do", resolved=datetime(2025, 1, 3, tzinfo=UTC))
    query = parse_jql(jql, datetime(2025, 1, 10, tzinfo=UTC))
    assert [f.key.upper() for f in query.run([i.facts() for i in server.issues.values()])] == expected
    server.stop()


def test_comment_returns_its_id_and_delete_comment_removes_it(jira: JiraSandbox) -> None:
    key = jira.add_issue(labels=["post-incident"])
    jira.add_comment(key, "keep me", author="alice")
    client = tracker(jira)
    comment_id = client.comment(key, "duplicate result")
    assert [c.id for c in jira.issue(key).comments][-1] == comment_id
    client.delete_comment(key, comment_id)
    assert [c.body for c in jira.issue(key).comments] == ["keep me"]
    assert jira.writes()[-1].method == "DELETE"


# -- the history trust reads (#20) ------------------------------------------------------------------------------
def _long_history(server: JiraSandbox, key: str, noise: int) -> None:
    """An untrusted description edit, then `noise` label edits by a trusted hand that push it off the inline page."""
    server.edit_description(key, "edited", editor="mallory")
    for n in range(noise):
        server.edit_labels(key, add=[f"noise-{n}"], remove=[f"noise-{n - 1}"], editor="alice")


def test_a_history_longer_than_the_inline_page_is_read_whole_and_only_then(jira_cloud: JiraSandbox) -> None:
    short = jira_cloud.add_issue(labels=[LABEL])
    jira_cloud.edit_description(short, "edited", editor="mallory")
    long = jira_cloud.add_issue(labels=[LABEL])
    _long_history(jira_cloud, long, 150)
    mallory = jira_cloud.user("mallory").account_id

    listed = {t.key: t for t in tracker(jira_cloud).resolved_tickets(LABEL, 7)}
    got = tracker(jira_cloud).get_ticket(long)

    assert listed[short].body_edited_by == (mallory,) and listed[long].body_edited_by == (mallory,)
    assert got.body_edited_by == (mallory,) and got.history_gap is None
    pages = [r for r in jira_cloud.requests if r.path.endswith("/changelog")]
    assert {r.path for r in pages} == {f"/rest/api/2/issue/{long}/changelog"}  # never for the short history
    assert [r.param("startAt") for r in pages] == ["0", "100", "0", "100"]  # listing, then get_ticket


def test_a_history_that_cannot_be_read_is_a_gap_and_the_listing_goes_on(jira_cloud: JiraSandbox) -> None:
    long = jira_cloud.add_issue(labels=[LABEL])
    _long_history(jira_cloud, long, 120)
    other = jira_cloud.add_issue(labels=[LABEL])
    jira_cloud.faults.inject(
        Reply.json(403, {"errorMessages": ["no"], "errors": {}}), times=1, match=lambda r: r.path.endswith("/changelog")
    )

    listed = {t.key: t for t in tracker(jira_cloud).resolved_tickets(LABEL, 7)}

    assert listed[long].history_gap is not None and "HTTP 403" in listed[long].history_gap
    assert listed[long].labelled_by is None  # nobody known to have added its labels
    assert listed[other].history_gap is None


def test_the_creator_and_who_added_each_label(jira: JiraSandbox) -> None:
    key = jira.add_issue(labels=[LABEL], reporter="mallory", creator="alice")
    jira.set_reporter(key, "bob", editor="mallory")
    jira.edit_labels(key, add=["verified-by-otel"], editor="mallory")

    got = tracker(jira).get_ticket(key)

    ident = (lambda name: jira.user(name).account_id) if jira.cloud else (lambda name: name)
    assert (got.creator, got.reporter, got.filed_by) == (ident("alice"), ident("bob"), ident("alice"))
    assert dict(got.labelled_by or ()) == {LABEL: ident("alice"), "verified-by-otel": ident("mallory")}
    assert got.body_edited_by == () and got.history_gap is None


def test_labels_the_tool_adds_are_its_own_in_the_history(jira: JiraSandbox) -> None:
    key = jira.add_issue(labels=[LABEL])
    tracker(jira).add_labels(key, ["verified-by-otel"])
    got = tracker(jira).get_ticket(key)
    assert dict(got.labelled_by or ())["verified-by-otel"] == tracker(jira).account()
