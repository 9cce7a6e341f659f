"""Fixtures for the chart tests: the real helm 4 binary, and each scenario of helm/action-item-verifier/ci
rendered once per session.

helm is looked for at .tools/bin/helm (scripts/install-helm puts it there) and then on PATH. A missing tool
skips the tests that need it, or fails them when the CI variable is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# VERIFIER_CHART_DIR: another copy of the chart to test (scripts/mutation --chart tests edited copies).
CHART = Path(os.environ.get("VERIFIER_CHART_DIR") or ROOT / "helm" / "action-item-verifier")
SCENARIOS = sorted(p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml"))
RELEASE = "prod"
NAMESPACE = "incident-tools"
FULLNAME = f"{RELEASE}-action-item-verifier"


def need(message: str) -> None:
    """Skip the test for a missing tool, or fail it in CI, where every tool must be installed."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def values_file(scenario: str) -> Path:
    return CHART / "ci" / f"{scenario}-values.yaml"


@dataclass(frozen=True)
class Helm:
    path: str

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.path, *args], capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def template(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args, check=check)


@dataclass(frozen=True)
class Rendering:
    """One scenario's objects, in the order helm printed them."""

    scenario: str
    objects: list[dict[str, Any]]

    def kinds(self) -> list[str]:
        return [o["kind"] for o in self.objects]

    def one(self, kind: str) -> dict[str, Any]:
        found = [o for o in self.objects if o["kind"] == kind]
        assert len(found) == 1, f"{self.scenario}: expected one {kind}, got {len(found)}"
        return found[0]

    def maybe(self, kind: str) -> dict[str, Any] | None:
        found = [o for o in self.objects if o["kind"] == kind]
        return found[0] if found else None

    def pod_specs(self) -> dict[str, dict[str, Any]]:
        """The CronJob's Pod spec and the helm test Pod's spec."""
        cronjob = self.one("CronJob")
        return {
            "cronjob": cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "helm-test": self.one("Pod")["spec"],
        }


def parse(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def helm() -> Helm:
    local = ROOT / ".tools" / "bin" / "helm"
    path = str(local) if local.is_file() else shutil.which("helm")
    if not path:
        need("helm not found at .tools/bin/helm or on PATH; run scripts/install-helm")
    assert path is not None
    version = subprocess.run(
        [path, "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not version.startswith("v4."):
        need(f"helm 4 is required, {path} is {version}; run scripts/install-helm")
    return Helm(path)


@pytest.fixture(scope="session")
def rendered(helm: Helm) -> Mapping[str, Rendering]:
    """Every scenario rendered once: scenario name -> Rendering."""
    return {s: Rendering(s, parse(helm.template("--values", str(values_file(s))).stdout)) for s in SCENARIOS}


@pytest.fixture(scope="session")
def default(rendered: Mapping[str, Rendering]) -> Rendering:
    return rendered["defaults"]
