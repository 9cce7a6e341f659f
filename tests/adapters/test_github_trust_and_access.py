"""The GitHub tracker's trust lookups, `doctor`'s issue listing and its writes' failures, in-process through the
real PyGithub client against the GitHub sandbox (#27: written from adapters.github's mutation survivors).

Each says out loud what it could not do: a trusted login with no account, or one GitHub would not look up, trusts
nobody and is logged by name; the tool's own account unknown is logged; a listing GitHub refuses names the
permission it would accept; a write that failed names the write and the ticket. Every exchange is held to
GitHub's API description (conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.adapters.test_github_adapter import REPO, FakeClock, app_key, connect, tracker
from verifier.adapters.github import GitHubTracker, WritePacer
from verifier.errors import TrackerError, TrackerThrottled
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Reply

PAT = "github_pat_11AAAAAAA0sandbox"  # a sandbox credential
__all__ = ["app_key"]  # the fixture, shared with test_github_adapter.py


def _events(logs: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "log_level"} for e in logs if e["event"] in names]


# -- trust -------------------------------------------------------------------------------------------------------
def test_each_trusted_login_is_looked_up_by_its_own_path_and_what_failed_is_logged_by_name(
    github: GitHubSandbox,
) -> None:
    github.no_such_users |= {"ghost", "a/b"}  # GitHub has no login with a slash: 404
    github.fail(times=10, status=500, match=lambda r: r.path == "/users/broken")
    gh = tracker(github)

    with capture_logs() as logs:
        identities = gh.trust(["Trent", "ghost", "broken", "pinned=42", "a/b"])

    trent = github.payloads.user("trent")["id"]
    assert identities.ids == {"trent": str(trent), "ghost": None, "broken": None, "pinned": "42", "a/b": None}
    looked_up = [r.path for r in github.requests if r.path.startswith("/users/")]
    # a login is one path segment: `a/b` is asked for as `a%2Fb`, never as another endpoint
    assert looked_up[0] == "/users/trent" and "/users/ghost" in looked_up and "/users/a%2Fb" in looked_up
    assert not any(p.startswith("/users/a/") for p in looked_up)
    assert _events(logs, "github.trusted_author_not_found") == [
        {"event": "github.trusted_author_not_found", "login": "ghost"},
        {"event": "github.trusted_author_not_found", "login": "a/b"},
    ]
    failed = _events(logs, "github.trusted_author_lookup_failed")
    assert [e["login"] for e in failed] == ["broken"]
    assert (
        failed[0]["error"] == "GitHub look up the trusted author 'broken' failed: HTTP 500: sandbox: injected failure"
    )
    (mapping,) = _events(logs, "github.trusted_authors")
    assert mapping["mapping"] == identities.mapping()


def test_an_account_that_cannot_be_read_is_logged_and_trust_still_resolves(github: GitHubSandbox) -> None:
    github.fail(times=10, status=500, match=lambda r: r.path == "/user")
    with capture_logs() as logs:
        identities = tracker(github).trust(["trent"])
    (unknown,) = _events(logs, "tracker.own_account_unknown")
    assert unknown["error"] == "GitHub read the signed-in user failed: HTTP 500: sandbox: injected failure"
    assert identities.ids == {"trent": str(github.payloads.user("trent")["id"])}


def test_a_lookup_refused_for_another_reason_than_no_account_is_not_taken_as_no_account(
    github: GitHubSandbox,
) -> None:
    github.faults.inject(
        lambda: github.error(403, "Forbidden"), times=10, match=lambda r: r.path.startswith("/users/t")
    )
    with capture_logs() as logs:
        identities = tracker(github).trust(["trent"])
    assert identities.ids == {"trent": None}
    assert _events(logs, "github.trusted_author_not_found") == []
    (failed,) = _events(logs, "github.trusted_author_lookup_failed")
    assert failed["error"] == "GitHub look up the trusted author 'trent' failed: HTTP 403: Forbidden"


# -- doctor's issue listing --------------------------------------------------------------------------------------
def test_doctor_lists_one_issue_and_a_refusal_names_the_permission_github_accepts(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    github.add_token(PAT, github.login)
    github.fine_grained[PAT] = {"metadata=read"}

    refused = tracker(github, token=PAT).access(datetime.now(UTC))

    (listing,) = [r for r in github.requests if r.path == f"/repos/{REPO}/issues"]
    assert listing.param("per_page") == "1"
    assert refused.missing == (f"GitHub {REPO}: the fine-grained token lacks Issues read (GitHub accepts issues=read)",)
    github.fine_grained[PAT] = {"metadata=read", "issues=write"}
    assert tracker(github, token=PAT).access(datetime.now(UTC)).missing == ()


def test_doctor_takes_a_404_listing_as_refused_and_a_rate_limit_as_a_rate_limit(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    github.add_token(PAT, github.login)
    github.fine_grained[PAT] = {"metadata=read"}
    listing = f"/repos/{REPO}/issues"
    github.faults.inject(lambda: github.error(404, "Not Found"), times=1, match=lambda r: r.path == listing)
    missing = tracker(github, token=PAT).access(datetime.now(UTC)).missing
    # no x-accepted-github-permissions on the 404: what listing needs is named all the same
    assert missing == (f"GitHub {REPO}: the fine-grained token lacks Issues read (GitHub accepts issues=read)",)

    accepts = "issues=read; pull_requests=read"  # what GitHub names for the listing (issues and pull requests)
    refusal = github.error(403, "Resource not accessible by personal access token")
    github.faults.inject(
        refusal.with_headers([("X-Accepted-GitHub-Permissions", accepts)]), times=1, match=lambda r: r.path == listing
    )
    missing = tracker(github, token=PAT).access(datetime.now(UTC)).missing
    assert missing == (f"GitHub {REPO}: the fine-grained token lacks Issues read (GitHub accepts {accepts})",)

    github.throttle(times=1, retry_after=3600, match=lambda r: r.path == listing)
    with pytest.raises(TrackerThrottled) as caught:
        tracker(github, token=PAT).access(datetime.now(UTC))
    assert str(caught.value).startswith(f"GitHub list {REPO} issues failed: HTTP 403, secondary rate limit")


# -- writes that failed name the write and the ticket ------------------------------------------------------------
@pytest.mark.parametrize(
    ("write", "action", "method"),
    [
        (lambda gh, key: gh.delete_comment(key, "77"), "delete comment", "DELETE"),
        (lambda gh, key: gh.add_labels(key, ["verified-by-otel"]), "add labels", "POST"),
        (lambda gh, key: gh.reopen(key), "reopen", "PATCH"),
        (lambda gh, key: gh.reopen(key, ["verification-failed"]), "reopen and label", "PATCH"),
        (lambda gh, key: gh.edit_body(key, "new body"), "edit the body", "PATCH"),
    ],
)
def test_a_write_that_failed_names_the_write_and_the_ticket(
    github: GitHubSandbox, write: Any, action: str, method: str
) -> None:
    number = github.add_issue(REPO, labels=["postmortem"], state="closed")
    key = f"{REPO}#{number}"
    github.fail(times=10, status=500, match=lambda r: r.method == method)

    with pytest.raises(TrackerError) as caught:
        write(tracker(github), key)

    assert str(caught.value) == f"{key}: GitHub {action} failed: HTTP 500: sandbox: injected failure"
    assert caught.value.ticket == key
    sent = [r for r in github.writes() if r.method == method]
    assert len(sent) == (1 if method == "POST" else 5)  # a POST is never sent again; others by the retry rule


# -- what the tracker says about itself --------------------------------------------------------------------------
def test_the_repr_names_the_server_the_repositories_and_the_kind_of_sign_in_never_the_secret(
    github: GitHubSandbox, app_key: str
) -> None:
    gh = tracker(github, repositories=(REPO, "acme/web"))
    assert repr(gh) == f"GitHubTracker(api_url='{github.url}', repositories=('{REPO}', 'acme/web'), auth=token)"
    app = tracker(github, token=None, app_id=github.app_id, app_private_key=app_key, installation_id=8)
    assert repr(app) == f"GitHubTracker(api_url='{github.url}', repositories=('{REPO}',), auth=app {github.app_id})"
    assert github.requests == []


@pytest.mark.parametrize(
    "write",
    [
        lambda gh, key: gh.comment(key, "result"),
        lambda gh, key: gh.add_labels(key, ["verified-by-otel"]),
        lambda gh, key: gh.reopen(key),
        lambda gh, key: gh.reopen(key, ["verification-failed"]),
        lambda gh, key: gh.edit_body(key, "new body"),
        lambda gh, key: gh.add_sub_issue(f"{REPO}#1", key),
    ],
)
def test_a_write_the_pacer_refuses_names_its_ticket_and_sends_nothing(github: GitHubSandbox, write: Any) -> None:
    github.add_issue(REPO, title="INC-1")
    number = github.add_issue(REPO, labels=["postmortem"], state="closed")
    clock = FakeClock()
    gh = GitHubTracker(
        connect(github), pacer=WritePacer(min_interval=10.0, max_wait=0.0, clock=clock, sleep=clock.sleep)
    )
    gh.comment(f"{REPO}#1", "the write before")
    github.clear_requests()

    with pytest.raises(TrackerThrottled) as caught:
        write(gh, f"{REPO}#{number}")

    assert caught.value.ticket == f"{REPO}#{number}"
    assert str(caught.value).startswith(f"{REPO}#{number}: GitHub write pacing: the next write is allowed in 10s.")
    assert github.writes() == [] and clock.sleeps == []


def test_a_reopen_with_labels_says_why_it_was_reopened_and_is_logged(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=["postmortem"], state="closed")
    key = f"{REPO}#{number}"
    with capture_logs() as logs:
        assert tracker(github).reopen(key, ["verification-failed"]) is True
        assert tracker(github).reopen(key) is True
    patches = [r.json() for r in github.writes()]
    assert patches == [
        {"state": "open", "state_reason": "reopened", "labels": ["postmortem", "verification-failed"]},
        {"state": "open", "state_reason": "reopened"},
    ]
    assert [(e["event"], e["ticket"]) for e in logs if e["event"] == "github.reopened"] == [
        ("github.reopened", key)
    ] * 2


def test_a_reopen_whose_labels_cannot_be_read_sends_no_update(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=["postmortem"], state="closed")
    github.fail(times=10, status=502, match=lambda r: r.method == "GET")
    with pytest.raises(TrackerError) as caught:
        tracker(github).reopen(f"{REPO}#{number}", ["verification-failed"])
    assert str(caught.value) == f"{REPO}#{number}: GitHub read failed: HTTP 502: sandbox: injected failure"
    assert github.writes() == []  # the update replaces the label set: never sent without the labels it has now


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("API rate limit exceeded for user ID 1.", "primary rate limit"),
        ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "secondary"),
    ],
)
def test_doctor_takes_a_403_that_names_a_rate_limit_as_a_rate_limit_not_a_missing_permission(
    github: GitHubSandbox, message: str, kind: str
) -> None:
    """GitHub's 403 for a rate limit need not carry Retry-After or a spent quota's headers; its message names it."""
    github.add_repo(REPO)
    github.add_token(PAT, github.login)
    github.fine_grained[PAT] = {"metadata=read"}
    listing = f"/repos/{REPO}/issues"
    github.faults.inject(github.error(403, message), times=10, match=lambda r: r.path == listing)
    with pytest.raises(TrackerThrottled) as caught:
        tracker(github, token=PAT).access(datetime.now(UTC))
    assert str(caught.value).startswith(f"GitHub list {REPO} issues failed: HTTP 403, {kind}")


def test_edit_body_sends_the_new_body_and_nothing_else(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, title="t", body="old", labels=["postmortem"])
    tracker(github).edit_body(f"{REPO}#{number}", "new body")
    (write,) = github.writes()
    assert (write.method, write.path, write.json()) == ("PATCH", f"/repos/{REPO}/issues/{number}", {"body": "new body"})
    assert github.issue(REPO, number).body == "new body" and github.issue(REPO, number).labels == ["postmortem"]


def test_a_sub_issue_whose_child_cannot_be_read_names_the_child_and_links_nothing(github: GitHubSandbox) -> None:
    parent, child = github.add_issue(REPO, title="INC-1"), github.add_issue(REPO, title="item")
    github.fail(times=10, status=502, match=lambda r: r.method == "GET")
    with pytest.raises(TrackerError) as caught:
        tracker(github).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")
    assert str(caught.value) == f"{REPO}#{child}: GitHub read failed: HTTP 502: sandbox: injected failure"
    assert github.writes() == []


def test_a_sub_issue_linked_is_logged_with_the_child_and_the_parent(github: GitHubSandbox) -> None:
    parent, child = github.add_issue(REPO, title="INC-1"), github.add_issue(REPO, title="item")
    with capture_logs() as logs:
        tracker(github).add_sub_issue(f"{REPO}#{parent}", f"{REPO}#{child}")
    assert [e for e in logs if e["event"] == "github.sub_issue_added"] == [
        {
            "event": "github.sub_issue_added",
            "ticket": f"{REPO}#{child}",
            "parent": f"{REPO}#{parent}",
            "log_level": "info",
        }
    ]


@pytest.mark.parametrize(
    ("failing", "read"),
    [(f"/repos/{REPO}", f"read {REPO}"), (f"/repos/{REPO}/installation", f"read the App's installation on {REPO}")],
)
def test_doctor_names_the_read_that_failed(github: GitHubSandbox, app_key: str, failing: str, read: str) -> None:
    app = tracker(
        github, token=None, app_id=github.app_id, app_private_key=app_key, installation_id=github.installation_id
    )
    github.add_repo(REPO)
    github.fail(times=10, status=502, match=lambda r: r.method == "GET" and r.path == failing)

    with pytest.raises(TrackerError) as caught:
        app.access(datetime.now(UTC))

    assert str(caught.value) == f"GitHub {read} failed: HTTP 502: sandbox: injected failure"


def test_an_app_that_cannot_be_read_is_named_as_the_read_that_failed(github: GitHubSandbox, app_key: str) -> None:
    app = tracker(
        github, token=None, app_id=github.app_id, app_private_key=app_key, installation_id=github.installation_id
    )
    github.fail(times=10, status=502, match=lambda r: r.method == "GET" and r.path == "/app")

    with pytest.raises(TrackerError) as caught:
        app.account()

    assert str(caught.value) == "GitHub read the GitHub App failed: HTTP 502: sandbox: injected failure"


def test_a_403_that_names_no_rate_limit_is_a_refusal_not_retried(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed", pull_request=True)  # read through REST
    github.fail(times=1, status=403, match=lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues/{number}")
    sleeps: list[float] = []

    with pytest.raises(TrackerError) as caught:
        tracker(github, sleeps).get_ticket(f"{REPO}#{number}")

    assert str(caught.value) == f"{REPO}#{number}: GitHub read failed: HTTP 403: sandbox: injected failure"
    assert sleeps == []


def test_a_403_with_retry_after_is_a_rate_limit_whatever_its_message(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed", pull_request=True)  # read through REST
    refusal = Reply.json(403, {"message": "Forbidden", "documentation_url": "https://docs.github.com"})
    github.faults.inject(
        refusal.with_headers([("Retry-After", "2")]),
        match=lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues/{number}",
    )
    sleeps: list[float] = []

    ticket = tracker(github, sleeps).get_ticket(f"{REPO}#{number}")

    assert ticket.key == f"{REPO}#{number}" and sleeps == [2]


def test_a_503_with_retry_after_is_asked_again_after_the_wait_it_names(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed", pull_request=True)  # read through REST
    busy = Reply.json(503, {"message": "Service Unavailable"}).with_headers([("Retry-After", "3")])
    github.faults.inject(busy, match=lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues/{number}")
    sleeps: list[float] = []

    with capture_logs() as logs:
        ticket = tracker(github, sleeps).get_ticket(f"{REPO}#{number}")

    assert ticket.key == f"{REPO}#{number}" and sleeps == [3]
    assert [(e["call"], e["wait"]) for e in logs if e["event"] == "tracker.retry"] == [("read", 3)]


def test_a_429_that_names_no_wait_is_asked_again_after_the_limits_minute_capped(github: GitHubSandbox) -> None:
    status, waits = 429, [30]  # GitHub names no wait for its secondary limits: the minute, within 30 s here
    number = github.add_issue(REPO, state="closed", pull_request=True)  # read through REST
    github.faults.inject(
        Reply.json(status, {"message": "try later"}),
        match=lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues/{number}",
    )
    sleeps: list[float] = []

    ticket = tracker(github, sleeps).get_ticket(f"{REPO}#{number}")

    assert ticket.key == f"{REPO}#{number}" and sleeps == waits


def test_a_refusal_without_a_message_says_it_has_no_details(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed", pull_request=True)  # read through REST
    github.faults.inject(
        Reply.json(404, {"documentation_url": "https://docs.github.com"}),
        match=lambda r: r.method == "GET" and r.path == f"/repos/{REPO}/issues/{number}",
    )

    with pytest.raises(TrackerError) as caught:
        tracker(github).get_ticket(f"{REPO}#{number}")

    assert str(caught.value) == f"{REPO}#{number}: GitHub read failed: HTTP 404: no details"


def test_a_rate_limit_that_asks_too_long_a_wait_is_throttled_naming_the_ticket(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, state="closed", pull_request=True)  # read through REST
    github.throttle(times=1, retry_after=3600, match=lambda r: r.path == f"/repos/{REPO}/issues/{number}")

    with pytest.raises(TrackerThrottled) as caught:
        tracker(github).get_ticket(f"{REPO}#{number}")

    assert caught.value.ticket == f"{REPO}#{number}"
