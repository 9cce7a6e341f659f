"""The Grafana dashboard the chart ships: its JSON, and the ConfigMap Grafana's sidecar loads.

That every panel's PromQL returns data from real pushed metrics is tested in tests/e2e/test_dashboard.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.chart.conftest import CHART, NAMESPACE, Helm, Rendering, parse

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


def test_configmap_carries_the_sidecar_label_and_the_json_unchanged(rendered: Mapping[str, Rendering]) -> None:
    configmap = rendered["grafanadashboard-on"].one("ConfigMap")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Incidents"}
    assert configmap["metadata"]["namespace"] == NAMESPACE
    assert json.loads(configmap["data"]["action-item-verifier.json"]) == dashboard()


def test_configmap_goes_where_the_sidecar_looks_and_is_absent_by_default(helm: Helm, default: Rendering) -> None:
    assert default.maybe("ConfigMap") is None
    args = ("--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring")
    (configmap,) = [o for o in parse(helm.template(*args).stdout) if o["kind"] == "ConfigMap"]
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "annotations" not in configmap["metadata"]
