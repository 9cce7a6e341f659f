"""`doctor`: one line per check, naming what answered and what failed, every check tried."""

from __future__ import annotations

from tests.unit.fakes import BOT, FakeTracker
from verifier.errors import BackendUnavailable, TrackerError
from verifier.ports import Tracker
from verifier.services.doctor import checks, run_checks


class Backend:
    def __init__(self, down: bool = False) -> None:
        self.down, self.pinged = down, 0

    def ping(self) -> None:
        self.pinged += 1
        if self.down:
            raise BackendUnavailable("connection refused")


def test_a_healthy_setup_names_the_account_and_the_backend_that_answered() -> None:
    backend = Backend()
    found = checks("jira", FakeTracker, lambda: backend, "http://prometheus:9090")
    assert run_checks(found) == (
        [f"ok    tracker (jira): signed in as {BOT}", "ok    metrics backend: http://prometheus:9090 answered"],
        0,
    )
    assert backend.pinged == 1


def test_a_tracker_that_cannot_be_built_fails_its_check_and_the_backend_is_still_checked() -> None:
    def broken() -> Tracker:
        raise TrackerError("401: the token may have expired")

    backend = Backend(down=True)
    lines, failures = run_checks(checks("github", broken, lambda: backend, "http://vm:8428"))
    assert lines == [
        "FAIL  tracker (github): 401: the token may have expired",
        f"FAIL  metrics backend: {BackendUnavailable('connection refused')}",
    ]
    assert failures == 2


def test_only_failed_checks_are_counted() -> None:
    lines, failures = run_checks(checks("jira", FakeTracker, lambda: Backend(down=True), "http://p"))
    assert lines[0].startswith("ok    ") and lines[1].startswith("FAIL  metrics backend: ")
    assert failures == 1
