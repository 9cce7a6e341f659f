"""The image's runtime contract, checked without a container daemon or registry.

The Dockerfile's steps are reproduced: a venv (no pip of its own) at a fresh prefix gets the dependencies from
requirements.lock with --require-hashes, the package is built into a wheel by the locked setuptools from a copy of
the build context (.dockerignore's files only) and installed without its dependencies, then `pip check` and
compileall as in the image. The CLI then runs under bubblewrap the way the chart runs the container: uid/gid
65532, a root file system that is read-only and holds only /usr, /etc and the venv, /tmp the only writable path
(HOME and TMPDIR there, like the image's ENV), the Secret mounted read-only at the default secrets directory, and
an environment of the image's ENV plus the chart's settings. Against a contract-validated Jira sandbox and a real
Prometheus, `doctor`, `run --dry-run`, `run`, `run --issue KEY --now` and `report` succeed.

bubblewrap runs as root here with its own user namespace (--unshare-user, --uid 65532); an unprivileged user
needs user namespaces allowed (on Ubuntu: sysctl kernel.apparmor_restrict_unprivileged_userns=0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.utils import canonicalize_name

from tests.chart.conftest import need
from tests.e2e.seed import VERIFIED, JiraDesk, Timeline, check_end_state, untouched
from tests.integration.backends import PrometheusServer
from tests.unit.test_lock import parse_lock
from verifier_sandbox.jira import JiraSandbox

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
UID = 65532
SECRETS_DIR = "/var/run/secrets/action-item-verifier"  # the chart's secret.mountPath and the verifier's default
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


#: The interpreter the venvs are made from, as the image's python: the base one, not this test's venv (whose
#: path the sandbox does not hold).
BASE_PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
#: Where that interpreter's installation lies (the base image's /usr/local); mounted read-only like /usr.
BASE_PREFIX = os.path.realpath(sys.base_prefix)


def _build_context(into: Path) -> Path:
    """The files `docker build .` sends: those .dockerignore lets through (`*` then `!name` lines)."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines
    for name in (line[1:].rstrip("/") for line in lines if line.startswith("!")):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
        else:
            shutil.copy2(source, into / name)
    return into


@dataclass(frozen=True)
class Image:
    """The image's /opt/venv, built at `prefix` (outside /tmp, which the sandbox replaces)."""

    prefix: Path

    def installed(self) -> dict[str, str]:
        probe = (
            "import importlib.metadata as m, json; print(json.dumps({d.name: d.version for d in m.distributions()}))"
        )
        done = subprocess.run(
            [str(self.prefix / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True
        )
        return {canonicalize_name(k): v for k, v in json.loads(done.stdout).items()}


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    # The venv lies outside /tmp (the sandbox mounts its own /tmp; a clone of the repository may lie under /tmp)
    # and is mounted at the same path in the sandbox, so its scripts' #! lines hold.
    base = Path(tempfile.mkdtemp(prefix="action-item-verifier-image-", dir="/var/tmp"))
    prefix = base / "opt" / "venv"
    try:
        subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=120)
        python = str(prefix / "bin" / "python")
        _pip("--python", python, "install", "--no-compile", "--require-hashes", "-r", str(ROOT / "requirements.lock"))
        tools = base / "build-tools"
        subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(tools)], check=True, timeout=120)
        build_lock = str(ROOT / "requirements-build.lock")
        _pip("--python", str(tools / "bin" / "python"), "install", "--require-hashes", "-r", build_lock)
        context = _build_context(tmp_path_factory.mktemp("context"))
        wheels = tmp_path_factory.mktemp("wheels")
        _pip(
            "--python", str(tools / "bin" / "python"), "wheel", "--no-deps", "--no-build-isolation",
            "--wheel-dir", str(wheels), str(context),
        )  # fmt: skip
        (wheel,) = wheels.glob("*.whl")
        _pip("--python", python, "install", "--no-compile", "--no-deps", str(wheel))
        _pip("--python", python, "check")
        subprocess.run(
            [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(prefix / "lib")],
            check=True,
            timeout=300,
        )
        yield Image(prefix)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _bwrap() -> str:
    path = shutil.which("bwrap")
    if not path:
        need("bwrap not found (apt-get install bubblewrap; scripts/install-system-deps does)")
    assert path is not None
    return path


@dataclass
class Sandbox:
    """Runs the image's CLI under bubblewrap; `tmp` is the host directory mounted as the sandbox's /tmp."""

    image: Image
    tmp: Path
    secrets: Path
    env: dict[str, str]

    def argv(self, *command: str) -> list[str]:
        venv = str(self.image.prefix)
        argv = [
            _bwrap(),
            "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--uid", str(UID), "--gid", str(UID),
            "--die-with-parent", "--new-session",
            # The root: an empty tmpfs holding only what the image's root holds, read-only at the end.
            "--tmpfs", "/",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/sbin", "/sbin",
            *([] if BASE_PREFIX.startswith("/usr/") else ["--ro-bind", BASE_PREFIX, BASE_PREFIX]),
            "--ro-bind", venv, venv,
            "--proc", "/proc", "--dev", "/dev",
            "--bind", str(self.tmp), "/tmp",
            "--ro-bind", str(self.secrets), SECRETS_DIR,
            "--remount-ro", "/",
            "--chdir", "/tmp",
            "--clearenv",
        ]  # fmt: skip
        for name, value in self.env.items():
            argv += ["--setenv", name, value]
        return [*argv, "--", *command]

    def run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*command), capture_output=True, text=True, timeout=timeout, check=False)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.run("action-item-verifier", *args)
        assert "Traceback" not in done.stderr, done.stderr
        return done


@pytest.fixture
def sandbox(image: Image, jira_cloud: JiraSandbox, live_prometheus: PrometheusServer, tmp_path: Path) -> Sandbox:
    tmp, secrets = tmp_path / "tmp", tmp_path / "secrets"
    tmp.mkdir()
    secrets.mkdir()
    (secrets / "VERIFIER_JIRA_API_TOKEN").write_text(jira_cloud.api_token)  # one file per key, as the Secret
    for path in (tmp, secrets):  # the emptyDir belongs to fsGroup 65532; the Secret's files are 0644
        os.chmod(path, 0o777 if path is tmp else 0o755)
    env = {
        # The image's ENV (Dockerfile) ...
        "PATH": f"{image.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        # ... and the chart's settings; the token only in the mounted secrets directory.
        "VERIFIER_TRACKER": "jira",
        "VERIFIER_JIRA_URL": jira_cloud.url,
        "VERIFIER_JIRA_EMAIL": jira_cloud.email,
        "VERIFIER_PROMETHEUS_URL": live_prometheus.url,
        "VERIFIER_LOG_FORMAT": "json",
        "VERIFIER_LOG_LEVEL": "warning",
        "VERIFIER_PROMETHEUS_RETRIES": "1",
        "VERIFIER_PROMETHEUS_TIMEOUT_SECONDS": "5",
        "VERIFIER_TRACKER_TIMEOUT_SECONDS": "10",
    }
    return Sandbox(image, tmp, secrets, env)


def test_the_image_venv_holds_exactly_the_lock_and_the_package(image: Image) -> None:
    marker_env = default_environment()
    locked = {
        name: str(next(iter(requirement.specifier)).version)
        for name, (requirement, _) in parse_lock((ROOT / "requirements.lock").read_text()).items()
        if requirement.marker is None or requirement.marker.evaluate(marker_env)  # type: ignore[arg-type]
    }
    assert image.installed() == {**locked, "action-item-verifier": VERSION}


def test_the_sandbox_is_read_only_but_for_tmp_and_runs_as_65532(sandbox: Sandbox) -> None:
    """The layer the contract stands on: without it the commands below would prove nothing."""
    probe = (
        "import os\n"
        "print(os.getuid(), os.getgid(), os.environ['HOME'])\n"
        "for path in ('/probe', '/etc/probe', os.environ['VIRTUAL_PREFIX'] + '/probe', '/var/run/secrets/"
        "action-item-verifier/probe'):\n"
        "    try:\n"
        "        open(path, 'w').close()\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print(error.strerror)\n"
        "open('/tmp/probe', 'w').write('x')\n"
    )
    sandbox.env["VIRTUAL_PREFIX"] = str(sandbox.image.prefix)
    done = sandbox.run("python", "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{UID} {UID} /tmp", *["Read-only file system"] * 4]
    assert (sandbox.tmp / "probe").read_text() == "x"


def test_the_cli_keeps_the_runtime_contract(sandbox: Sandbox, jira_cloud: JiraSandbox, t: Timeline) -> None:
    desk = JiraDesk(jira_cloud)
    keys = desk.seed(t, ["held", "regressed", "pending"])

    version = sandbox.cli("--version")
    assert version.stdout.strip() == f"action-item-verifier {VERSION}", version

    doctor = sandbox.cli("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    dry = sandbox.cli("run", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert desk.writes() == 0
    assert any(line.endswith("(dry run: nothing written)") for line in dry.stdout.splitlines()), dry.stdout

    early = sandbox.cli("run", "--issue", keys["pending"], "--now", "--json")
    assert early.returncode == 0, early.stdout + early.stderr
    assert json.loads(early.stdout)["counts"] == {"VERIFIED": 1}
    assert VERIFIED in desk.state(keys["pending"]).labels
    untouched(desk, keys, ["held", "regressed"])

    run = sandbox.cli("run")
    assert run.returncode == 0, run.stdout + run.stderr
    check_end_state(desk, {"held": keys["held"], "regressed": keys["regressed"]})

    report = sandbox.cli("report", "--format", "json")
    assert report.returncode == 0, report.stdout + report.stderr
    assert json.loads(report.stdout)

    # Nothing needed writing: no file left in /tmp either (no cache, no byte code, no config dir in HOME).
    assert sorted(p.relative_to(sandbox.tmp).as_posix() for p in sandbox.tmp.rglob("*")) == []
