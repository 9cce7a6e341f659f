"""Chart defaults no chart test held (#27), each found by `scripts/mutation --chart` (scripts/chart_mutation.py):
the secret volume's mode, the eviction rule of the podFailurePolicy, a memory limit a run fits in, and the size
limit of the only writable path."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import yaml

from tests.chart.conftest import CHART, Rendering
from verifier.exit_codes import ExitCode


def _container(pod: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod["containers"] if c["name"] == "verifier"]
    return container


def _bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]i)?", quantity).groups()  # type: ignore[union-attr]
    return int(number) * {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[unit]


def test_the_secret_volume_is_readable_by_owner_and_group_only(rendered: Mapping[str, Rendering]) -> None:
    """0440: the Pod's user (and fsGroup) read the credentials; no other user of the node's files does, and
    nothing writes them. Kubernetes' default would be 0644."""
    mounted = 0
    for scenario, rendering in rendered.items():
        for where, pod in rendering.pod_specs().items():
            for volume in pod.get("volumes", []):
                if "secret" in volume:
                    mounted += 1
                    assert volume["secret"]["defaultMode"] == 0o440, (scenario, where, volume)
                    assert not [i for i in volume["secret"].get("items", []) if "mode" in i], (scenario, where)
    assert mounted >= 2  # the default scenario and the existing-secret one mount it (CronJob and helm test Pod)


def test_the_job_fails_at_once_on_exits_a_retry_cannot_help_and_ignores_evictions(default: Rendering) -> None:
    rules = default.one("CronJob")["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    assert rules == [
        {
            "action": "FailJob",
            "onExitCodes": {
                "containerName": "verifier",
                "operator": "NotIn",
                "values": [ExitCode.FAILED],  # exit_codes.RETRIED: only a run that failed before writing
            },
            "onPodConditions": [],
        },
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]


def test_the_memory_limit_leaves_room_for_a_run(default: Rendering) -> None:
    """The limit must hold the interpreter with every client loaded, twice over (a run then holds tickets and
    answers); measured here rather than assumed. Requests stay within the limits."""
    # The child's own peak (VmHWM): ru_maxrss survives exec, so it would count this test process's peak too.
    probe = (
        "import verifier.cli, verifier.bootstrap, verifier.adapters.jira, verifier.adapters.github, "
        "verifier.adapters.prometheus, verifier.services.run; "
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"
    )
    loaded = (
        int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout) * 1024
    )
    for where, pod in default.pod_specs().items():
        resources = _container(pod)["resources"]
        limit = _bytes(resources["limits"]["memory"])
        assert limit >= 2 * loaded, (where, resources, f"{loaded / 2**20:.0f} MiB with the clients loaded")
        assert _bytes(resources["requests"]["memory"]) <= limit, where


def test_the_only_writable_path_is_bounded(rendered: Mapping[str, Rendering]) -> None:
    """/tmp is an emptyDir (the root filesystem is read-only) with the chart's size limit: a run cannot fill the
    node's disk."""
    size = yaml.safe_load((CHART / "values.yaml").read_text())["tmpSizeLimit"]
    assert _bytes(size) > 0
    for scenario, rendering in rendered.items():
        for where, pod in rendering.pod_specs().items():
            (tmp,) = [v for v in pod["volumes"] if v["name"] == "tmp"]
            assert tmp == {"name": "tmp", "emptyDir": {"sizeLimit": size}}, (scenario, where)
            mounts = {m["mountPath"]: m for m in _container(pod)["volumeMounts"]}
            assert mounts["/tmp"]["name"] == "tmp", (scenario, where)
