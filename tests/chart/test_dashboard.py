"""The Grafana dashboard the chart ships: its JSON, and the ConfigMap Grafana's sidecar loads.

That every panel's PromQL returns data from real pushed metrics is tested in tests/e2e/test_dashboard.py."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from tests.chart.conftest import CHART, FULLNAME, NAMESPACE, RELEASE, Helm, Rendering, parse

DASHBOARD_FILE = CHART / "dashboards" / "action-item-verifier.json"


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text())
    return data


def test_dashboard_json_has_unique_panel_ids_a_schema_version_and_a_datasource_variable() -> None:
    board = dashboard()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) >= 8
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36  # Grafana 9.0 and later
    assert board["uid"] == "action-item-verifier"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert 'job=~"$job"' in target["expr"], target["expr"]


def test_dashboard_covers_what_the_issue_asks_for() -> None:
    titles = " | ".join(p["title"] for p in dashboard()["panels"]).lower()
    for wanted in ("by verdict", "service and verdict", "fix-hold rate", "overdue", "last successful run", "duration"):
        assert wanted in titles
    assert "writes" in titles


def test_configmap_carries_the_sidecar_label_and_the_json_unchanged_but_for_the_release(
    rendered: Mapping[str, Rendering],
) -> None:
    configmap = rendered["grafanadashboard-on"].one("ConfigMap")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Incidents"}
    assert configmap["metadata"]["namespace"] == NAMESPACE
    (name,) = configmap["data"]
    assert name == f"{FULLNAME}-{NAMESPACE}.json"
    board = json.loads(configmap["data"][name])
    expected = hashlib.sha256(f"{NAMESPACE}/{RELEASE}".encode()).hexdigest()[:12]
    assert board["uid"] == f"action-item-verifier-{expected}"
    assert board["title"] == f"Action item verifier ({NAMESPACE}/{RELEASE})"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["job"]["current"] == {"text": "action-item-verifier", "value": "action-item-verifier"}
    variables["job"]["current"] = {}
    assert {**board, "uid": "action-item-verifier", "title": "Action item verifier"} == dashboard()


def _board(helm: Helm, release: str, namespace: str) -> tuple[str, dict[str, Any]]:
    out = helm.run(
        "template", release, str(CHART), "--namespace", namespace, "--set", "grafanaDashboard.enabled=true"
    ).stdout
    (configmap,) = [o for o in parse(out) if o["kind"] == "ConfigMap"]
    ((name, text),) = configmap["data"].items()
    return name, json.loads(text)


def test_two_releases_in_one_grafana_get_dashboards_of_their_own(helm: Helm) -> None:
    """Grafana keys dashboards by uid (at most 40 characters) and the sidecar writes every ConfigMap's files into
    one folder: two releases, or one release name in two namespaces, must differ in both."""
    boards = [_board(helm, "prod", "incident-tools"), _board(helm, "staging", "incident-tools")]
    boards.append(_board(helm, "prod", "monitoring"))
    boards.append(_board(helm, "r" * 53, "n" * 63))  # the longest release and namespace names Kubernetes allows
    uids = [board["uid"] for _, board in boards]
    assert len(set(uids)) == len({name for name, _ in boards}) == len({b["title"] for _, b in boards}) == 4
    for uid in uids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid), uid
    for name, _ in boards:
        assert re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", name), name  # a ConfigMap key
    assert _board(helm, "prod", "incident-tools") == boards[0]  # stable across upgrades


def test_the_dashboard_opens_on_the_releases_pushgateway_job(helm: Helm) -> None:
    out = helm.run(
        "template", "staging", str(CHART), "--namespace", NAMESPACE,
        "--set", "grafanaDashboard.enabled=true", "--set", "config.VERIFIER_PUSHGATEWAY_JOB=verifier-staging",
    ).stdout  # fmt: skip
    (configmap,) = [o for o in parse(out) if o["kind"] == "ConfigMap"]
    (board,) = [json.loads(text) for text in configmap["data"].values()]
    (job,) = [v for v in board["templating"]["list"] if v["name"] == "job"]
    assert job["current"] == {"text": "verifier-staging", "value": "verifier-staging"}


def test_configmap_goes_where_the_sidecar_looks_and_is_absent_by_default(helm: Helm, default: Rendering) -> None:
    assert default.maybe("ConfigMap") is None
    args = ("--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring")
    (configmap,) = [o for o in parse(helm.template(*args).stdout) if o["kind"] == "ConfigMap"]
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "annotations" not in configmap["metadata"]
