"""One harness per Tracker implementation: the in-memory fake the unit tests use, and both adapters on their
sandbox servers (every exchange validated against the official API descriptions, as in tests/adapters). The
behavioural suite in test_tracker_port.py runs against each, so the fake cannot drift from the real trackers."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from tests.adapters.conftest import contracts, github, github_contract, jira_cloud, jira_contract, jira_dc
from tests.adapters.test_filing import github_tracker, jira_tracker
from tests.unit.fakes import FakeTracker
from verifier import defaults
from verifier.domain.tickets import Comment, Ticket
from verifier.ports import Tracker
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.jira import JiraSandbox

__all__ = ["contracts", "github", "github_contract", "jira_cloud", "jira_contract", "jira_dc"]  # fixtures

REPO = "acme/api"


class Harness(Protocol):
    """A tracker, and how to put tickets into it behind the port's back (as people and earlier runs would)."""

    tracker: Tracker
    not_a_fix: str  # a closing reason this tracker treats as not a fix

    def done(
        self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "", resolution: str | None = None
    ) -> str: ...

    def open(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "") -> str: ...

    def comment_by_someone(self, key: str, body: str) -> None: ...

    missing: str  # a well-formed key no ticket has


@dataclass
class FakeHarness:
    tracker: FakeTracker = field(default_factory=lambda: FakeTracker(clock=datetime.now(UTC)))
    not_a_fix: str = "Won't Do"
    missing: str = "OPS-999"
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _add(self, labels: Iterable[str], body: str, resolution: str | None, done: bool) -> str:
        key = f"OPS-{next(self._numbers)}"
        resolved = datetime.now(UTC) - timedelta(hours=1) if done else None
        status = "Done" if done else "To Do"
        self.tracker.add(
            Ticket(
                key,
                f"https://fake/{key}",
                "Action item",
                status,
                resolved,
                resolution,
                frozenset(labels),
                body,
                "alice",
            )
        )
        return key

    def done(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "", resolution: str | None = None) -> str:
        return self._add(labels, body, resolution or "Done", True)

    def open(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "") -> str:
        return self._add(labels, body, None, False)

    def comment_by_someone(self, key: str, body: str) -> None:
        from dataclasses import replace

        ticket = self.tracker.tickets[key]
        new = Comment(f"c{len(ticket.comments)}", "alice", body, datetime.now(UTC))
        self.tracker.tickets[key] = replace(ticket, comments=(*ticket.comments, new))


class JiraHarness:
    not_a_fix = "Won't Do"
    missing = "OPS-999"

    def __init__(self, server: JiraSandbox) -> None:
        self.server = server
        self.tracker = jira_tracker(server)

    def done(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "", resolution: str | None = None) -> str:
        return self.server.add_issue(labels=labels, description=body, resolution=resolution or "Done")

    def open(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "") -> str:
        return self.server.add_issue(labels=labels, description=body, status="To Do", resolution=None)

    def comment_by_someone(self, key: str, body: str) -> None:
        self.server.add_comment(key, body, author="alice")


class GitHubHarness:
    not_a_fix = "not_planned"
    missing = f"{REPO}#999"

    def __init__(self, server: GitHubSandbox) -> None:
        self.server = server
        server.add_repo(REPO)
        self.tracker = github_tracker(server)

    def done(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "", resolution: str | None = None) -> str:
        number = self.server.add_issue(REPO, labels=labels, body=body, state="closed", state_reason=resolution)
        return f"{REPO}#{number}"

    def open(self, *, labels: Iterable[str] = (defaults.LABEL,), body: str = "") -> str:
        return f"{REPO}#{self.server.add_issue(REPO, labels=labels, body=body)}"

    def comment_by_someone(self, key: str, body: str) -> None:
        self.server.add_comment(REPO, int(key.rpartition("#")[2]), body, user="alice")


@pytest.fixture(params=["fake", "jira-cloud", "jira-datacenter", "github"])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "fake":
        return FakeHarness()
    if request.param.startswith("jira"):
        return JiraHarness(request.getfixturevalue("jira_cloud" if request.param == "jira-cloud" else "jira_dc"))
    return GitHubHarness(request.getfixturevalue("github"))
