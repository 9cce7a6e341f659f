"""Taking over from the article's script on a real tracker: the write budget is a cap on what the tracker
receives, tickets judged elsewhere are left alone, and rate limits stop the writing with one line a person can act
on. The CLI as a subprocess against the contract-validated sandboxes and the module's real Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.e2e.seed import LATENCY, SPECS, VERIFIED, Desk, Timeline, run_cli
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import RecordedRequest, Reply
from verifier_sandbox.jira import JiraSandbox

pytestmark = pytest.mark.integration


def seed_many(desk: Desk, t: Timeline, **counts: int) -> dict[str, str]:
    """`counts` tickets of each SPECS case, named case-1, case-2, ..."""
    keys = {}
    for case, count in counts.items():
        for n in range(1, count + 1):
            name = f"{case}-{n}"
            keys[name] = desk.file(replace(SPECS[case]), name, t)
    return keys


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_the_write_budget_caps_every_write_request_failed_transitions_and_notes_included(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    cap = 9  # the issue's: 12 write requests went out before
    # Workflows with no way back (reopen impossible: a note and a label more) and transitions that fail.
    keys = seed_many(desk, t, locked=3, regressed=2)
    failing = {keys["regressed-1"], keys["regressed-2"]}

    def transition_post(request: RecordedRequest) -> bool:
        return request.method == "POST" and any(request.path.endswith(f"/issue/{k}/transitions") for k in failing)

    desk.server.fail(2, status=500, match=transition_post)

    done = run_cli({**env, "VERIFIER_MAX_WRITES": str(cap)}, "--json")

    received = desk.server.writes()
    assert len(received) <= cap, [f"{r.method} {r.path}" for r in received]
    assert done.report()["writes"] == len(received), done
    # The budget went to the oldest due first and the rest says why it waits.
    assert "the write budget is used up" in done.out
    assert done.code in (0, 1), done

    # Runs after it drain the backlog without ever passing the cap, and every ticket ends as it should.
    for _ in range(4):
        desk.server.clear_requests()
        again = run_cli({**env, "VERIFIER_MAX_WRITES": str(cap)}, "--json")
        assert len(desk.server.writes()) <= cap
        assert again.report()["writes"] == len(desk.server.writes()), again
    for name, key in keys.items():
        state = desk.state(key)
        assert state.results == ["FAILED"], (name, state)
        assert state.open == name.startswith("regressed"), (name, state)
        assert ("reopen-failed" in state.labels) == name.startswith("locked"), (name, state)


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
@pytest.mark.parametrize("cap", [3, 10])
def test_retries_of_refused_writes_are_charged_and_counted_too(
    desk: Desk, env: dict[str, str], t: Timeline, cap: int
) -> None:
    keys = seed_many(desk, t, held=2)
    # Refused before processing, with Retry-After (Jira a 429, GitHub a secondary limit): sent again.
    desk.server.throttle(2, retry_after=1, match=writes_to(desk))  # type: ignore[attr-defined]

    done = run_cli({**env, "VERIFIER_MAX_WRITES": str(cap)}, "--json")

    received = desk.server.writes()
    assert done.report()["writes"] == len(received) <= cap, (done, [f"{r.method} {r.path}" for r in received])
    if cap == 10:  # room for the retries: every ticket verified, the refusals counted
        assert done.code == 0, done
        assert len(received) == (2 if desk.is_jira else 4) + 2
        assert all(desk.state(k).results == ["VERIFIED"] for k in keys.values())


def writes_to(desk: Desk) -> Callable[[RecordedRequest], bool]:
    """Requests that change the tracker: a GitHub GraphQL query is a POST, but a read."""
    server = desk.server
    if isinstance(server, GitHubSandbox):
        return lambda r: r.is_write and not server.graphql.is_query(r)
    return lambda r: r.is_write


# ------------------------------------------------------------------------------------- judged elsewhere

SCRIPT = "otel-script"  # the account the article's script ran as: it wrote the configs, so it is trusted
ARTICLE_VERIFIED = "Verified: `{m}` now meets condition `< 100ms p99` (current value: 0.031)"
ARTICLE_FAILED = (
    "Verification FAILED: `{m}` does not meet `< 100ms p99` (current value: 0.22). Reopening for investigation."
)


def article_comment(desk: Desk, key: str, text: str, when: datetime) -> None:
    """A comment as the article's script wrote it, at `when`."""
    body = text.format(m=LATENCY)
    if isinstance(desk.server, JiraSandbox):
        desk.server.add_comment(key, body, author=SCRIPT, created=when)
    else:
        assert isinstance(desk.server, GitHubSandbox)
        desk.server.add_comment(desk.repo, int(key.rsplit("#", 1)[1]), body, user=SCRIPT, created_at=when)


def add_label(desk: Desk, key: str, label: str, by: str = SCRIPT) -> None:
    """`by` adds the label: Jira records it in the history, GitHub as a `labeled` event (a judgement only when `by`
    is trusted, #20)."""
    if isinstance(desk.server, JiraSandbox):
        desk.server.edit_labels(key, add=[label], editor=by)
    else:
        assert isinstance(desk.server, GitHubSandbox)
        desk.server.edit_labels(desk.repo, int(key.rsplit("#", 1)[1]), add=[label], actor=by)


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
def test_a_tracker_as_the_article_s_script_left_it_gets_no_write_and_rejudge_judges_it(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    after = t.resolved + timedelta(hours=4)
    keys = seed_many(desk, t, held=2, regressed=2)
    # The script verified held-1 (comment + label) and found regressed-1 failing, but its workflow let it not
    # reopen; a trusted hand labelled held-2; regressed-2 was failed by the script, reopened and resolved again.
    article_comment(desk, keys["held-1"], ARTICLE_VERIFIED, after)
    add_label(desk, keys["held-1"], VERIFIED)
    article_comment(desk, keys["regressed-1"], ARTICLE_FAILED, after)
    add_label(desk, keys["held-2"], VERIFIED)
    article_comment(desk, keys["regressed-2"], ARTICLE_FAILED, t.resolved - timedelta(hours=1))
    env = {**env, "VERIFIER_TRUSTED_AUTHORS": desk.identity(SCRIPT)}

    first = run_cli(env)

    assert first.code == 0, first
    elsewhere = ("held-1", "regressed-1", "held-2")
    for name in elsewhere:
        assert "  ELSEWHERE " in first.line(keys[name]), first.out
        assert desk.state(keys[name]).bot_comments == (), name
    assert "  FAILED " in first.line(keys["regressed-2"]), first.out  # resolved again since: judged as usual
    assert all(f"/{keys['regressed-2'].rsplit('#', 1)[-1]}" in r.path for r in desk.server.writes())
    assert "3 judged elsewhere" in first.out

    desk.server.clear_requests()
    second = run_cli(env, "--rejudge")

    assert second.code == 0, second
    assert [desk.state(keys[n]).results for n in elsewhere] == [["VERIFIED"], ["FAILED"], ["VERIFIED"]]
    assert desk.state(keys["regressed-1"]).open
    assert desk.state(keys["regressed-2"]).results == ["FAILED"]  # not written twice


# ------------------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize("desk", ["jira-dc", "github"], indirect=True)
def test_a_rate_limit_longer_than_the_run_can_wait_stops_the_writing_in_one_line_and_exits_75(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    keys = seed_many(desk, t, held=3)
    if isinstance(desk.server, JiraSandbox):
        reply = Reply.json(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, [("Retry-After", "3600")])
        desk.server.faults.inject(reply, times=1, match=writes_to(desk))
        said = ("HTTP 429", "Rate limit exceeded.", "asked to wait 3600s")
    else:
        assert isinstance(desk.server, GitHubSandbox)
        desk.server.throttle(1, retry_after=None, reset_in=3600, match=writes_to(desk))
        said = ("HTTP 403, primary rate limit", "API rate limit exceeded for user ID 1")
    env = {**env, "VERIFIER_CONCURRENCY": "1"}  # one ticket at a time: the first write is refused

    done = run_cli(env)

    assert done.code == 75, done
    stopped = [line for line in done.out.splitlines() if line.startswith("error: writing stopped")]
    assert len(stopped) == 1 and all(part in stopped[0] for part in said), done.out
    assert "the next run" in stopped[0]
    (refused,) = desk.server.writes()  # nothing after it
    assert desk.is_comment_post(refused)
    assert sum("left for the next run" in line for line in done.out.splitlines()) == len(keys) - 1, done.out

    again = run_cli(env)
    assert again.code == 0, again
    assert all(desk.state(k).results == ["VERIFIED"] for k in keys.values())


# ------------------------------------------------------------------------------------- first-run plan


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_the_dry_run_s_first_run_plan_matches_what_the_real_runs_then_write(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    seed_many(desk, t, held=4, regressed=2)
    env = {**env, "VERIFIER_MAX_WRITES": "3", "VERIFIER_RUN_INTERVAL_SECONDS": str(6 * 3600)}

    dry = run_cli(env, "--dry-run", "--json")

    assert desk.server.writes() == []
    plan = dry.report()["plan"]
    # Jira: a comment and its label in one issue edit; a failed fix needs its reopen too. Oldest due first.
    assert plan == {
        "writes": 8,
        "by_kind": {"comment": 6, "label": 6, "reopen": 2},
        "budget": 3,
        "runs": 3,
        "last_run_after_hours": 12.0,
    }
    text = run_cli(env, "--dry-run").out.splitlines()
    assert text[-2:] == [
        "first-run plan: a real run would write 8 requests (6 comments, 6 labels, 2 reopens)",
        "  the write budget (3 a run) needs 3 runs: at one run every 6h, the last one starts 12h after the first",
    ]

    writes_per_run = []
    for _ in range(6):
        before = len(desk.server.writes())
        run_cli(env)
        writes_per_run.append(len(desk.server.writes()) - before)
    assert writes_per_run == [3, 3, 2, 0, 0, 0]
