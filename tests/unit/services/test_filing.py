"""What `file` tells the operator and writes into the tracker (`verifier.services.filing`): the incident context it
measures, the notes, the tickets' fields, the report as text and as JSON, and how a failure stops it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.services.test_filing_file import LATENCY_QUERY, NOW, TRIGGERED, document, text
from verifier.domain.action_items import ActionItem, bound_facts, fingerprint_in
from verifier.domain.binding import signed_for
from verifier.domain.config import canonical
from verifier.domain.filing import parse_filing
from verifier.domain.formats import find_config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.protocol import bound_config_signature, config_signature
from verifier.domain.tickets import Filed, Ticket
from verifier.errors import BackendUnavailable, ConfigError, QueryRejected, TrackerError
from verifier.services.filing import FiledItem, FilingReport, as_json, as_text, file_items

INCIDENT_QUERY = "sum(rate(errors_total[5m]))"


@dataclass
class RecordingExemplars(FakeMetrics):
    """A backend with exemplars that records what it was asked for (or fails with `error`)."""

    traces: list[str] = field(default_factory=list)
    error: BackendUnavailable | None = None
    exemplar_calls: list[tuple[str, datetime, datetime, int]] = field(default_factory=list)

    def exemplars(self, query: str, start: datetime, end: datetime, limit: int = 5) -> list[str]:
        self.exemplar_calls.append((query, start, end, limit))
        if self.error is not None:
            raise self.error
        return self.traces[:limit]


@dataclass
class RecordingTracker(FakeTracker):
    """The fake tracker, remembering whether each create asked for the config comment; `lookup_error` fails
    every `find_filed`."""

    config_comments: list[bool] = field(default_factory=list)
    lookup_error: TrackerError | None = None

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        self.config_comments.append(config_comment)
        return super().create(item, config_comment=config_comment)

    def find_filed(self, incident_id: str, fingerprint: str) -> Filed:
        if self.lookup_error is not None:
            raise self.lookup_error
        return super().find_filed(incident_id, fingerprint)


def measured_incident(**incident: Any) -> Any:
    """The standard file with no incident value: the value comes from `incident.query` (`INCIDENT_QUERY`)."""
    doc = document()
    del doc["incident"]["actual_value"]
    doc["incident"]["query"] = INCIDENT_QUERY
    doc["incident"].update(incident)
    return parse_filing(text(doc))


def series(value: float, pod: str, *earlier: float) -> Series:
    return Series((("pod", pod),), tuple((float(i), v) for i, v in enumerate((*earlier, value))))


# -- the incident context measured at the trigger time --------------------------------------------------------------
def test_of_several_series_the_value_furthest_from_the_threshold_is_recorded_with_a_note() -> None:
    # threshold 0.5: 0.1 is 0.4 away (below it), 0.6 only 0.1 above it; each series' last point is its value
    answer = Measurement((series(0.6, "a"), series(0.1, "b", 9.0), series(float("nan"), "c")))
    report = file_items(
        measured_incident(), FakeTracker(), FakeMetrics({INCIDENT_QUERY: answer}), dry_run=True, now=NOW
    )
    assert report.context["actual_value"] == 0.1
    assert report.notes[0] == "incident.query returned 2 series: the one furthest from the threshold is recorded"


def test_a_single_series_is_recorded_without_a_note() -> None:
    report = file_items(
        measured_incident(), FakeTracker(), FakeMetrics({INCIDENT_QUERY: instant(0.9)}), dry_run=True, now=NOW
    )
    assert report.context["actual_value"] == 0.9
    assert not [note for note in report.notes if note.startswith("incident.query")]


def test_without_a_backend_a_missing_incident_value_says_how_to_give_it() -> None:
    doc = document()
    del doc["incident"]["actual_value"]
    with pytest.raises(ConfigError) as caught:
        file_items(parse_filing(text(doc)), FakeTracker(), None, dry_run=True, now=NOW)
    assert str(caught.value) == (
        "config field 'incident.actual_value': is missing: give it, or give incident.query and set "
        "VERIFIER_PROMETHEUS_URL so that it is measured at the trigger time"
    )


@pytest.mark.parametrize("answer", [Measurement(()), Measurement((Series((), ((0.0, float("inf")),)), Series((), ())))])
def test_an_incident_query_that_returns_no_number_says_so(answer: Measurement) -> None:
    tracker = FakeTracker()
    metrics = FakeMetrics({INCIDENT_QUERY: answer})
    with pytest.raises(ConfigError) as caught:
        file_items(measured_incident(), tracker, metrics, dry_run=False, now=NOW)
    assert str(caught.value) == (
        "config field 'incident.query': returned no number at 2026-11-20T09:41:00+00:00: "
        "give incident.actual_value instead"
    )
    assert metrics.asked[0] == (INCIDENT_QUERY, TRIGGERED) and tracker.writes == []


def test_a_given_incident_value_is_kept_and_its_query_not_asked() -> None:
    doc = document()
    doc["incident"]["query"] = INCIDENT_QUERY
    metrics = FakeMetrics({INCIDENT_QUERY: instant(7.0)})
    report = file_items(parse_filing(text(doc)), FakeTracker(), metrics, dry_run=True, now=NOW)
    assert report.context["actual_value"] == 1.84
    assert INCIDENT_QUERY not in [query for query, _ in metrics.asked]


def test_a_refused_incident_query_names_the_field() -> None:
    metrics = FakeMetrics({INCIDENT_QUERY: QueryRejected("parse error at char 4")})
    with pytest.raises(ConfigError) as caught:
        file_items(measured_incident(), FakeTracker(), metrics, dry_run=True, now=NOW)
    assert str(caught.value) == "config field 'incident.query': the backend refused the query: parse error at char 4"


def test_related_queries_are_measured_at_the_trigger_time_and_described() -> None:
    doc = document(
        related_queries={
            "tiny": "tiny",
            "none": "none",
            "empty series": "empty",
            "four pods": "four",
            "three pods": "three",
        }
    )
    pods = [Series((("pod", p),), ((0.0, float(i)),)) for i, p in enumerate("abcd", start=1)]
    metrics = FakeMetrics(
        {
            "tiny": instant(0.0000123456),
            "empty": Measurement((Series((("pod", "a"),), ()),)),
            "four": Measurement(tuple(pods)),
            "three": Measurement(tuple(pods[:3])),
        }
    )
    report = file_items(parse_filing(text(doc)), FakeTracker(), metrics, dry_run=True, now=NOW)
    assert report.context["related_metrics"] == {
        "tiny": "1.235e-05",
        "none": "no data",
        "empty series": "no data",
        "four pods": '1 {pod="a"}, 2 {pod="b"}, 3 {pod="c"} (+1 more)',
        "three pods": '1 {pod="a"}, 2 {pod="b"}, 3 {pod="c"}',
    }
    assert {
        query: at for query, at in metrics.asked if query in {"tiny", "none", "empty", "four", "three"}
    } == dict.fromkeys(("tiny", "none", "empty", "four", "three"), TRIGGERED)


def test_exemplars_are_looked_for_fifteen_minutes_around_the_trigger_time() -> None:
    metrics = RecordingExemplars(traces=["t1", "t2", "t3", "t4", "t5", "t6"])
    report = file_items(parse_filing(text(document())), FakeTracker(), metrics, dry_run=True, now=NOW)
    assert metrics.exemplar_calls == [
        (
            "http_server_request_duration_seconds",
            TRIGGERED - timedelta(minutes=15),
            TRIGGERED + timedelta(minutes=15),
            5,
        )
    ]
    assert report.context["sample_trace_ids"] == ["t1", "t2", "t3", "t4", "t5"]
    assert not [note for note in report.notes if "exemplar" in note]


def test_no_exemplars_or_a_backend_without_them_is_noted() -> None:
    parsed = parse_filing(text(document()))
    empty = file_items(parsed, FakeTracker(), RecordingExemplars(), dry_run=True, now=NOW)
    assert [n for n in empty.notes if "exemplar" in n] == ["no exemplar trace ids around the trigger time"]
    failing = RecordingExemplars(error=BackendUnavailable("exemplars are not stored"))
    refused = file_items(parsed, FakeTracker(), failing, dry_run=True, now=NOW)
    assert [n for n in refused.notes if "exemplar" in n] == [
        "no exemplar trace ids captured: exemplars are not stored",
        "no exemplar trace ids around the trigger time",
    ]


def test_trace_ids_in_the_file_are_not_looked_up() -> None:
    doc = document()
    doc["incident"]["sample_trace_ids"] = ["abc"]
    metrics = RecordingExemplars(traces=["t1"])
    report = file_items(parse_filing(text(doc)), FakeTracker(), metrics, dry_run=True, now=NOW)
    assert metrics.exemplar_calls == [] and report.context["sample_trace_ids"] == ["abc"]


# -- the queries tried before filing ---------------------------------------------------------------------------------
def test_a_baseline_query_is_tried_too_and_a_refusal_names_the_item() -> None:
    doc = document()
    doc["items"][1]["verification"].update(condition="< 50% of baseline", baseline_window="24h")
    parsed = parse_filing(text(doc))
    metrics = FakeMetrics({"avg_over_time(up[24h])": QueryRejected("too many samples")})
    with pytest.raises(ConfigError) as caught:
        file_items(parsed, FakeTracker(), metrics, dry_run=True, now=NOW)
    assert str(caught.value) == (
        "item 2 (\"Cap retries\"): config field 'verification.metric': the backend refused its query: too many samples"
    )


def test_a_query_with_no_data_now_is_noted_per_item() -> None:
    metrics = FakeMetrics({LATENCY_QUERY: instant(0.2)})
    report = file_items(parse_filing(text(document())), FakeTracker(), metrics, dry_run=True, now=NOW)
    assert report.notes == [
        'item 2 ("Cap retries"): its verification query returns no data now: avg_over_time(up[48h])'
    ]
    assert [(query, at) for query, at in metrics.asked] == [(LATENCY_QUERY, NOW), ("avg_over_time(up[48h])", NOW)]


def test_without_a_backend_the_report_says_what_was_not_tried() -> None:
    bare = file_items(parse_filing(text(document())), FakeTracker(), None, dry_run=True, now=NOW)
    assert bare.notes == ["no metrics backend set (VERIFIER_PROMETHEUS_URL): the verification queries were not tried"]
    related = parse_filing(text(document(related_queries={"pool": "sum(pool)"})))
    assert file_items(related, FakeTracker(), None, dry_run=True, now=NOW).notes == [
        "no metrics backend set (VERIFIER_PROMETHEUS_URL): the verification queries were not tried and "
        "related_queries were not measured"
    ]


def test_without_now_the_queries_are_planned_for_a_fix_resolved_a_delay_ago() -> None:
    metrics = FakeMetrics()
    before = datetime.now().astimezone()
    file_items(parse_filing(text(document())), FakeTracker(), metrics, dry_run=True)
    asked = [at for query, at in metrics.asked if query == LATENCY_QUERY]
    assert len(asked) == 1 and before <= asked[0] <= datetime.now().astimezone()


# -- what is written -------------------------------------------------------------------------------------------------
def test_the_created_tickets_carry_the_measured_context_labels_and_the_config_comment_choice() -> None:
    tracker = RecordingTracker()
    metrics = RecordingExemplars({INCIDENT_QUERY: instant(2.5), "sum(pool)": instant(3.0)}, traces=["t9"])
    doc = document(related_queries={"pool": "sum(pool)"})
    del doc["incident"]["actual_value"]
    doc["incident"].update(query=INCIDENT_QUERY, affected_components=["db"])
    parsed = parse_filing(text(doc))
    file_items(parsed, tracker, metrics, dry_run=False, now=NOW, config_comment=False, extra_labels=["pir", "pir"])
    body = tracker.tickets["FAKE-1"].body
    assert "**Actual Value**: 2.5" in body and "- `t9`" in body and "- **pool**: 3" in body
    assert "**Alert**: CheckoutLatencyHigh" in body and "### Affected Components\ndb" in body
    assert "auto-generated from incident **INC-7**" in body
    assert tracker.tickets["FAKE-1"].labels == {"post-incident", "incident:INC-7", "team-payments", "pir"}
    assert tracker.config_comments == [False, False]
    again = RecordingTracker()
    file_items(parse_filing(text(document())), again, None, dry_run=False, now=NOW)
    assert again.config_comments == [True, True]  # by default the config is also posted as a comment


def test_with_a_signing_key_each_filed_config_carries_its_signature() -> None:
    key = b"k" * 32
    tracker = FakeTracker()
    parsed = parse_filing(text(document()))
    file_items(parsed, tracker, None, dry_run=False, now=NOW, signing_key=key)
    assert [w[:2] for w in tracker.writes] == [
        ("FAKE-1", "create"), ("FAKE-1", "edit_body"), ("FAKE-2", "create"), ("FAKE-2", "edit_body")
    ]  # fmt: skip  # created, then signed for the key the tracker gave it
    for ticket_key, spec in zip(("FAKE-1", "FAKE-2"), parsed.items, strict=True):
        body = tracker.tickets[ticket_key].body
        filed = find_config(body)
        assert filed is not None and filed == spec.verification
        fields = canonical(spec.verification)
        assert filed.signature == bound_config_signature(key, ticket_key, fields, bound_facts(body))
        assert signed_for(key, ticket_key, body, filed)
        assert not signed_for(key, "FAKE-9", body, filed)  # bound to its ticket
        assert filed.signature != config_signature(key, fields)  # not the earlier, unbound format
    unsigned = FakeTracker()
    file_items(parsed, unsigned, None, dry_run=False, now=NOW)
    filed = find_config(unsigned.tickets["FAKE-1"].body)
    assert filed is not None and filed.signature is None


def test_each_created_ticket_is_logged_with_its_item_and_fingerprint() -> None:
    tracker = FakeTracker()
    with capture_logs() as logs:
        report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW)
    created = [entry for entry in logs if entry["event"] == "filing.created"]
    assert created == [
        {
            "event": "filing.created",
            "log_level": "info",
            "ticket": key,
            "item": item.number,
            "fingerprint": item.fingerprint,
        }
        for key, item in zip(("FAKE-1", "FAKE-2"), report.items, strict=True)
    ]


def test_a_failed_lookup_stops_the_filing_before_anything_is_created() -> None:
    tracker = RecordingTracker(lookup_error=TrackerError("HTTP 503", ticket="search"))
    report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW)
    assert report.error == 'item 1 ("Add connection pooling"): looking for an earlier filing failed: search: HTTP 503'
    assert report.exit_code == 1 and tracker.writes == [] and [i.status for i in report.items] == ["not filed"] * 2


def test_a_failed_create_names_the_item_and_keeps_what_was_created() -> None:
    tracker = FakeTracker()
    parsed = parse_filing(text(document()))
    file_items(parse_filing(text(document(items=[document()["items"][0]]))), tracker, None, dry_run=False, now=NOW)
    tracker.fail_on.add("create")
    report = file_items(parsed, tracker, None, dry_run=False, now=NOW)
    assert report.error == 'item 2 ("Cap retries"): Cap retries: create failed with HTTP 500'
    assert [(i.status, i.key, i.url) for i in report.items] == [
        ("already filed", "FAKE-1", "https://fake/FAKE-1"),
        ("not filed", None, None),
    ]


def test_the_report_lists_each_items_fields_as_planned_now() -> None:
    report = file_items(parse_filing(text(document())), FakeTracker(), None, dry_run=False, now=NOW)
    first, second = as_json(report)["items"]
    assert first == {
        "number": 1,
        "title": "Add connection pooling",
        "status": "created",
        "key": "FAKE-1",
        "url": "https://fake/FAKE-1",
        "fingerprint": report.items[0].fingerprint,
        "priority": "P1",
        "assignee": "alice",
        "labels": ["team-payments"],
        "condition": "< 250ms p99",
        "query": LATENCY_QUERY,
        "squatted": [],
        "due": None,
        "fields": {},
        "sub_issue_of": None,
    }
    assert (second["number"], second["assignee"], second["labels"], second["query"]) == (
        2,
        None,
        [],
        "avg_over_time(up[48h])",
    )
    assert as_json(report)["context"] == {
        "alert_name": "CheckoutLatencyHigh",
        "metric_name": "http_server_request_duration_seconds",
        "threshold_value": 0.5,
        "actual_value": 1.84,
        "service_name": "checkout",
        "environment": "production",
        "triggered_at": "2026-11-20T09:41:00+00:00",
        "sample_trace_ids": [],
        "related_metrics": {},
    }


# -- the report as text and as JSON --------------------------------------------------------------------------------
def _report(*, dry_run: bool) -> FilingReport:
    items = [
        FiledItem(1, "Add pooling", "fp1", "created", "OPS-1234", "https://t/OPS-1234", "P1", "alice", ("a", "b")),
        FiledItem(2, "Cap retries", "fp2", "already filed", "OPS-7", "https://t/OPS-7", "P2"),
        FiledItem(3, "Alert on errors", "fp3", "not filed", priority="P3"),
        FiledItem(4, "Add pooling too", "fp4", "created", "OPS-1235", None, "P1"),
    ]
    return FilingReport("INC-7", dry_run, items, {"alert_name": "A"}, ["a note"], "item 3: HTTP 500")


def test_the_text_report_aligns_keys_and_counts_each_status() -> None:
    assert as_text(_report(dry_run=False)).splitlines() == [
        "CREATED        OPS-1234  Add pooling  https://t/OPS-1234",
        "ALREADY FILED  OPS-7     Cap retries  https://t/OPS-7",
        "NOT FILED      -         Alert on errors",
        "CREATED        OPS-1235  Add pooling too",
        "note: a note",
        "INC-7: 4 action items: 2 created, 1 already filed, 1 not filed",
    ]


def test_a_dry_run_shows_what_each_ticket_would_carry() -> None:
    report = FilingReport(
        "INC-7",
        True,
        [
            FiledItem(1, "Add pooling", "fp1", "would create", None, None, "P1", "alice", ("a", "b"), "< 1", "q1"),
            FiledItem(2, "Cap retries", "fp2", "would create", None, None, "P2", None, (), ">= 1", "q2"),
        ],
    )
    assert as_text(report) == "\n".join(
        [
            "WOULD CREATE   -  Add pooling",
            "                  P1, assignee alice; labels a, b",
            "                  verify < 1: q1",
            "WOULD CREATE   -  Cap retries",
            "                  P2, unassigned",
            "                  verify >= 1: q2",
            "INC-7: 2 action items: 2 would create (dry run: nothing written)",
        ]
    )


def test_the_json_report_names_every_field() -> None:
    assert as_json(_report(dry_run=False)) == {
        "incident": "INC-7",
        "dry_run": False,
        "items": [
            {
                "number": 1,
                "title": "Add pooling",
                "status": "created",
                "key": "OPS-1234",
                "url": "https://t/OPS-1234",
                "fingerprint": "fp1",
                "priority": "P1",
                "assignee": "alice",
                "labels": ["a", "b"],
                "condition": "",
                "query": None,
                "squatted": [],
                "due": None,
                "fields": {},
                "sub_issue_of": None,
            },
            {
                "number": 2,
                "title": "Cap retries",
                "status": "already filed",
                "key": "OPS-7",
                "url": "https://t/OPS-7",
                "fingerprint": "fp2",
                "priority": "P2",
                "assignee": None,
                "labels": [],
                "condition": "",
                "query": None,
                "squatted": [],
                "due": None,
                "fields": {},
                "sub_issue_of": None,
            },
            {
                "number": 3,
                "title": "Alert on errors",
                "status": "not filed",
                "key": None,
                "url": None,
                "fingerprint": "fp3",
                "priority": "P3",
                "assignee": None,
                "labels": [],
                "condition": "",
                "query": None,
                "squatted": [],
                "due": None,
                "fields": {},
                "sub_issue_of": None,
            },
            {
                "number": 4,
                "title": "Add pooling too",
                "status": "created",
                "key": "OPS-1235",
                "url": None,
                "fingerprint": "fp4",
                "priority": "P1",
                "assignee": None,
                "labels": [],
                "condition": "",
                "query": None,
                "squatted": [],
                "due": None,
                "fields": {},
                "sub_issue_of": None,
            },
        ],
        "counts": {"created": 2, "already filed": 1, "not filed": 1},
        "context": {"alert_name": "A"},
        "notes": ["a note"],
        "error": "item 3: HTTP 500",
    }


def test_the_report_names_the_incident_and_each_tickets_fingerprint() -> None:
    tracker = FakeTracker()
    report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW)
    assert as_json(report)["incident"] == "INC-7"
    assert as_text(report).splitlines()[-1] == "INC-7: 2 action items: 2 created"
    assert [item.fingerprint for item in report.items] == [
        fingerprint_in(tracker.tickets[key].body) for key in ("FAKE-1", "FAKE-2")
    ]
