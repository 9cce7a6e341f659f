"""GitHub's re-reads before and after writing, batched (#26): many issues in one GraphQL request (aliases, each
issue read as `get_ticket` reads it), used by the run's writer through the same port as Jira's (`BatchReads`).
Through the real PyGithub client against the GitHub sandbox, every query and answer held to GitHub's published
schema; requests counted as the sandbox received them."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from structlog.testing import capture_logs

from tests.adapters.test_github_adapter import LABEL, REPO, tracker
from tests.unit.run_tickets import HELD
from verifier import defaults
from verifier.adapters.github import GitHubTracker
from verifier.domain.actions import Labels
from verifier.domain.binding import fingerprint_of
from verifier.domain.selection import select_config
from verifier.domain.tickets import Ticket
from verifier.domain.triage import Policy
from verifier.errors import TrackerError, TrackerThrottled
from verifier.ports import BatchReads
from verifier.services.workers import Workers
from verifier.services.write import Budget, Job, Phase, Writer
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import Exchange, Reply

OTHER = "acme/web"
CONFIG = '```yaml\n# action-item-verifier: v1\nmetric: "errors_total"\ncondition: "< 1"\ndelay: "6h"\n```\n'
_SECOND = timedelta(seconds=1)
STRICTER = '```yaml\n# action-item-verifier: v1\nmetric: "errors_total"\ncondition: "< 0.5"\ndelay: "6h"\n```\n'


def operations(server: GitHubSandbox) -> list[str]:
    """The operation name of every GraphQL query the server received, in order."""
    bodies = [json.loads(r.body) for r in server.requests if r.method == "POST" and r.path.endswith("/graphql")]
    return [b["query"].split("(")[0].removeprefix("query ").strip() for b in bodies]


def filed(server: GitHubSandbox, count: int, repo: str = REPO) -> list[str]:
    """Closed issues the tool filed (its config in the body), as keys."""
    numbers = [
        server.add_issue(repo, body=CONFIG, user=server.login, labels=[LABEL], state="closed") for _ in range(count)
    ]
    return [f"{repo}#{n}" for n in numbers]


def test_a_batched_read_gives_each_issue_as_a_single_read_does(github: GitHubSandbox) -> None:
    keys = filed(github, 3) + filed(github, 2, OTHER)
    github.add_comment(REPO, 1, "deployed the fix", user="carol")
    for n in range(130):  # past the first page: paged for that issue alone, as a single read pages it
        github.add_comment(OTHER, 2, f"note {n}", user="bob")
    github.edit_labels(REPO, 2, add=[defaults.VERIFIED_LABEL], actor="mallory")  # who added it: from the events
    pull = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    missing = [f"{REPO}#{pull}", f"{REPO}#999", "elsewhere/repo#1", "not a key"]  # left out: each is read alone
    client = tracker(github, repositories=(REPO, OTHER))
    github.clear_requests()

    batched = client.get_tickets([*keys, *missing])

    assert operations(github) == ["ReadIssues", "MoreComments"]
    assert len(github.requests) == 2
    assert batched == {key: client.get_ticket(key) for key in keys}
    assert batched[f"{REPO}#2"].labelled_by == ((defaults.VERIFIED_LABEL, "mallory"),)
    assert len(batched[f"{OTHER}#2"].comments) == 130
    assert github.graphql.costs[0] == 1  # 5 issues x (comments, labels, events): 15 requests, the least a query costs


def test_one_key_is_read_alone_as_get_ticket_reads_it_and_none_asks_nothing(github: GitHubSandbox) -> None:
    (key,) = filed(github, 1)
    pull = github.add_issue(REPO, labels=[LABEL], state="closed", pull_request=True)
    client = tracker(github)
    github.clear_requests()

    assert client.get_tickets([]) == {} and github.requests == []
    assert client.get_tickets([key]) == {key: client.get_ticket(key)}
    assert operations(github) == ["GetIssue", "GetIssue"]  # the batch of one, then `get_ticket`
    github.clear_requests()
    assert client.get_tickets([f"{REPO}#{pull}"]) == {}  # a pull request: no issue, left out
    assert operations(github) == ["GetIssue"]


def test_issues_of_three_repositories_are_read_in_one_request(github: GitHubSandbox) -> None:
    keys = filed(github, 2) + filed(github, 1, OTHER) + filed(github, 2, "acme/ops")
    client = tracker(github, repositories=(REPO, OTHER, "acme/ops"))
    github.clear_requests()

    found = client.get_tickets(keys)

    assert operations(github) == ["ReadIssues"]
    assert found == {key: client.get_ticket(key) for key in keys}


def test_a_batch_of_a_hundred_costs_what_a_listing_page_does(github: GitHubSandbox) -> None:
    keys = filed(github, 100)
    client = tracker(github)
    assert isinstance(client, BatchReads) and client.batch_size == 100
    github.clear_requests()
    assert sorted(client.get_tickets(keys)) == sorted(keys)
    assert operations(github) == ["ReadIssues"] and github.graphql.costs == [3]


def _over_the_cap(github: GitHubSandbox) -> None:
    """Issues 3 to 8 get 100 comments of 60,000 characters each: 36 MB, over the 32 MiB cap of one answer."""
    for number in range(3, 9):
        for n in range(100):
            github.add_comment(REPO, number, f"{n} " + "x" * 60_000, user="mallory")


def test_an_answer_over_the_size_cap_is_asked_for_again_in_smaller_groups(github: GitHubSandbox) -> None:
    keys = filed(github, 10)
    _over_the_cap(github)
    client = tracker(github)
    github.clear_requests()

    with capture_logs() as logs:
        found = client.get_tickets(keys)

    assert sorted(found) == sorted(keys) and [len(found[key].comments) for key in keys] == [0, 0] + [100] * 6 + [0, 0]
    too_large = [line for line in logs if line["event"] == "github.answer_too_large"]
    assert too_large == [
        {"event": "github.answer_too_large", "log_level": "warning", "action": "read", "ticket": None, "issues": 10}
    ]
    asked = [json.loads(r.body)["variables"] for r in github.requests]
    assert [sum(1 for name in v if name[:1] == "n" and name[1:].isdigit()) for v in asked] == [10, 2, 2, 2, 2, 2]


def test_an_error_other_than_not_found_refuses_the_whole_batch(github: GitHubSandbox) -> None:
    keys = filed(github, 3)
    client = tracker(github)
    github.graphql.rate_limit(times=50)  # RATE_LIMITED until the retries give up: throttled, never "no issues"
    with pytest.raises(TrackerThrottled, match="GraphQL"):
        client.get_tickets(keys)


@pytest.mark.parametrize(
    "path",
    [
        ["r0", "i1", "comments"],  # a connection of the issue: it would be read half
        ["r0", "i0", "i1"],  # deeper than an issue, whatever its steps are called
        None,  # no path: what it nulls is unknown
        "r0",  # a path that is no list
        ["r0", 1],  # a list index where an alias belongs
        [0],
        ["rx"],  # steps that are no alias of the query's
        ["x0"],
        ["rx", "i1"],
        ["r0", "x1"],
        ["r0", "ix"],
    ],
)
def test_an_error_below_an_aliased_issue_refuses_the_whole_answer_not_just_that_issue(
    github: GitHubSandbox, path: Any
) -> None:
    """NOT_FOUND nulls an aliased issue and leaves the others whole; one deeper in an issue (a connection of it)
    would leave that issue half read: the whole answer is refused, never read as the issue without its comments.
    So is one whose path names no aliased repository or issue of the query."""
    keys = filed(github, 2)
    deeper = {"type": "NOT_FOUND", "message": "Could not resolve", "path": path}
    answer = {"data": {"r0": {"i0": None, "i1": None}}, "errors": [deeper]}
    github.faults.inject(Reply.json(200, answer), match=lambda r: b"ReadIssues" in r.body)
    with pytest.raises(TrackerError, match=r"^GitHub read failed: GraphQL errors NOT_FOUND: Could not resolve$"):
        tracker(github).get_tickets(keys)


def test_an_error_other_than_not_found_at_an_aliased_issue_refuses_the_whole_batch(github: GitHubSandbox) -> None:
    """Only NOT_FOUND nulls an aliased issue as "no such issue"; another error there (FORBIDDEN) is refused."""
    keys = filed(github, 2)
    forbidden = {"type": "FORBIDDEN", "message": "Resource not accessible", "path": ["r0", "i1"]}
    answer = {"data": {"r0": {"i0": None, "i1": None}}, "errors": [forbidden]}
    github.faults.inject(Reply.json(200, answer), match=lambda r: b"ReadIssues" in r.body)
    with pytest.raises(TrackerError) as caught:
        tracker(github).get_tickets(keys)
    assert str(caught.value) == "GitHub read failed: GraphQL errors FORBIDDEN: Resource not accessible"


def test_a_configured_repository_github_has_not_is_left_out_and_the_others_read_from_the_batch(
    github: GitHubSandbox,
) -> None:
    """GitHub answers a repository it cannot resolve with `null` and a NOT_FOUND error whose path is its alias
    (`["r1"]`): the other repository's issues are still read from the one answer, the missing ones left out."""
    keys = filed(github, 2)
    client = tracker(github, repositories=(REPO, "acme/gone"))
    github.clear_requests()

    found = client.get_tickets([*keys, "acme/gone#1", "acme/gone#2"])

    assert sorted(found) == keys
    assert operations(github) == ["ReadIssues"]
    assert [found[key].key for key in keys] == keys


def test_a_batch_under_ten_over_the_size_cap_is_read_one_issue_at_a_time(github: GitHubSandbox) -> None:
    """Ten or more are asked for again in fifths; fewer, one at a time (two together may be over the cap again)."""
    keys = filed(github, 9)
    _over_the_cap(github)
    client = tracker(github)
    github.clear_requests()

    with capture_logs() as logs:
        found = client.get_tickets(keys)

    assert sorted(found) == sorted(keys) and [len(found[key].comments) for key in keys] == [0, 0] + [100] * 6 + [0]
    assert operations(github) == ["ReadIssues"] + ["GetIssue"] * 9
    assert [line["issues"] for line in logs if line["event"] == "github.answer_too_large"] == [9]


def _batch_answer(github: GitHubSandbox, keys: Sequence[str]) -> tuple[GitHubTracker, dict[str, Any]]:
    """The tracker, and GitHub's own answer to its batched read of `keys` (asked again as it was sent)."""
    client = tracker(github)
    client.get_tickets(keys)
    sent = [r for r in github.requests if r.path.endswith("/graphql") and b"ReadIssues" in r.body][-1]
    auth = {"Authorization": f"bearer {github.token}", "Content-Type": "application/json"}
    answer = requests.post(f"{github.url}/graphql", data=sent.body, headers=auth).json()
    github.clear_requests()
    return client, answer


def test_an_issue_answered_as_another_is_left_out_of_the_batch_said_and_read_alone(github: GitHubSandbox) -> None:
    """GitHub answering `i1` with another issue: never taken as the issue asked for; the rest of the batch is."""
    keys = filed(github, 3)
    client, answer = _batch_answer(github, keys)
    answer["data"]["r0"]["i1"]["number"] = 99
    github.faults.inject(Reply.json(200, answer), match=lambda r: b"ReadIssues" in r.body)

    with capture_logs() as logs:
        found = client.get_tickets(keys)

    assert sorted(found) == [keys[0], keys[2]] and found[keys[2]] == client.get_ticket(keys[2])
    left_out = [line for line in logs if line["event"] == "github.batched_read_left_out"]
    assert left_out == [
        {
            "event": "github.batched_read_left_out",
            "log_level": "warning",
            "ticket": keys[1],
            "error": f"{keys[1]}: GitHub read failed: unexpected GraphQL answer: no issue 2",
        }
    ]


@pytest.mark.parametrize(
    ("strange", "read"),
    [
        (lambda data: data.update(r0="strange"), []),  # the repository no object: none of its issues
        (lambda data: data["r0"].update(i0="strange"), [1, 2]),  # one issue no object: left out
    ],
)
def test_a_batched_answer_of_the_wrong_type_leaves_out_what_it_cannot_read(strange: Any, read: list[int]) -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answers break the schema on purpose
        keys = filed(github, 3)
        client, answer = _batch_answer(github, keys)
        strange(answer["data"])
        github.faults.inject(Reply.json(200, answer), match=lambda r: b"ReadIssues" in r.body)

        found = client.get_tickets(keys)

        assert sorted(found) == [keys[n] for n in read]


def test_a_batched_answer_without_data_is_refused_out_loud() -> None:
    with GitHubSandbox() as github:  # not the contract-checked fixture: the answer breaks the schema on purpose
        keys = filed(github, 2)
        github.faults.inject(Reply.json(200, {"data": None}), match=lambda r: b"ReadIssues" in r.body)
        with pytest.raises(TrackerError) as caught:
            tracker(github).get_tickets(keys)
        assert str(caught.value) == "GitHub read failed: unexpected GraphQL answer: no data"


# -- the run's writer over the batched reads ---------------------------------------------------------------------
class _OneAtATime:
    """The same tracker without `BatchReads`: what the run did before GitHub's reads were batched."""

    def __init__(self, inner: GitHubTracker) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("get_tickets", "batch_size"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def _write(client: Any, github: GitHubSandbox, keys: Sequence[str], verdicts: dict[str, Any] | None = None) -> Phase:
    """Write `keys` as the run does, every verdict in before the first read (the pool held meanwhile)."""
    account = client.account()
    trusted = frozenset({account, "carol"})
    listed = {key: client.get_ticket(key) for key in keys}
    github.clear_requests()
    workers = Workers(1, "write")
    gate = threading.Event()
    workers.submit(lambda: gate.wait(10))
    policy = Policy(trusted, frozenset({account}), frozenset())
    writer = Writer(client, policy, Labels(), Budget(1000), ranks=len(keys), workers=workers, stop=threading.Event())
    for rank, key in enumerate(keys):
        verdict = (verdicts or {}).get(key, _judged(listed[key], trusted, account))
        writer.write(rank, Job(replace(listed[key], body="", comments=()), verdict))
    gate.set()
    phase = writer.finish()
    workers.close()
    return phase


def _judged(ticket: Ticket, trusted: frozenset[str], account: str) -> Any:
    """HELD, measured on the ticket's current trusted config (its fingerprint, as the run records it)."""
    choice = select_config(ticket, trusted, frozenset({account})).choice
    assert choice is not None
    return replace(HELD, config=fingerprint_of(choice.config))


def test_the_run_re_reads_twelve_issues_in_two_requests_instead_of_twenty_four(github: GitHubSandbox) -> None:
    before, after = filed(github, 12), filed(github, 12)
    phase = _write(_OneAtATime(tracker(github)), github, before)
    single = operations(github)
    assert all(phase.written[key].actions == ["comment", "label verified-by-otel"] for key in before)
    assert single == ["GetIssue"] * 24  # before and after each ticket's writes

    phase = _write(tracker(github), github, after)

    assert all(phase.written[key].actions == ["comment", "label verified-by-otel"] for key in after)
    assert operations(github) == ["ReadIssues", "ReadIssues"]  # before the writes, and the check after them
    assert len(github.requests) == 2 + 24  # and the 24 writes (REST): 2.17 requests a ticket, 4.0 before
    assert all(len(github.issue(REPO, int(k.split("#")[1])).comments) == 1 for k in after)


def test_on_the_batched_path_a_config_replaced_meanwhile_is_not_written_over(github: GitHubSandbox) -> None:
    """Between the listing and the read before writing, a trusted author writes a stricter config on one ticket,
    and someone untrusted one on another: the first is left for the next run, the second written as judged."""
    keys = filed(github, 3)
    client = tracker(github)
    client.trust(["carol"])
    fired = threading.Event()

    def meanwhile(exchange: Exchange) -> None:
        if exchange.request.path.endswith("/graphql") and b"ReadIssues" not in exchange.request.body:
            return
        if not fired.is_set() and exchange.request.path.endswith("/graphql"):
            fired.set()

    account = client.account()
    trusted = frozenset({account, "carol"})
    verdicts = {key: _judged(client.get_ticket(key), trusted, account) for key in keys}
    github.add_comment(REPO, 2, STRICTER, user="carol")  # after it was judged, before the read
    github.add_comment(REPO, 3, STRICTER, user="mallory")

    phase = _write(client, github, keys, verdicts)

    assert operations(github) == ["ReadIssues", "ReadIssues"]
    assert phase.written[f"{REPO}#1"].actions == ["comment", "label verified-by-otel"]
    assert phase.written[f"{REPO}#2"].actions == [] and "the config changed since it was judged" in (
        phase.written[f"{REPO}#2"].note
    )
    assert phase.written[f"{REPO}#3"].actions == ["comment", "label verified-by-otel"]  # mallory's is ignored
    assert [c.user for c in github.issue(REPO, 2).comments] == ["carol"]


def test_on_the_batched_path_a_concurrent_runs_earlier_result_keeps_ours_out(github: GitHubSandbox) -> None:
    """Two runs at once: another run's result lands on one ticket just before ours. The batched check after
    writing sees it: ours is deleted and its label left to the other run; the other tickets go on."""
    keys = filed(github, 4)
    target = f"/repos/{REPO}/issues/2/comments"
    done = threading.Event()

    def other_run(exchange: Exchange) -> None:
        request = exchange.request
        if done.is_set() or request.method != "POST" or not request.path.endswith(target):
            return
        done.set()
        ours = github.issue(REPO, 2).comments[-1]
        github.add_comment(REPO, 2, ours.body, user=github.login, created_at=ours.created_at.replace(microsecond=0))
        ours.created_at = ours.updated_at = ours.created_at.replace(microsecond=0) + _SECOND

    github.on_exchange(other_run)
    phase = _write(tracker(github), github, keys)

    assert done.is_set()
    assert operations(github) == ["ReadIssues", "ReadIssues"]
    assert phase.written[f"{REPO}#2"].actions == ["comment", "deleted: a concurrent run wrote the same result first"]
    assert len(github.issue(REPO, 2).comments) == 1 and github.issue(REPO, 2).labels == [LABEL]
    for n in (1, 3, 4):
        assert phase.written[f"{REPO}#{n}"].actions == ["comment", "label verified-by-otel"]
