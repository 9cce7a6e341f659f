"""What an operator sees when an action-items file is read (`verifier.domain.filing`): the fields each item and the
incident keep, and the exact one-line error for each mistake (the field, the item, the limit, the hint)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.services.test_filing_file import _set, document, error_of, text, webhook
from verifier.domain.action_items import IncidentContext
from verifier.domain.filing import (
    MAX_TEXT,
    action_item,
    alertmanager_fields,
    incident_context,
    parse_filing,
    parse_incident,
)
from verifier.errors import ConfigError

ITEM_1 = 'item 1 ("Add connection pooling"): '


def parsed(doc: dict[str, Any]) -> Any:
    return parse_filing(text(doc))


def with_incident(**fields: Any) -> dict[str, Any]:
    """The standard document, its incident fields replaced (`...` deletes one)."""
    doc = document()
    for name, value in fields.items():
        if value is ...:
            del doc["incident"][name]
        else:
            doc["incident"][name] = value
    return doc


def payload_error(payload: object) -> str:
    with pytest.raises(ConfigError) as caught:
        alertmanager_fields(payload)
    return str(caught.value)


# -- what the file's incident and items keep ------------------------------------------------------------------
def test_the_incident_keeps_its_query_related_metrics_components_and_trace_ids() -> None:
    incident = parsed(
        with_incident(
            query="sum(rate(errors_total[5m]))",
            sample_trace_ids=["4bf92f35", "a3ce929d"],
            related_metrics={"pool  wait": "0.25 s", "retries": 12},
            affected_components=["checkout api", "payments-client", "checkout api"],
        )
    ).incident
    assert incident.query == "sum(rate(errors_total[5m]))"
    assert incident.sample_trace_ids == ("4bf92f35", "a3ce929d")
    assert incident.related_metrics == (("pool wait", "0.25 s"), ("retries", "12"))
    assert incident.affected_components == ("checkout api", "payments-client")  # spaces allowed, repeats dropped


def test_a_description_keeps_its_lines_and_a_title_its_words() -> None:
    doc = document()
    doc["items"][0]["description"] = "  Pool connections.\n\n  Then measure:\n  - p99\n"
    doc["items"][0]["title"] = "Add\n connection   pooling"
    item = parsed(doc).items[0]
    assert item.description == "Pool connections.\n\n  Then measure:\n  - p99"
    assert item.title == "Add connection pooling"


def test_incident_text_fields_are_read_as_one_line() -> None:
    incident = parsed(with_incident(alert_name="Checkout\n  latency   high")).incident
    assert incident.alert_name == "Checkout latency high"


def test_a_relative_condition_with_the_incident_value_given_needs_no_query() -> None:
    doc = document()
    doc["items"][0]["verification"]["condition"] = "< 50% of baseline p99"
    assert parsed(doc).items[0].verification.condition.relative


def test_a_relative_condition_with_its_own_baseline_window_needs_no_incident_value() -> None:
    doc = with_incident(actual_value=...)
    doc["items"][0]["verification"].update(condition="< 50% of baseline p99", baseline_window="24h")
    assert parsed(doc).items[0].verification.baseline_window is not None


def test_an_explicit_null_in_the_file_leaves_the_alertmanager_value() -> None:
    doc = with_incident(alert_name=None, environment=None, alertmanager=webhook())
    incident = parsed(doc).incident
    assert (incident.alert_name, incident.environment) == ("HighErrors", "staging")


def test_the_context_a_ticket_records_is_the_files_completed_by_what_was_measured() -> None:
    spec = parsed(
        with_incident(sample_trace_ids=["from-file"], related_metrics={"a": "1"}, affected_components=["db"])
    ).incident
    context = incident_context(spec, actual_value=2.5, sample_trace_ids=("measured",), related_metrics=(("b", "2"),))
    assert context == IncidentContext(
        alert_name="CheckoutLatencyHigh",
        metric_name="http_server_request_duration_seconds",
        threshold_value=0.5,
        actual_value=2.5,
        service_name="checkout",
        environment="production",
        triggered_at=datetime(2026, 11, 20, 9, 41, tzinfo=UTC),
        sample_trace_ids=("from-file",),  # the file's trace ids win over exemplars
        related_metrics=(("a", "1"), ("b", "2")),
        affected_components=("db",),
    )
    bare = parsed(document()).incident
    assert incident_context(bare, actual_value=1.0, sample_trace_ids=("measured",)).sample_trace_ids == ("measured",)


def test_an_action_item_carries_every_field_of_its_spec_and_the_extra_labels_once() -> None:
    document_ = parsed(document())
    spec = document_.items[0]
    context = incident_context(document_.incident, actual_value=1.84)
    item = action_item(spec, "INC-7", context, ("pir", "team-payments", "pir"))
    assert (item.title, item.description, item.priority, item.assignee, item.incident_id) == (
        "Add connection pooling",
        "Pool connections.",
        "P1",
        "alice",
        "INC-7",
    )
    assert item.context is context and item.verification is spec.verification
    assert item.labels == ("team-payments", "pir")


# -- exact errors: the incident ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"id": ...}, "config field 'incident.id': is missing"),
        ({"id": "x" * 65}, "config field 'incident.id': is longer than 64 characters"),
        ({"query": "q" * 4001}, "config field 'incident.query': is longer than 4000 characters"),
        ({"metric_name": "m" * 4001}, "config field 'incident.metric_name': is longer than 4000 characters"),
        ({"alert_name": "a" * 1001}, "config field 'incident.alert_name': is longer than 1000 characters"),
        (
            {"alert_name": ...},
            "config field 'incident.alert_name': is missing (or an Alertmanager payload with labels.alertname)",
        ),
        (
            {"service_name": ...},
            "config field 'incident.service_name': is missing (or an alert label service, service_name, job)",
        ),
        (
            {"environment": " "},
            "config field 'incident.environment': is empty (or an alert label env, environment, "
            "deployment_environment)",
        ),
        ({"alert_name": ["a"]}, "config field 'incident.alert_name': must be text, not list"),
        ({"service_name": "check\x00out"}, "config field 'incident.service_name': contains a NUL character"),
        ({"actual_value": "lots"}, "config field 'incident.actual_value': 'lots' is not a finite number"),
        ({"threshold_value": ".inf"}, "config field 'incident.threshold_value': '.inf' is not a finite number"),
        (
            {"threshold_value": "9" * 79 + "x" * 20},
            "config field 'incident.threshold_value': '" + "9" * 79 + "x' is not a finite number",
        ),
        ({"sample_trace_ids": ["4bf9 2f35"]}, "config field 'incident.sample_trace_ids': '4bf9 2f35' contains spaces"),
        (
            {"related_metrics": ["pool"]},
            "config field 'incident.related_metrics': must be a mapping of names to values",
        ),
        ({"related_metrics": {" ": "1"}}, "config field 'incident.related_metrics': ' ' is not a usable name"),
        ({"affected_components": "db"}, "config field 'incident.affected_components': must be a list"),
        (
            {"affected_components": [True]},
            "config field 'incident.affected_components': must be a list of non-empty texts; True is not one",
        ),
        (
            {"affected_components": ["  "]},
            "config field 'incident.affected_components': must be a list of non-empty texts; ' ' is not one",
        ),
        (
            {"affected_components": [None]},
            "config field 'incident.affected_components': must be a list of non-empty texts; None is not one",
        ),
        (
            {"affected_components": ["d" * 1001]},
            "config field 'incident.affected_components': '"
            + "d" * 80
            + "' is longer than 1000 characters or holds a NUL",
        ),
        (
            {"affected_components": ["d\x00b"]},
            "config field 'incident.affected_components': 'd\x00b' is longer than 1000 characters or holds a NUL",
        ),
        (
            {"triggered_at": ...},
            "config field 'incident.triggered_at': is missing (when the alert fired: RFC 3339, "
            "e.g. 2026-11-20T09:41:00Z)",
        ),
        (
            {"triggered_at": "t" * 100},
            "config field 'incident.triggered_at': '"
            + "t" * 80
            + "' is not an RFC 3339 time such as 2026-11-20T09:41:00Z",
        ),
        (
            {"triggered_at": 1700000000},
            "config field 'incident.triggered_at': must be a time such as 2026-11-20T09:41:00Z, not int",
        ),
        (
            {"triggered_at": "1969-12-31T23:59:59Z"},
            "config field 'incident.triggered_at': '1969-12-31T23:59:59Z' is not a time an alert fired at",
        ),
        (
            {"alertmanager": " "},
            "config field 'incident.alertmanager': must be a path to a webhook payload, or the payload inline",
        ),
        (
            {"alertmanager": 42},
            "config field 'incident.alertmanager': must be a path to a webhook payload, or the payload inline",
        ),
        (
            {"alertmanager": "payload.json"},
            "config field 'incident.alertmanager': is a path, but this caller reads no files; inline the payload",
        ),
        (
            {"owner": "sre"},
            "config field 'incident.owner': unknown field (known fields: " + "id, alertmanager, "
            "alert_name, metric_name, query, threshold_value, actual_value, service_name, environment, triggered_at, "
            "sample_trace_ids, related_metrics, affected_components, issue)",
        ),
    ],
)
def test_an_incident_mistake_is_one_exact_line(fields: dict[str, Any], expected: str) -> None:
    assert error_of(with_incident(**fields)) == expected


def test_the_incident_must_be_a_mapping() -> None:
    assert error_of(document(incident="INC-7")) == "config field 'incident': must be a mapping with at least 'id'"
    with pytest.raises(ConfigError, match=r"^config field 'incident': must be a mapping"):
        parse_incident(["INC-7"], None)


def test_the_limits_of_the_incident_fields_are_inclusive() -> None:
    incident = parsed(
        with_incident(
            id="I" * 64,
            query="q" * 4000,
            metric_name="m" * 4000,
            alert_name="a" * 1000,
            related_metrics={"n" * 200: "v" * 4000},
            affected_components=["c" * 1000],
            triggered_at="1970-01-01T00:00:00Z",
        )
    ).incident
    assert (len(incident.id), len(incident.query or ""), len(incident.metric_name), len(incident.alert_name)) == (
        64,
        4000,
        4000,
        1000,
    )
    assert incident.related_metrics == (("n" * 200, "v" * 4000),)
    assert incident.affected_components == ("c" * 1000,)
    assert incident.triggered_at == datetime(1970, 1, 1, tzinfo=UTC)


def test_a_related_metric_name_longer_than_200_characters_or_not_text_is_refused() -> None:
    assert error_of(with_incident(related_metrics={"n" * 201: "1"})) == (
        f"config field 'incident.related_metrics': '{'n' * 80}' is not a usable name"
    )
    assert error_of(with_incident(related_metrics={5: "1"})) == (
        "config field 'incident.related_metrics': 5 is not a usable name"
    )


def test_a_trigger_time_may_end_in_a_lowercase_z_and_carry_nanoseconds() -> None:
    incident = parsed(with_incident(triggered_at="2026-11-20T09:41:12.123456789z")).incident
    assert incident.triggered_at == datetime(2026, 11, 20, 9, 41, 12, 123456, tzinfo=UTC)


# -- exact errors: items ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("items.0.description", "d" * 100_001, ITEM_1 + "config field 'description': is longer than 100000 characters"),
        ("items.0.description", ["d"], ITEM_1 + "config field 'description': must be text, not list"),
        ("items.0.assignee", "a" * 129, ITEM_1 + "config field 'assignee': is longer than 128 characters"),
        ("items.0.priority", ..., ITEM_1 + "config field 'priority': is missing (P0, P1, P2, P3)"),
        ("items.0.priority", "", ITEM_1 + "config field 'priority': is empty (P0, P1, P2, P3)"),
        ("items.0.title", "", "item 1: config field 'title': is empty"),
        (
            "items.0.labels",
            ["l" * 51],
            ITEM_1 + f"config field 'labels': '{'l' * 51}' is longer than 50 characters or holds a NUL",
        ),
        (
            "items.0.labels",
            ["team payments " + "x" * 90],
            ITEM_1 + f"config field 'labels': '{('team payments ' + 'x' * 90)[:80]}' contains spaces",
        ),
        (
            "items.0.labels",
            ["a,b"],
            ITEM_1 + "config field 'labels': a label must not contain ',' (GitHub's label filter splits on it)",
        ),
        (
            "items.0.verification",
            ...,
            ITEM_1 + "config field 'verification': must be a mapping with metric and condition (fields: metric, "
            "condition, delay_hours, delay, window, unit, labels, mode, tolerance, baseline_window, min_events, "
            "type, temporality, no_data, traffic, recheck_after, "
            "conditions, alert, firing_at_most)",
        ),
        (
            "items.1",
            ["Cap retries"],
            "item 2: config field 'item': must be a mapping with title, priority and verification",
        ),
        (
            "items.0.owner",
            "alice",
            ITEM_1 + "config field 'owner': unknown field (known fields: title, description, priority, assignee, "
            "labels, verification, fields)",
        ),
    ],
)
def test_an_item_mistake_is_one_exact_line(path: str, value: Any, expected: str) -> None:
    assert error_of(_set(path, value)) == expected


def test_the_limits_of_the_item_fields_are_inclusive() -> None:
    doc = document()
    doc["items"][0].update(description="d" * 100_000, assignee="a" * 128, labels=["l" * 50])
    item = parsed(doc).items[0]
    assert (len(item.description), len(item.assignee or ""), item.labels) == (100_000, 128, ("l" * 50,))


def test_a_relative_condition_without_any_baseline_says_what_to_give() -> None:
    doc = with_incident(actual_value=...)
    doc["items"][0]["verification"]["condition"] = "< 50% of baseline p99"
    assert error_of(doc) == (
        ITEM_1 + "config field 'verification.condition': is relative to a baseline: give incident.actual_value "
        "(or incident.query, measured when filing) or a verification.baseline_window"
    )


def test_a_repeated_title_names_the_item_it_repeats() -> None:
    doc = document()
    doc["items"].append({**doc["items"][1], "title": "cap  RETRIES"})
    assert error_of(doc) == (
        "item 3 (\"cap RETRIES\"): config field 'title': is the same as item 2's: each action item needs its own"
    )


@pytest.mark.parametrize(
    ("length", "shown"),
    [(60, "t" * 60), (61, "t" * 57 + "...")],
)
def test_an_item_is_named_by_its_title_cut_at_60_characters(length: int, shown: str) -> None:
    doc = _set("items.0.priority", "urgent")
    doc["items"][0]["title"] = "t" * length
    assert error_of(doc).startswith(f'item 1 ("{shown}"): ')


# -- exact errors: the file -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "items: [\n",
            "the action-items file is not valid YAML: expected the node content, but found '<stream end>' (line 2)",
        ),
        ("a: b: c\n", "the action-items file is not valid YAML: mapping values are not allowed here (line 1)"),
        (
            "incident: {}\nitems: []\nextra: 1\nmore: 2\n",
            "config field 'extra': unknown field (known fields: incident, related_queries, items)",
        ),
        ("- a\n", "the action-items file must be a mapping with 'incident' and 'items'"),
    ],
)
def test_a_file_mistake_is_one_exact_line(raw: str, expected: str) -> None:
    assert error_of(raw) == expected


def test_a_file_must_be_text() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_filing(b"incident: {}")  # type: ignore[arg-type]
    assert str(caught.value) == "the action-items file must be text, not bytes"


def test_items_must_be_a_non_empty_list() -> None:
    assert error_of(document(items={"title": "x"})) == "config field 'items': must be a non-empty list of action items"


# -- Alertmanager payloads ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([], "must be an Alertmanager webhook payload (a JSON object with 'alerts')"),
        ({"version": 3, "alerts": [{}]}, "version '3' is not the webhook format this tool reads (4)"),
        ({"alerts": []}, "has no alerts (expected 'alerts': a non-empty list of objects)"),
        (webhook(startsAt="soon"), "alerts[0].startsAt: 'soon' is not an RFC 3339 time such as 2026-11-20T09:41:00Z"),
        (
            webhook(annotations={"threshold": "about " + "9" * 100}),
            f"annotation 'threshold' is not a number: {('about ' + '9' * 100)[:80]}",
        ),
    ],
)
def test_an_alertmanager_mistake_is_one_exact_line(payload: object, expected: str) -> None:
    assert payload_error(payload) == f"config field 'incident.alertmanager': {expected}"


def test_with_no_alert_firing_the_first_alert_is_read() -> None:
    resolved = {"status": "resolved", "labels": {"alertname": "Old"}, "startsAt": "2026-01-01T00:00:00Z"}
    later = {"status": "resolved", "labels": {"alertname": "Later"}, "startsAt": "2026-02-01T00:00:00Z"}
    fields = alertmanager_fields({"alerts": [resolved, later]})
    assert fields == {"alert_name": "Old", "triggered_at": datetime(2026, 1, 1, tzinfo=UTC)}
    assert payload_error({"alerts": [{**resolved, "startsAt": "soon"}, later]}).startswith(
        "config field 'incident.alertmanager': alerts[0].startsAt:"
    )


def test_the_group_annotations_apply_unless_the_alert_has_its_own() -> None:
    payload = webhook(annotations={"value": "3"})
    payload["commonAnnotations"] = {"threshold": "0.2", "value": "9"}
    fields = alertmanager_fields(payload)
    assert (fields["threshold_value"], fields["actual_value"]) == ("0.2", "3")


def test_missing_labels_and_empty_annotations_are_left_to_the_file() -> None:
    payload = {"alerts": [{"status": "firing", "labels": {}, "annotations": {"threshold": "", "value": "n/a"}}]}
    assert alertmanager_fields(payload) == {}


def test_a_generator_url_without_an_expression_gives_no_query() -> None:
    fields = alertmanager_fields(webhook(generatorURL="http://prom:9090/graph?g0.tab=1"))
    assert "query" not in fields


def test_a_free_text_value_annotation_leaves_the_value_to_be_measured() -> None:
    doc = with_incident(actual_value=..., alertmanager=webhook(annotations={"threshold": "0.01", "value": "high"}))
    assert parsed(doc).incident.actual_value is None


def test_a_payload_file_that_is_not_json_is_named() -> None:
    doc = with_incident(alertmanager="payload.json")
    assert error_of(doc, read=lambda path: "{") == (
        "config field 'incident.alertmanager': payload.json is not JSON: Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)"
    )


def test_a_related_value_that_is_empty_or_too_long_names_its_field_and_name() -> None:
    assert error_of(with_incident(related_metrics={"pool  wait": " "})) == (
        "config field 'incident.related_metrics.pool wait': is empty"
    )
    assert error_of(document(related_queries={"retries": "q" * 4001})) == (
        "config field 'related_queries.retries': is longer than 4000 characters"
    )
    assert error_of(document(related_queries={"retries": ["q"]})) == (
        "config field 'related_queries.retries': must be text, not list"
    )


def test_a_file_of_exactly_the_limit_is_read_and_one_character_more_is_refused() -> None:
    base = text(document())
    padded = base + "#" + "x" * (MAX_TEXT - len(base) - 2) + "\n"  # a YAML comment fills it up
    assert len(padded) == MAX_TEXT and parse_filing(padded).incident.id == "INC-7"
    assert error_of(padded + "#") == "the action-items file is longer than 1000000 characters"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # not a marked YAML error: its message's first line is shown, with no line number
        ("incident: \x07\n", "unacceptable character #x0007: special characters are not allowed"),
        ("when: 2026-13-45\n", "month must be in 1..12"),  # a timestamp YAML types but cannot build
        ("a: " + "[" * 1000 + "]" * 1000 + "\n", "nested deeper than 32 levels (line 1)"),
    ],
)
def test_text_yaml_cannot_read_is_one_exact_line(raw: str, expected: str) -> None:
    assert error_of(raw) == f"the action-items file is not valid YAML: {expected}"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), "nan", "inf"])
def test_a_threshold_that_is_not_finite_is_refused(value: object) -> None:
    assert error_of(with_incident(threshold_value=value)) == (
        f"config field 'incident.threshold_value': '{value}' is not a finite number"
    )


def test_titles_that_differ_once_lowercased_are_two_items() -> None:
    # The fingerprint lowercases the title: "straße" and "strasse" are two tickets, so two items.
    doc = document()
    doc["items"][0]["title"], doc["items"][1]["title"] = "Rename Straße", "RENAME STRASSE"
    assert [item.title for item in parsed(doc).items] == ["Rename Straße", "RENAME STRASSE"]
