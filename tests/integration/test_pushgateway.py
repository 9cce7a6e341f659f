"""The run's metrics, pushed to a real Pushgateway and read back from its /metrics page."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
import requests
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from tests.adapters.test_guarded_http import Trickler
from tests.integration.backends import Pushgateway
from verifier.adapters.pushgateway import Pushgateway as PushgatewaySink
from verifier.adapters.pushgateway import push_run_metrics, push_service_metrics
from verifier.errors import VerifierError
from verifier.services.push import push_metrics
from verifier.services.run import RunReport, TicketResult


def _scrape(gateway: Pushgateway, job: str) -> dict[str, float]:
    text = requests.get(f"{gateway.url}/metrics", timeout=5).text
    values = {}
    for line in text.splitlines():
        match = re.match(r"^(action_item_verifier_\w+)\{([^}]*)\} (\S+)$", line)
        if match and f'job="{job}"' in match.group(2):
            verdict = re.search(r'verdict="(\w+)"', match.group(2))
            key = match.group(1) + (f":{verdict.group(1)}" if verdict else "")
            values[key] = float(match.group(3))
    return values


def test_a_successful_run_then_a_failed_one_keeps_the_last_success_time(pushgateway: Pushgateway) -> None:
    push_run_metrics(
        pushgateway.url,
        "verifier-test",
        counts={"VERIFIED": 3, "FAILED": 1},
        errors=0,
        writes=7,
        duration_seconds=1.5,
        finished_at=1000.0,
        succeeded=True,
        dry_run=False,
    )
    first = _scrape(pushgateway, "verifier-test")
    assert first["action_item_verifier_tickets:VERIFIED"] == 3
    assert first["action_item_verifier_tickets:FAILED"] == 1
    assert first["action_item_verifier_tickets:ERROR"] == 0
    assert first["action_item_verifier_writes"] == 7
    assert first["action_item_verifier_last_success_timestamp_seconds"] == 1000.0

    push_run_metrics(
        pushgateway.url,
        "verifier-test",
        counts={"ERROR": 2},
        errors=2,
        writes=0,
        duration_seconds=0.5,
        finished_at=2000.0,
        succeeded=False,
        dry_run=False,
    )
    second = _scrape(pushgateway, "verifier-test")
    assert second["action_item_verifier_tickets:ERROR"] == 2
    assert second["action_item_verifier_last_run_timestamp_seconds"] == 2000.0
    assert second["action_item_verifier_last_success_timestamp_seconds"] == 1000.0


def test_an_unreachable_pushgateway_is_a_verifier_error() -> None:
    with pytest.raises(VerifierError, match=r"pushing metrics to http://127\.0\.0\.1:9 failed"):
        push_run_metrics(
            "http://127.0.0.1:9",
            "j",
            counts={},
            errors=0,
            writes=0,
            duration_seconds=0,
            finished_at=0,
            succeeded=True,
            dry_run=False,
            timeout_seconds=2,
        )


def _series(gateway: Pushgateway, job: str, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every series of `metric` pushed under `job`: its labels (job and instance left out) -> value."""
    text = requests.get(f"{gateway.url}/metrics", timeout=5).text
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{metric}\{{([^}}]*)\}} (\S+)$", line)
        if match is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if labels.pop("job", None) == job:
            labels.pop("instance", None)
            found[tuple(sorted(labels.items()))] = float(match.group(2))
    return found


def _results(gateway: Pushgateway, job: str) -> dict[tuple[str, str], float]:
    series = _series(gateway, job, "action_item_verifier_results")
    assert all(dict(labels)["breakdown"] == "service" for labels in series)
    return {(dict(k)["service"], dict(k)["verdict"]): v for k, v in series.items() if v}


def test_service_figures_replace_the_last_run_s_and_leave_the_run_metrics_alone(pushgateway: Pushgateway) -> None:
    job = "verifier-services"
    push_run_metrics(
        pushgateway.url,
        job,
        counts={"FAILED": 2},
        errors=0,
        writes=1,
        duration_seconds=1,
        finished_at=500.0,
        succeeded=True,
        dry_run=False,
    )
    push_service_metrics(
        pushgateway.url,
        job,
        results={"checkout": {"VERIFIED": 2, "FAILED": 1}, "search": {"FAILED": 1}},
        overdue={"search": 3},
        dry_run=False,
    )
    assert _results(pushgateway, job) == {
        ("checkout", "VERIFIED"): 2,
        ("checkout", "FAILED"): 1,
        ("search", "FAILED"): 1,
    }
    every = _series(pushgateway, job, "action_item_verifier_results")
    assert len(every) == 2 * 8  # every verdict of each service (ELSEWHERE too), zeros included
    overdue = _series(pushgateway, job, "action_item_verifier_overdue")
    assert overdue == {(("breakdown", "service"), ("dry_run", "false"), ("service", "search")): 3}

    # The next run saw only checkout and did not list open tickets: search's series and the overdue ones go.
    push_service_metrics(pushgateway.url, job, results={"checkout": {"VERIFIED": 1}}, overdue=None, dry_run=False)
    assert _results(pushgateway, job) == {("checkout", "VERIFIED"): 1}
    assert _series(pushgateway, job, "action_item_verifier_overdue") == {}
    # A run with no tickets at all leaves no series behind.
    push_service_metrics(pushgateway.url, job, results={}, overdue={}, dry_run=False)
    assert _series(pushgateway, job, "action_item_verifier_results") == {}
    assert _scrape(pushgateway, job)["action_item_verifier_last_success_timestamp_seconds"] == 500.0
    assert _scrape(pushgateway, job)["action_item_verifier_tickets:FAILED"] == 2


def test_a_run_report_is_pushed_by_service(pushgateway: Pushgateway) -> None:
    report = RunReport(started=datetime.now(UTC), dry_run=False, reminders_checked=True)
    report.results += [
        TicketResult("a#1", "u", "VERIFIED", "", service="checkout"),
        TicketResult("a#2", "u", "FAILED", "", service="checkout"),
        TicketResult("a#3", "u", "FAILED", "", service=None),
    ]
    report.overdue += [
        TicketResult("a#4", "u", "OVERDUE", "", service="search"),
        TicketResult("a#5", "u", "ERROR", "reminder failed", service="search"),
    ]

    push_metrics(PushgatewaySink(pushgateway.url, "verifier-report"), report, finished_at=time.time())

    assert _results(pushgateway, "verifier-report") == {
        ("checkout", "VERIFIED"): 1,
        ("checkout", "FAILED"): 1,
        ("unknown", "FAILED"): 1,
    }
    overdue = _series(pushgateway, "verifier-report", "action_item_verifier_overdue")
    assert overdue == {(("breakdown", "service"), ("dry_run", "false"), ("service", "search")): 2}
    assert _scrape(pushgateway, "verifier-report")["action_item_verifier_tickets:FAILED"] == 2


def test_a_dry_run_pushes_every_series_marked_and_the_next_real_run_replaces_them(pushgateway: Pushgateway) -> None:
    job = "verifier-dry"
    figures: dict[str, Any] = {"errors": 0, "writes": 0, "duration_seconds": 1, "succeeded": True}
    push_run_metrics(pushgateway.url, job, counts={"FAILED": 1}, finished_at=100.0, dry_run=True, **figures)
    push_service_metrics(pushgateway.url, job, results={"checkout": {"FAILED": 1}}, overdue={}, dry_run=True)
    for metric in ("last_run_timestamp_seconds", "last_success_timestamp_seconds", "writes", "run_errors"):
        assert _series(pushgateway, job, f"action_item_verifier_{metric}") == {(("dry_run", "true"),): ANY}, metric
    tickets = _series(pushgateway, job, "action_item_verifier_tickets")
    assert len(tickets) == 8 and {dict(k)["dry_run"] for k in tickets} == {"true"}
    assert tickets[(("dry_run", "true"), ("verdict", "FAILED"))] == 1
    results = _series(pushgateway, job, "action_item_verifier_results")
    assert results[(("breakdown", "service"), ("dry_run", "true"), ("service", "checkout"), ("verdict", "FAILED"))] == 1

    # The next run writes, and fails: its series replace the dry ones; the last success stays the dry run's.
    figures["succeeded"] = False
    push_run_metrics(pushgateway.url, job, counts={"FAILED": 1}, finished_at=200.0, dry_run=False, **figures)
    push_service_metrics(pushgateway.url, job, results={"checkout": {"FAILED": 1}}, overdue={}, dry_run=False)
    assert _series(pushgateway, job, "action_item_verifier_last_run_timestamp_seconds") == {
        (("dry_run", "false"),): 200
    }
    assert _series(pushgateway, job, "action_item_verifier_last_success_timestamp_seconds") == {
        (("dry_run", "true"),): 100
    }
    assert {dict(k)["dry_run"] for k in _series(pushgateway, job, "action_item_verifier_tickets")} == {"false"}
    assert {dict(k)["dry_run"] for k in _series(pushgateway, job, "action_item_verifier_results")} == {"false"}


def test_each_test_pushgateway_keeps_its_series_to_itself(tmp_path: Path) -> None:
    """A Pushgateway of one test run persists to its own file: a later one starts empty (with Debian's shared
    default file, the later one started with the earlier one's series)."""
    with Pushgateway(tmp_path / "first") as first:
        push_service_metrics(first.url, "verifier-leak", results={"x": {"FAILED": 1}}, overdue=None, dry_run=False)
        assert _series(first, "verifier-leak", "action_item_verifier_results")
    assert first.persistence.is_file()  # written when it stopped
    with Pushgateway(tmp_path / "second") as second:
        assert _series(second, "verifier-leak", "action_item_verifier_results") == {}
    with first:  # started again on its own file: its series are back
        assert _series(first, "verifier-leak", "action_item_verifier_results")


# -- what a push says, and how it fails -----------------------------------------------------------------------------

HELP = {
    "action_item_verifier_tickets": "Tickets seen by the last run, by verdict.",
    "action_item_verifier_run_errors": "Tickets or listings that hit an error.",
    "action_item_verifier_writes": "Tracker writes made by the last run (0 in a dry run).",
    "action_item_verifier_run_duration_seconds": "Duration of the last run.",
    "action_item_verifier_last_run_timestamp_seconds": "When the last run ended.",
    "action_item_verifier_last_success_timestamp_seconds": "When the last run that handled every ticket ended.",
    "action_item_verifier_results": (
        "Tickets judged by the last run, by the service their incident names and by verdict."
    ),
    "action_item_verifier_overdue": (
        "Open action items past the SLA of their priority, by service, as the last run found them."
    ),
}


def test_every_pushed_metric_is_a_gauge_with_its_help_text(pushgateway: Pushgateway) -> None:
    """The HELP line is what a dashboard author reads in the metrics browser: each one exact."""
    push_run_metrics(
        pushgateway.url, "verifier-help", counts={}, errors=0, writes=0, duration_seconds=1, finished_at=1,
        succeeded=True, dry_run=False,
    )  # fmt: skip
    push_service_metrics(pushgateway.url, "verifier-help", results={"s": {}}, overdue={"s": 1}, dry_run=False)
    text = requests.get(f"{pushgateway.url}/metrics", timeout=5).text
    helps = dict(re.findall(r"(?m)^# HELP (action_item_verifier_\w+) (.*)$", text))
    types = dict(re.findall(r"(?m)^# TYPE (action_item_verifier_\w+) (\w+)$", text))
    assert helps == HELP
    assert types == dict.fromkeys(HELP, "gauge")


def test_the_sink_pushes_the_run_and_its_services_marked_as_the_run_was(pushgateway: Pushgateway) -> None:
    sink = PushgatewaySink(pushgateway.url, "verifier-sink")
    sink.push_run(
        counts={"FAILED": 2}, errors=1, writes=3, duration_seconds=2.5, finished_at=300.0, succeeded=True, dry_run=True
    )
    sink.push_services(results={"checkout": {"FAILED": 2}}, overdue={"search": 4}, dry_run=True)
    dry = (("dry_run", "true"),)
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_run_errors") == {dry: 1}
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_writes") == {dry: 3}
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_run_duration_seconds") == {dry: 2.5}
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_last_run_timestamp_seconds") == {dry: 300}
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_last_success_timestamp_seconds") == {dry: 300}
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_tickets")[(*dry, ("verdict", "FAILED"))] == 2
    assert _series(pushgateway, "verifier-sink", "action_item_verifier_overdue") == {
        (("breakdown", "service"), *dry, ("service", "search")): 4
    }
    assert _results(pushgateway, "verifier-sink") == {("checkout", "FAILED"): 2}
    results = _series(pushgateway, "verifier-sink", "action_item_verifier_results")
    assert {dict(k)["dry_run"] for k in results} == {"true"}


def test_a_push_the_pushgateway_refuses_is_an_error_with_its_status_and_the_start_of_its_text(tmp_path: Path) -> None:
    """A metric of the same name but another type in another group: the real Pushgateway refuses with HTTP 400 and
    a long text, of which the error keeps the first 200 characters. (A Pushgateway of its own: the shared one holds
    these metrics as gauges already.)"""
    conflict = "# TYPE action_item_verifier_tickets counter\naction_item_verifier_tickets 1\n"
    conflict += "# TYPE action_item_verifier_results counter\naction_item_verifier_results 1\n"
    figures: dict[str, Any] = {"errors": 0, "writes": 0, "duration_seconds": 1, "finished_at": 1, "succeeded": True}
    with Pushgateway(tmp_path) as gateway:
        assert requests.put(f"{gateway.url}/metrics/job/other", data=conflict, timeout=5).status_code == 200
        prefix = f"pushing metrics to {gateway.url} failed: HTTP 400 Bad Request: "
        pushes = [
            lambda: push_run_metrics(gateway.url, "verifier", counts={}, dry_run=False, **figures),
            lambda: push_service_metrics(gateway.url, "verifier", results={"s": {}}, overdue=None, dry_run=False),
        ]
        for push in pushes:
            with pytest.raises(VerifierError) as raised:
                push()
            message = str(raised.value)
            assert message.startswith(prefix + "pushed metrics are invalid or inconsistent with existing metrics")
            assert len(message) == len(prefix) + 200, message


class _Answer:
    """A loopback server answering every request with `body` at once (status 200), counting what it received."""

    def __init__(self, body: bytes) -> None:
        owner = self
        self.received: list[tuple[str, str, bytes]] = []
        self.content_types: list[str | None] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.received.append((self.command, self.path, data))
                owner.content_types.append(self.headers.get("Content-Type"))
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = _serve

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def test_the_pushgateways_answer_is_capped_at_one_mebibyte() -> None:
    figures: dict[str, Any] = {"errors": 0, "writes": 0, "duration_seconds": 1, "finished_at": 1, "succeeded": True}
    exact = _Answer(b"x" * 1024 * 1024)
    try:  # exactly the cap: read, and the push went through
        push_run_metrics(exact.url, "j", counts={}, dry_run=False, timeout_seconds=5, **figures)
        assert [(method, path) for method, path, _ in exact.received] == [("POST", "/metrics/job/j")]
        # The body named as the text exposition format it is (the push protocol tells text from protobuf by it).
        assert exact.content_types == [CONTENT_TYPE_PLAIN_0_0_4]
        assert b"action_item_verifier_writes{" in exact.received[0][2]
    finally:
        exact.close()
    over = _Answer(b"x" * (1024 * 1024 + 1))
    try:
        with pytest.raises(VerifierError) as raised:
            push_service_metrics(over.url, "j", results={}, overdue=None, dry_run=False, timeout_seconds=5)
        assert str(raised.value) == (
            f"pushing metrics to {over.url} failed: the Pushgateway's answer is larger than the cap of 1 MiB"
        )
        assert [(method, path) for method, path, _ in over.received] == [("PUT", "/metrics/job/j/breakdown/service")]
    finally:
        over.close()


def test_the_service_push_has_a_total_deadline_and_names_it() -> None:
    trickler = Trickler()  # the answer's 62 bytes, one every 0.2 s
    try:
        started = time.monotonic()
        with pytest.raises(VerifierError) as raised:
            push_service_metrics(trickler.url, "j", results={}, overdue=None, dry_run=False, timeout_seconds=0.6)
        assert 0.5 < time.monotonic() - started < 2.5
        assert str(raised.value) == (
            f"pushing metrics to {trickler.url} failed: the Pushgateway's answer did not arrive whole within 0.6s"
        )
    finally:
        trickler.close()
