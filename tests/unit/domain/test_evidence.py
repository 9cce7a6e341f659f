"""Graph links and sparklines: pure functions, checked by decoding what they build.

Evidence links in their exact documented form: what a reader clicks opens the judged window, wherever the
tool runs.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import RESOLVED
from verifier.domain.evidence import Evidence, GraphLinks, grafana_link, graph_link, prometheus_link, render
from verifier.domain.render import Marker, parse_marker, render_result
from verifier.domain.sparkline import BLOCKS, coarse_step, downsample, draw, worst_for
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Verdict
from verifier.errors import SettingsError
from verifier.settings import MetricsSettings, load

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=48)
QUERY = 'histogram_quantile(0.99, sum by (le) (increase(x_bucket{route="/pay|x]&#+ é"}[48h])))'


def _params(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}


def test_prometheus_link_opens_the_query_over_the_window_in_the_form_both_uis_read() -> None:
    label, link = graph_link(GraphLinks("https://prom.example.com/prefix/"), QUERY, START, END)
    assert label == "Prometheus"
    assert link.startswith("https://prom.example.com/prefix/graph?")
    assert _params(link) == {
        "g0.expr": QUERY,
        "g0.tab": "0",
        "g0.range_input": "48h",
        "g0.end_input": "2026-11-03 12:00:00",
    }


def test_link_end_is_utc_whatever_the_zone() -> None:
    east = END.astimezone(__import__("datetime").timezone(timedelta(hours=5)))
    _, link = graph_link(GraphLinks("http://p:9090"), "up", START, east)
    assert _params(link)["g0.end_input"] == "2026-11-03 12:00:00"


def test_grafana_explore_link_when_url_and_datasource_are_set() -> None:
    links = GraphLinks("http://p:9090", "https://grafana.example.com", "P1809F7CD0C75ACF3")
    label, link = graph_link(links, QUERY, START, END)
    assert label == "Grafana Explore"
    assert link.startswith("https://grafana.example.com/explore?")
    params = _params(link)
    assert params["schemaVersion"] == "1"
    (pane,) = json.loads(params["panes"]).values()
    assert pane["datasource"] == "P1809F7CD0C75ACF3"
    assert pane["queries"] == [
        {"refId": "A", "expr": QUERY, "datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}}
    ]
    assert pane["range"] == {"from": str(int(START.timestamp() * 1000)), "to": str(int(END.timestamp() * 1000))}


def test_grafana_url_without_a_datasource_keeps_the_prometheus_link() -> None:
    label, _ = graph_link(GraphLinks("http://p:9090", "https://grafana.example.com"), "up", START, END)
    assert label == "Prometheus"


@given(st.text(min_size=1, max_size=300))
def test_any_query_round_trips_and_cannot_break_out_of_the_link(query: str) -> None:
    for links in (GraphLinks("http://p:9090"), GraphLinks("http://p", "http://g", "uid")):
        _, link = graph_link(links, query, START, END)
        assert not re.search(r"[\s()\[\]|<>`\"']", link), link
        params = _params(link)
        got = params.get("g0.expr") or json.loads(params["panes"])["verdict"]["queries"][0]["expr"]
        assert got == query


def _verdict(evidence: Evidence | None) -> Verdict:
    return Verdict(Outcome.FAILED, "the condition broke", query=QUERY, start=START, end=END, evidence=evidence)


def test_result_comments_show_the_link_and_the_sparkline() -> None:
    _, link = graph_link(GraphLinks("http://p:9090"), QUERY, START, END)
    line = draw([0.0, 0.5, math.nan, 1.0], threshold=0.25, op="<", holds=lambda v: v < 0.25, unit="seconds")
    evidence = Evidence(link, "Prometheus", line)
    markdown = render_result(_verdict(evidence), RESOLVED, Flavour.MARKDOWN)
    assert f"[Graph of the window in Prometheus]({link})" in markdown
    assert "Window: `▁▅ █ 0 to 1 seconds; threshold < 0.25 seconds lies at ▃; 2 of 3 points break it`" in markdown
    jira = render_result(_verdict(evidence), RESOLVED, Flavour.JIRA_WIKI)
    assert f"[Graph of the window in Prometheus|{link}]" in jira
    assert "Window: ▁▅ █ 0 to 1 seconds" in jira


def test_a_missing_sparkline_says_why_and_no_evidence_renders_nothing() -> None:
    assert render(Evidence("http://x/graph", "Prometheus", None, "no data in the window"), Flavour.MARKDOWN) == (
        "[Graph of the window in Prometheus](http://x/graph)\nNo sparkline: no data in the window"
    )
    assert render(None, Flavour.MARKDOWN) == ""
    assert "Graph" not in render_result(_verdict(None), RESOLVED, Flavour.MARKDOWN)


# ------------------------------------------------------------------------------------------ sparklines


def test_sparkline_scale_gaps_and_threshold_place() -> None:
    line = draw([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, math.nan], threshold=2.5, op="<")
    assert line is not None
    assert line.line == "▁▂▃▄▅▆▇█ "
    assert (line.low, line.high, line.points) == (0.0, 7.0, 8)
    assert line.threshold_place() == "at ▃"
    assert draw([1.0, 2.0], threshold=5, op="<") is not None
    assert draw([1.0, 2.0], threshold=5, op="<").threshold_place() == "above the whole line"  # type: ignore[union-attr]
    assert draw([1.0, 2.0], threshold=0, op=">").threshold_place() == "below the whole line"  # type: ignore[union-attr]


def test_flat_lines_sit_on_the_side_of_the_threshold_they_are() -> None:
    assert draw([0.05] * 3, threshold=0.25, op="<").line == "▁▁▁"  # type: ignore[union-attr]
    assert draw([0.95] * 3, threshold=0.3, op="<").line == "███"  # type: ignore[union-attr]
    assert draw([1.0] * 2).line == "▄▄"  # type: ignore[union-attr]


def test_no_number_no_sparkline_and_infinities_sit_at_the_ends() -> None:
    assert draw([]) is None
    assert draw([math.nan, math.nan]) is None
    line = draw([math.inf, 1.0, 2.0, -math.inf])
    assert line is not None
    assert line.line == "█▁█▁"


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=60), st.sampled_from(["<", ">", "==", None]))
def test_draw_is_total(values: list[float], op: str | None) -> None:
    line = draw(values, threshold=0.5 if op else None, op=op, holds=lambda v: v < 0.5)
    if line is None:
        assert all(math.isnan(v) for v in values)
        return
    assert len(line.line) == len(values)
    assert set(line.line) <= set(BLOCKS) | {" "}
    assert line.describe()


@given(st.integers(min_value=1, max_value=366 * 86400))
def test_coarse_step_stays_inside_the_window_in_at_most_48_points(seconds: int) -> None:
    end = START + timedelta(seconds=seconds)
    first, step = coarse_step(START, end)
    points = int((end - first).total_seconds()) // step + 1
    assert 1 <= points <= 48
    assert first - timedelta(seconds=step) >= START or points == 1
    assert first + timedelta(seconds=step * (points - 1)) == end


def test_downsample_keeps_the_worst_step_of_each_bucket() -> None:
    points = [(float(t), v) for t, v in enumerate([1, 9, 2, 2, math.nan, math.nan, 3, 1])]
    worst = downsample(points, 0, 7, worst_for("<"), 4)
    assert worst[:2] == [9, 2]
    assert math.isnan(worst[2])
    assert worst[3] == 3
    assert downsample(points, 0, 7, worst_for(">"), 4)[3] == 1
    assert math.isnan(downsample(points, 0, 7, worst_for("<"), 8)[4])
    assert downsample([], 0, 0, worst_for("<"), 1)[0] != 0


# ------------------------------------------------------------------------------------------ settings


def test_graph_settings_default_to_the_prometheus_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.bootstrap import graph_links

    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "http://prometheus:9090")
    assert graph_links(load(MetricsSettings)) == GraphLinks("http://prometheus:9090")
    monkeypatch.setenv("VERIFIER_GRAPH_URL", "https://prometheus.example.com/")
    monkeypatch.setenv("VERIFIER_GRAFANA_URL", "https://grafana.example.com")
    monkeypatch.setenv("VERIFIER_GRAFANA_DATASOURCE_UID", "prom-1")
    settings = load(MetricsSettings)
    assert graph_links(settings) == GraphLinks(
        "https://prometheus.example.com", "https://grafana.example.com", "prom-1"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VERIFIER_GRAPH_URL", "https://user:secret@prom.example.com"),
        ("VERIFIER_GRAPH_URL", "https://prom.example.com/)|x"),
        ("VERIFIER_GRAFANA_URL", "https://grafana.example.com/?orgId=1"),
        ("VERIFIER_GRAFANA_DATASOURCE_UID", "a uid with spaces"),
    ],
)
def test_bad_link_settings_name_the_variable_and_hide_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "http://prometheus:9090")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load(MetricsSettings)
    assert name in str(raised.value)
    assert "secret" not in str(raised.value)


@given(st.text(max_size=200), st.sampled_from(list(Flavour)))
def test_a_comment_with_evidence_keeps_one_link_and_its_marker(query: str, flavour: Flavour) -> None:
    _, link = graph_link(GraphLinks("http://p:9090"), query or "up", START, END)
    verdict = Verdict(Outcome.VERIFIED, "held", query=query or "up", start=START, end=END)
    text = render_result(
        Verdict(**{**verdict.__dict__, "evidence": Evidence(link, "Prometheus", draw([1.0, 2.0]))}), RESOLVED, flavour
    )
    opener = (
        "[Graph of the window in Prometheus|"
        if flavour is Flavour.JIRA_WIKI
        else "[Graph of the window in Prometheus]("
    )
    assert text.count(opener + link) == 1
    assert parse_marker(text) == Marker(Outcome.VERIFIED, RESOLVED, early=False)


def test_extreme_values_do_not_overflow_the_scale() -> None:
    line = draw([1.7976931348623157e308, -9.9792015476736e291], threshold=0.5, op="<", holds=lambda v: v < 0.5)
    assert line is not None
    assert line.line == "█▁"


START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
END_BEHAVIOUR = START + timedelta(hours=1)


def test_a_prometheus_link_is_percent_encoded_in_the_documented_form() -> None:
    # `%20`, not `+`: a `+` is a space only to form decoders, and PromQL has `+` of its own.
    assert prometheus_link("http://p:9090/", "rate(x[5m]) > 0", START, END_BEHAVIOUR) == (
        "http://p:9090/graph?g0.expr=rate%28x%5B5m%5D%29%20%3E%200&g0.tab=0&g0.range_input=1h"
        "&g0.end_input=2026-11-01%2013%3A00%3A00"
    )


def test_a_grafana_link_carries_compact_percent_encoded_panes() -> None:
    link = grafana_link("http://g/", "uid", "up == 1", START, END_BEHAVIOUR)
    assert link == (
        "http://g/explore?schemaVersion=1&panes=%7B%22verdict%22%3A%7B%22datasource%22%3A%22uid%22%2C%22queries%22"
        "%3A%5B%7B%22refId%22%3A%22A%22%2C%22expr%22%3A%22up%20%3D%3D%201%22%2C%22datasource%22%3A%7B%22type%22"
        "%3A%22prometheus%22%2C%22uid%22%3A%22uid%22%7D%7D%5D%2C%22range%22%3A%7B%22from%22%3A%221793534400000%22"
        "%2C%22to%22%3A%221793538000000%22%7D%7D%7D"
    )


def test_a_link_keeps_the_ui_address_as_given_but_its_trailing_slashes() -> None:
    _, link = graph_link(GraphLinks("https://ops.example.com/PROMETHEUX//"), "up", START, END_BEHAVIOUR)
    assert link.startswith("https://ops.example.com/PROMETHEUX/graph?")


def test_the_window_end_is_utc_on_a_host_in_another_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        link = prometheus_link("http://p:9090", "up", START, END_BEHAVIOUR)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert link.endswith("&g0.end_input=2026-11-01%2013%3A00%3A00")
