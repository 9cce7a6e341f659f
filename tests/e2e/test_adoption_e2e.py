"""Taking over from the article's script on a real tracker: the write budget is a cap on what the tracker
receives, tickets judged elsewhere are left alone, and rate limits stop the writing with one line a person can act
on. The CLI as a subprocess against the contract-validated sandboxes and the module's real Prometheus."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.e2e.seed import SPECS, Desk, Timeline, run_cli
from verifier.sandbox.http import RecordedRequest

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
@pytest.mark.parametrize("cap", [9, 4])
def test_the_write_budget_caps_every_write_request_failed_transitions_and_notes_included(
    desk: Desk, env: dict[str, str], t: Timeline, cap: int
) -> None:
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
    for _ in range(6):
        desk.server.clear_requests()
        again = run_cli({**env, "VERIFIER_MAX_WRITES": str(cap)}, "--json")
        assert len(desk.server.writes()) <= cap
        assert again.report()["writes"] == len(desk.server.writes()), again
    for name, key in keys.items():
        state = desk.state(key)
        assert state.results == ["FAILED"], (name, state)
        assert state.open == name.startswith("regressed"), (name, state)
        assert ("reopen-failed" in state.labels) == name.startswith("locked"), (name, state)
