"""`action-item-verifier run` end to end: the CLI as a subprocess, a sandbox tracker (Jira Cloud, Jira Data Center,
GitHub; every exchange contract-validated) and a real Prometheus with a backfilled history (see seed.py).

The run uses the real current time; the seeded tickets are resolved relative to the history's quiet anchor, so
their windows lie inside the history, except the "pending" ticket's, which ends a day from now.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import MetricsProxy
from tests.e2e.seed import (
    COMMENTER,
    EXPECT,
    FAILED,
    INCONCLUSIVE,
    INVALID,
    REPORTER,
    SPECS,
    VERIFIED,
    Desk,
    Expect,
    Timeline,
    base_env,
    cases_for,
    check_end_state,
    command,
    on_request,
    requests_for,
    run_cli,
    untouched,
)
from tests.integration.backends import PrometheusServer, free_port
from verifier_sandbox.jira import JiraSandbox

pytestmark = pytest.mark.integration


def comment_posts(desk: Desk) -> int:
    return sum(1 for r in desk.server.writes() if desk.is_comment_post(r))


def write_paths(desk: Desk) -> list[str]:
    return [r.path for r in desk.server.writes()]


def only_on(desk: Desk, key: str, paths: list[str]) -> bool:
    """Whether every one of the write `paths` is on the ticket `key`."""
    mine = rf"/issue/{re.escape(key)}(/|$)" if desk.is_jira else rf"/issues/{key.rsplit('#', 1)[1]}(/|$)"
    return all(re.search(mine, path) for path in paths)


# ------------------------------------------------------------------------------------- every verdict path


def test_every_verdict_then_a_second_run_writes_nothing_then_a_trusted_author_counts(
    desk: Desk, env: dict[str, str], t: Timeline, tmp_path: Path
) -> None:
    keys = desk.seed(t, cases_for(desk))
    report_file = tmp_path / "report.json"

    first = run_cli(env, "--report", str(report_file))

    assert first.code == 0, first
    check_end_state(desk, keys)
    expected_comments = sum(1 + EXPECT[n].reopen_failed for n in keys if EXPECT[n].label)
    assert comment_posts(desk) == expected_comments
    assert not [r for r in desk.server.writes() if r.method == "DELETE"]
    # The summary: one line per listed ticket, with its verdict; tickets that are not a fix are not listed.
    for name, key in keys.items():
        want = EXPECT[name].outcome
        if want is None:
            assert not [line for line in first.out.splitlines() if line.startswith(key + " ")], name
        else:
            assert f"  {want} " in first.line(key) + " ", (name, first.line(key))
    assert "ignored configs by untrusted " + desk.identity(COMMENTER) in first.line(keys["untrusted_comment"])
    assert "ignored configs by untrusted " + desk.identity(REPORTER) in first.line(keys["untrusted_reporter"])
    failed_case = "regressed" if "regressed" in keys else "errors_regressed"
    assert f"[wrote: {requests_for(desk, FAILED, reopen=True)}]" in first.line(keys[failed_case])
    # The comments say what was measured; FAILED says it reopened, INCONCLUSIVE that it did not.
    report = json.loads(report_file.read_text())
    failed_ticket = next(x for x in report["tickets"] if x["key"] == keys[failed_case])
    failed = desk.state(keys[failed_case]).bot_comments[0]
    assert "Verification failed" in failed and "Reopened for investigation" in failed
    assert failed_ticket["query"].split("(")[0] in failed  # histogram_quantile / sum
    assert f"{failed_ticket['value']:.6g}" in failed
    assert "Not reopened" in desk.state(keys["no_data"]).bot_comments[0]
    assert "'condition'" in first.line(keys["invalid"]) and "bytes" in first.line(keys["invalid"])
    assert "Verification config is invalid" in desk.state(keys["invalid"]).bot_comments[0]
    if desk.is_jira:
        assert "reopen impossible" in first.line(keys["locked"])
        assert "could not reopen" in desk.state(keys["locked"]).notes[0]
    # The JSON report counts every listed ticket.
    listed = [n for n in keys if EXPECT[n].outcome is not None]
    counts: dict[str, int] = {}
    for name in listed:
        outcome = EXPECT[name].outcome
        assert outcome is not None
        counts[outcome] = counts.get(outcome, 0) + 1
    assert report["counts"] == counts
    assert report["exit_code"] == 0 and report["dry_run"] is False and report["interrupted"] is False
    assert {ticket["key"] for ticket in report["tickets"]} == {keys[n] for n in listed}

    writes = desk.writes()
    second = run_cli(env)

    assert second.code == 0, second
    assert desk.writes() == writes, write_paths(desk)[writes:]
    check_end_state(desk, keys)

    trusted = {**env, "VERIFIER_TRUSTED_AUTHORS": f"somebody-else, {desk.identity(REPORTER)}"}
    third = run_cli(trusted)

    assert third.code == 0, third
    check_end_state(desk, keys, {**EXPECT, "untrusted_reporter": Expect("VERIFIED", VERIFIED)})
    new = write_paths(desk)[writes:]
    assert len(new) == (1 if desk.is_jira else 2) and only_on(desk, keys["untrusted_reporter"], new), new


# --------------------------------------------------------------------------------------- the run's options


@pytest.mark.parametrize("desk", ["jira-dc"], indirect=True)
def test_dry_run_writes_nothing_and_prints_what_it_would_write(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed", "no_data", "invalid", "pending", "locked"])

    done = run_cli(env, "--dry-run")

    assert done.code == 0, done
    assert desk.writes() == 0
    assert f"[would write: {requests_for(desk, VERIFIED)}]" in done.line(keys["held"])
    assert f"[would write: {requests_for(desk, FAILED, reopen=True)}]" in done.line(keys["regressed"])
    assert f"[would write: {requests_for(desk, INCONCLUSIVE)}]" in done.line(keys["no_data"])
    assert f"[would write: {requests_for(desk, INVALID)}]" in done.line(keys["invalid"])
    assert "would write" not in done.line(keys["pending"])
    assert any(line.endswith("(dry run: nothing written)") for line in done.out.splitlines())
    assert done.out.splitlines()[-2].startswith("first-run plan: a real run would write ")
    untouched(desk, keys, keys)


@pytest.mark.parametrize("desk", ["jira-cloud", "jira-dc"], indirect=True)
def test_issue_only_touches_that_ticket_and_now_judges_early(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed", "pending"])

    early = run_cli(env, "--issue", keys["pending"], "--now", "--json")

    assert early.code == 0, early
    report = early.report()
    assert [ticket["key"] for ticket in report["tickets"]] == [keys["pending"]]
    assert report["counts"] == {"VERIFIED": 1}
    assert only_on(desk, keys["pending"], write_paths(desk)), write_paths(desk)
    comment = desk.state(keys["pending"]).bot_comments
    assert len(comment) == 1
    assert "Judged early, on the window so far" in comment[0]
    assert "; early" in comment[0]
    assert VERIFIED in desk.state(keys["pending"]).labels
    untouched(desk, keys, ["held", "regressed"])
    writes = desk.writes()

    one = run_cli(env, "--issue", keys["regressed"])

    assert one.code == 0, one
    assert only_on(desk, keys["regressed"], write_paths(desk)[writes:]), write_paths(desk)
    check_end_state(desk, {"regressed": keys["regressed"]})
    untouched(desk, keys, ["held"])
    assert len(desk.state(keys["pending"]).bot_comments) == 1
    assert [line.split()[0] for line in one.out.splitlines()[:-1]] == [keys["regressed"]]


# ------------------------------------------------------------------------------------------- exit codes


def test_missing_tracker_setting_exits_2_with_one_line(live_prometheus: PrometheusServer) -> None:
    done = run_cli(base_env(live_prometheus.url))

    assert done.code == 2
    assert done.out == ""
    lines = done.err.strip().splitlines()
    assert len(lines) == 1, done.err
    assert "VERIFIER_TRACKER" in lines[0]


@pytest.mark.parametrize("desk", ["jira-dc", "github"], indirect=True)
def test_metrics_backend_down_writes_nothing_and_exits_1(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    keys = desk.seed(t, ["held", "regressed", "no_data", "pending"])
    down = {**env, "VERIFIER_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"}

    done = run_cli(down)

    assert done.code == 1, done
    assert desk.writes() == 0
    for name in ("held", "regressed", "no_data"):
        assert "  ERROR " in done.line(keys[name])
        assert "metrics backend failed" in done.line(keys[name])
    assert "  PENDING " in done.line(keys["pending"])
    untouched(desk, keys, keys)
    assert not any(desk.state(k).open for k in keys.values())


# ---------------------------------------------------------------------------------------------- SIGTERM


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_sigterm_mid_run_exits_143_and_a_rerun_finishes_without_a_second_comment(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    names = [f"{kind}{i}" for i in range(5) for kind in ("held", "regressed")]
    keys = {name: desk.file(SPECS[name.rstrip("0123456789")], name, t) for name in names}
    expect = {name: EXPECT[name.rstrip("0123456789")] for name in names}
    desk.server.set_latency(0.2)
    process = subprocess.Popen(command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The signal lands while the first ticket's writes are in flight: its result comment is stored, its label
    # and reopen are not yet, and no request is sent after the one in flight (the grace is one request).
    on_request(desk, desk.is_comment_post, lambda: os.kill(process.pid, signal.SIGTERM))
    try:
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 143, (out, err)
    assert "Traceback" not in err
    assert "interrupted: stopped taking new tickets" in out
    assert " tickets: " in out
    desk.server.set_latency(0)
    # A ticket written to has its result comment (it goes first and records the verdict); its label and reopen
    # may wait for the next run. The others were not touched.
    states = {name: desk.state(keys[name]) for name in names}
    written = [name for name in names if states[name].bot_comments]
    assert len(written) >= 1
    assert len(written) < len(names), "the run was not stopped early"
    assert all(states[n].results == [expect[n].outcome] for n in written), {n: states[n] for n in written}
    untouched(desk, keys, [n for n in names if n not in written])

    rerun = run_cli(env)

    assert rerun.code == 0, rerun
    check_end_state(desk, keys, expect)
    assert comment_posts(desk) == len(names)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_an_interrupted_run_reports_why_tickets_were_left(desk: Desk, metrics_proxy: MetricsProxy, t: Timeline) -> None:
    keys = [desk.file(SPECS["held"], f"held{i}", t) for i in range(4)]
    for key in keys:
        desk.add_comment(key, "Deployed in build 4711.", "alice")
    jira = desk.server
    assert isinstance(jira, JiraSandbox)
    jira.inline_comments = 0  # the listing reads each ticket's comments: one request per ticket, in key order
    metrics_proxy.add(None, delay=1.0)  # the first query is still running when the signal lands
    env = {**base_env(metrics_proxy.url, VERIFIER_CONCURRENCY="1"), **desk.env()}
    process = subprocess.Popen(command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    third = keys[2]
    on_request(desk, lambda r: r.path.endswith(f"/issue/{third}/comment"), lambda: os.kill(process.pid, signal.SIGTERM))
    try:
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 143
    assert desk.writes() == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("OPS-")}
    assert set(lines) == {keys[0], keys[1]}  # measured; queued then cancelled
    assert "write budget" not in lines[keys[0]], lines[keys[0]]
    assert "  PENDING " not in lines[keys[1]] + " ", lines[keys[1]]


# ------------------------------------------------------------------------------------------ bugs found


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_issue_on_a_wont_do_ticket_with_a_typographic_apostrophe_is_skipped(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    key = desk.file(replace(SPECS["regressed"], resolution="Won\u2019t Do"), "curly", t)

    done = run_cli(env, "--issue", key)

    assert done.code == 0, done
    assert desk.writes() == 0, write_paths(desk)
    assert not desk.state(key).open


@pytest.mark.parametrize("desk", ["github"], indirect=True)
def test_issue_on_a_pull_request_is_skipped(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    key = desk.file(replace(SPECS["held"], pull_request=True), "pr", t)

    done = run_cli(env, "--issue", key)

    assert done.code == 0, done
    assert desk.writes() == 0, write_paths(desk)


@pytest.mark.parametrize("desk", ["jira-cloud"], indirect=True)
def test_a_reopen_failed_label_from_an_earlier_resolution_does_not_stop_a_reopen(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    keys = desk.seed(t, ["locked"])
    assert run_cli(env).code == 0
    check_end_state(desk, keys)
    # Someone with more rights reopens it, the workflow gains its way back, the ticket is resolved again.
    jira = desk.server
    assert isinstance(jira, JiraSandbox)
    issue = jira.issue(keys["locked"])
    issue.workflow = "default"
    issue.resolved = t.resolved + timedelta(minutes=10)

    again = run_cli(env)

    assert again.code == 0, again
    state = desk.state(keys["locked"])
    assert state.results == ["FAILED", "FAILED"]
    assert state.open, "FAILED for the new resolution, yet not reopened"
