"""An in-process server that answers as the Prometheus HTTP API does, for the demo and the benchmark.

It holds synthetic series (histograms, counters, gauges: each a function of time, sampled every `scrape`
seconds) and evaluates the query shapes the planner writes — `histogram_quantile(q, sum by (le)
(increase(NAME_bucket{…}[R])))`, `sum(increase(NAME{…}[R]))` (also a histogram's `NAME_count`: the requests,
which the verifier asks to know a quantile stood on enough), `avg_over_time(NAME{…}[R])` — with Prometheus's
own rules (bucket interpolation, NaN for no observations). Any other expression is refused with 400 `bad_data`,
as Prometheus refuses PromQL it cannot parse. The tests that matter run against a real Prometheus; this one lets
`demo` and the benchmark run anywhere with no install.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from verifier_sandbox.http import RecordedRequest, Reply, SandboxServer

Labels = tuple[tuple[str, str], ...]
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')
_SELECTOR = r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<matchers>[^{}]*)\})?\[(?P<range>\d+[smhd])\]"
_HISTOGRAM = re.compile(
    r"^histogram_quantile\((?P<q>[0-9.]+), sum by \(le\) \(increase\("
    + _SELECTOR.replace("(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)", r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)_bucket")
    + r"\)\)\)$"
)
_COUNTER = re.compile(r"^sum\(increase\(" + _SELECTOR + r"\)\)$")
_GAUGE = re.compile(r"^avg_over_time\(" + _SELECTOR + r"\)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Histogram:
    """Requests per scrape, split by latency: `latencies(t)` gives {seconds: share} for scrape time t."""

    name: str
    labels: Labels
    buckets: tuple[float, ...]
    requests_per_scrape: float
    latencies: Callable[[float], dict[float, float]]


@dataclass(frozen=True)
class Counter:
    """A counter's increase per scrape as a function of time."""

    name: str
    labels: Labels
    per_scrape: Callable[[float], float]


@dataclass(frozen=True)
class Gauge:
    name: str
    labels: Labels
    value: Callable[[float], float]


Series = Histogram | Counter | Gauge


class QueryError(Exception):
    pass


@dataclass
class MetricsStore:
    scrape_seconds: int = 60
    series: list[Series] = field(default_factory=list)
    _answers: dict[tuple[str, float], list[tuple[Labels, float]]] = field(default_factory=dict, repr=False)

    def add(self, *series: Series) -> None:
        self.series.extend(series)
        self._answers.clear()

    def evaluate(self, query: str, at: float) -> list[tuple[Labels, float]]:
        """The answer at `at`; series are functions of time, so an answer once computed is kept."""
        key = (query, at)
        if key not in self._answers:
            self._answers[key] = self._evaluate(query, at)
        return self._answers[key]

    def _evaluate(self, query: str, at: float) -> list[tuple[Labels, float]]:
        for pattern, evaluate in (
            (_HISTOGRAM, self._histogram),
            (_COUNTER, self._counter),
            (_GAUGE, self._gauge),
        ):
            match = pattern.match(query.strip())
            if match:
                return evaluate(match, at)
        raise QueryError(f'1:1: parse error: the sandbox cannot evaluate "{query[:120]}"')

    def _selected(self, kind: type, match: re.Match[str]) -> list[Any]:
        wanted = _matchers(match.group("matchers") or "")
        return [
            s for s in self.series if isinstance(s, kind) and s.name == match.group("name") and wanted <= set(s.labels)
        ]

    def _scrapes(self, match: re.Match[str], at: float) -> list[float]:
        span = int(match.group("range")[:-1]) * _UNITS[match.group("range")[-1]]
        step = self.scrape_seconds
        first = math.floor((at - span) / step) * step + step
        return [float(t) for t in range(int(first), int(at) + 1, step)]

    def _histogram(self, match: re.Match[str], at: float) -> list[tuple[Labels, float]]:
        selected: list[Histogram] = self._selected(Histogram, match)
        if not selected:
            return []
        buckets = [*sorted({b for h in selected for b in h.buckets}), math.inf]
        counts = [0.0] * len(buckets)
        for hist in selected:
            for t in self._scrapes(match, at)[1:]:  # increase() needs two samples: the first one is the base
                for latency, share in hist.latencies(t).items():
                    n = hist.requests_per_scrape * share
                    for i, le in enumerate(buckets):
                        if latency <= le:
                            counts[i] += n
        return [((), _quantile(float(match.group("q")), buckets, counts))]

    def _counter(self, match: re.Match[str], at: float) -> list[tuple[Labels, float]]:
        selected: list[Counter] = self._selected(Counter, match)
        if not selected and match.group("name").endswith("_count"):  # a histogram's observations
            return self._observations(match, at)
        if not selected:
            return []
        total = sum(c.per_scrape(t) for c in selected for t in self._scrapes(match, at)[1:])
        return [((), total)]

    def _observations(self, match: re.Match[str], at: float) -> list[tuple[Labels, float]]:
        wanted = _matchers(match.group("matchers") or "")
        name = match.group("name").removesuffix("_count")
        selected = [s for s in self.series if isinstance(s, Histogram) and s.name == name and wanted <= set(s.labels)]
        if not selected:
            return []
        scrapes = self._scrapes(match, at)[1:]
        return [((), sum(h.requests_per_scrape * sum(h.latencies(t).values()) for h in selected for t in scrapes))]

    def _gauge(self, match: re.Match[str], at: float) -> list[tuple[Labels, float]]:
        selected: list[Gauge] = self._selected(Gauge, match)
        out = []
        for gauge in selected:
            samples = [gauge.value(t) for t in self._scrapes(match, at)]
            if samples:
                out.append((gauge.labels, sum(samples) / len(samples)))
        return out


def _quantile(q: float, buckets: list[float], cumulative: list[float]) -> float:
    """Prometheus's histogram_quantile over cumulative bucket counts (upper bounds ascending, +Inf last)."""
    total = cumulative[-1]
    if total == 0:
        return math.nan
    rank = q * total
    index = next(i for i, c in enumerate(cumulative) if c >= rank)
    if index == len(buckets) - 1:
        return buckets[-2]
    lower = buckets[index - 1] if index > 0 else 0.0
    below = cumulative[index - 1] if index > 0 else 0.0
    in_bucket = cumulative[index] - below
    return lower + (buckets[index] - lower) * ((rank - below) / in_bucket if in_bucket else 0)


def _matchers(text: str) -> set[tuple[str, str]]:
    found = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _MATCHER.fullmatch(part)
        if not match:
            raise QueryError(f"unsupported label matcher: {part}")
        found.add((match.group(1), match.group(2).encode().decode("unicode_escape")))
    return found


class PrometheusSandbox(SandboxServer):
    """Serves `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars` and `/api/v1/status/buildinfo`."""

    def __init__(self, store: MetricsStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        for method in ("GET", "POST"):
            self.route(method, "/api/v1/query", self._query)
            self.route(method, "/api/v1/query_range", self._query_range)
            self.route(method, "/api/v1/query_exemplars", lambda r, _: Reply.json(200, _ok([])))
        self.route("GET", "/api/v1/status/buildinfo", lambda r, _: Reply.json(200, _ok({"version": "sandbox"})))

    @property
    def url(self) -> str:
        return self.root

    def error(self, status: int, message: str) -> Reply:
        return Reply.json(status, {"status": "error", "errorType": "bad_data", "error": message})

    def _query(self, request: RecordedRequest, _: Mapping[str, str]) -> Reply:
        params = _params(request)
        try:
            at = float(params["time"])
            rows = self.store.evaluate(params["query"], at)
        except (KeyError, ValueError) as error:
            return self.error(400, f"invalid parameter: {error}")
        except QueryError as error:
            return self.error(400, str(error))
        result = [{"metric": dict(labels), "value": [at, _text(v)]} for labels, v in rows]
        return Reply.json(200, _ok({"resultType": "vector", "result": result}))

    def _query_range(self, request: RecordedRequest, _: Mapping[str, str]) -> Reply:
        params = _params(request)
        try:
            start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
            series: dict[Labels, list[list[Any]]] = {}
            t = start
            while t <= end:
                for labels, value in self.store.evaluate(params["query"], t):
                    series.setdefault(labels, []).append([t, _text(value)])
                t += step
        except (KeyError, ValueError) as error:
            return self.error(400, f"invalid parameter: {error}")
        except QueryError as error:
            return self.error(400, str(error))
        result = [{"metric": dict(labels), "values": values} for labels, values in series.items()]
        return Reply.json(200, _ok({"resultType": "matrix", "result": result}))


def _params(request: RecordedRequest) -> dict[str, str]:
    params = dict(request.query)
    if request.method == "POST" and request.body:
        params.update(parse_qsl(request.body.decode("utf-8", "replace")))
    return params


def _ok(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


def _text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)
