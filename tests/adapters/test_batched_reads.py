"""Re-reads before writing, batched where the tracker allows (#26): Jira reads the due tickets whose verdicts came
in meanwhile with one search for `key in (…)`, with the fields and changelog a single read has, so the decision is
taken on the same ticket; and Jira's reopen transition is asked once per workflow status. Against the
contract-checked Jira sandbox, through the real adapter."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from tests.adapters import test_jira_adapter as jr
from tests.unit.run_tickets import HELD
from verifier.domain.actions import Labels
from verifier.domain.triage import Policy
from verifier.services.workers import Workers
from verifier.services.write import Budget, Job, Writer
from verifier_sandbox.jira import JiraSandbox, JiraTransition

BOT_BODY = "{code:yaml}\n# action-item-verifier: v1\nmetric: e2e_errors_total\ncondition: < 1\ndelay: 6h\n{code}"


def test_a_batched_read_gives_each_ticket_as_a_single_read_does(jira: JiraSandbox) -> None:
    keys = [jira.add_issue(summary=f"item {n}", labels=[jr.LABEL], description=BOT_BODY) for n in range(3)]
    jira.add_comment(keys[1], "a comment", author="bob")
    tracker = jr.tracker(jira)
    batched = tracker.get_tickets(keys)
    assert batched == {key: tracker.get_ticket(key) for key in keys}
    assert [r.param("jql") for r in jira.requests if "/search" in r.path] == [
        f'key in ("{keys[0]}", "{keys[1]}", "{keys[2]}")'
    ]


def test_verdicts_that_came_in_meanwhile_are_re_read_in_one_request(jira_cloud: JiraSandbox) -> None:
    tracker = jr.tracker(jira_cloud)
    account = tracker.account()
    keys = [jira_cloud.add_issue(summary=f"item {n}", labels=[jr.LABEL]) for n in range(12)]
    listed = {key: tracker.get_ticket(key) for key in keys}
    jira_cloud.clear_requests()
    workers = Workers(1, "write")  # one tracker request at a time: the first read takes what is ready
    gate = threading.Event()
    workers.submit(lambda: gate.wait(10))  # hold the pool while every verdict comes in
    policy = Policy(frozenset({account}), frozenset({account}), frozenset())
    writer = Writer(tracker, policy, Labels(), Budget(100), ranks=len(keys), workers=workers, stop=threading.Event())
    for rank, key in enumerate(keys):
        writer.write(rank, Job(replace(listed[key], body="", comments=()), HELD))
    gate.set()
    phase = writer.finish()
    workers.close()
    assert all(phase.written[key].actions == ["comment + label verified-by-otel"] for key in keys)
    reads = [r for r in jira_cloud.requests if r.method == "GET" and "/search" in r.path]
    # One read before the writes, and one after them: the check that two runs at once leave one result (#26).
    assert len(reads) == 2 and all(key in str(read.param("jql")) for key in keys for read in reads)
    singles = [
        r for r in jira_cloud.requests if r.method == "GET" and r.path.endswith(tuple(f"/issue/{k}" for k in keys))
    ]
    assert singles == []


def _transition_lists(jira: JiraSandbox) -> int:
    return sum(1 for r in jira.requests if r.method == "GET" and r.path.endswith("/transitions"))


def test_the_reopen_transition_is_asked_once_per_workflow_status(jira: JiraSandbox) -> None:
    keys = [jira.add_issue(summary=f"item {n}") for n in range(3)]
    tracker = jr.tracker(jira)
    for key in keys:
        tracker.get_ticket(key)  # the re-read before writing notes the ticket's workflow status
        assert tracker.reopen(key) is True
    assert _transition_lists(jira) == 1
    assert all(jira.issue(key).category == "new" for key in keys)
    assert [w.json() for w in jira.writes()] == [{"transition": {"id": "11"}}] * 3


def test_a_cached_transition_the_ticket_does_not_offer_is_refused_then_chosen_afresh(jira: JiraSandbox) -> None:
    """The sandbox lets one issue of a project and type have another workflow, as a workflow condition would hold
    a transition back for one ticket: the refused transition costs one write, then the ticket's own is used."""
    jira.set_workflow("review", [JiraTransition("41", "Back to review", "In Review", "indeterminate")])
    first, second = jira.add_issue(), jira.add_issue(workflow="review")
    tracker = jr.tracker(jira)
    for key in (first, second):
        tracker.get_ticket(key)
        assert tracker.reopen(key) is True
    assert jira.issue(second).status == "In Review"
    assert _transition_lists(jira) == 2
    assert [w.json() for w in jira.writes()] == [{"transition": {"id": t}} for t in ("11", "11", "41")]


def test_a_ticket_not_re_read_lists_its_transitions_as_before(jira: JiraSandbox) -> None:
    keys = [jira.add_issue() for _ in range(2)]
    tracker = jr.tracker(jira)
    assert all(tracker.reopen(key) for key in keys)
    assert _transition_lists(jira) == 2


def test_the_check_after_writing_sees_comments_the_search_index_has_not_caught_up_with(
    jira_cloud: JiraSandbox,
) -> None:
    """Cloud's `search/jql` lags behind writes; the batched read after writing names the issues it read before in
    `reconcileIssues`, so a result comment just written (ours, or a concurrent run's) is seen (#26)."""
    jira_cloud.search_lag = timedelta(minutes=5)
    keys = [jira_cloud.add_issue(summary=f"item {n}", labels=[jr.LABEL]) for n in range(3)]
    tracker = jr.tracker(jira_cloud)
    assert all(ticket.comments == () for ticket in tracker.get_tickets(keys).values())  # the read before writing
    for key in keys:
        jira_cloud.add_comment(key, "a result just written", author="bob")
    after = tracker.get_tickets(keys)
    assert [len(after[key].comments) for key in keys] == [1, 1, 1]
    reconciled = [r.params("reconcileIssues") for r in jira_cloud.requests if "/search" in r.path][-1]
    assert sorted(reconciled) == sorted(str(jira_cloud.issue(key).id) for key in keys)
    # The index does lag: a tracker that has not read them before (no ids to reconcile) sees no comment yet.
    assert all(ticket.comments == () for ticket in jr.tracker(jira_cloud).get_tickets(keys).values())
    assert jr.tracker(jira_cloud).batch_size == 50  # as many as one search reconciles
