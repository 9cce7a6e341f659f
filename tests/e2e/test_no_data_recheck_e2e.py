"""`no_data: zero` and the later re-check (`recheck_after`) end to end (#24): the CLI as a subprocess, the sandbox
trackers (contract-validated) and a real Prometheus holding this module's own history:

    anchor-4h     the history starts; the re-check tickets are resolved (delay = window = 1h: [anchor-4h, anchor-3h])
    anchor-3h30   the no_data tickets are resolved (delay = window = 3h)
    anchor-2h     checkout's timeouts start growing, 5 a minute; search's never do
    anchor-2h..1h the re-check window (recheck_after: 2h): 300 timeouts on checkout, none on search
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.seed import (
    LATENCY,
    REPO_ROOT,
    VERIFIED,
    Desk,
    Spec,
    Timeline,
    run_cli,
)
from tests.integration.backends import History, PrometheusServer
from verifier.domain.protocol import REGRESSED_LABEL, parse_recheck

pytestmark = pytest.mark.integration

TIMEOUTS = "checkout_timeouts_total"
PANICS = "checkout_panics_total"  # never incremented: no series at all
TRAFFIC = LATENCY + '_count{service="checkout"}'  # 200 requests a minute


@pytest.fixture(scope="module")
def prometheus(t: Timeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    h = History(start=t.start, end=t.anchor)
    h.histogram(LATENCY, {0.03: 195, 0.09: 5}, labels={"service": "checkout"})
    regressed_from = t.anchor - timedelta(hours=2)
    h.counter(TIMEOUTS, lambda at: 5 if at > regressed_from else 0, {"service": "checkout"})
    h.counter(TIMEOUTS, 0, {"service": "search"})
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"))
    server.load(h)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _block(*lines: str) -> str:
    return "Fix it.\n\n```yaml\n# action-item-verifier: v1\n" + "\n".join(lines) + "\n```"


def _zero(traffic: str) -> Spec:
    config = (f"metric: {PANICS}", 'condition: "== 0"', 'delay: "3h"', "no_data: zero", f"traffic: {traffic}")
    return Spec(body=_block(*config))


def _recheck(service: str) -> Spec:
    lines = (f"metric: {TIMEOUTS}", 'condition: "< 10"', f'labels: {{service: "{service}"}}', 'delay: "1h"')
    return Spec(body=_block(*lines, 'recheck_after: "2h"'), resolved="start")


def _bot_comments(desk: Desk, key: str) -> tuple[str, ...]:
    return desk.state(key).bot_comments


# ------------------------------------------------------------------------------------------ no_data: zero


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
def test_a_counter_never_seen_is_zero_only_with_enough_traffic(desk: Desk, env: dict[str, str], t: Timeline) -> None:
    keys = {
        "enough": desk.file(_zero(json.dumps(f"{TRAFFIC} >= 1000")), "enough", t),
        "thin": desk.file(_zero(json.dumps(f"{TRAFFIC} >= 1000000")), "thin", t),
        "unknown": desk.file(_zero(json.dumps('nothing_requests_total{service="checkout"} >= 10')), "unknown", t),
    }

    done = run_cli(env, "--json")

    assert done.code == 0, done
    results = {r["key"]: r for r in done.report()["tickets"]}
    enough, thin, unknown = (results[keys[n]] for n in ("enough", "thin", "unknown"))
    assert (enough["outcome"], enough["value"]) == ("VERIFIED", 0)
    requests = re.search(
        r"no series: taken as 0 \(no_data: zero\) with ([\d,]+) requests in the window", enough["reason"]
    )
    assert requests is not None, enough["reason"]
    assert 35_000 <= int(requests.group(1).replace(",", "")) <= 37_000  # 200 a minute for 3 hours
    assert thin["outcome"] == "INCONCLUSIVE"
    assert re.search(
        r"not taken as 0 \(no_data: zero\): only [\d,]+ requests in the window \(needs 1,000,000\)", thin["reason"]
    )
    assert unknown["outcome"] == "INCONCLUSIVE"
    assert (
        "not taken as 0 (no_data: zero): no data for the traffic: no series for nothing_requests_total"
        in (unknown["reason"])
    )
    # What the tracker received: the comment says what the verdict stood on, and the labels follow the verdicts.
    comment = _bot_comments(desk, keys["enough"])[0].replace("\\", "")  # Markdown escapes `_`
    assert "taken as 0 (no_data: zero) with" in comment and f"sum(increase({TRAFFIC}[3h]))" in comment
    assert VERIFIED in desk.state(keys["enough"]).labels
    assert VERIFIED not in desk.state(keys["thin"]).labels and not desk.state(keys["thin"]).open


# ----------------------------------------------------------------------------------------- the re-check


def report_json(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "report", "--since", "2d", "--format", "json"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


@pytest.mark.parametrize("desk", ["jira-cloud", "github"], indirect=True)
def test_a_re_check_finds_the_regression_labels_it_and_a_second_run_writes_nothing(
    desk: Desk, env: dict[str, str], t: Timeline, tmp_path: Path
) -> None:
    keys = {
        name: desk.file(_recheck(service), name, t) for name, service in (("regressed", "checkout"), ("held", "search"))
    }

    first = run_cli(env, "--json")  # the windows themselves: both held

    assert first.code == 0, first
    assert {r["key"]: r["outcome"] for r in first.report()["tickets"]} == {
        keys["regressed"]: "VERIFIED",
        keys["held"]: "VERIFIED",
    }
    assert report_json(env)["overall"]["regressed_later"] == 0  # type: ignore[index]

    second = run_cli(env, "--json")  # now their re-checks are due: 2 h after the windows, which are over

    assert second.code == 0, second
    results = {r["key"]: r for r in second.report()["tickets"]}
    regressed, held = results[keys["regressed"]], results[keys["held"]]
    assert (regressed["outcome"], regressed["value"]) == ("FAILED", pytest.approx(300, rel=0.05))
    assert regressed["reason"].startswith("re-check: ")
    assert (held["outcome"], held["value"]) == ("VERIFIED", 0)
    state = desk.state(keys["regressed"])
    assert REGRESSED_LABEL in state.labels and VERIFIED in state.labels
    assert not state.open  # VERIFIER_RECHECK_ACTION defaults to comment
    recheck = state.bot_comments[-1]
    marker = parse_recheck(recheck)
    assert marker is not None and marker.verdict.value == "FAILED"
    assert "Re-check failed: the fix regressed since it was verified" in recheck
    assert "not reopened, by the verifier's setting" in recheck
    held_state = desk.state(keys["held"])
    assert REGRESSED_LABEL not in held_state.labels and len(held_state.bot_comments) == 2
    assert "Re-checked: the fix still holds" in held_state.bot_comments[-1]

    writes = desk.writes()
    third = run_cli(env, "--json")

    assert third.code == 0, third
    assert desk.writes() == writes  # run twice, written once
    assert {r["outcome"] for r in third.report()["tickets"]} == {"FAILED", "VERIFIED"}
    report = report_json(env)
    assert report["overall"]["regressed_later"] == 1  # type: ignore[index]
    assert report["overall"]["verified"] == 2 and report["overall"]["failed"] == 0  # type: ignore[index]
    assert [line["key"] for line in report["regressed_later"]] == [keys["regressed"]]  # type: ignore[union-attr]


@pytest.mark.parametrize("desk", ["jira-dc", "github"], indirect=True)
def test_the_recheck_action_setting_reaches_the_tracker_as_a_reopen(
    desk: Desk, env: dict[str, str], t: Timeline
) -> None:
    key = desk.file(_recheck("checkout"), "regressed", t)
    assert run_cli(env).code == 0
    before = len(desk.server.writes())

    done = run_cli({**env, "VERIFIER_RECHECK_ACTION": "reopen"})

    assert done.code == 0, done
    state = desk.state(key)
    assert state.open and REGRESSED_LABEL in state.labels
    sent = desk.server.writes()[before:]
    if desk.is_jira:
        assert any(r.method == "POST" and r.path.endswith(f"/issue/{key}/transitions") for r in sent), sent
    else:
        number = key.rsplit("#", 1)[1]
        patches = [r.json() or {} for r in sent if r.method == "PATCH" and r.path.endswith(f"/issues/{number}")]
        assert any(p.get("state") == "open" for p in patches), patches
    assert "Reopened and labelled regressed-later" in state.bot_comments[-1]


@pytest.mark.parametrize("desk", ["jira-dc"], indirect=True)
def test_an_unknown_recheck_action_is_refused_before_anything_is_read(env: dict[str, str]) -> None:
    done = run_cli({**env, "VERIFIER_RECHECK_ACTION": "delete"})
    assert done.code != 0 and "recheck_action" in (done.out + done.err).lower()
