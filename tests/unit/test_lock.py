"""The locks the image installs (requirements.lock, requirements-build.lock; `bash scripts/lock` writes them) still
satisfy pyproject.toml: every runtime dependency pinned to a version inside its range, every pin exact and hashed.
That the lock is closed (no dependency missing, none conflicting) is checked where it is installed, by pip's
--require-hashes and `pip check` (tests/runtime)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = (ROOT / "requirements.lock").read_text()
BUILD_LOCK = (ROOT / "requirements-build.lock").read_text()


def parse_lock(text: str) -> dict[str, tuple[Requirement, list[str]]]:
    """name -> (the pinned requirement, its hashes), from a hashed requirements file."""
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    for logical in re.sub(r"\\\n", " ", text).splitlines():
        line = logical.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = re.split(r"\s+(?=--)", line)
        requirement = Requirement(spec)
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        assert len(hashes) == len(options), f"unexpected option in {line!r}"
        entries[canonicalize_name(requirement.name)] = (requirement, hashes)
    return entries


def problems(dependencies: list[str], lock_text: str) -> list[str]:
    """What makes the lock not satisfy these dependencies (empty when it does)."""
    found = []
    lock = parse_lock(lock_text)
    for name, (pinned, hashes) in sorted(lock.items()):
        specifiers = list(pinned.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            found.append(f"{name}: not pinned to one version ({pinned.specifier})")
        if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes):
            found.append(f"{name}: no sha256 hash")
    for dependency in map(Requirement, dependencies):
        name = canonicalize_name(dependency.name)
        if name not in lock:
            found.append(f"{name}: in pyproject.toml, not in the lock")
            continue
        version = Version(next(iter(lock[name][0].specifier)).version)
        if not dependency.specifier.contains(version, prereleases=True):
            found.append(f"{name}: locked {version}, pyproject.toml wants {dependency.specifier}")
    return found


def test_the_runtime_lock_satisfies_pyproject() -> None:
    assert problems(PYPROJECT["project"]["dependencies"], LOCK) == []
    assert len(parse_lock(LOCK)) > len(PYPROJECT["project"]["dependencies"])  # the dependencies' own ones too


def test_the_build_lock_satisfies_the_build_system() -> None:
    wanted = PYPROJECT["build-system"]["requires"]
    listed = [line for line in (ROOT / "requirements-build.in").read_text().splitlines() if line[:1] not in ("#", "")]
    assert listed == wanted, "requirements-build.in must list [build-system].requires; then run bash scripts/lock"
    assert problems(wanted, BUILD_LOCK) == []


def test_the_locks_record_the_command_that_writes_them() -> None:
    """Renovate's pip-compile manager reruns the command a lock's header records; scripts/lock runs the same."""
    script = (ROOT / "scripts" / "lock").read_text()
    for name, source in (("requirements.lock", "pyproject.toml"), ("requirements-build.lock", "requirements-build.in")):
        header = (ROOT / name).read_text().splitlines()[1]
        assert header.startswith(f"#    uv pip compile {source} --universal --python-version 3.11 --generate-hashes")
        assert header.endswith(f"--output-file {name}")
        assert f"--output-file {name}" in script


@pytest.mark.parametrize(
    ("dependencies", "edit", "expected"),
    [
        (["requests>=99"], None, "requests: locked"),
        (["left-pad>=1"], None, "left-pad: in pyproject.toml, not in the lock"),
        (["requests>=2"], ("requests==", "requests>="), "requests: not pinned to one version"),
        (["requests>=2"], ("--hash=sha256:", "--hash=md5:"), "requests: no sha256 hash"),
    ],
)
def test_the_check_fails_on_a_lock_that_does_not_satisfy(
    dependencies: list[str], edit: tuple[str, str] | None, expected: str
) -> None:
    """The same check, on a pyproject that moved away from the lock or a lock edited by hand."""
    text = LOCK if edit is None else LOCK.replace(*edit)
    found = problems(dependencies, text)
    assert any(p.startswith(expected) for p in found), found


def test_the_tests_run_the_locked_versions() -> None:
    """scripts/test installs the runtime dependencies with the lock as constraints: the tests judge what ships."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.markers import default_environment

    environment = default_environment()
    differ = []
    for name, (pinned, _) in parse_lock(LOCK).items():
        if pinned.marker is not None and not pinned.marker.evaluate(environment):  # type: ignore[arg-type]
            continue
        locked = next(iter(pinned.specifier)).version
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        if Version(installed if installed != "missing" else "0") != Version(locked):
            differ.append(f"{name}: {installed}, locked {locked}")
    assert not differ, f"run bash scripts/test (it installs with the lock as constraints): {differ}"
