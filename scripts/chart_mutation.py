"""A mutation pass over the Helm chart (`scripts/mutation --chart`): each edit below is a slip a chart change could
make (a security context field, the secret volume's mode, a podFailurePolicy rule, the dry-run default, the
schedule, the resource limits...). Each is applied alone to a copy of the chart and the chart tests (tests/chart)
run against that copy (VERIFIER_CHART_DIR); an edit no test fails on is a survivor, and the pass fails.

The test comparing deploy/ with a fresh render is left out: it renders the chart in the repository, not the copy.
Usage: python scripts/chart_mutation.py [--list] [NAME...]   (exit 0 when every edit is caught)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "action-item-verifier"


@dataclass(frozen=True)
class Edit:
    name: str
    path: str  # inside the chart
    old: str  # must occur exactly once
    new: str


POD_SC = "podSecurityContext:\n  runAsNonRoot: true\n  runAsUser: 65532\n  runAsGroup: 65532\n  fsGroup: 65532\n"
POD_SECCOMP = "  fsGroup: 65532\n  seccompProfile:\n    type: RuntimeDefault\n"
CONTAINER_SECCOMP = "      - ALL\n  seccompProfile:\n    type: RuntimeDefault\n"
CONTAINER_USER = "  readOnlyRootFilesystem: true\n  runAsNonRoot: true\n  runAsUser: 65532\n  runAsGroup: 65532\n"

EDITS = [
    # Security contexts.
    Edit("pod runAsNonRoot off", "values.yaml", POD_SC, POD_SC.replace("runAsNonRoot: true", "runAsNonRoot: false")),
    Edit("pod runs as root", "values.yaml", POD_SC, POD_SC.replace("runAsUser: 65532", "runAsUser: 0")),
    Edit("pod fsGroup gone", "values.yaml", POD_SC, POD_SC.replace("  fsGroup: 65532\n", "")),
    Edit("pod seccomp unconfined", "values.yaml", POD_SECCOMP, POD_SECCOMP.replace("RuntimeDefault", "Unconfined")),
    Edit(
        "privilege escalation allowed",
        "values.yaml",
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
    ),
    Edit("root filesystem writable", "values.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"),
    Edit(
        "container runAsNonRoot off",
        "values.yaml",
        CONTAINER_USER,
        CONTAINER_USER.replace("runAsNonRoot: true", "runAsNonRoot: false"),
    ),
    Edit(
        "container runs as root",
        "values.yaml",
        CONTAINER_USER,
        CONTAINER_USER.replace("runAsUser: 65532", "runAsUser: 0"),
    ),
    Edit("capabilities not all dropped", "values.yaml", "    drop:\n      - ALL\n", "    drop:\n      - NET_RAW\n"),
    Edit(
        "container seccomp unconfined",
        "values.yaml",
        CONTAINER_SECCOMP,
        CONTAINER_SECCOMP.replace("RuntimeDefault", "Unconfined"),
    ),
    Edit(
        "service account token mounted",
        "templates/_helpers.tpl",
        "automountServiceAccountToken: false",
        "automountServiceAccountToken: true",
    ),
    # The secret volume.
    Edit("secret files world-readable", "templates/_helpers.tpl", "defaultMode: 0440", "defaultMode: 0444"),
    Edit("secret files writable", "templates/_helpers.tpl", "defaultMode: 0440", "defaultMode: 0640"),
    Edit("secret mode left to Kubernetes (0644)", "templates/_helpers.tpl", "      defaultMode: 0440\n", ""),
    Edit(
        "secret mount writable",
        "templates/_helpers.tpl",
        "mountPath: {{ $root.Values.secret.mountPath }}\n        readOnly: true",
        "mountPath: {{ $root.Values.secret.mountPath }}\n        readOnly: false",
    ),
    # podFailurePolicy and Job control.
    Edit("exit 75 retried", "templates/cronjob.yaml", "values: [2, 75]", "values: [2]"),
    Edit("exit 2 retried", "templates/cronjob.yaml", "values: [2, 75]", "values: [75]"),
    Edit(
        "settings error counted, not failing the Job", "templates/cronjob.yaml", "- action: FailJob", "- action: Count"
    ),
    Edit(
        "evictions count against backoffLimit",
        "templates/cronjob.yaml",
        "          - action: Ignore\n",
        "          - action: Count\n",
    ),
    Edit("two runs at once", "templates/cronjob.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow"),
    # The dry-run default.
    Edit("first install writes", "values.yaml", "\ndryRun: true\n", "\ndryRun: false\n"),
    Edit(
        "dryRun rendered the wrong way round",
        "templates/_helpers.tpl",
        '.Values.dryRun | ternary "true" "false"',
        '.Values.dryRun | ternary "false" "true"',
    ),
    # Schedule and resources.
    Edit("schedule every 12 h", "values.yaml", 'schedule: "0 */6 * * *"', 'schedule: "0 */12 * * *"'),
    Edit("schedule every minute", "values.yaml", 'schedule: "0 */6 * * *"', 'schedule: "* * * * *"'),
    Edit("no memory limit", "values.yaml", "  limits:\n    memory: 384Mi\n", ""),
    Edit("memory limit too small", "values.yaml", "    memory: 384Mi\n", "    memory: 16Mi\n"),
    Edit("no requests", "values.yaml", "  requests:\n    cpu: 50m\n    memory: 128Mi\n", ""),
    Edit("tmp emptyDir unbounded", "templates/_helpers.tpl", "      sizeLimit: {{ $root.Values.tmpSizeLimit }}\n", ""),
]

DESELECT = ["tests/chart/test_chart.py::test_deploy_manifests_equal_a_fresh_render"]


def apply(edit: Edit, chart: Path) -> None:
    target = chart / edit.path
    text = target.read_text()
    count = text.count(edit.old)
    if count != 1:
        sys.exit(f"chart mutation {edit.name!r}: {edit.old!r} occurs {count} times in {edit.path}; update the edit")
    target.write_text(text.replace(edit.old, edit.new, 1))


def caught(edit: Edit) -> tuple[bool, str]:
    """Whether a chart test fails on the edited copy, and the first failing test."""
    with tempfile.TemporaryDirectory(prefix="chart-mutant-") as tmp:
        chart = Path(tmp) / "action-item-verifier"
        shutil.copytree(CHART, chart)
        apply(edit, chart)
        env = {**os.environ, "VERIFIER_CHART_DIR": str(chart), "CI": "true"}
        args = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/chart"]
        args += [f"--deselect={d}" for d in DESELECT]
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    if done.returncode not in (0, 1):
        sys.exit(f"chart mutation {edit.name!r}: pytest exited {done.returncode}:\n{done.stdout[-3000:]}")
    return done.returncode == 1, (failed[0].split(" - ")[0] if failed else "")


def main(argv: list[str]) -> int:
    if "--list" in argv:
        print("\n".join(e.name for e in EDITS))
        return 0
    edits = [e for e in EDITS if not argv or e.name in argv]
    baseline = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/chart"]
        + [f"--deselect={d}" for d in DESELECT],
        cwd=ROOT,
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    if baseline.returncode != 0:
        print(baseline.stdout[-3000:])
        sys.exit("scripts/mutation --chart: the chart tests fail on the chart as it is; fix them first")
    started, survivors = time.monotonic(), []
    for edit in edits:
        killed, by = caught(edit)
        print(f"{'caught ' if killed else 'SURVIVED'} {edit.name:<48} {by}", flush=True)
        if not killed:
            survivors.append(edit.name)
    took = time.monotonic() - started
    print(f"\n{len(edits) - len(survivors)} of {len(edits)} chart edits caught in {took:.0f} s.")
    if survivors:
        print("Not caught: " + ", ".join(survivors))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
