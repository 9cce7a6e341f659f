"""What the tickets of one run ask the metrics backend alike, asked once.

A run judges many tickets on the same metrics: without sharing, each resolves its metric's name (a label-values
request), reads its type (metadata) and, for the sparkline, sends the same range query over the same window as
its neighbours. `Shared` wraps the run's metrics port: metric-name lookups are kept per metric, labels and window
(and a backend that cannot list names is not asked again),
types and units per name, label names and values per selector and window, the feature list once, range answers per query, window and step. Within a run the
window lies in the past and the answer does not change, so a kept answer is the answer. Callers asking the same
thing at once wait for the one request in flight (and share its failure); a failure is not kept: the next ticket
asks again. Kept
answers are bounded (least recently used first out), so memory does not grow with the run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from verifier.domain.alerts import AlertRule
from verifier.domain.measurement import Measurement
from verifier.ports import AlertRules, FeatureList, MetricCatalog, Metrics

T = TypeVar("T")
#: Kept lookups (names, types, label names: small) and kept range answers (up to 48 points a series for the
#: sparkline, or the every-step window).
LOOKUPS = 4096
RANGES = 64


class Shared:
    """The metrics port (and its catalog, when the backend has one) with shared lookups."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._catalog = metrics if isinstance(metrics, MetricCatalog) else None
        self._lookups = _Kept(LOOKUPS)
        self._ranges = _Kept(RANGES)
        self._unlisted = False

    def instant(self, query: str, at: datetime) -> Measurement:
        return self._metrics.instant(query, at)

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        key = (query, start, end, step_seconds)
        return self._ranges.get(key, lambda: self._metrics.range(query, start, end, step_seconds))

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        catalog = self._catalog
        if catalog is None or self._unlisted:
            return None
        names = self._lookups.get(("names", selector, start, end), lambda: catalog.metric_names(selector, start, end))
        if names is None:  # the backend lists no names (no such API): a fact of the backend, not of the window
            self._unlisted = True
        return names

    def metric_type(self, name: str) -> str | None:
        catalog = self._catalog
        if catalog is None:
            return None
        return self._lookups.get(("type", name), lambda: catalog.metric_type(name))

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        catalog = self._catalog
        if catalog is None:
            return frozenset()
        return self._lookups.get(("labels", selector, start, end), lambda: catalog.label_names(selector, start, end))

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        catalog = self._catalog
        if catalog is None:
            return frozenset()
        key = ("values", label, selector, start, end)
        return self._lookups.get(key, lambda: catalog.label_values(label, selector, start, end))

    def metric_unit(self, name: str) -> str | None:
        catalog = self._catalog
        if catalog is None:
            return None
        return self._lookups.get(("unit", name), lambda: catalog.metric_unit(name))

    def alert_rules(self, name: str) -> tuple[AlertRule, ...] | None:
        """The alerting rules named `name`, asked once a run (tickets of one incident share its alert); None
        where the backend has no rules API."""
        rules = self._metrics
        if not isinstance(rules, AlertRules):
            return None
        return self._lookups.get(("alert rules", name), lambda: rules.alert_rules(name))

    def features(self) -> Mapping[str, Mapping[str, bool]] | None:
        """The backend's feature list, asked once a run; None when it cannot say (or has no such API)."""
        listing = self._metrics
        if not isinstance(listing, FeatureList):
            return None
        return self._lookups.get(("features",), listing.features)


class _Kept:
    """Answers by key, at most `size`, the least recently used dropped first; one request per key at a time."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._answers: OrderedDict[Hashable, Future[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, ask: Callable[[], T]) -> T:
        with self._lock:
            future = self._answers.get(key)
            mine = future is None
            if future is None:
                future = self._answers[key] = Future()
                if len(self._answers) > self._size:
                    self._answers.popitem(last=False)
            else:
                self._answers.move_to_end(key)
        if not mine:  # asked by another ticket: its answer (or its failure, when it is in flight now)
            answer: T = future.result()
            return answer
        try:
            value = ask()
        except BaseException as error:
            with self._lock:
                if self._answers.get(key) is future:
                    del self._answers[key]  # a failure is not kept: the next caller asks again
            future.set_exception(error)
            raise
        future.set_result(value)
        return value
