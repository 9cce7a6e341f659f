"""The chart's edges (#22): what a values combination renders, or the message it fails with, with the real helm
binary, jq and kubernetes-validate.

NetworkPolicy destinations and DNS, one-off Job names and labels, the grace period, the deploy/ dry-run default.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import CHART, NAMESPACE, RELEASE, ROOT, SCENARIOS, Helm, Rendering, need, parse, values_file
from verifier import defaults
from verifier.adapters.retry import RetryPolicy
from verifier.cli import _parser

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: The largest 10-digit `date +%s` (November 2286): the one-off name's longest form.
LONGEST_EPOCH = "9999999999"


def _values(tmp_path: Path, values: Mapping[str, Any]) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(dict(values)))
    return str(path)


def _egress(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy"]
    rules: list[dict[str, Any]] = policy["spec"]["egress"]
    return rules


def _ports(rule: Mapping[str, Any]) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for p in rule["ports"]}


def test_the_edge_scenarios_are_rendered_linted_and_validated() -> None:
    """test_chart.py lints, renders, validates strictly and checks the Pod security of every ci/ scenario."""
    assert {"networkpolicy-dns", "long-name"} <= set(SCENARIOS)


# ---------------------------------------------------------------------------------------------- NetworkPolicy

DESTINATION = {"cidrs": ["0.0.0.0/0"]}
SELECTOR = {"selectors": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]}
PUSHGATEWAY_URL = {"VERIFIER_PUSHGATEWAY_URL": "http://pushgateway.monitoring.svc:9091"}

REFUSED = {
    "no destination at all": (
        {"networkPolicy": {"enabled": True}},
        "networkPolicy.tracker and networkPolicy.metrics have no cidrs or selectors: the Pods could not reach them",
    ),
    "no metrics backend": (
        {"networkPolicy": {"enabled": True, "tracker": DESTINATION}},
        "but networkPolicy.metrics has no cidrs or selectors: the Pods could not reach it",
    ),
    "no tracker": (
        {"networkPolicy": {"enabled": True, "metrics": SELECTOR}},
        "but networkPolicy.tracker has no cidrs or selectors",
    ),
    "a Pushgateway to push to, and no way there": (
        {"config": PUSHGATEWAY_URL, "networkPolicy": {"enabled": True, "tracker": DESTINATION, "metrics": SELECTOR}},
        "but networkPolicy.pushgateway has no cidrs or selectors",
    ),
    "nothing but DNS, with a Pushgateway": (
        {"config": PUSHGATEWAY_URL, "networkPolicy": {"enabled": True}},
        "networkPolicy.tracker and networkPolicy.metrics and networkPolicy.pushgateway have no cidrs or selectors",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_network_policy_that_leaves_only_dns_is_refused_with_a_message(helm: Helm, tmp_path: Path, case: str) -> None:
    values, message = REFUSED[case]
    for command in (("template", RELEASE), ("install", RELEASE, "--dry-run=client")):
        result = helm.run(
            *command, str(CHART), "--namespace", NAMESPACE, "--values", _values(tmp_path, values), check=False
        )
        assert result.returncode != 0, f"{case}: rendered"
        assert "templates/networkpolicy.yaml" in result.stderr, result.stderr
        assert message in result.stderr, result.stderr
        assert "every run would fail. Set their cidrs (e.g. [0.0.0.0/0]) or selectors" in result.stderr


def test_a_network_policy_without_a_pushgateway_to_push_to_needs_no_pushgateway_rule(
    helm: Helm, tmp_path: Path
) -> None:
    values = {"networkPolicy": {"enabled": True, "tracker": DESTINATION, "metrics": SELECTOR}}
    rules = _egress(parse(helm.template("--values", _values(tmp_path, values)).stdout))
    assert [r["to"] for r in rules[1:]] == [[{"ipBlock": {"cidr": "0.0.0.0/0"}}], SELECTOR["selectors"]]
    assert [_ports(r) for r in rules] == [{("UDP", 53), ("TCP", 53)}, {("TCP", 443)}, {("TCP", 9090)}]


def test_dns_by_address_and_on_port_5353_with_destinations_of_ones_own(rendered: Mapping[str, Rendering]) -> None:
    """NodeLocal DNSCache (host network, by address) and OpenShift's DNS Pods (5353); extraEgress alone is
    enough: those rules are the user's."""
    rules = _egress(rendered["networkpolicy-dns"].objects)
    assert len(rules) == 2
    dns, own = rules
    assert dns["to"] == [
        {"ipBlock": {"cidr": "169.254.20.10/32"}},
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
            "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
        },
    ]
    assert _ports(dns) == {("UDP", 53), ("TCP", 53), ("UDP", 5353), ("TCP", 5353)}
    assert own == yaml.safe_load(values_file("networkpolicy-dns").read_text())["networkPolicy"]["extraEgress"][0]


def test_dns_by_address_only(helm: Helm, tmp_path: Path) -> None:
    values = {
        "networkPolicy": {
            "enabled": True,
            "dns": {"selectors": [], "cidrs": ["169.254.20.10/32"]},
            "tracker": DESTINATION,
            "metrics": DESTINATION,
        }
    }
    dns = _egress(parse(helm.template("--values", _values(tmp_path, values)).stdout))[0]
    assert dns["to"] == [{"ipBlock": {"cidr": "169.254.20.10/32"}}]
    assert _ports(dns) == {("UDP", 53), ("TCP", 53)}


BAD_VALUES = {
    "the old single DNS port key": {"networkPolicy": {"dns": {"port": 53}}},
    "no DNS port": {"networkPolicy": {"dns": {"ports": []}}},
    "a DNS port out of range": {"networkPolicy": {"dns": {"ports": [70000]}}},
    "a DNS CIDR that is empty": {"networkPolicy": {"dns": {"cidrs": [""]}}},
    "no grace period": {"terminationGracePeriodSeconds": 0},
    "a grace period as a string": {"terminationGracePeriodSeconds": "120"},
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_refuses_bad_edge_values(helm: Helm, tmp_path: Path, case: str) -> None:
    result = helm.template("--values", _values(tmp_path, BAD_VALUES[case]), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert "schema" in result.stderr.lower() or "at '/" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------------- one-off Jobs


def _notes(helm: Helm, release: str, *args: str) -> str:
    out = helm.run(
        "install", release, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", "--hide-notes=false", *args
    ).stdout
    return out[out.index("NOTES:") :]


def _cronjob(helm: Helm, release: str, *args: str) -> dict[str, Any]:
    out = helm.run("template", release, str(CHART), "--namespace", NAMESPACE, *args).stdout
    (cronjob,) = [o for o in parse(out) if o["kind"] == "CronJob"]
    return cronjob


FIFTY_TWO = {
    "a 52-character fullnameOverride": ("prod", ["--values", str(values_file("long-name"))]),
    "a 52-character fullnameOverride cut at a hyphen": (
        "prod",
        ["--set", "fullnameOverride=" + "a" * 44 + "-" + "b" * 7],
    ),
    "the longest release name": ("r" * 53, []),
}


@pytest.mark.parametrize("case", sorted(FIFTY_TWO))
def test_the_one_off_job_names_in_notes_fit_63_characters(helm: Helm, case: str) -> None:
    release, args = FIFTY_TWO[case]
    cronjob = _cronjob(helm, release, *args)
    assert len(cronjob["metadata"]["name"]) == 52
    notes = _notes(helm, release, *args)
    (match,) = re.findall(r"kubectl create job --from=cronjob/(\S+) (.+?) -n (\S+)$", notes, re.M)
    assert match[0] == cronjob["metadata"]["name"] and match[2] == NAMESPACE
    name = match[1].replace("$(date +%s)", LONGEST_EPOCH)
    assert name.endswith(f"-manual-{LONGEST_EPOCH}"), name
    assert len(name) <= 63 and DNS_LABEL.fullmatch(name), name
    (prefix,) = re.findall(r'generateName: "([^"]+)"', notes)
    assert prefix.endswith("-oncall-") and len(prefix) + 5 <= 63 and DNS_LABEL.fullmatch(prefix + "x2k9q"), prefix


def test_the_one_off_name_is_the_full_name_when_it_is_short(helm: Helm) -> None:
    notes = _notes(helm, RELEASE)
    assert f"{RELEASE}-action-item-verifier-manual-$(date +%s) -n {NAMESPACE}" in notes


def _on_call_program(notes: str) -> str:
    """The jq program of the on-call command NOTES prints."""
    match = re.search(r"\| jq '(.*?)' \\", notes, re.S)
    assert match, notes
    return match.group(1)


@pytest.mark.parametrize("case", sorted(FIFTY_TWO))
def test_the_on_call_job_notes_print_is_a_valid_job_with_the_charts_labels(helm: Helm, case: str) -> None:
    """The jq recipe run over the CronJob as the API server returns it (JSON): a Job kubernetes-validate accepts,
    carrying the CronJob's job labels (the chart's labels) and running the on-call command."""
    jq = shutil.which("jq")
    if not jq:
        need("jq not found (apt-get install jq)")
    assert jq is not None
    import kubernetes_validate

    release, args = FIFTY_TWO[case]
    cronjob = _cronjob(helm, release, *args)
    program = _on_call_program(_notes(helm, release, *args))
    done = subprocess.run([jq, program], input=json.dumps(cronjob), capture_output=True, text=True, check=True)
    job = json.loads(done.stdout)
    job["metadata"]["name"] = job["metadata"]["generateName"] + "x2k9q"  # what the API server makes of it
    kubernetes_validate.validate(job, kubernetes_validate.utils.latest_version(), strict=True)
    labels = job["metadata"]["labels"]
    assert labels == cronjob["metadata"]["labels"] == cronjob["spec"]["jobTemplate"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == release
    assert labels["app.kubernetes.io/managed-by"] == "Helm"
    assert job["spec"]["template"]["metadata"]["labels"].items() >= labels.items()
    container = job["spec"]["template"]["spec"]["containers"][0]
    parsed = _parser().parse_args(container["args"])
    assert (parsed.command, parsed.issue, parsed.now) == ("run", ["KEY-123"], True)


def test_docs_print_the_commands_notes_print() -> None:
    """docs/deploy.md shows the commands NOTES prints for the release docs use (action-item-verifier)."""
    helm_path = ROOT / ".tools" / "bin" / "helm"
    helm = Helm(str(helm_path) if helm_path.is_file() else shutil.which("helm") or need("helm not found") or "")
    out = helm.run(
        "install", "action-item-verifier", str(CHART), "--namespace", "incident-tools", "--dry-run=client",
        "--hide-notes=false",
    ).stdout  # fmt: skip
    notes = [line.strip() for line in out[out.index("NOTES:") :].splitlines()]
    docs = [line.strip() for line in (ROOT / "docs" / "deploy.md").read_text().splitlines()]
    start = notes.index(next(line for line in notes if line.startswith("kubectl get cronjob")))
    on_call = notes[start : start + 5]
    assert on_call[-1] == "| kubectl create -n incident-tools -f -"
    at = docs.index(on_call[0])
    assert docs[at : at + 5] == on_call
    run_now = next(line for line in notes if line.startswith("kubectl create job"))
    assert run_now in docs


# ---------------------------------------------------------------------------------------------- grace, deploy/


def test_the_grace_period_covers_a_request_a_retry_wait_and_writing(rendered: Mapping[str, Rendering]) -> None:
    default = yaml.safe_load((CHART / "values.yaml").read_text())["terminationGracePeriodSeconds"]
    assert default >= defaults.TIMEOUT_SECONDS + RetryPolicy().max_wait_seconds + 20
    for scenario, grace in (("defaults", default), ("long-name", 210)):
        for where, pod in rendered[scenario].pod_specs().items():
            assert pod["terminationGracePeriodSeconds"] == grace, (scenario, where)


def test_deploy_is_a_dry_run_like_the_chart_and_says_so() -> None:
    chart_default = yaml.safe_load((CHART / "values.yaml").read_text())["dryRun"]
    for name in ("cronjob.yaml", "job-manual.yaml"):
        text = (ROOT / "deploy" / name).read_text()
        manifest = yaml.safe_load(text)
        spec = manifest["spec"]["jobTemplate"]["spec"] if manifest["kind"] == "CronJob" else manifest["spec"]
        env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
        assert env["VERIFIER_DRY_RUN"] == ("true" if chart_default else "false"), name
        header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
        assert 'VERIFIER_DRY_RUN is "false"' in header or 'set\n# VERIFIER_DRY_RUN to "false"' in header, name
    manual = yaml.safe_load((ROOT / "deploy" / "job-manual.yaml").read_text())
    cron = yaml.safe_load((ROOT / "deploy" / "cronjob.yaml").read_text())
    assert manual["metadata"]["labels"] == cron["spec"]["jobTemplate"]["metadata"]["labels"]
