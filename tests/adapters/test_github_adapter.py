"""The GitHub adapter through the real PyGithub client, over HTTP, against the GitHub sandbox.

Every exchange is validated against GitHub's API description (see conftest.py / contract.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github
from pydantic import SecretStr, ValidationError

from tests.adapters.contract import ContractValidator
from verifier.adapters.github import GitHubTracker, WritePacer
from verifier.connections import GitHubConnection
from verifier.domain.tickets import Flavour
from verifier.errors import TrackerError, TrackerThrottled
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Reply

LABEL = "postmortem"
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
REPO = "acme/api"


class FakeClock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def graphql_sent(server: GitHubSandbox, *, with_query: bool = False) -> list[Any]:
    """The variables of every GraphQL query the server received (with `with_query`: (query, variables) pairs)."""
    sent = [json.loads(r.body) for r in server.requests if r.method == "POST" and r.path.endswith("/graphql")]
    return [(s["query"], s["variables"]) if with_query else s["variables"] for s in sent]


def connect(server: GitHubSandbox, **overrides: object) -> GitHubConnection:
    values: dict[str, object] = {"api_url": server.url, "repositories": (REPO,), "token": server.token}
    return GitHubConnection.model_validate({**values, **overrides})


def tracker(
    server: GitHubSandbox, sleeps: list[float] | None = None, clock: FakeClock | None = None, **overrides: object
) -> GitHubTracker:
    naps = sleeps if sleeps is not None else []
    pace = clock or FakeClock()
    return GitHubTracker(
        connect(server, **overrides),
        pacer=WritePacer(clock=pace, sleep=pace.sleep),
        sleep=naps.append,
        backoff_factor=0.01,
        max_rate_limit_wait=30,
    )


# -- listing ---------------------------------------------------------------------------------------------------
def test_lists_closed_issues_over_several_pages_leaving_out_prs_and_non_fixes(github: GitHubSandbox) -> None:
    now = datetime.now(UTC)
    numbers = [github.add_issue(REPO, title=f"item {n}", labels=[LABEL], state="closed") for n in range(250)]
    github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    github.add_issue(REPO, labels=[LABEL], state="closed", state_reason="not_planned")
    github.add_issue(REPO, labels=[LABEL], state="closed", state_reason="duplicate")
    github.add_issue(REPO, labels=[LABEL], state="open")
    github.add_issue(REPO, labels=["other"], state="closed")
    old = github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(days=60))
    github.add_comment(REPO, old, "a late comment bumps updated_at, not closed_at")

    found = list(tracker(github).resolved_tickets(LABEL, lookback_days=30))

    assert sorted(t.key for t in found) == sorted(f"{REPO}#{n}" for n in numbers)
    assert all(t.resolution == "completed" and t.status == "closed" and t.resolved_at for t in found)
    pages = graphql_sent(github)
    assert len(pages) == 3 and len(github.requests) == 3  # 100 issues a request, their comments with them
    first = pages[0]
    wanted = (["CLOSED"], [LABEL], 100, {"field": "UPDATED_AT", "direction": "ASC"})
    assert (first["states"], first["labels"], first["first"], first["order"]) == wanted
    since = datetime.fromisoformat(str(first["since"]))
    assert abs(since - (now - timedelta(days=30))) < timedelta(minutes=1)
    assert [p["after"] for p in pages[1:]] == [pages[0]["after"] or p["after"] for p in pages[1:]]


def test_lists_every_configured_repository(github: GitHubSandbox) -> None:
    first = github.add_issue(REPO, labels=[LABEL], state="closed")
    second = github.add_issue("acme/web", labels=[LABEL], state="closed")
    adapter = tracker(github, repositories=(REPO, "acme/web"))
    assert [t.key for t in adapter.resolved_tickets(LABEL, 7)] == [f"{REPO}#{first}", f"acme/web#{second}"]


def test_comments_beyond_the_first_page(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    for n in range(130):
        github.add_comment(REPO, number, f"comment {n}", user="bob" if n % 2 else "carol")
    (ticket,) = tracker(github).resolved_tickets(LABEL, 7)
    assert [c.body for c in ticket.comments] == [f"comment {n}" for n in range(130)]
    assert ticket.comments[1].author == "bob"
    listing, more = graphql_sent(github, with_query=True)
    assert "ListIssues" in listing[0] and listing[1]["comments"] == 100
    assert "MoreComments" in more[0] and (more[1]["number"], more[1]["first"]) == (number, 100) and more[1]["after"]


def test_get_ticket_reads_every_field(github: GitHubSandbox) -> None:
    closed = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    number = github.add_issue(
        REPO, title="Add retries", body="## Fix", labels=[LABEL, "x"], state="closed", closed_at=closed
    )
    ticket = tracker(github).get_ticket(f"{REPO}#{number}")
    assert (ticket.title, ticket.body, ticket.labels, ticket.reporter) == (
        "Add retries",
        "## Fix",
        {LABEL, "x"},
        "alice",
    )
    assert (ticket.resolved_at, ticket.resolution, ticket.comments) == (closed, "completed", ())
    assert ticket.url == f"{github.root}/{REPO}/issues/{number}"


def test_enterprise_server_base_url(github_enterprise: GitHubSandbox) -> None:
    number = github_enterprise.add_issue(REPO, labels=[LABEL], state="closed")
    adapter = tracker(github_enterprise)
    assert [t.key for t in adapter.resolved_tickets(LABEL, 7)] == [f"{REPO}#{number}"]
    adapter.comment(f"{REPO}#{number}", "ok")
    # GraphQL beside the REST base: <host>/api/graphql for <host>/api/v3 (github.com: <host>/graphql)
    assert [r.path for r in github_enterprise.requests] == ["/api/graphql", f"/api/v3/repos/{REPO}/issues/1/comments"]


# -- identity --------------------------------------------------------------------------------------------------
def test_account_with_a_token(github: GitHubSandbox) -> None:
    adapter = tracker(github)
    assert adapter.flavour is Flavour.MARKDOWN
    assert adapter.account() == "verifier-bot"


@pytest.fixture(scope="module")
def app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def test_github_app_installation(github: GitHubSandbox, app_key: str) -> None:
    app = {
        "token": None,
        "app_id": github.app_id,
        "app_private_key": app_key,
        "installation_id": github.installation_id,
    }
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    assert tracker(github, **app, app_slug="verifier-app").account() == "verifier-app[bot]"
    adapter = tracker(github, **app)
    assert adapter.account() == "action-item-verifier[bot]"  # learnt from GET /app
    assert len(list(adapter.resolved_tickets(LABEL, 7))) == 1
    adapter.comment(f"{REPO}#{number}", "verified")
    assert github.issue(REPO, number).comments[-1].user == "action-item-verifier[bot]"
    assert [r.path for r in github.requests if r.path.startswith("/app")] == [
        "/app",
        f"/app/installations/{github.installation_id}/access_tokens",
    ]
    assert app_key not in repr(connect(github, **app)) and app_key not in repr(adapter)


# -- writing ---------------------------------------------------------------------------------------------------
def test_comment(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed")
    tracker(github).comment(f"{REPO}#{number}", "**Verified**: p99 0.21 s")
    (write,) = github.writes()
    assert (write.method, write.path, write.json()) == (
        "POST",
        f"/repos/{REPO}/issues/{number}/comments",
        {"body": "**Verified**: p99 0.21 s"},
    )
    assert github.issue(REPO, number).comments[-1].user == "verifier-bot"


def test_add_labels_adds_and_never_replaces(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL, "keep-me"], state="closed")
    tracker(github).add_labels(f"{REPO}#{number}", ["verified", "verified", "auto"])
    (write,) = github.writes()
    assert (write.method, write.path) == ("POST", f"/repos/{REPO}/issues/{number}/labels")
    assert write.json() == {"labels": ["verified", "auto"]}
    assert github.issue(REPO, number).labels == [LABEL, "keep-me", "verified", "auto"]


def test_reopen(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    assert tracker(github).reopen(f"{REPO}#{number}") is True
    (write,) = github.writes()
    assert (write.method, write.json()) == ("PATCH", {"state": "open", "state_reason": "reopened"})
    issue = github.issue(REPO, number)
    assert (issue.state, issue.state_reason, issue.closed_at, issue.labels) == ("open", "reopened", None, [LABEL])


def test_writes_are_paced(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed")
    clock = FakeClock()
    adapter = tracker(github, clock=clock)
    adapter.comment(f"{REPO}#{number}", "one")
    adapter.add_labels(f"{REPO}#{number}", ["two"])
    adapter.reopen(f"{REPO}#{number}")
    assert clock.sleeps == [1.0, 1.0]


def test_pacer_keeps_under_the_secondary_limits() -> None:
    clock = FakeClock()
    pacer = WritePacer(min_interval=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(80):
        pacer.acquire()
    assert clock.sleeps == []
    pacer.acquire()
    assert clock.sleeps == [60.0]
    hourly = WritePacer(min_interval=0.0, per_minute=1000, max_wait=4000, clock=clock, sleep=clock.sleep)
    for _ in range(501):
        hourly.acquire()
    assert clock.sleeps[-1] == 3600.0
    stingy = WritePacer(min_interval=0.0, per_minute=1, max_wait=10, clock=clock, sleep=clock.sleep)
    stingy.acquire()
    with pytest.raises(TrackerThrottled, match=r"next write is allowed in 60s.*stops writing"):
        stingy.acquire("acme/api#1")


# -- failures --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_with_retry_after(github: GitHubSandbox, status: int) -> None:
    github.add_issue(REPO, labels=[LABEL], state="closed")
    github.throttle(times=2, status=status, retry_after=1)
    sleeps: list[float] = []
    assert len(list(tracker(github, sleeps).resolved_tickets(LABEL, 7))) == 1
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit_waits_for_the_reset(github: GitHubSandbox, status: int) -> None:
    number = github.add_issue(REPO, state="closed")
    github.throttle(times=1, status=status, retry_after=None, reset_in=5)
    sleeps: list[float] = []
    tracker(github, sleeps).comment(f"{REPO}#{number}", "hello")
    assert len(sleeps) == 1 and 4 <= sleeps[0] <= 7
    assert len(github.issue(REPO, number).comments) == 1


def test_a_rate_limit_beyond_the_cap_fails_at_once_in_one_line_with_github_s_message(github: GitHubSandbox) -> None:
    github.throttle(times=1, retry_after=3600)
    with pytest.raises(TrackerThrottled) as secondary:
        tracker(github).get_ticket(f"{REPO}#1")
    assert "HTTP 403, secondary rate limit (too many requests or writes in a short time, retry after 3600s): " in str(
        secondary.value
    )
    assert "You have exceeded a secondary rate limit" in str(secondary.value)
    assert "asked to wait 3600s" in str(secondary.value) and "lower VERIFIER_MAX_WRITES" in str(secondary.value)
    github.throttle(times=1, retry_after=None, reset_in=3600)
    with pytest.raises(TrackerThrottled) as primary:
        tracker(github).get_ticket(f"{REPO}#1")
    assert "HTTP 403, primary rate limit (the token's hourly request quota is spent, resets at " in str(primary.value)
    assert "API rate limit exceeded for user ID 1" in str(primary.value) and "\n" not in str(primary.value)
    assert len(github.requests) == 2  # no retry of either


@pytest.mark.parametrize(
    ("message", "kind"),
    [(SECONDARY, "secondary rate limit"), ("API rate limit exceeded for user ID 1.", "primary rate limit")],
)
def test_a_rate_limit_without_reset_headers_is_named_after_the_retries(
    github: GitHubSandbox, message: str, kind: str
) -> None:
    github.faults.inject(
        Reply.json(403, {"message": message, "documentation_url": "https://docs.github.com/rest"}), times=10
    )
    sleeps: list[float] = []
    with pytest.raises(TrackerThrottled) as caught:
        tracker(github, sleeps).get_ticket(f"{REPO}#1")
    assert f"HTTP 403, {kind} " in str(caught.value) and message in str(caught.value)


def test_a_reopen_with_labels_is_one_update_keeping_the_labels_the_issue_has_now(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    gh = tracker(github)
    gh.get_ticket(f"{REPO}#{number}")
    github.issue(REPO, number).labels.append("added-meanwhile")
    assert gh.reopen(f"{REPO}#{number}", ["verification-failed"]) is True
    (write,) = github.writes()
    assert write.method == "PATCH" and write.json()["labels"] == [LABEL, "added-meanwhile", "verification-failed"]
    issue = github.issue(REPO, number)
    assert (issue.state, issue.labels) == ("open", [LABEL, "added-meanwhile", "verification-failed"])


def test_every_request_names_the_api_version(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    gh = tracker(github)
    gh.get_ticket(f"{REPO}#{number}")
    gh.comment(f"{REPO}#{number}", "hello")
    assert github.requests and {r.headers.get("x-github-api-version") for r in github.requests} == {"2022-11-28"}


def test_5xx_bursts_are_retried_for_reads_and_patches(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    github.fail(times=2, status=502)
    assert tracker(github).get_ticket(f"{REPO}#{number}").key == f"{REPO}#{number}"
    github.fail(times=1, status=503, match=lambda r: r.method == "PATCH")
    assert tracker(github).reopen(f"{REPO}#{number}") is True
    assert [r.method for r in github.writes()] == ["PATCH", "PATCH"]


def test_a_500_becomes_a_tracker_error_naming_the_ticket_and_a_comment_is_not_resent(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed")
    github.fail(times=10, status=500)
    with pytest.raises(TrackerError) as caught:
        tracker(github).comment(f"{REPO}#{number}", "hello")
    assert caught.value.ticket == f"{REPO}#{number}"
    assert str(caught.value) == f"{REPO}#{number}: GitHub comment failed: HTTP 500: sandbox: injected failure"
    assert len(github.writes()) == 1


def test_reads_give_up_after_the_retries(github: GitHubSandbox) -> None:
    github.fail(times=10, status=500)
    with pytest.raises(TrackerError, match="HTTP 500"):
        list(tracker(github).resolved_tickets(LABEL, 7))
    assert len(github.requests) == 5


def test_wrong_token_and_bad_keys(github: GitHubSandbox) -> None:
    with pytest.raises(TrackerError) as caught:
        tracker(github, token="ghp_wrong").account()
    assert "HTTP 401: Bad credentials" in str(caught.value) and "ghp_wrong" not in str(caught.value)
    with pytest.raises(TrackerError, match="expected owner/repo#N"):
        tracker(github).comment("acme/api-7", "x")
    with pytest.raises(TrackerError, match="not one of the configured repositories"):
        tracker(github).comment("evil/repo#1", "x")
    assert github.writes() == []


# -- configuration ---------------------------------------------------------------------------------------------
def test_connection_needs_exactly_one_auth_method() -> None:
    with pytest.raises(ValidationError, match="either token or app_id"):
        GitHubConnection(repositories=(REPO,), token=SecretStr("t"), app_id=1)
    with pytest.raises(ValidationError, match="missing token"):
        GitHubConnection(repositories=(REPO,))
    with pytest.raises(ValidationError, match="missing app_private_key, installation_id"):
        GitHubConnection(repositories=(REPO,), app_id=1)
    with pytest.raises(ValidationError, match="expected owner/repo"):
        GitHubConnection(repositories=("acme",), token=SecretStr("t"))
    with pytest.raises(ValidationError, match="not an unencrypted PEM private key") as caught:
        GitHubConnection.model_validate(
            {"repositories": [REPO], "app_id": 1, "app_private_key": "s3cr3t", "installation_id": 2}
        )
    assert "s3cr3t" not in str(caught.value)


def test_secrets_stay_out_of_reprs_and_errors(github: GitHubSandbox) -> None:
    adapter = tracker(github)
    github.fail(times=10, status=500)
    with pytest.raises(TrackerError) as caught:
        adapter.get_ticket(f"{REPO}#1")
    for text in (repr(connect(github)), str(connect(github)), repr(adapter), str(caught.value)):
        assert github.token not in text


# -- the sandbox itself ----------------------------------------------------------------------------------------
def test_sandbox_lists_pull_requests_and_patch_replaces_labels(github: GitHubSandbox) -> None:
    auth = {"Authorization": f"token {github.token}"}
    issue = github.add_issue(REPO, labels=["a", "b"])
    github.add_issue(REPO, pull_request=True)
    listed = requests.get(f"{github.url}/repos/{REPO}/issues", params={"state": "all"}, headers=auth).json()
    assert ["pull_request" in item for item in listed] == [True, False]  # newest first
    patched = requests.patch(f"{github.url}/repos/{REPO}/issues/{issue}", json={"labels": ["c"]}, headers=auth)
    assert [label["name"] for label in patched.json()["labels"]] == ["c"]
    assert requests.get(f"{github.url}/user").status_code == 401


def test_sandbox_paginates_with_link_headers(github: GitHubSandbox) -> None:
    for _ in range(5):
        github.add_issue(REPO)
    auth = {"Authorization": f"Bearer {github.token}"}
    page = requests.get(f"{github.url}/repos/{REPO}/issues", params={"per_page": 2, "page": 2}, headers=auth)
    assert len(page.json()) == 2
    assert set(page.links) == {"next", "prev", "first", "last"}
    assert page.links["last"]["url"].endswith("page=3")


def test_the_contract_catches_what_the_api_would_reject(
    github: GitHubSandbox, github_contract: ContractValidator
) -> None:
    """PyGithub's own `add_to_labels` posts a bare array; the description accepts only {"labels": [...]}."""
    number = github.add_issue(REPO)
    client = Github(auth=Auth.Token(github.token), base_url=github.url, lazy=True, seconds_between_writes=None)
    client.get_repo(REPO).get_issue(number).add_to_labels("x")
    assert any("/labels: request: InvalidRequestBody" in v for v in github_contract.violations)
    github_contract.violations.clear()


def test_comment_returns_its_id_and_delete_comment_removes_it(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed")
    github.add_comment(REPO, number, "keep me", user="carol")
    client = tracker(github)
    comment_id = client.comment(f"{REPO}#{number}", "duplicate result")
    client.delete_comment(f"{REPO}#{number}", comment_id)
    assert [c.body for c in github.issue(REPO, number).comments] == ["keep me"]
    delete = github.writes()[-1]
    assert (delete.method, delete.path) == ("DELETE", f"/repos/{REPO}/issues/comments/{comment_id}")


# -- who added a judgement label (#20) --------------------------------------------------------------------------
def test_who_added_a_judgement_label_is_read_from_the_events_and_only_then(github: GitHubSandbox) -> None:
    plain = github.add_issue(REPO, labels=[LABEL, "team-a"], state="closed", user="alice")
    judged = github.add_issue(REPO, labels=[LABEL], state="closed", user="Alice")
    github.edit_labels(REPO, judged, add=["verified-by-otel"], actor="Mallory")
    github.edit_labels(REPO, judged, add=["verification-failed"], actor="bob")
    github.edit_labels(REPO, judged, remove=["verification-failed"], actor="bob")
    for n in range(120):  # the last `labeled` event sits on the second page
        github.edit_labels(REPO, judged, add=[f"noise-{n}"], actor="bob")
    github.edit_labels(REPO, judged, remove=["verified-by-otel"], actor="bob")
    github.edit_labels(REPO, judged, add=["verified-by-otel"], actor="Mallory")

    found = {t.key: t for t in tracker(github).resolved_tickets(LABEL, 7)}

    assert found[f"{REPO}#{plain}"].labelled_by == () and found[f"{REPO}#{plain}"].creator == "alice"
    assert found[f"{REPO}#{judged}"].labelled_by == (("verified-by-otel", "mallory"),)
    assert found[f"{REPO}#{judged}"].creator == "alice"
    # The first 100 events come with the listing; the rest are read for the judged issue alone.
    more = [v for q, v in graphql_sent(github, with_query=True) if "MoreEvents" in q]
    assert [(v["number"], v["first"]) for v in more] == [(judged, 100)]  # 126 events: two pages


def test_judgement_labels_are_the_configured_ones(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL, "ok-by-otel"], state="closed", user="alice")
    gh = GitHubTracker(connect(github).judging(("ok-by-otel", "nok")))
    [ticket] = gh.resolved_tickets(LABEL, 7)
    assert ticket.key == f"{REPO}#{number}" and ticket.labelled_by == (("ok-by-otel", "alice"),)


def test_events_that_cannot_be_read_leave_the_labels_unattributed_and_the_listing_going(
    github: GitHubSandbox,
) -> None:
    first = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed")
    for n in range(101):  # a second page of events, which cannot be read
        github.edit_labels(REPO, first, add=[f"noise-{n}"], actor="bob")
    second = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed")
    github.fail(times=10, status=502, match=lambda r: b"MoreEvents" in r.body)

    found = {t.key: t for t in tracker(github).resolved_tickets(LABEL, 7)}

    assert found[f"{REPO}#{first}"].labelled_by is None
    assert found[f"{REPO}#{second}"].labelled_by == (("verified-by-otel", "alice"),)


def test_labels_the_tool_adds_are_its_own_events(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    gh = tracker(github)
    gh.add_labels(f"{REPO}#{number}", ["verified-by-otel"])
    assert gh.get_ticket(f"{REPO}#{number}").labelled_by == (("verified-by-otel", gh.account()),)


def test_events_are_not_read_for_an_issue_with_a_result_marker(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed")
    marker = "<sub>action-item-verifier result v1; verdict=VERIFIED; resolved=2026-01-01T00:00:00Z</sub>"
    github.add_comment(REPO, number, marker, user=github.login)

    [ticket] = tracker(github).resolved_tickets(LABEL, 7)

    assert ticket.labelled_by is None  # unread: the marker decides, or the ticket is judged here
    assert not [r for r in github.requests if r.path.endswith("/events")]
