"""Evidence links in their exact documented form: what a reader clicks opens the judged window, wherever the
tool runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from verifier.domain.evidence import GraphLinks, grafana_link, graph_link, prometheus_link

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_a_prometheus_link_is_percent_encoded_in_the_documented_form() -> None:
    # `%20`, not `+`: a `+` is a space only to form decoders, and PromQL has `+` of its own.
    assert prometheus_link("http://p:9090/", "rate(x[5m]) > 0", START, END) == (
        "http://p:9090/graph?g0.expr=rate%28x%5B5m%5D%29%20%3E%200&g0.tab=0&g0.range_input=1h"
        "&g0.end_input=2026-11-01%2013%3A00%3A00"
    )


def test_a_grafana_link_carries_compact_percent_encoded_panes() -> None:
    link = grafana_link("http://g/", "uid", "up == 1", START, END)
    assert link == (
        "http://g/explore?schemaVersion=1&panes=%7B%22verdict%22%3A%7B%22datasource%22%3A%22uid%22%2C%22queries%22"
        "%3A%5B%7B%22refId%22%3A%22A%22%2C%22expr%22%3A%22up%20%3D%3D%201%22%2C%22datasource%22%3A%7B%22type%22"
        "%3A%22prometheus%22%2C%22uid%22%3A%22uid%22%7D%7D%5D%2C%22range%22%3A%7B%22from%22%3A%221793534400000%22"
        "%2C%22to%22%3A%221793538000000%22%7D%7D%7D"
    )


def test_a_link_keeps_the_ui_address_as_given_but_its_trailing_slashes() -> None:
    _, link = graph_link(GraphLinks("https://ops.example.com/PROMETHEUX//"), "up", START, END)
    assert link.startswith("https://ops.example.com/PROMETHEUX/graph?")


def test_the_window_end_is_utc_on_a_host_in_another_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        link = prometheus_link("http://p:9090", "up", START, END)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert link.endswith("&g0.end_input=2026-11-01%2013%3A00%3A00")
