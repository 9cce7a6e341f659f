"""The Job's podFailurePolicy follows the exit-code table (#22): a code `verifier/exit_codes.py` marks as retried
is tried again up to backoffLimit, every other one fails the Job at once (no second write budget in one slot),
in every rendered scenario and in deploy/. The rules are evaluated here as the Job controller evaluates them:
the first rule that matches the terminated container decides; none matching counts against backoffLimit."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import Rendering
from verifier.exit_codes import RUN

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def decide(rules: list[dict[str, Any]], exit_code: int, conditions: frozenset[str] = frozenset()) -> str:
    """The action the Job controller takes for a verifier container that ended with `exit_code` (its Pod
    carrying `conditions`): a rule's action, or "Count" (against backoffLimit) when no rule matches."""
    for rule in rules:
        on_exit = rule.get("onExitCodes")
        if on_exit is not None:
            if on_exit.get("containerName", "verifier") != "verifier" or exit_code == 0:
                continue
            inside = exit_code in on_exit["values"]
            if inside == (on_exit["operator"] == "In"):
                return str(rule["action"])
            continue
        wanted = {c["type"] for c in rule.get("onPodConditions") or () if c.get("status", "True") == "True"}
        if wanted and wanted <= conditions:
            return str(rule["action"])
    return "Count"


def _policies(rendered: Mapping[str, Rendering]) -> dict[str, list[dict[str, Any]]]:
    policies = {
        name: r.one("CronJob")["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
        for name, r in rendered.items()
    }
    for manifest in ("cronjob.yaml", "job-manual.yaml"):
        obj = yaml.safe_load((DEPLOY / manifest).read_text())
        spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
        policies[f"deploy/{manifest}"] = spec["podFailurePolicy"]["rules"]
    return policies


@pytest.mark.parametrize(("code", "retried"), [(int(code), retried) for code, retried, _ in RUN if code != 0])
def test_each_run_exit_code_is_retried_or_fails_the_job_as_the_table_says(
    rendered: Mapping[str, Rendering], code: int, retried: bool
) -> None:
    for name, rules in _policies(rendered).items():
        assert decide(rules, code) == ("Count" if retried else "FailJob"), (name, code)


@pytest.mark.parametrize("code", [137, 139, 70])  # killed, crashed, anything unforeseen: no blind retries
def test_codes_outside_the_table_fail_the_job_at_once(rendered: Mapping[str, Rendering], code: int) -> None:
    for name, rules in _policies(rendered).items():
        assert decide(rules, code) == "FailJob", (name, code)


def test_a_pod_evicted_before_its_container_ended_is_retried_without_counting(
    rendered: Mapping[str, Rendering],
) -> None:
    for name, rules in _policies(rendered).items():
        ignored = [r for r in rules if r["action"] == "Ignore"]
        assert [c["type"] for r in ignored for c in r["onPodConditions"]] == ["DisruptionTarget"], name
        # a container that ran and ended is decided by its exit code first, eviction or not
        assert decide(rules, 143, frozenset({"DisruptionTarget"})) == "FailJob", name
