"""What a run's tickets ask the backend alike is asked once (verifier/services/shared.py), and a measurement that
found no data sends no query for its sparkline (verifier/services/evidence.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.fakes import FakeMetrics
from tests.unit.run_tickets import NOW, done, tracker_with
from verifier.domain.evidence import GraphLinks
from verifier.domain.measurement import Measurement
from verifier.errors import BackendUnavailable
from verifier.services.run import RunOptions, run
from verifier.services.shared import RANGES, Shared

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
OTEL_BLOCK = "```yaml\n# action-item-verifier: v1\nmetric: http.server.request.duration\ncondition: < 100ms p99\n```"


@dataclass
class Counting(FakeMetrics):
    """A catalog that counts each lookup it answers; `gate` holds the name lookups until set."""

    lookups: list[str] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    fail_names: int = 0

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        self.lookups.append(f"names {selector}")
        self.gate.wait(5)
        if self.fail_names:
            self.fail_names -= 1
            raise BackendUnavailable("label values: timed out", query=selector)
        return frozenset({"http.server.request.duration_bucket", "http.server.request.duration_count"})

    def metric_type(self, name: str) -> str | None:
        self.lookups.append(f"type {name}")
        return None

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        self.lookups.append(f"labels {selector}")
        return frozenset()

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        self.lookups.append(f"values {label} {selector}")
        return frozenset()

    def metric_unit(self, name: str) -> str | None:
        self.lookups.append(f"unit {name}")
        return None


def test_tickets_on_the_same_metric_and_window_share_one_name_lookup() -> None:
    backend = Counting()
    backend.gate.set()
    # Three tickets resolved at the same moment: the same metric, labels and window.
    tracker = tracker_with(*(done(key, 3, body=OTEL_BLOCK) for key in ("A", "B", "C")))
    run(tracker, backend, RunOptions(concurrency=3), NOW)
    # Each asked once for the three: the name (which says it is a histogram), the label names, the unit.
    assert [lookup.split()[0] for lookup in backend.lookups] == ["names", "labels", "unit"]


def test_a_different_window_is_looked_up_again() -> None:
    backend = Counting()
    backend.gate.set()
    tracker = tracker_with(done("A", 3, body=OTEL_BLOCK), done("B", 4, body=OTEL_BLOCK))
    run(tracker, backend, RunOptions(concurrency=1), NOW)
    assert len([x for x in backend.lookups if x.startswith("names")]) == 2


def test_callers_asking_the_same_lookup_at_once_wait_for_the_one_request() -> None:
    backend = Counting()
    shared = Shared(backend)
    answers: list[frozenset[str] | None] = []
    threads = [threading.Thread(target=lambda: answers.append(shared.metric_names("x", START, END))) for _ in range(8)]
    for thread in threads:
        thread.start()
    backend.gate.set()
    for thread in threads:
        thread.join(5)
    assert backend.lookups == ["names x"]
    assert len(answers) == 8 and len(set(answers)) == 1


def test_a_failed_lookup_is_not_kept() -> None:
    backend = Counting(fail_names=1)
    backend.gate.set()
    shared = Shared(backend)
    with pytest.raises(BackendUnavailable):
        shared.metric_names("x", START, END)
    assert shared.metric_names("x", START, END) is not None
    assert backend.lookups == ["names x", "names x"]


def test_range_answers_are_shared_per_query_window_and_step_and_bounded() -> None:
    backend = FakeMetrics({"q": Measurement(())})
    shared = Shared(backend)
    shared.range("q", START, END, 3600)
    shared.range("q", START, END, 3600)
    shared.range("q", START, END, 60)
    shared.range("q", START, END + timedelta(hours=1), 3600)
    assert len(backend.asked) == 3
    for hour in range(RANGES + 1):  # the first is pushed out by as many newer ones
        shared.range("q", START, END + timedelta(hours=2 + hour), 3600)
    shared.range("q", START, END, 3600)
    assert len(backend.asked) == 3 + RANGES + 1 + 1


def test_a_backend_that_cannot_list_names_is_not_asked_again_for_another_window() -> None:
    @dataclass
    class Unlisted(Counting):
        def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
            self.lookups.append(f"names {selector}")
            return None  # as the adapter answers a 404 on label values

    backend = Unlisted()
    shared = Shared(backend)
    assert shared.metric_names("x", START, END) is None
    assert shared.metric_names("y", START, END + timedelta(hours=1)) is None
    assert backend.lookups == ["names x"]


def test_a_backend_without_a_catalog_is_queried_as_planned() -> None:
    shared = Shared(FakeMetrics())
    assert shared.metric_names("x", START, END) is None and shared.metric_type("x") is None


def test_a_measurement_without_data_sends_no_query_for_its_sparkline() -> None:
    metrics = FakeMetrics()  # every query answers no series
    tracker = tracker_with(done("A", 3))
    report = run(tracker, metrics, RunOptions(links=GraphLinks("https://prometheus.example.com")), NOW)
    assert report.results[0].outcome == "INCONCLUSIVE"
    # The judged query and its events count alone: no range query for a picture of nothing.
    assert [query for query, _ in metrics.asked] == [
        report.results[0].query,
        "sum(increase(latency_seconds_count[48h]))",
    ]
