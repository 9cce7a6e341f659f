"""What the GitHub adapter reads for a verdict, held exactly, in-process through the real PyGithub client against
the GitHub sandbox (#27: written from adapters.github's mutation pass): which closed issues a run judges, who wrote
what (the tool's own account stays itself whatever the trusted entries say), and a nested page that cannot be read
refused naming the issue. Every exchange is held to GitHub's API description (conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from tests.adapters.test_github_adapter import LABEL, REPO, FakeClock, connect, tracker
from verifier.adapters.github import GitHubTracker, WritePacer
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import TrackerError
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Reply


def test_a_lookback_under_a_day_is_refused_before_anything_is_asked(github: GitHubSandbox) -> None:
    with pytest.raises(ValueError, match=r"^lookback_days must be at least 1$"):
        next(iter(tracker(github).resolved_tickets(LABEL, 0)))
    assert github.requests == []


def test_issues_closed_as_not_a_fix_or_before_the_lookback_are_left_out_and_said(github: GitHubSandbox) -> None:
    now = datetime.now(UTC)
    fixed = github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(days=6, hours=23))
    github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(days=7, minutes=5))
    dropped = github.add_issue(REPO, labels=[LABEL], state="closed", state_reason="not_planned")
    duplicate = github.add_issue(REPO, labels=[LABEL], state="closed", state_reason="duplicate")
    reopened = github.add_issue(REPO, labels=[LABEL], state="closed", state_reason="reopened")

    with capture_logs() as logs:
        found = [t.key for t in tracker(github).resolved_tickets(LABEL, 7)]

    assert sorted(found) == [f"{REPO}#{fixed}", f"{REPO}#{reopened}"]
    skipped = [(e["ticket"], e["state_reason"]) for e in logs if e["event"] == "github.skip_not_a_fix"]
    assert sorted(skipped) == [(f"{REPO}#{dropped}", "not_planned"), (f"{REPO}#{duplicate}", "duplicate")]
    assert [(e["repository"], e["label"]) for e in logs if e["event"] == "github.search"] == [(REPO, LABEL)]


def test_the_tools_own_account_stays_itself_whatever_the_trusted_entries_pin(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", user="alice")
    github.add_comment(REPO, number, "a result", user=github.login)
    github.add_comment(REPO, number, "a reply", user="alice")
    gh = tracker(github)
    alice = github.payloads.user("alice")["id"]
    gh.trust([f"{github.login}=1", f"trusted-alice={alice}"])  # the tool's login pinned to someone else's id

    [ticket] = gh.resolved_tickets(LABEL, 7)

    # the tool's own results are found by its login; alice is named by the entry her id resolved from
    assert [c.author for c in ticket.comments] == [github.login, "trusted-alice"]
    assert ticket.reporter == ticket.creator == "trusted-alice"
    rest = gh.get_ticket(f"{REPO}#{number}")
    assert [c.author for c in rest.comments] == [github.login, "trusted-alice"]


def test_comments_past_the_first_page_that_cannot_be_read_refuse_the_issue_by_name(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    for n in range(101):
        github.add_comment(REPO, number, f"comment {n}", user="bob")
    github.fail(times=10, status=502, match=lambda r: b"MoreComments" in r.body)

    with pytest.raises(TrackerError) as caught:
        list(tracker(github).resolved_tickets(LABEL, 7))

    assert caught.value.ticket == f"{REPO}#{number}"
    assert str(caught.value) == (
        f"{REPO}#{number}: GitHub read the issue's comments failed: HTTP 502: sandbox: injected failure"
    )


# -- who added a judgement label, as REST reads it (a pull request, or a filed issue) -----------------------------
def test_rest_reads_who_added_each_judgement_label_over_every_page_of_events(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    github.add_comment(REPO, number, "a comment that is no result marker", user="bob")
    github.edit_labels(REPO, number, add=["verification-failed"], actor="bob")
    github.edit_labels(REPO, number, add=["verified-by-otel"], actor="bob")
    github.edit_labels(REPO, number, remove=["verification-failed"], actor="bob")
    for n in range(220):  # the last word on verified-by-otel sits on the third page of events
        github.edit_labels(REPO, number, add=[f"noise-{n}"], actor="carol")
    github.edit_labels(REPO, number, remove=["verified-by-otel"], actor="carol")
    github.edit_labels(REPO, number, add=["verified-by-otel", "verification-failed"], actor="Mallory")
    github.edit_labels(REPO, number, remove=["noise-0"], actor="carol")

    ticket = tracker(github).get_ticket(f"{REPO}#{number}")

    assert ticket.kind == "pull request"
    assert ticket.labelled_by == (("verified-by-otel", "mallory"), ("verification-failed", "mallory"))
    pages = [r.param("page") for r in github.requests if r.path.endswith("/events")]
    assert pages == [None, "2", "3"]  # from the first page on (PyGithub asks the first without a number)


def test_rest_reads_no_events_for_an_issue_without_judgement_labels_or_with_a_result_marker(
    github: GitHubSandbox,
) -> None:
    plain = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    marked = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed", pull_request=True)
    marker = "<sub>action-item-verifier result v1; verdict=VERIFIED; resolved=2026-01-01T00:00:00Z</sub>"
    github.add_comment(REPO, marked, "thanks", user="bob")
    github.add_comment(REPO, marked, marker, user=github.login)
    gh = tracker(github)

    assert gh.get_ticket(f"{REPO}#{plain}").labelled_by == ()
    assert gh.get_ticket(f"{REPO}#{marked}").labelled_by is None
    assert not [r for r in github.requests if r.path.endswith("/events")]


def test_rest_events_that_cannot_be_read_leave_the_labels_unattributed_and_say_so(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed", pull_request=True)
    github.fail(times=10, status=502, match=lambda r: r.path.endswith("/events"))

    with capture_logs() as logs:
        ticket = tracker(github).get_ticket(f"{REPO}#{number}")

    assert ticket.labelled_by is None
    [unread] = [e for e in logs if e["event"] == "github.events_unread"]
    assert unread["ticket"] == f"{REPO}#{number}"
    assert (
        unread["error"] == f"{REPO}#{number}: GitHub read the issue events failed: HTTP 502: sandbox: injected failure"
    )


def test_graphql_label_events_past_the_first_page_answered_strangely_say_which_issue(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed")
    for n in range(101):
        github.edit_labels(REPO, number, add=[f"noise-{n}"], actor="bob")
    nothing = {"data": {"repository": None}}
    github.faults.inject(lambda: Reply.json(200, nothing), times=1, match=lambda r: b"MoreEvents" in r.body)

    with capture_logs() as logs:
        [ticket] = tracker(github).resolved_tickets(LABEL, 7)

    assert ticket.labelled_by is None
    [unread] = [e for e in logs if e["event"] == "github.events_unread"]
    assert unread["ticket"] == f"{REPO}#{number}"
    assert unread["error"] == (
        f"{REPO}#{number}: GitHub read the issue's label events failed: unexpected GraphQL answer: no repository.issue"
    )


def test_graphql_comments_keep_when_each_was_written_and_last_edited(github: GitHubSandbox) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    number = github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(hours=1))
    kept = github.add_comment(REPO, number, "as written", user="bob", created_at=now - timedelta(hours=4))
    edited = github.add_comment(REPO, number, "first words", user="carol", created_at=now - timedelta(hours=3))
    github.edit_comment(REPO, number, edited, "second words", at=now - timedelta(hours=2))

    [ticket] = tracker(github).resolved_tickets(LABEL, 7)

    assert ticket.comments == (
        Comment(str(kept), "bob", "as written", now - timedelta(hours=4), now - timedelta(hours=4)),
        Comment(str(edited), "carol", "second words", now - timedelta(hours=3), now - timedelta(hours=2)),
    )


def test_a_deleted_account_is_nobody_whatever_the_trusted_entries_say(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", user="")  # GraphQL's `author: null`
    github.add_comment(REPO, number, "written by an account deleted since", user="")
    gh = tracker(github)
    gh.trust(["alice"])

    [ticket] = gh.resolved_tickets(LABEL, 7)

    assert (ticket.reporter, ticket.creator) == ("", "")
    assert [c.author for c in ticket.comments] == [""]


# -- a pull request as REST reads it (GraphQL's issues are issues), to the field ----------------------------------
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_rest_reads_a_pull_request_whole_each_person_by_their_trusted_entry(github: GitHubSandbox) -> None:
    number = github.add_issue(
        REPO,
        title="Pool the payments client",
        body=None,
        user="alice",
        labels=[LABEL, "priority:P2", "priority:P1"],
        state="closed",
        state_reason="completed",
        created_at=T0,
        closed_at=T0 + timedelta(hours=5),
        pull_request=True,
    )
    ids = [
        github.add_comment(REPO, number, f"comment {n}", user="bob", created_at=T0 + timedelta(minutes=n))
        for n in range(200)
    ]
    last = github.add_comment(REPO, number, "from alice", user="alice", created_at=T0 + timedelta(hours=1))
    github.edit_comment(REPO, number, last, "from alice, edited", at=T0 + timedelta(hours=2))
    gh = tracker(github)
    gh.trust([f"trusted-alice={github.payloads.user('alice')['id']}"])
    key = f"{REPO}#{number}"

    ticket = gh.get_ticket(key)

    bobs = [
        Comment(str(i), "bob", f"comment {n}", T0 + timedelta(minutes=n), T0 + timedelta(minutes=n))
        for n, i in enumerate(ids)
    ]
    alices = Comment(str(last), "trusted-alice", "from alice, edited", T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert ticket == Ticket(
        key=key,
        url=f"{github.root}/{REPO}/pull/{number}",
        title="Pool the payments client",
        status="closed",
        resolved_at=T0 + timedelta(hours=5),
        resolution="completed",
        labels=frozenset({LABEL, "priority:P2", "priority:P1"}),
        body="",
        reporter="trusted-alice",
        comments=(*bobs, alices),
        created=T0,
        priority="P1",
        kind="pull request",
        creator="trusted-alice",
        labelled_by=(),
    )
    pages = [r.param("page") for r in github.requests if r.path.endswith(f"/{number}/comments")]
    assert pages == [None, "2", "3"]


def test_rest_asks_no_page_of_comments_past_the_count_the_issue_gives(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    for n in range(100):  # exactly one full page
        github.add_comment(REPO, number, f"comment {n}", user="bob")

    ticket = tracker(github).get_ticket(f"{REPO}#{number}")

    assert len(ticket.comments) == 100
    assert [r.param("page") for r in github.requests if r.path.endswith("/comments")] == [None]


def test_a_pull_request_that_cannot_be_read_is_refused_by_its_key(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    github.add_comment(REPO, number, "a comment", user="bob")
    github.fail(times=10, status=502, match=lambda r: r.path.endswith(f"/{number}/comments"))
    key = f"{REPO}#{number}"

    with pytest.raises(TrackerError) as caught:
        tracker(github).get_ticket(key)

    assert caught.value.ticket == key
    assert str(caught.value) == f"{key}: GitHub read failed: HTTP 502: sandbox: injected failure"


@pytest.mark.parametrize(
    ("key", "refusal"),
    [
        ("evil/repo#1", "evil/repo#1: evil/repo is not one of the configured repositories"),
        ("acme/api-1", "acme/api-1: not a GitHub issue key (expected owner/repo#N)"),
        ("acme/api#", "acme/api#: not a GitHub issue key (expected owner/repo#N)"),
    ],
)
def test_a_key_outside_the_configured_repositories_is_refused_by_name_before_asking(
    github: GitHubSandbox, key: str, refusal: str
) -> None:
    github.add_repo("evil/repo")
    github.add_issue("evil/repo", title="x")

    with pytest.raises(TrackerError) as caught:
        tracker(github).get_ticket(key)

    assert (caught.value.ticket, str(caught.value)) == (key, refusal)
    assert github.requests == []


def test_a_lookback_of_one_day_is_taken_and_its_cutoff_is_inclusive(github: GitHubSandbox) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    cutoff = now - timedelta(days=1)
    # closed before the cutoff but edited since: listed (updated since the cutoff) first, and left out
    github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(days=9), updated_at=cutoff)
    edge = github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=cutoff, updated_at=now - timedelta(hours=2))
    later = github.add_issue(REPO, labels=[LABEL], state="closed", closed_at=now - timedelta(hours=1))
    gh = GitHubTracker(connect(github), pacer=WritePacer(sleep=lambda _: None), clock=lambda: now)

    assert [t.key for t in gh.resolved_tickets(LABEL, 1)] == [f"{REPO}#{edge}", f"{REPO}#{later}"]


# -- REST's nested pages (a pull request, or a filed issue) stop at the page cap or a repeated page ---------------
def _capped(github: GitHubSandbox, max_pages: int) -> GitHubTracker:
    clock = FakeClock()
    return GitHubTracker(connect(github), pacer=WritePacer(clock=clock, sleep=clock.sleep), max_pages=max_pages)


def test_rest_reads_every_page_of_a_pull_requests_comments_and_stops_at_the_page_cap(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    for n in range(101):  # two pages of comments
        github.add_comment(REPO, number, f"comment {n}", user="bob")
    key = f"{REPO}#{number}"

    ticket = _capped(github, 2).get_ticket(key)

    assert ticket.kind == "pull request"
    assert [c.body for c in ticket.comments] == [f"comment {n}" for n in range(101)]
    assert [c.id for c in ticket.comments] == [str(c.id) for c in github.issue(REPO, number).comments]
    with pytest.raises(TrackerError) as caught:
        _capped(github, 1).get_ticket(key)
    assert caught.value.ticket == key
    assert str(caught.value) == f"{key}: GitHub comments: stopped at the cap of 1 pages (the listing did not end)"


def test_rest_comments_whose_second_page_repeats_the_first_are_refused_by_ticket(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    for n in range(101):
        github.add_comment(REPO, number, f"comment {n}", user="bob")
    issue = github.issue(REPO, number)
    first = [github.payloads.comment(github.repos[REPO], issue, c) for c in issue.comments[:100]]
    github.faults.inject(
        Reply.json(200, first), match=lambda r: r.path.endswith(f"/{number}/comments") and r.param("page") == "2"
    )
    key = f"{REPO}#{number}"

    with pytest.raises(TrackerError) as caught:
        tracker(github).get_ticket(key)

    assert caught.value.ticket == key
    assert (
        str(caught.value)
        == f"{key}: GitHub comments: page 2 repeats an earlier page; stopped (the listing does not advance)"
    )


def test_rest_label_events_past_the_page_cap_leave_the_labels_unattributed_and_say_so(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    github.edit_labels(REPO, number, add=["verified-by-otel"], actor="bob")
    for n in range(220):  # three pages of events
        github.edit_labels(REPO, number, add=[f"noise-{n}"], actor="carol")
    key = f"{REPO}#{number}"

    assert _capped(github, 3).get_ticket(key).labelled_by == (("verified-by-otel", "bob"),)
    with capture_logs() as logs:
        ticket = _capped(github, 2).get_ticket(key)

    assert ticket.labelled_by is None
    [unread] = [e for e in logs if e["event"] == "github.events_unread"]
    assert unread["ticket"] == key
    assert unread["error"] == f"{key}: GitHub issue events: stopped at the cap of 2 pages (the listing did not end)"


# -- a backend that answers strangely is refused out loud, naming what was missing ---------------------------------
def _page(nodes: object, info: object = None) -> dict[str, object]:
    page_info = info if info is not None else {"hasNextPage": False, "endCursor": None}
    return {"data": {"repository": {"issues": {"pageInfo": page_info, "nodes": nodes}}}}


def _node(**fields: object) -> dict[str, object]:
    empty = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
    return {
        "number": 7,
        "title": "t",
        "body": "",
        "url": "u",
        "state": "CLOSED",
        "stateReason": "COMPLETED",
        "closedAt": datetime.now(UTC).isoformat(),
        "createdAt": None,
        "author": None,
        "comments": {"totalCount": 0, **empty},
        "labels": empty,
        "timelineItems": empty,
        **fields,
    }


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        (
            {"data": {"repository": None}},
            "GitHub list acme/api issues failed: unexpected GraphQL answer: no repository.issues",
        ),
        (_page({}), "GitHub list acme/api issues failed: unexpected GraphQL answer: no issues.nodes"),
        (
            _page([], {"hasNextPage": "yes"}),
            "GitHub list acme/api issues failed: unexpected GraphQL answer: no pageInfo",
        ),
        (
            _page([], {"hasNextPage": True, "endCursor": ""}),
            "GitHub list acme/api issues failed: unexpected GraphQL answer: no endCursor for the next page",
        ),
        (
            _page([_node(number=True)]),
            "acme/api#True: GitHub read failed: unexpected GraphQL answer: no issue number",
        ),
        (
            _page([_node(closedAt="yesterday")]),
            "acme/api#7: GitHub read failed: unexpected GraphQL answer: no time (got 'yesterday')",
        ),
        (  # a hostile time is cut to its first 40 characters
            _page([_node(closedAt="2026-01-05T12:00:00Z and then some more text")]),
            "acme/api#7: GitHub read failed: unexpected GraphQL answer: no time (got '2026-01-05T12:00:00Z and then some more ')",
        ),
        (
            {"data": {"repository": {"issues": {"nodes": [], "pageInfo": None}}}},
            "GitHub list acme/api issues failed: unexpected GraphQL answer: no pageInfo",
        ),
        ([{"data": None}], "GitHub list acme/api issues failed: unexpected GraphQL answer: no data"),
        (
            _page([_node(comments="none")]),
            "acme/api#7: GitHub read failed: unexpected GraphQL answer: no comments.nodes",
        ),
        ({"errors": ["boom"]}, "GitHub list acme/api issues failed: GraphQL errors ERROR: boom"),
        (
            _page([_node(comments={"nodes": [{"databaseId": "9"}], "pageInfo": {"hasNextPage": False}})]),
            "acme/api#7: GitHub read failed: unexpected GraphQL answer: no comment id",
        ),
    ],
)
def test_a_listing_answered_strangely_is_refused_naming_what_is_missing(answer: object, refusal: str) -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answers break the schema on purpose
        github.add_repo(REPO)
        github.faults.inject(Reply.json(200, answer), times=1)
        sleeps: list[float] = []
        with pytest.raises(TrackerError) as caught:
            list(tracker(github, sleeps).resolved_tickets(LABEL, 7))
        assert str(caught.value) == refusal
        assert len(github.requests) == 1 and sleeps == []  # the same answer would come again: not asked again


def test_an_issue_closed_between_the_two_listings_comes_once_and_the_rest_still_come(github: GitHubSandbox) -> None:
    now = datetime.now(UTC)
    since = now - timedelta(days=30)
    open_one = github.add_issue(REPO, labels=[LABEL], state="open", updated_at=now - timedelta(days=3))
    closed_before = github.add_issue(REPO, labels=[LABEL], state="closed", updated_at=now - timedelta(days=2))

    with capture_logs() as logs:
        listing = tracker(github).post_incident_tickets(LABEL, since)
        first = next(listing)
        issue = github.issue(REPO, open_one)  # closed meanwhile: the closed listing finds it too
        issue.state, issue.state_reason, issue.closed_at, issue.updated_at = "closed", "completed", now, now
        closed_after = github.add_issue(REPO, labels=[LABEL], state="closed", updated_at=now + timedelta(seconds=5))
        rest = [t.key for t in listing]

    assert [first.key, *rest] == [f"{REPO}#{n}" for n in (open_one, closed_before, closed_after)]
    searches = [e for e in logs if e["event"] == "github.search"]
    assert [(e["repository"], e["label"], e["closed_since"]) for e in searches] == [(REPO, LABEL, since.isoformat())]


def test_a_listing_whose_next_cursor_leads_back_is_refused_as_a_cycle() -> None:
    """Each page new issues, but the cursor to the next is one already followed: the listing would never end."""
    with GitHubSandbox() as github:  # not the contract-checked fixture: the nodes are cut short
        github.add_repo(REPO)
        for number in (1, 2):
            page = _page([_node(number=number)], {"hasNextPage": True, "endCursor": "A"})
            github.faults.inject(Reply.json(200, page), times=1)
        with pytest.raises(TrackerError) as caught:
            list(tracker(github).resolved_tickets(LABEL, 7))
        assert str(caught.value) == (
            "GitHub list acme/api issues: page 2 leads back to an earlier page token; stopped (a cycle)"
        )
        assert len(github.requests) == 2


def test_the_last_pages_cursor_is_no_cycle_whatever_it_names() -> None:
    """`hasNextPage: false` ends the listing: the cursor that page carries is never followed, so never a cycle."""
    with GitHubSandbox() as github:  # not the contract-checked fixture: the nodes are cut short
        github.add_repo(REPO)
        github.faults.inject(Reply.json(200, _page([_node(number=1)], {"hasNextPage": True, "endCursor": "A"})))
        github.faults.inject(Reply.json(200, _page([_node(number=2)], {"hasNextPage": False, "endCursor": "A"})))
        keys = [t.key for t in tracker(github).resolved_tickets(LABEL, 7)]
        assert keys == [f"{REPO}#1", f"{REPO}#2"] and len(github.requests) == 2


def test_a_single_read_answered_without_the_issue_is_refused_naming_it(github: GitHubSandbox) -> None:
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    github.faults.inject(Reply.json(200, {"data": {"repository": None}}), match=lambda r: b"GetIssue" in r.body)
    with pytest.raises(TrackerError) as caught:
        tracker(github).get_ticket(f"{REPO}#{number}")
    assert str(caught.value) == f"{REPO}#{number}: GitHub read failed: unexpected GraphQL answer: no repository.issue"


@pytest.mark.parametrize(
    ("label", "actor", "adders"),
    [
        pytest.param({"name": "verified-by-otel"}, "mallory", (("verified-by-otel", ""),), id="an actor"),
        pytest.param("verified-by-otel", {"__typename": "User", "login": "mallory", "databaseId": 9}, (), id="a label"),
    ],
)
def test_a_label_event_answered_with_a_string_for_an_object_is_nobodys_not_a_crash(
    label: object, actor: object, adders: object
) -> None:
    """The schema makes an event's label and actor objects; a backend answering a string instead is read as no one
    (an actor) or no label (a label), never as the text it sent, and the listing is read, not broken by an
    AttributeError: the judgement label is added by nobody, or by no event at all."""
    event = {"__typename": "LabeledEvent", "createdAt": "2026-01-05T12:00:00Z", "label": label, "actor": actor}
    events = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [event]}
    labels = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [{"name": "verified-by-otel"}]}
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answer breaks the schema on purpose
        github.add_repo(REPO)
        github.faults.inject(Reply.json(200, _page([_node(labels=labels, timelineItems=events)])), times=1)
        [ticket] = tracker(github).resolved_tickets(LABEL, 7)
        assert ticket.labelled_by == adders


def test_strange_but_readable_fields_are_read_as_absent_not_as_their_text() -> None:
    """A creation time that is no text is no time; a bot's login that already ends in `[bot]` keeps one suffix."""
    author = {"__typename": "Bot", "login": "renovate[bot]", "databaseId": 5}
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answer breaks the schema on purpose
        github.add_repo(REPO)
        github.faults.inject(Reply.json(200, _page([_node(createdAt=12345, author=author)])), times=1)
        [ticket] = tracker(github).resolved_tickets(LABEL, 7)
    assert (ticket.created, ticket.creator) == (None, "renovate[bot]")


def test_a_closure_without_a_reason_has_no_resolution() -> None:
    """Issues closed before GitHub recorded reasons answer `stateReason: null`: no resolution, not the text "none"."""
    with GitHubSandbox() as github:  # not the contract-checked fixture: the nodes are cut short
        github.add_repo(REPO)
        github.faults.inject(Reply.json(200, _page([_node(stateReason=None)])), times=1)
        [ticket] = tracker(github).resolved_tickets(LABEL, 7)
    assert ticket.resolution is None


def test_graphql_comments_and_label_events_past_the_page_cap_are_named_by_what_and_ticket(
    github: GitHubSandbox,
) -> None:
    """Three pages of comments with a cap of two refuse the issue; four of label events leave its labels
    unattributed, said: each line names the connection (comments, label events) and the issue."""
    chatty = github.add_issue(REPO, labels=[LABEL], state="closed")
    for n in range(250):
        github.add_comment(REPO, chatty, f"note {n}", user="bob")
    relabelled = github.add_issue(REPO, labels=[LABEL, "verified-by-otel"], state="closed")
    for n in range(150):
        github.edit_labels(REPO, relabelled, add=[f"noise-{n}"], remove=[f"noise-{n - 1}"], actor="bob")
    client = _capped(github, max_pages=2)

    with pytest.raises(TrackerError) as caught:
        client.get_ticket(f"{REPO}#{chatty}")
    assert (
        str(caught.value)
        == f"{REPO}#{chatty}: GitHub comments: stopped at the cap of 2 pages (the listing did not end)"
    )
    with capture_logs() as logs:
        ticket = client.get_ticket(f"{REPO}#{relabelled}")
    assert ticket.labelled_by is None
    [unread] = [e for e in logs if e["event"] == "github.events_unread"]
    assert unread["error"] == (
        f"{REPO}#{relabelled}: GitHub label events: stopped at the cap of 2 pages (the listing did not end)"
    )


def _comments_page(ident: int, more: bool) -> Reply:
    """An answer to MoreComments: one comment, and the cursor `A` whether or not there is a next page."""
    comment = {"databaseId": ident, "body": "x", "createdAt": "2026-01-05T12:00:00Z", "updatedAt": None, "author": None}
    page = {"pageInfo": {"hasNextPage": more, "endCursor": "A"}, "nodes": [comment]}
    return Reply.json(200, {"data": {"repository": {"issue": {"comments": page}}}})


def test_graphql_comments_whose_next_cursor_leads_back_are_refused_and_the_last_pages_cursor_is_none() -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the pages are cut short
        numbers = [github.add_issue(REPO, labels=[LABEL], state="closed") for _ in range(2)]
        for number in numbers:
            for n in range(101):
                github.add_comment(REPO, number, f"note {n}", user="bob")
        client = tracker(github)
        for ident, more in ((9001, True), (9002, True), (9003, True), (9004, False)):
            github.faults.inject(_comments_page(ident, more), match=lambda r: b"MoreComments" in r.body)

        with pytest.raises(TrackerError) as caught:
            client.get_ticket(f"{REPO}#{numbers[0]}")
        assert str(caught.value) == (
            f"{REPO}#{numbers[0]}: GitHub comments: page 3 leads back to an earlier page token; stopped (a cycle)"
        )
        ticket = client.get_ticket(f"{REPO}#{numbers[1]}")  # `A` again, but on the last page: never followed
        assert [c.id for c in ticket.comments[100:]] == ["9003", "9004"]


def test_a_page_of_graphql_comments_without_nodes_is_refused_naming_the_connection() -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the page breaks the schema on purpose
        number = github.add_issue(REPO, labels=[LABEL], state="closed")
        for n in range(101):
            github.add_comment(REPO, number, f"note {n}", user="bob")
        page = {"pageInfo": {"hasNextPage": False, "endCursor": None}}
        answer = {"data": {"repository": {"issue": {"comments": page}}}}
        github.faults.inject(Reply.json(200, answer), match=lambda r: b"MoreComments" in r.body)
        with pytest.raises(TrackerError) as caught:
            tracker(github).get_ticket(f"{REPO}#{number}")
        assert str(caught.value) == f"{REPO}#{number}: GitHub read failed: unexpected GraphQL answer: no comments.nodes"
