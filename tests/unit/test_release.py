"""What a release is made of agrees with itself: one version (pyproject.toml) in the chart, the CHANGELOG and the
install commands; one GitHub owner (pyproject.toml's Source URL) in the chart's image, home and annotations and in
README's install section; the LICENSE is the Apache-2.0 text pyproject.toml declares; Renovate's config matches
the files it updates."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
SOURCE = PROJECT["urls"]["Source"]
OWNER = SOURCE.removeprefix("https://github.com/").split("/")[0]
CHART_DIR = ROOT / "helm" / "action-item-verifier"
CHART = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
README = (ROOT / "README.md").read_text()
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()
IMAGE = f"ghcr.io/{OWNER}/action-item-verifier"
CHART_REF = f"oci://ghcr.io/{OWNER}/charts/action-item-verifier"


def test_one_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    assert CHART["version"] == CHART["appVersion"] == VERSION
    assert re.search(rf"^## \[{re.escape(VERSION)}\]$", CHANGELOG, re.MULTILINE), "CHANGELOG has no entry"
    assert "__version__ = version(" in (ROOT / "verifier" / "__init__.py").read_text()  # read from the metadata


def test_one_owner() -> None:
    assert re.fullmatch(r"https://github\.com/[a-z0-9-]+/action-item-verifier", SOURCE)
    assert CHART["home"] == SOURCE and CHART["sources"] == [SOURCE]
    assert CHART["icon"].startswith(f"https://raw.githubusercontent.com/{OWNER}/action-item-verifier/")
    assert (ROOT / CHART["icon"].split("/main/", 1)[1]).is_file()
    assert VALUES["image"]["repository"] == IMAGE
    assert yaml.safe_load((ROOT / "deploy" / "values.yaml").read_text())["image"]["repository"] == IMAGE
    images = yaml.safe_load(CHART["annotations"]["artifacthub.io/images"])
    assert [i["image"] for i in images] == [f"{IMAGE}:{VERSION}"]
    links = yaml.safe_load(CHART["annotations"]["artifacthub.io/links"])
    assert {link["url"] for link in links} == {PROJECT["urls"]["Changelog"]}
    others = re.findall(r"(?:github\.com|ghcr\.io)/([\w-]+)/", README + (CHART_DIR / "README.md").read_text())
    assert set(others) == {OWNER}, set(others)


def test_readme_install_commands_name_what_the_release_publishes() -> None:
    """Followed literally, README installs the chart the workflow pushes, and shows the digest and signature route."""
    assert f"helm install action-item-verifier {CHART_REF} --version {VERSION}" in README
    assert f"helm install action-item-verifier {CHART_REF}@sha256:<chart digest>" in README
    assert "--set image.digest=sha256:<image digest>" in README
    assert f"cosign verify {CHART_REF.removeprefix('oci://')}:{VERSION}" in README
    assert f"cosign verify {IMAGE}:{VERSION}" in README
    identity = re.search(r"^identity='(.+)'$", README, re.MULTILINE)
    assert identity is not None
    workflow_ref = f"{SOURCE}/.github/workflows/release.yml@refs/tags/v{VERSION}"
    assert re.match(identity.group(1), workflow_ref)  # the regexp admits the release workflow's certificate ...
    assert not re.match(identity.group(1), f"{SOURCE}/.github/workflows/ci.yml@refs/tags/v{VERSION}")  # only it
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "image=ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/action-item-verifier" in release
    assert '"oci://ghcr.io/$owner/charts"' in release and 'owner="${GITHUB_REPOSITORY_OWNER,,}"' in release


def test_the_chart_changes_are_the_changelog_entries() -> None:
    section = CHANGELOG.split(f"## [{VERSION}]", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    for change in yaml.safe_load(CHART["annotations"]["artifacthub.io/changes"]):
        assert change["kind"] in {"added", "changed", "deprecated", "removed", "fixed", "security"}
        assert " ".join(change["description"].split()) in flat, change


def test_the_license_is_the_apache_2_text() -> None:
    assert PROJECT["license"] == "Apache-2.0" and PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
    assert CHART["annotations"]["artifacthub.io/license"] == PROJECT["license"]
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (ROOT / "Dockerfile").read_text()


def test_renovate_matches_the_files_it_updates() -> None:
    config = json.loads((ROOT / "renovate.json").read_text())

    def matches(patterns: list[str], name: str) -> bool:
        return any(re.search(p.strip("/"), name) for p in patterns)

    locks = config["pip-compile"]["managerFilePatterns"]
    assert matches(locks, "requirements.lock") and matches(locks, "requirements-build.lock")
    assert not matches(locks, "requirements-build.in")
    (base,) = config["customManagers"]
    pattern = base["matchStrings"][0].replace("(?<", "(?P<")
    found = re.search(pattern, (ROOT / "Dockerfile").read_text())
    assert found is not None
    assert found.group("depName") == "python" and found.group("currentDigest").startswith("sha256:")
    assert re.fullmatch(config["packageRules"][0]["allowedVersions"].strip("/"), found.group("currentValue"))
    assert "github-actions" in config["enabledManagers"] and "helpers:pinGitHubActionDigests" in config["extends"]


def test_the_image_takes_its_version_and_origin_from_build_arguments() -> None:
    """No version is written in the Dockerfile: the release workflow passes it, and the build checks it."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    for name, label in (("VERSION", "version"), ("REVISION", "revision"), ("CREATED", "created"), ("SOURCE", "source")):
        assert re.search(rf"^ARG {name}(=unknown)?$", runtime, re.MULTILINE), name
        assert f'org.opencontainers.image.{label}="${{{name}}}"' in runtime
    assert VERSION not in dockerfile
    build = dockerfile.split("AS runtime", 1)[0]
    assert re.search(r"^ARG VERSION$", build, re.MULTILINE)
    assert 'test "$(/opt/venv/bin/action-item-verifier --version)" = "action-item-verifier ${VERSION:?' in build
