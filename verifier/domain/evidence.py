"""Evidence people can look at: a link that opens the judged query over the judged window in a graph UI, and a
sparkline of that window, for result comments and `evaluate`.

Links are built from the verdict's own query string, start and end (never from a second copy of the query),
so what the link opens is what the verdict was computed from. Two forms:

* Prometheus' graph page, `<url>/graph?g0.expr=…&g0.range_input=…&g0.end_input=…&g0.tab=0`: Prometheus 2 opens
  it as is; Prometheus 3 redirects `/graph` to `/query` with the parameters and still reads them (`tab=0` is the
  graph tab in both). The end is UTC in the UI's `YYYY-MM-DD HH:MM:SS` form, the range a PromQL duration.
* Grafana Explore, `<grafana>/explore?schemaVersion=1&panes={…}`, with the datasource uid and the absolute range
  in milliseconds (Grafana 10 and later).

Every value is percent-encoded, so a query can never break out of the link in Markdown or Jira markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from verifier.domain.durations import promql_duration
from verifier.domain.sparkline import Sparkline
from verifier.domain.tickets import Flavour


@dataclass(frozen=True)
class GraphLinks:
    """Where evidence links point: a Prometheus-style graph UI at `url` (VERIFIER_GRAPH_URL, by default the
    Prometheus URL), or Grafana Explore when both `grafana_url` and `grafana_datasource_uid` are set."""

    url: str
    grafana_url: str | None = None
    grafana_datasource_uid: str | None = None
    sparkline: bool = True  # draw the window (one range query per judged ticket outside every-step mode)


@dataclass(frozen=True)
class Evidence:
    """What a result comment shows besides the numbers. `missing` says why there is no sparkline."""

    link: str | None = None
    link_label: str = ""
    sparkline: Sparkline | None = None
    missing: str = ""


def graph_link(links: GraphLinks, query: str, start: datetime, end: datetime) -> tuple[str, str]:
    """(label, URL) of a graph of `query` from `start` to `end`."""
    if links.grafana_url and links.grafana_datasource_uid:
        return "Grafana Explore", grafana_link(links.grafana_url, links.grafana_datasource_uid, query, start, end)
    return "Prometheus", prometheus_link(links.url, query, start, end)


def prometheus_link(url: str, query: str, start: datetime, end: datetime) -> str:
    params = {
        "g0.expr": query,
        "g0.tab": "0",
        "g0.range_input": promql_duration(end - start),
        "g0.end_input": end.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    return f"{_base(url)}/graph?{urlencode(params, quote_via=quote)}"


def grafana_link(url: str, datasource_uid: str, query: str, start: datetime, end: datetime) -> str:
    pane = {
        "datasource": datasource_uid,
        "queries": [{"refId": "A", "expr": query, "datasource": {"type": "prometheus", "uid": datasource_uid}}],
        "range": {"from": str(_millis(start)), "to": str(_millis(end))},
    }
    panes = json.dumps({"verdict": pane}, separators=(",", ":"))
    return f"{_base(url)}/explore?{urlencode({'schemaVersion': '1', 'panes': panes}, quote_via=quote)}"


def render(evidence: Evidence | None, flavour: Flavour) -> str:
    """The lines a result comment shows for its evidence, or "" when there is none."""
    if evidence is None:
        return ""
    lines = []
    if evidence.link:
        label = f"Graph of the window in {evidence.link_label}"
        lines.append(f"[{label}|{evidence.link}]" if flavour is Flavour.JIRA_WIKI else f"[{label}]({evidence.link})")
    if evidence.sparkline is not None:
        text = evidence.sparkline.describe()
        lines.append(f"Window: {text}" if flavour is Flavour.JIRA_WIKI else f"Window: `{text}`")
    elif evidence.missing:
        lines.append(f"No sparkline: {evidence.missing}")
    return "\n".join(lines)


def _base(url: str) -> str:
    """The UI's address with anything that could end a Markdown or Jira link percent-encoded."""
    return quote(url.rstrip("/"), safe=":/%")


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
