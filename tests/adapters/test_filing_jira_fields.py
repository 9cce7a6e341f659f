"""`file` on Jira sets the due date from the priority's SLA and the item's custom fields mapped in
VERIFIER_JIRA_FIELDS (#24): the CLI against the Jira sandbox through the real `jira` client, settings in, the
create requests the server received out. The sandbox refuses what Jira refuses on create (a field not on the
screen, a text for a number field), and every exchange is held to Atlassian's API description (conftest.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.adapters.test_filing import TRIGGERED, action_items, cli, created, jira_env, jira_tracker, parsed
from verifier.domain.action_items import ActionItem, IncidentContext
from verifier.errors import TrackerError
from verifier_sandbox.jira import JiraSandbox

CONTEXT = IncidentContext("A", "m", 0.5, 1.84, "checkout", "production", TRIGGERED)
FIELDS = '{"team": "customfield_10042", "story_points": "customfield_10016"}'


def _file(tmp_path: Path, doc: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(doc or _with_fields(), sort_keys=False))
    return path


def _with_fields() -> dict[str, Any]:
    doc = action_items()
    doc["items"][0]["fields"] = {"team": "Payments", "story_points": 3}
    doc["items"][1]["fields"] = {"story_points": 0.5}
    return doc


def _due(days: int, before: datetime, after: datetime) -> set[str]:
    """The due date for an SLA of `days` from a moment between `before` and `after` (a run may cross midnight)."""
    return {(before + timedelta(days=days)).date().isoformat(), (after + timedelta(days=days)).date().isoformat()}


def _screen(server: JiraSandbox) -> None:
    server.user("alice")
    server.custom_fields = {"customfield_10042": "string", "customfield_10016": "number"}


def test_file_sets_the_due_date_from_the_sla_and_the_mapped_custom_fields(
    jira_cloud: JiraSandbox, tmp_path: Path
) -> None:
    _screen(jira_cloud)
    before = datetime.now(UTC)
    done = cli(_file(tmp_path), "--json", **jira_env(jira_cloud, VERIFIER_JIRA_FIELDS=FIELDS))
    after = datetime.now(UTC)

    assert done.returncode == 0, done.stderr
    first, second = (body["fields"] for body in created(jira_cloud))
    assert first["duedate"] in _due(7, before, after)  # P1: 7 days (defaults.SLA_DAYS)
    assert second["duedate"] in _due(90, before, after)  # P3: 90 days
    assert (first["customfield_10042"], first["customfield_10016"]) == ("Payments", 3)
    assert second["customfield_10016"] == 0.5 and "customfield_10042" not in second
    assert jira_cloud.issue("OPS-1").custom == {"customfield_10042": "Payments", "customfield_10016": 3}
    assert jira_cloud.issue("OPS-1").due_date == first["duedate"]
    report = json.loads(done.stdout)["items"]
    assert [i["due"] for i in report] == [first["duedate"], second["duedate"]]
    assert report[0]["fields"] == {"team": "Payments", "story_points": 3}


def test_the_sla_setting_moves_the_due_date_and_the_due_date_setting_turns_it_off(
    jira_cloud: JiraSandbox, tmp_path: Path
) -> None:
    jira_cloud.user("alice")
    path = _file(tmp_path, action_items())
    before = datetime.now(UTC)
    done = cli(path, **jira_env(jira_cloud, VERIFIER_SLA_DAYS="P1=2,P3=5"))
    after = datetime.now(UTC)
    assert done.returncode == 0, done.stderr
    assert [
        body["fields"]["duedate"] in _due(days, before, after)
        for body, days in zip(created(jira_cloud), (2, 5), strict=True)
    ] == [True, True]

    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(action_items(id="INC-2042")))
    off = cli(other, **jira_env(jira_cloud, VERIFIER_JIRA_DUE_DATE="false"))
    assert off.returncode == 0, off.stderr
    assert [("duedate" in body["fields"]) for body in created(jira_cloud)] == [True, True, False, False]


def test_a_screen_without_due_date_refuses_it_as_jira_does_and_the_setting_files_without_it(
    jira_cloud: JiraSandbox, tmp_path: Path
) -> None:
    jira_cloud.user("alice")
    jira_cloud.due_date_on_screen = False
    path = _file(tmp_path, action_items())

    refused = cli(path, **jira_env(jira_cloud))
    assert refused.returncode == 1
    assert "Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown." in refused.stderr
    assert jira_cloud.issues == {}

    done = cli(path, **jira_env(jira_cloud, VERIFIER_JIRA_DUE_DATE="false"))
    assert done.returncode == 0, done.stderr
    assert len(jira_cloud.issues) == 2


def test_an_unmapped_field_files_nothing_and_names_the_item_and_field(jira_cloud: JiraSandbox, tmp_path: Path) -> None:
    _screen(jira_cloud)
    done = cli(_file(tmp_path), **jira_env(jira_cloud, VERIFIER_JIRA_FIELDS='{"team": "customfield_10042"}'))

    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "item 1 (\"Add connection pooling to the payments client\"): config field 'fields.story_points'" in (
        done.stderr
    )
    assert "VERIFIER_JIRA_FIELDS" in done.stderr and "nothing was filed" in done.stderr
    assert jira_cloud.writes() == []


def test_jira_refuses_a_mapped_field_off_the_screen_or_of_the_wrong_type(
    jira_cloud: JiraSandbox, tmp_path: Path
) -> None:
    jira_cloud.user("alice")
    jira_cloud.custom_fields = {"customfield_10016": "string"}  # team's field is not on the screen
    refused = cli(_file(tmp_path), **jira_env(jira_cloud, VERIFIER_JIRA_FIELDS=FIELDS))

    assert refused.returncode == 1
    assert "Field 'customfield_10042' cannot be set. It is not on the appropriate screen, or unknown." in refused.stderr
    assert "Operation value must be a string" in refused.stderr
    assert jira_cloud.issues == {}


def test_field_values_are_bounded_and_typed_before_anything_is_sent(jira_cloud: JiraSandbox, tmp_path: Path) -> None:
    _screen(jira_cloud)
    env = jira_env(jira_cloud, VERIFIER_JIRA_FIELDS=FIELDS)
    for value, problem in (
        ("x" * 256, "1 to 255 characters on one line"),
        ("two\nlines", "1 to 255 characters on one line"),
        (True, "must be a string or a number, not bool"),
        (["Payments"], "must be a string or a number, not list"),
        ({"value": "Payments"}, "must be a string or a number, not dict"),
        (2**60, "too large a number"),
    ):
        doc = _with_fields()
        doc["items"][1]["fields"] = {"team": value}
        done = cli(_file(tmp_path, doc), **env)
        assert done.returncode == 2, value
        assert "item 2 (\"Stop OOM kills in checkout\"): config field 'fields.team'" in done.stderr
        assert problem in done.stderr
    assert jira_cloud.writes() == []


def test_settings_refuse_a_mapping_to_a_field_the_tool_writes_itself(jira_cloud: JiraSandbox, tmp_path: Path) -> None:
    for mapping, problem in (
        ('{"team": "description"}', "only custom fields (customfield_<id>)"),
        ("team=customfield_10042,Story Points=customfield_1", "is not a field name"),
        ("{not json", "is not a JSON object"),
    ):
        done = cli(_file(tmp_path), **jira_env(jira_cloud, VERIFIER_JIRA_FIELDS=mapping))
        assert done.returncode == 2 and "VERIFIER_JIRA_FIELDS" in done.stderr and problem in done.stderr, done.stderr
    # the project's own map syntax works as well as JSON
    _screen(jira_cloud)
    done = cli(
        _file(tmp_path),
        **jira_env(jira_cloud, VERIFIER_JIRA_FIELDS="team=customfield_10042, story_points=customfield_10016"),
    )
    assert done.returncode == 0, done.stderr
    assert created(jira_cloud)[0]["fields"]["customfield_10042"] == "Payments"


def test_the_due_date_is_a_date_jira_reads(jira_cloud: JiraSandbox, tmp_path: Path) -> None:
    jira_cloud.user("alice")
    done = cli(_file(tmp_path, action_items()), **jira_env(jira_cloud))
    assert done.returncode == 0, done.stderr
    for body in created(jira_cloud):
        assert date.fromisoformat(body["fields"]["duedate"]).isoformat() == body["fields"]["duedate"]


def test_the_adapter_refuses_an_unmapped_field_even_when_the_filing_check_is_skipped(jira_cloud: JiraSandbox) -> None:
    """The second line: `create` sends no request for an item whose field has no Jira id."""
    _screen(jira_cloud)
    spec = parsed(_with_fields()).items[0]
    item = ActionItem(
        title=spec.title,
        description="",
        priority=spec.priority,
        assignee=None,
        incident_id="INC-2041",
        context=CONTEXT,
        verification=spec.verification,
        fields=spec.fields,
    )
    tracker = jira_tracker(jira_cloud, custom_fields={"team": "customfield_10042"})
    with pytest.raises(TrackerError, match="'story_points' is not mapped"):
        tracker.create(item)
    assert jira_cloud.writes() == []
