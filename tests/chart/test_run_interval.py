"""The chart reads the interval between runs from one value, `schedule` (#23): the run's first-run plan
(VERIFIER_RUN_INTERVAL_SECONDS) and the alerts' "two intervals" follow it, and config.VERIFIER_RUN_INTERVAL_SECONDS
is the one way to say it for a schedule the chart cannot read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import Helm, parse
from verifier import defaults


def render(helm: Helm, tmp_path: Path, values: dict[str, Any], *, check: bool = True) -> tuple[list[Any], str]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"prometheusRule": {"enabled": True}, **values}))
    done = helm.template("--values", str(path), check=check)
    return (parse(done.stdout) if done.returncode == 0 else []), done.stderr


def interval_of(objects: list[Any]) -> tuple[list[str], list[int]]:
    """The VERIFIER_RUN_INTERVAL_SECONDS of every Pod (the CronJob's, the helm test's) and the interval of each
    alert that allows two of them."""
    pods = [o["spec"]["jobTemplate"]["spec"]["template"]["spec"] for o in objects if o["kind"] == "CronJob"]
    pods += [o["spec"] for o in objects if o["kind"] == "Pod"]
    env = [
        e["value"] for pod in pods for e in pod["containers"][0]["env"] if e["name"] == "VERIFIER_RUN_INTERVAL_SECONDS"
    ]
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    windows = [int(m) for r in rules.values() for m in re.findall(r"> 2 \* (\d+)", r["expr"])]
    absent = re.fullmatch(r"(\d+)([hs])", rules["ActionItemVerifierMetricsAbsent"]["for"])
    assert absent is not None
    windows.append(int(absent[1]) * (3600 if absent[2] == "h" else 1) // 2)
    return env, windows


def test_the_default_schedule_is_the_tool_s_default_interval(helm: Helm, tmp_path: Path) -> None:
    env, windows = interval_of(render(helm, tmp_path, {})[0])
    assert env == [str(defaults.RUN_INTERVAL_SECONDS)] * 2
    assert windows and set(windows) == {defaults.RUN_INTERVAL_SECONDS}


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ("0 */6 * * *", 6 * 3600),
        ("15 */2 * * *", 2 * 3600),
        ("@hourly", 3600),
        ("@daily", 86400),
        ("@weekly", 7 * 86400),
        ("@every 1h30m", 5400),
        ("*/15 * * * *", 900),
        ("5 * * * *", 3600),
        ("30 2 * * *", 86400),
        ("0  1,7,13,22 * * *", 9 * 3600),  # the longest gap: 13:00 to 22:00
        ("0 22,4 * * *", 18 * 3600),
    ],
)
def test_the_interval_is_the_longest_gap_of_the_schedule(
    helm: Helm, tmp_path: Path, schedule: str, seconds: int
) -> None:
    objects, _ = render(helm, tmp_path, {"schedule": schedule})
    env, windows = interval_of(objects)
    assert env == [str(seconds)] * 2
    assert windows and set(windows) == {seconds}


@pytest.mark.parametrize("schedule", ["0 9 * * 1-5", "0,30 * * * *", "0 0 1 * *", "0 8-18 * * *"])
def test_a_schedule_the_chart_cannot_read_fails_and_names_the_setting(
    helm: Helm, tmp_path: Path, schedule: str
) -> None:
    objects, error = render(helm, tmp_path, {"schedule": schedule}, check=False)
    assert objects == []
    assert f'cannot tell the interval between runs from schedule "{schedule}"' in error
    assert "set config.VERIFIER_RUN_INTERVAL_SECONDS" in error


def test_the_config_setting_says_the_interval_once_for_the_run_and_the_alerts(helm: Helm, tmp_path: Path) -> None:
    values = {"schedule": "0 9 * * 1-5", "config": {"VERIFIER_RUN_INTERVAL_SECONDS": 3 * 86400}}
    env, windows = interval_of(render(helm, tmp_path, values)[0])
    assert env == ["259200"] * 2  # once per Pod: the chart adds none of its own
    assert windows and set(windows) == {259200}


def test_the_old_alert_only_interval_value_is_refused(helm: Helm, tmp_path: Path) -> None:
    """`prometheusRule.runIntervalSeconds` could disagree with the schedule: it is gone, and said so on install."""
    objects, error = render(
        helm, tmp_path, {"prometheusRule": {"enabled": True, "runIntervalSeconds": 3600}}, check=False
    )
    assert objects == [] and "runIntervalSeconds" in error
