"""A metrics answer that trickles in a byte a second, through `run` as a subprocess (#22): the run's deadline
(VERIFIER_RUN_DEADLINE_SECONDS) ends it with the healthy tickets written and exit 124, and SIGTERM during the stall
ends it within the grace period with exit 143. The stalled ticket is left untouched and judged by the next run.

The stall comes from `MetricsProxy` (conftest.py) in front of the module's real Prometheus; the tracker is the
contract-checked Jira Cloud sandbox.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.e2e.conftest import MetricsProxy
from tests.e2e.seed import Desk, Done, Timeline, base_env, check_end_state, command, run_cli, untouched
from verifier.exit_codes import ExitCode

pytestmark = pytest.mark.integration

REGRESSED = 'service="inventory"'  # the proxy tells the regressed ticket's queries by this
HEALTHY = ["held", "invalid", "no_data"]


def _env(desk: Desk, proxy: MetricsProxy, **extra: str) -> dict[str, str]:
    return {**base_env(proxy.url, **extra), **desk.env()}


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_a_query_answered_a_byte_a_second_ends_the_run_at_its_deadline_with_the_healthy_tickets_written(
    desk: Desk, metrics_proxy: MetricsProxy, t: Timeline
) -> None:
    keys = desk.seed(t, ["regressed", *HEALTHY])
    metrics_proxy.add(REGRESSED, trickle=1.0)
    env = _env(desk, metrics_proxy, VERIFIER_RUN_DEADLINE_SECONDS="4")

    started = time.monotonic()
    first = run_cli(env, timeout=60)
    took = time.monotonic() - started

    assert first.code == ExitCode.DEADLINE, first
    assert took < 20, took  # the deadline, start-up and the writes: not the minutes the answer would take
    assert metrics_proxy.trickling.is_set()
    check_end_state(desk, {name: keys[name] for name in HEALTHY})
    untouched(desk, keys, ["regressed"])
    assert "SKIPPED" in first.line(keys["regressed"]) and "deadline" in first.line(keys["regressed"])

    metrics_proxy.clear()
    second = run_cli(env)

    assert second.code == ExitCode.OK, second
    check_end_state(desk, keys)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_sigterm_during_a_stalled_query_ends_the_run_within_the_grace_period(
    desk: Desk, metrics_proxy: MetricsProxy, t: Timeline
) -> None:
    keys = desk.seed(t, ["regressed", *HEALTHY])
    metrics_proxy.add(REGRESSED, trickle=1.0)
    env = _env(desk, metrics_proxy, VERIFIER_RUN_DEADLINE_SECONDS="0")  # no deadline: only the signal ends it
    process = subprocess.Popen(command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        healthy_written = _wait(lambda: all(desk.state(keys[n]).results for n in ("held", "invalid")), 30)
        assert healthy_written and metrics_proxy.trickling.wait(10)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        process.kill()

    assert "Traceback" not in err, err
    assert process.returncode == ExitCode.INTERRUPTED, (out, err)
    # The grace the README asks for is one tracker request + 15 s; nothing was in flight here but the stall.
    assert took < 5, took
    check_end_state(desk, {name: keys[name] for name in ("held", "invalid")})
    untouched(desk, keys, ["regressed"])
    assert "not judged: the run was stopped first" in Done(process.returncode, out, err).line(keys["regressed"])

    metrics_proxy.clear()
    rerun = run_cli(env)

    assert rerun.code == ExitCode.OK, rerun
    check_end_state(desk, keys)


def _wait(condition: object, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False
