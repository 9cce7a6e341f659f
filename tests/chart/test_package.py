"""The chart as a package: `helm package` includes what an install needs and nothing of the tests, renders like the
directory for every scenario, and `helm show readme` prints the README scripts/chart-readme generates from the
values' `# --` comments (a stale README fails here). Through a real OCI registry (Debian's docker-registry on
loopback), the release workflow's route: push, take the digest from helm's output, install by that digest."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType

import pytest
import requests
import yaml

from tests.chart.conftest import CHART, NAMESPACE, RELEASE, ROOT, SCENARIOS, Helm, need, values_file
from tests.integration.backends import free_port

SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def _chart_readme() -> ModuleType:
    path = str(ROOT / "scripts" / "chart-readme")
    spec = spec_from_loader("chart_readme", SourceFileLoader("chart_readme", path))
    assert spec is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def package(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    helm.run("package", str(CHART), "--destination", str(out))
    (tgz,) = out.glob("*.tgz")
    return tgz


def test_the_chart_readme_is_fresh() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "chart-readme"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_the_readme_check_notices_a_changed_comment(tmp_path: Path) -> None:
    module = _chart_readme()
    values = (CHART / "values.yaml").read_text()
    edited = values.replace("# -- Which tracker the run reads", "# -- Which issue tracker the run reads", 1)
    assert edited != values
    before, after = dict(module.documented(values)), dict(module.documented(edited))
    assert before["tracker"].startswith("Which tracker the run reads")
    assert after["tracker"].startswith("Which issue tracker the run reads")


def _schema_keys(node: dict[str, object], prefix: str = "") -> list[str]:
    keys = []
    for key, child in node.get("properties", {}).items():  # type: ignore[attr-defined]
        keys.append(prefix + key)
        keys += _schema_keys(child, f"{prefix}{key}.")
    return keys


def test_the_readme_lists_every_value_the_schema_knows() -> None:
    readme = (CHART / "README.md").read_text()
    listed = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def present(key: str) -> bool:  # only keys values.yaml sets (the schema also knows optional settings)
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def documented(key: str) -> bool:  # itself, or a section through its keys
        return key in listed or any(other.startswith(key + ".") for other in listed)

    missing = [key for key in _schema_keys(SCHEMA) if present(key) and not documented(key)]
    assert not missing, missing
    assert len(listed) > 50


def test_the_package_holds_what_an_install_needs_and_no_tests(package: Path) -> None:
    with tarfile.open(package) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md", "templates/cronjob.yaml"} <= names
    assert {"dashboards/action-item-verifier.json", "templates/NOTES.txt"} <= names
    assert not [name for name in names if name.startswith("ci/")], sorted(names)  # .helmignore leaves them out


def test_helm_show_readme_prints_the_generated_readme(helm: Helm, package: Path) -> None:
    shown = helm.run("show", "readme", str(package)).stdout
    assert shown.strip() == (CHART / "README.md").read_text().strip()
    assert "helm install action-item-verifier oci://ghcr.io/" in shown


def test_helm_show_chart_carries_the_artifact_hub_metadata(helm: Helm, package: Path) -> None:
    chart = yaml.safe_load(helm.run("show", "chart", str(package)).stdout)
    assert {"home", "sources", "maintainers", "icon"} <= set(chart)
    annotations = chart["annotations"]
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    images = yaml.safe_load(annotations["artifacthub.io/images"])
    assert [image["image"] for image in images] == [
        f"{yaml.safe_load((CHART / 'values.yaml').read_text())['image']['repository']}:{chart['appVersion']}"
    ]
    assert images[0]["platforms"] == ["linux/amd64", "linux/arm64"]
    changes = yaml.safe_load(annotations["artifacthub.io/changes"])
    assert changes and all({"kind", "description"} <= set(change) for change in changes)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_package_renders_like_the_directory(helm: Helm, package: Path, scenario: str) -> None:
    def render(chart: Path) -> str:
        args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE, "--values", str(values_file(scenario))]
        return helm.run(*args).stdout

    from_package = render(package)
    assert from_package == render(CHART)
    assert "kind: CronJob" in from_package


# ------------------------------------------------------------------------------------------- through a registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OCI registry (Debian's docker-registry, the CNCF distribution) on loopback: host:port."""
    binary = shutil.which("docker-registry")
    if not binary:
        need("docker-registry not found (apt-get install docker-registry; scripts/install-system-deps does)")
    assert binary is not None
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": address},
    }
    (root / "config.yml").write_text(yaml.safe_dump(config))
    process = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://{address}/v2/", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "docker-registry did not start"
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pushed_chart_installs_by_digest_as_readme_says(helm: Helm, package: Path, registry: str) -> None:
    """The release workflow's route: helm push, the digest taken from its output as the workflow takes it, then the
    chart pulled by that digest renders like the directory and shows the generated README."""
    pushed = helm.run("push", str(package), f"oci://{registry}/charts", "--plain-http")
    output = pushed.stdout + pushed.stderr
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "grep -o 'sha256:[0-9a-f]\\{64\\}' push.log | head -n 1" in workflow
    digests = re.findall(r"sha256:[0-9a-f]{64}", output)
    assert digests, output
    reference = f"oci://{registry}/charts/action-item-verifier@{digests[0]}"
    scenario = values_file("defaults")
    by_digest = helm.run("template", RELEASE, reference, "--namespace", NAMESPACE, "-f", str(scenario), "--plain-http")
    directory = helm.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE, "-f", str(scenario))
    assert by_digest.stdout == directory.stdout
    readme = helm.run("show", "readme", reference, "--plain-http").stdout
    assert readme.strip() == (CHART / "README.md").read_text().strip()

    wrong = reference[: -len("0000")] + "0000"
    assert helm.run("template", RELEASE, wrong, "--plain-http", check=False).returncode != 0  # the digest binds
