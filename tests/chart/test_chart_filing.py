"""The filing settings of #24 through the chart: VERIFIER_JIRA_FIELDS as a map and VERIFIER_JIRA_DUE_DATE reach the
Pod as variables the verifier's settings parse to what was written; the schema refuses a mapping to a field the
tool writes itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import Helm, parse
from verifier.settings import JiraSettings, load

BASE: dict[str, Any] = {
    "tracker": "jira",
    "config": {
        "VERIFIER_JIRA_URL": "https://example.atlassian.net",
        "VERIFIER_JIRA_EMAIL": "verifier-bot@example.com",
        "VERIFIER_PROMETHEUS_URL": "http://prometheus:9090",
    },
}


def _render(helm: Helm, tmp_path: Path, config: dict[str, Any], *, check: bool = True) -> Any:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({**BASE, "config": {**BASE["config"], **config}}))
    return helm.template("--values", str(path), check=check)


def test_the_field_map_and_due_date_setting_reach_the_settings(
    helm: Helm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = {"team": "customfield_10042", "story_points": "customfield_10016"}
    done = _render(helm, tmp_path, {"VERIFIER_JIRA_FIELDS": fields, "VERIFIER_JIRA_DUE_DATE": False})
    cronjob = next(o for o in parse(done.stdout) if o["kind"] == "CronJob")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    for name in [n for n in os.environ if n.startswith(("VERIFIER_", "JIRA_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VERIFIER_JIRA_API_TOKEN", "token")
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))

    jira = load(JiraSettings)

    assert (dict(jira.custom_fields), jira.due_date) == (fields, False)


@pytest.mark.parametrize(
    "fields",
    [{"team": "description"}, {"Team": "customfield_1"}, {"team": 10042}, True],
)
def test_the_schema_refuses_a_field_map_the_verifier_would_refuse(helm: Helm, tmp_path: Path, fields: object) -> None:
    assert _render(helm, tmp_path, {"VERIFIER_JIRA_FIELDS": fields}, check=False).returncode != 0
