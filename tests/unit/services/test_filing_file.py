"""The action-items file (`verifier.domain.filing`) and the filing service over the in-memory fakes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from verifier.domain.action_items import incident_facts
from verifier.domain.filing import INCIDENT_FIELDS, ITEM_FIELDS, alertmanager_fields, parse_filing
from verifier.domain.formats import find_config
from verifier.domain.measurement import Measurement, Series
from verifier.errors import BackendUnavailable, ConfigError, QueryRejected
from verifier.services.filing import as_json, as_text, file_items

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TRIGGERED = datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
LATENCY_QUERY = "histogram_quantile(0.99, sum by (le) (increase(http_server_request_duration_seconds_bucket[48h])))"


def document(**changes: Any) -> dict[str, Any]:
    """A valid file as data; `changes` replace top-level sections."""
    doc: dict[str, Any] = {
        "incident": {
            "id": "INC-7",
            "alert_name": "CheckoutLatencyHigh",
            "metric_name": "http_server_request_duration_seconds",
            "threshold_value": 0.5,
            "actual_value": 1.84,
            "service_name": "checkout",
            "environment": "production",
            "triggered_at": "2026-11-20T09:41:00Z",
        },
        "items": [
            {
                "title": "Add connection pooling",
                "description": "Pool connections.",
                "priority": "P1",
                "assignee": "alice",
                "labels": ["team-payments"],
                "verification": {
                    "metric": "http_server_request_duration_seconds",
                    "condition": "< 250ms p99",
                    "delay": "48h",
                },
            },
            {"title": "Cap retries", "priority": "P2", "verification": {"metric": "up", "condition": ">= 1"}},
        ],
    }
    doc.update(changes)
    return doc


class _NoAliases(yaml.SafeDumper):
    """Writes a value used twice out twice, as a person would: the file refuses anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def text(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_NoAliases, sort_keys=False)


def error_of(doc: dict[str, Any] | str, **kw: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_filing(doc if isinstance(doc, str) else text(doc), **kw)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- the format -----------------------------------------------------------------------------------------------
def test_a_complete_file() -> None:
    parsed = parse_filing(text(document()))
    incident = parsed.incident
    assert (incident.id, incident.alert_name, incident.threshold_value, incident.actual_value) == (
        "INC-7",
        "CheckoutLatencyHigh",
        0.5,
        1.84,
    )
    assert incident.triggered_at == TRIGGERED
    first, second = parsed.items
    assert (first.number, first.title, first.priority, first.assignee, first.labels) == (
        1,
        "Add connection pooling",
        "P1",
        "alice",
        ("team-payments",),
    )
    assert first.verification.source == "file" and first.verification.condition.text == "< 250ms p99"
    assert (second.description, second.assignee, second.labels) == ("", None, ())


def test_the_example_file_and_its_alertmanager_payload() -> None:
    parsed = parse_filing(
        (EXAMPLES / "action-items.yaml").read_text(), read=lambda p: (EXAMPLES / p).read_text(encoding="utf-8")
    )
    incident = parsed.incident
    assert (incident.alert_name, incident.service_name, incident.environment) == (
        "CheckoutLatencyHigh",
        "checkout",
        "production",
    )
    assert incident.triggered_at == datetime(2026, 11, 20, 9, 41, 12, 345678, tzinfo=UTC)
    assert (incident.threshold_value, incident.actual_value) == (0.5, 1.84)
    assert incident.query is not None and incident.query.startswith("histogram_quantile(0.99")
    assert incident.metric_name == "http_server_request_duration_seconds"  # the file overrides the payload
    assert len(parsed.items) == 4 and len(parsed.related_queries) == 2


def test_yaml_timestamps_and_numbers_as_text_are_read() -> None:
    doc = document()
    doc["incident"].update(id=2041, threshold_value="0.5", triggered_at=TRIGGERED)
    parsed = parse_filing(text(doc))
    assert (parsed.incident.id, parsed.incident.threshold_value, parsed.incident.triggered_at) == (
        "2041",
        0.5,
        TRIGGERED,
    )
    assert parse_filing(text(doc).replace("P1", "p1")).items[0].priority == "P1"


def test_relative_condition_needs_the_incident_value_or_a_query() -> None:
    doc = document()
    doc["items"][0]["verification"]["condition"] = "< 50% of baseline p99"
    del doc["incident"]["actual_value"]
    message = error_of(doc)
    assert 'item 1 ("Add connection pooling")' in message and "verification.condition" in message
    assert "incident.actual_value" in message
    doc["incident"]["query"] = LATENCY_QUERY
    assert parse_filing(text(doc)).incident.actual_value is None  # measured when filing


# -- errors name the item and the field -----------------------------------------------------------------------
def _set(path: str, value: Any) -> dict[str, Any]:
    doc = document()
    target: Any = doc
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is ...:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("items.1.verification.condition", "fast", "item 2 (\"Cap retries\"): config field 'verification.condition'"),
        ("items.0.verification.condition", "< 5MB p99", "cannot be compared"),
        ("items.0.verification.window", "72h", "'verification.window': 72h is longer than the delay"),
        ("items.0.verification.colour", "red", "'verification.colour': unknown field"),
        ("items.0.verification.metric", ..., "'verification.metric': is missing"),
        ("items.0.verification", "up < 1", "'verification': must be a mapping"),
        ("items.0.priority", "urgent", "'priority': 'urgent' is not one of P0, P1, P2, P3"),
        ("items.0.priority", ..., "'priority': is missing"),
        ("items.0.title", ..., "item 1: config field 'title': is missing"),
        ("items.0.title", "x" * 201, "'title': is longer than 200"),
        ("items.0.labels", ["has space"], "'labels': 'has space' contains spaces"),
        ("items.0.labels", ["a,b"], "'labels': a label must not contain ','"),
        ("items.0.labels", "team", "'labels': must be a list"),
        ("items.0.assignee", ["alice"], "'assignee': must be text"),
        ("items.0.owner", "alice", "'owner': unknown field"),
        ("items.1", "Cap retries", "item 2: config field 'item'"),
        ("items.1.title", "add   CONNECTION pooling", "'title': is the same as item 1's"),
        ("incident.id", "INC 7", "'incident.id': 'INC 7' must be letters"),
        ("incident.id", ..., "'incident.id': is missing"),
        ("incident.threshold_value", "high", "'incident.threshold_value': 'high' is not a finite number"),
        ("incident.threshold_value", ..., "'incident.threshold_value': is missing"),
        ("incident.environment", ..., "'incident.environment': is missing (or an alert label env"),
        (
            "incident.triggered_at",
            "2026-11-20T09:41:00",
            "'incident.triggered_at': '2026-11-20T09:41:00' has no time zone",
        ),
        ("incident.triggered_at", "yesterday", "is not an RFC 3339 time"),
        ("incident.metric_name", ..., "'incident.metric_name': is missing"),
        ("incident.sample_trace_ids", "abc", "'incident.sample_trace_ids': must be a list"),
        ("incident.severity", "page", "'incident.severity': unknown field"),
        ("items", [], "'items': must be a non-empty list"),
        ("related_queries", ["up"], "'related_queries': must be a mapping"),
    ],
)
def test_errors_name_the_item_and_the_field(path: str, value: Any, expected: str) -> None:
    assert expected in error_of(_set(path, value))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("items: [", "the action-items file is not valid YAML"),
        ("- a\n- b\n", "the action-items file must be a mapping"),
        ("incident: {id: X}\nitems: []\nextra: 1\n", "'extra': unknown field"),
        ("when: 2026-13-45\n", "the action-items file is not valid YAML"),
        ("a: !!python/object:os.system x\n", "the action-items file is not valid YAML"),
    ],
)
def test_file_level_errors(raw: str, expected: str) -> None:
    assert expected in error_of(raw)


# -- Alertmanager ---------------------------------------------------------------------------------------------
def webhook(**alert: Any) -> dict[str, Any]:
    first = {
        "status": "firing",
        "labels": {"alertname": "HighErrors", "service_name": "api", "deployment_environment": "staging"},
        "annotations": {"threshold": "0.01"},
        "startsAt": "2026-11-20T09:41:12.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prom:9090/graph?g0.expr=sum%28rate%28errors_total%5B5m%5D%29%29+%3E+0.01&g0.tab=1",
    }
    first.update(alert)
    return {"version": "4", "status": "firing", "alerts": [first], "commonLabels": {"env": "ignored-for-alert"}}


def test_alertmanager_payload_fields() -> None:
    fields = alertmanager_fields(webhook())
    assert fields == {
        "alert_name": "HighErrors",
        "service_name": "api",
        "environment": "staging",
        "triggered_at": datetime(2026, 11, 20, 9, 41, 12, 123456, tzinfo=UTC),
        "threshold_value": "0.01",
        "query": "sum(rate(errors_total[5m])) > 0.01",
    }


def test_alertmanager_label_fallbacks_and_the_first_firing_alert() -> None:
    resolved = {"status": "resolved", "labels": {"alertname": "Old", "job": "x"}, "startsAt": "2026-01-01T00:00:00Z"}
    firing = {
        "status": "firing",
        "labels": {"alertname": "New", "job": "payments"},
        "annotations": {"value": "12.5", "query": "up == 0"},
        "startsAt": "2026-11-20T09:41:00+01:00",
    }
    payload = {"version": "4", "alerts": [resolved, firing], "commonLabels": {"environment": "prod"}}
    fields = alertmanager_fields(payload)
    assert (fields["alert_name"], fields["service_name"], fields["environment"]) == ("New", "payments", "prod")
    assert (fields["actual_value"], fields["query"]) == ("12.5", "up == 0")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"version": "3", "alerts": [{}]}, "version '3'"),
        ({"version": "4", "alerts": []}, "has no alerts"),
        ({"version": "4", "alerts": ["x"]}, "has no alerts"),
        ([], "must be an Alertmanager webhook payload"),
        (webhook(startsAt="soon"), "alerts[0].startsAt: 'soon' is not an RFC 3339 time"),
        (webhook(annotations={"threshold": "half a second"}), "annotation 'threshold' is not a number"),
    ],
)
def test_alertmanager_errors(payload: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        alertmanager_fields(payload)
    assert expected in str(caught.value) and "incident.alertmanager" in str(caught.value)


def test_alertmanager_inline_or_by_path_and_the_file_overrides_it() -> None:
    doc = document()
    for name in ("alert_name", "service_name", "environment", "triggered_at", "threshold_value"):
        del doc["incident"][name]
    doc["incident"]["alertmanager"] = webhook(annotations={"threshold": "0.01", "value": "not a number"})
    doc["incident"]["environment"] = "production"
    inline = parse_filing(text(doc)).incident
    assert (inline.alert_name, inline.environment, inline.threshold_value, inline.actual_value) == (
        "HighErrors",
        "production",
        0.01,
        1.84,
    )
    doc["incident"]["alertmanager"] = "payload.json"
    files = {"payload.json": json.dumps(webhook())}
    assert parse_filing(text(doc), read=files.__getitem__).incident == inline
    assert "no file" in error_of(doc)  # no reader: a path cannot be followed

    def missing(path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory")

    assert "'incident.alertmanager': cannot read payload.json: No such file" in error_of(doc, read=missing)
    assert "is not JSON" in error_of(doc, read=lambda p: "{")


# -- hypothesis: anything else is a ConfigError ---------------------------------------------------------------
_KEYS = st.sampled_from(
    ["incident", "items", "related_queries", *INCIDENT_FIELDS, *ITEM_FIELDS, "metric", "condition", "delay", "x"]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["< 100ms p99", "48h", "P1", "2026-11-20T09:41:00Z", "INC-1", "< 50% of baseline"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=12,
)


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_any_structure_is_a_document_or_a_config_error(data: dict[str, Any]) -> None:
    try:
        parse_filing(yaml.safe_dump(data))
    except ConfigError as error:
        assert "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("incdetms:-[]{}!&*|>'\"#\n 0123456789.%<PZT")), max_size=120))
def test_any_yamlish_text_is_a_document_or_a_config_error(raw: str) -> None:
    try:
        parse_filing(raw)
    except ConfigError as error:
        assert "\n" not in str(error)


# -- the service, over the fakes ------------------------------------------------------------------------------
@dataclass
class ExemplarMetrics(FakeMetrics):
    traces: list[str] = field(default_factory=list)
    exemplar_queries: list[str] = field(default_factory=list)

    def exemplars(self, query: str, start: datetime, end: datetime, limit: int = 5) -> list[str]:
        self.exemplar_queries.append(query)
        return self.traces[:limit]


def test_filing_creates_each_item_once() -> None:
    tracker = FakeTracker()
    parsed = parse_filing(text(document()))
    first = file_items(parsed, tracker, None, dry_run=False, now=NOW)
    assert [i.status for i in first.items] == ["created", "created"] and first.exit_code == 0
    again = file_items(parsed, tracker, None, dry_run=False, now=NOW)
    assert [(i.status, i.key) for i in again.items] == [("already filed", "FAKE-1"), ("already filed", "FAKE-2")]
    assert [w[1] for w in tracker.writes] == ["create", "create"]
    body = tracker.tickets["FAKE-1"].body
    assert find_config(body) == parsed.items[0].verification
    assert incident_facts(body).actual_value == 1.84 and incident_facts(body).triggered_at == TRIGGERED


def test_dry_run_writes_nothing_and_says_what_it_would_do() -> None:
    tracker = FakeTracker()
    report = file_items(parse_filing(text(document())), tracker, None, dry_run=True, now=NOW)
    assert tracker.writes == [] and [i.status for i in report.items] == ["would create"] * 2
    shown = as_text(report)
    assert "WOULD CREATE" in shown and LATENCY_QUERY in shown and "dry run: nothing written" in shown
    assert as_json(report)["items"][0]["query"] == LATENCY_QUERY


def test_metrics_capture_the_incident_value_related_metrics_and_exemplars() -> None:
    doc = document(related_queries={"pool wait": "sum(pool_wait)", "per pod": "pods"})
    del doc["incident"]["actual_value"]
    doc["incident"]["query"] = "incident_query"
    doc["items"][0]["verification"]["condition"] = "< 50% of baseline p99"
    pods = Measurement((Series((("pod", "a"),), ((0, 1.0),)), Series((("pod", "b"),), ((0, 2.0),))))
    metrics = ExemplarMetrics(
        {"incident_query": instant(0.7, 1.9), "sum(pool_wait)": instant(0.25), "pods": pods},
        traces=["t1", "t2"],
    )
    tracker = FakeTracker()
    report = file_items(parse_filing(text(doc)), tracker, metrics, dry_run=False, now=NOW)
    assert report.context["actual_value"] == 1.9  # of several series, the one furthest past the threshold
    assert report.context["related_metrics"] == {"pool wait": "0.25", "per pod": '1 {pod="a"}, 2 {pod="b"}'}
    assert report.context["sample_trace_ids"] == ["t1", "t2"] and metrics.exemplar_queries == ["incident_query"]
    assert (TRIGGERED.replace(second=0), "incident_query") in [(at, q) for q, at in metrics.asked]
    asked_now = [q for q, at in metrics.asked if at == NOW]
    assert LATENCY_QUERY in asked_now and "sum(increase(up[48h]))" not in asked_now
    body = tracker.tickets["FAKE-1"].body
    assert "`t1`" in body and "**pool wait**: 0.25" in body and "**Actual Value**: 1.9" in body
    assert any("no data now" in note for note in report.notes)  # `up` has no answer in the fake


def test_a_query_the_backend_refuses_stops_the_filing_naming_the_item() -> None:
    tracker = FakeTracker()
    metrics = FakeMetrics({"avg_over_time(up[48h])": QueryRejected("parse error", query="up")})
    with pytest.raises(ConfigError) as caught:
        file_items(parse_filing(text(document())), tracker, metrics, dry_run=False, now=NOW)
    assert str(caught.value).startswith("item 2 (\"Cap retries\"): config field 'verification.metric'")
    assert tracker.writes == []


def test_a_refused_related_query_and_a_failing_backend_stop_the_filing() -> None:
    tracker = FakeTracker()
    parsed = parse_filing(text(document(related_queries={"bad": "sum("})))
    with pytest.raises(ConfigError, match=r"'related_queries\.bad': the backend refused"):
        file_items(parsed, tracker, FakeMetrics({"sum(": QueryRejected("parse error")}), dry_run=False, now=NOW)
    with pytest.raises(BackendUnavailable):
        file_items(parsed, tracker, FakeMetrics({"sum(": BackendUnavailable("down")}), dry_run=False, now=NOW)
    assert tracker.writes == []


def test_the_incident_value_is_required_one_way_or_another() -> None:
    doc = document()
    del doc["incident"]["actual_value"]
    with pytest.raises(ConfigError, match=r"incident\.actual_value"):
        file_items(parse_filing(text(doc)), FakeTracker(), None, dry_run=True, now=NOW)


def test_a_tracker_failure_stops_the_filing_and_a_second_run_finishes_it() -> None:
    tracker = FakeTracker(fail_on={"create"})
    parsed = parse_filing(text(document()))
    first = file_items(parsed, tracker, None, dry_run=False, now=NOW)
    assert first.exit_code == 1 and "item 1" in str(first.error)
    assert [i.status for i in first.items] == ["not filed", "not filed"]
    second = file_items(parsed, tracker, None, dry_run=False, now=NOW)
    assert [i.status for i in second.items] == ["created", "created"] and second.exit_code == 0


def test_the_run_label_is_added_when_it_is_not_the_seeds() -> None:
    tracker = FakeTracker()
    file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, extra_labels=("pir",))
    assert "pir" in tracker.tickets["FAKE-2"].labels


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = [prefix] if prefix else []
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


_DOC_PATHS = _paths(document())


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_DOC_PATHS), _VALUES)
def test_any_value_in_any_field_is_a_document_or_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    doc = document()
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    try:
        parse_filing(yaml.safe_dump(doc))
    except ConfigError as error:
        assert "\n" not in str(error)


# -- settings ---------------------------------------------------------------------------------------------------
def test_filing_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    from verifier.connections import JiraConnection
    from verifier.defaults import JIRA_PRIORITIES
    from verifier.errors import SettingsError
    from verifier.settings import JiraSettings, load

    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://example.atlassian.net")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "a-token")
    defaults = load(JiraSettings)
    assert (defaults.issue_type, defaults.priorities, defaults.seed_comment) == ("Bug", dict(JIRA_PRIORITIES), True)
    monkeypatch.setenv("VERIFIER_JIRA_PRIORITIES", " p0=Blocker, P1=2 ")
    monkeypatch.setenv("VERIFIER_JIRA_ISSUE_TYPE", "Task")
    monkeypatch.setenv("VERIFIER_JIRA_SEED_COMMENT", "false")
    settings = load(JiraSettings)
    assert (settings.priorities, settings.issue_type, settings.seed_comment) == (
        {"P0": "Blocker", "P1": "2", "P2": "Medium", "P3": "Low"},
        "Task",
        False,
    )
    assert isinstance(settings, JiraConnection)  # what the adapter takes, validated once
    monkeypatch.setenv("VERIFIER_JIRA_PRIORITIES", "P0=Sev=1")  # the priority is what follows the first `=`
    assert load(JiraSettings).priorities["P0"] == "Sev=1"
    monkeypatch.setenv("VERIFIER_JIRA_PRIORITIES", "P5=Low")
    with pytest.raises(SettingsError, match=r"VERIFIER_JIRA_PRIORITIES: 'P5=Low' is not P0\.\.P3"):
        load(JiraSettings)
