"""The `Metrics` port over a Prometheus-compatible HTTP API (Prometheus, Mimir, Thanos, VictoriaMetrics, ...).

Built on `prometheus-api-client`, with a `requests.Session` of our own that carries auth, TLS and an urllib3
`Retry` (bounded retries, exponential backoff, Retry-After honoured). The library is not used for everything:

* `custom_query` / `custom_query_range` return only `data.result`: the `resultType` (scalar, vector, string) and
  the response `warnings` (Thanos partial responses) are lost, and a refused query becomes an exception whose
  text is the raw body's bytes repr. `/api/v1/query` and `/api/v1/query_range` are therefore sent through the
  same session here and their JSON read in full. 0.7 has no exemplars call, so `/api/v1/query_exemplars` too.
* `check_prometheus_connection` GETs the base URL itself, which behind a path prefix or an auth proxy is often a
  404; `ping` asks `/api/v1/status/buildinfo` and, where a backend lacks it, falls back to the library's
  `custom_query("1")`, for which losing warnings and the result type does not matter.

Every requests/urllib3/JSON failure is translated: a refused query (HTTP 400/422) is `QueryRejected`, anything
else `BackendUnavailable`. Secrets live in `SecretStr` and never reach a repr or an error text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlencode

import requests
import urllib3
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from verifier import defaults
from verifier.adapters import http
from verifier.adapters.http import (
    AnswerRefused,
    DeadlinePassed,
    GuardedAdapter,
    OriginBoundSession,
    guard,
    restart_deadline,
)
from verifier.connections import PrometheusConnection
from verifier.domain.alerts import AlertRule
from verifier.domain.measurement import Measurement, Series
from verifier.errors import AnswerTooLarge, BackendUnavailable, MetricsError, QueryRejected
from verifier.redaction import MIN_LENGTH, redact

MAX_GET_QUERY_BYTES = 4096
"""Longer queries go as a POST form: URLs past a few KiB are cut or refused by proxies and servers."""

MAX_POINTS_PER_SERIES = 11_000
"""Prometheus refuses range queries with more points per series than this; most compatible backends follow."""

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REJECT_STATUSES = frozenset({400, 422})
_REJECT_ERROR_TYPES = frozenset({"bad_data"})
# Mimir answers 422 `execution` for a store that failed mid-query: an ERROR to try again, not a wrong config.
_FAILURE_ERROR_TYPES = frozenset({"execution", "timeout", "canceled", "internal", "unavailable"})
_MAX_RETRY_AFTER_SECONDS = 60
_UNASKED = object()
_METADATA_CACHE = 1024  # metadata answers kept per connection (type and unit come from one request)


class PrometheusMetrics:
    """Implements `verifier.ports.Metrics` and `MetricCatalog`; also `exemplars` and `ping`. Close it (or use `with`) when done."""

    def __init__(
        self, connection: PrometheusConnection, *, max_answer_bytes: int = defaults.METRICS_MAX_ANSWER_BYTES
    ) -> None:
        self.connection = connection
        retry = _Retry(
            total=connection.retries,
            backoff_factor=connection.backoff_seconds,
            status_forcelist=_RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),  # POSTs here are queries: reads, safe to repeat
            raise_on_status=False,  # the last error response is returned and translated below, with its text
            respect_retry_after_header=True,
        )
        guarded = GuardedAdapter(
            max_bytes=max_answer_bytes,
            what="the metrics backend's answer",
            max_retries=retry,
            pool_maxsize=defaults.POOL_SIZE,  # one connection per query in flight (requests' default is 10)
        )
        self._session = guard(_session(connection), guarded)
        self._metadata_cache: dict[str, dict[str, str]] = {}
        self._features: object = _UNASKED
        self.client = PrometheusConnect(
            url=connection.url, session=self._session, retry=retry, timeout=connection.timeout_seconds
        )
        # The library mounts a plain HTTPAdapter for its URL on the session it is given, which would win over the
        # guarded one (requests picks the longest prefix): the guarded adapter is mounted for that URL again.
        self._session.mount(connection.url, guarded)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def instant(self, query: str, at: datetime) -> Measurement:
        body = self._get("query", {**self._query_params(query), "time": unix_seconds(at)}, query)
        return parse_query_response(body, query)

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> Measurement:
        check_range(query, start, end, step_seconds)
        params = {"start": unix_seconds(start), "end": unix_seconds(end), "step": str(step_seconds)}
        body = self._get("query_range", {**self._query_params(query), **params}, query)
        return parse_query_response(body, query)

    def exemplars(self, query: str, start: datetime, end: datetime, limit: int = 5) -> list[str]:
        """Up to `limit` distinct trace IDs of exemplars attached to `query`'s series, newest first."""
        params = {"query": query, "start": unix_seconds(start), "end": unix_seconds(end)}
        return parse_exemplars(self._get("query_exemplars", params, query), limit)

    # -- MetricCatalog: what the backend holds, for resolving a config's metric name ---------------------------
    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        params = {"match[]": selector, "start": unix_seconds(start), "end": unix_seconds(end)}
        body = self._optional("label/__name__/values", params, selector)
        return None if body is None else frozenset(_strings(body["data"], selector))

    def metric_type(self, name: str) -> str | None:
        return self._metadata(name, "type")

    def metric_unit(self, name: str) -> str | None:
        return self._metadata(name, "unit")

    def _metadata(self, name: str, key: str) -> str | None:
        """One field of the metadata API's first entry for `name`; the answer is kept for the next field."""
        if name not in self._metadata_cache:
            if len(self._metadata_cache) >= _METADATA_CACHE:
                self._metadata_cache.clear()
            body = self._optional("metadata", {"metric": name, "limit": "1"}, name)
            data = body.get("data") if body else None
            entries = data.get(name) if isinstance(data, dict) else None
            entry = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
            self._metadata_cache[name] = {k: v for k, v in entry.items() if isinstance(v, str) and v}
        return self._metadata_cache[name].get(key)

    def features(self) -> dict[str, dict[str, bool]] | None:
        """`/api/v1/features` (Prometheus 3.x), asked once per connection; None where the backend lacks it."""
        if self._features is _UNASKED:
            body = self._optional("features", {}, "features")
            data = body.get("data") if isinstance(body, dict) else None
            self._features = None
            if isinstance(data, dict):
                self._features = {
                    str(category): {str(k): v for k, v in names.items() if isinstance(v, bool)}
                    for category, names in data.items()
                    if isinstance(names, dict)
                }
        return self._features if isinstance(self._features, dict) else None

    def label_values(self, label: str, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
            raise QueryRejected(f"'{label}' is not a label name the values API takes", query=selector)
        params = {"match[]": selector, "start": unix_seconds(start), "end": unix_seconds(end)}
        body = self._optional(f"label/{label}/values", params, selector)
        return frozenset() if body is None else frozenset(_strings(body["data"], selector))

    def label_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str]:
        params = {"match[]": selector, "start": unix_seconds(start), "end": unix_seconds(end)}
        return frozenset(_strings(self._get("labels", params, selector)["data"], selector))

    # -- AlertRules: whether an alert's rule is evaluated, so that an absent ALERTS series means silence -----------
    def alert_rules(self, name: str) -> tuple[AlertRule, ...] | None:
        params = {"type": "alert", "rule_name[]": name}  # older servers ignore rule_name[]: filtered here too
        body = self._optional("rules", params, f"rules of alert {name}")
        data = body.get("data") if isinstance(body, dict) else None
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            return None
        return tuple(parse_alert_rules(groups, name))

    def ping(self) -> None:
        """Return when the backend answers its API, raise `BackendUnavailable` otherwise."""
        try:
            response = self._send("status/buildinfo", {})
            if response.status_code != 404:
                _payload(response, None)
                return
            # Older VictoriaMetrics releases and some proxies have no buildinfo: a trivial query proves the API.
            self.client.custom_query("1", params={**self.connection.params, "time": unix_seconds(datetime.now(UTC))})
        except MetricsError as exc:
            reason = redact(exc.reason, self._secrets())
            raise BackendUnavailable(f"{self.connection.url} health check failed: {reason}") from None
        except (PrometheusApiClientException, *_TRANSPORT_ERRORS, LookupError, TypeError) as exc:
            reason = redact(_transport_reason(exc), self._secrets())
            raise BackendUnavailable(f"{self.connection.url} health check failed: {reason}") from None

    def _query_params(self, query: str) -> dict[str, str]:
        timeout = {"timeout": self.connection.query_timeout} if self.connection.query_timeout else {}
        return {"query": query, **timeout}

    def _get(self, endpoint: str, params: dict[str, str], query: str | None) -> Any:
        try:
            response = self._send(endpoint, params)
        except _TRANSPORT_ERRORS as exc:
            reason = _transport_reason(exc)
            error = AnswerTooLarge if isinstance(exc, http.AnswerTooLarge) else BackendUnavailable
            raise error(f"{self.connection.url}/api/v1/{endpoint}: {reason}", query=query) from exc
        try:
            return _payload(response, query)
        except MetricsError as exc:  # a backend or proxy may echo the request's headers in its error text
            raise type(exc)(redact(exc.reason, self._secrets()), query=exc.query) from None

    def _secrets(self) -> list[str]:
        """What this connection sends that no answer may repeat back into a comment or a report."""
        return [v for v in self.connection.secrets() if len(v) >= MIN_LENGTH]

    def _optional(self, endpoint: str, params: dict[str, str], query: str) -> Any:
        """An API some backends lack (404) or refuse: None then, and the caller does without."""
        try:
            response = self._send(endpoint, params)
        except _TRANSPORT_ERRORS as exc:
            reason = _transport_reason(exc)
            raise BackendUnavailable(f"{self.connection.url}/api/v1/{endpoint}: {reason}", query=query) from exc
        if response.status_code in (404, 405, 501):
            return None
        try:
            return _payload(response, query)
        except QueryRejected:
            return None

    def _send(self, endpoint: str, params: dict[str, str]) -> requests.Response:
        url = f"{self.connection.url}/api/v1/{endpoint}"
        params = {**self.connection.params, **params}
        if len(urlencode(params)) > MAX_GET_QUERY_BYTES:  # proxies refuse long URLs; the API takes forms too
            return self._session.post(url, data=params, timeout=self.connection.timeout_seconds)
        return self._session.get(url, params=params, timeout=self.connection.timeout_seconds)


class _Retry(Retry):
    """Honours Retry-After (429, 503), but never waits longer than a minute for one retry."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), _MAX_RETRY_AFTER_SECONDS)

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:
        super().sleep(response)
        restart_deadline()  # the next attempt gets the whole per-request deadline


_TRANSPORT_ERRORS = (OSError, ValueError, urllib3.exceptions.HTTPError)  # RequestException is an OSError


def _session(connection: PrometheusConnection) -> requests.Session:
    session = OriginBoundSession(sensitive=connection.headers)  # none of them follows a redirect elsewhere
    session.headers.update({"Accept": "application/json", **connection.headers})
    if connection.bearer_token is not None:
        session.headers["Authorization"] = f"Bearer {connection.bearer_token.get_secret_value()}"
    elif connection.username is not None:
        password = connection.password.get_secret_value() if connection.password else ""
        session.auth = (connection.username, password)
    session.verify = (connection.ca_bundle or True) if connection.verify_tls else False
    if connection.client_cert is not None:
        key = connection.client_key
        session.cert = (connection.client_cert, key) if key else connection.client_cert
    return session


def _transport_reason(exc: BaseException) -> str:
    """One short line for a failed exchange: no object reprs, no URLs with their query strings."""
    if isinstance(exc, AnswerRefused | DeadlinePassed):  # the guarded transport's refusals name their cap
        return str(exc)
    inner = getattr(exc.args[0], "reason", None) if exc.args else None  # MaxRetryError wraps the last failure
    refused = isinstance(inner, urllib3.exceptions.NewConnectionError)  # a TimeoutError subclass, oddly
    if isinstance(exc, requests.Timeout) or (isinstance(inner, urllib3.exceptions.TimeoutError) and not refused):
        return "timed out"
    if isinstance(exc, requests.exceptions.RetryError):
        return "gave up after retries: the backend kept answering with an error status"
    if isinstance(exc, PrometheusApiClientException):
        return _snippet(str(exc))
    text = str(exc)
    # OpenSSL's reason: "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate (_ssl.c:2580)"
    for pattern in (
        r"\[Errno -?\d+\] ([^'\")\]]+)",
        r"(certificate verify failed[^'\"()\]]*)",  # not OpenSSL's "(_ssl.c:1006)" after it
        r"\[SSL: \w+\] ([^'\"()]+)",
    ):
        if match := re.search(pattern, text):
            return f"{type(exc).__name__}: {match.group(1).strip()}"
    return type(exc).__name__


def _payload(response: requests.Response, query: str | None) -> Any:
    """The JSON body of a successful answer; `QueryRejected` / `BackendUnavailable` for anything else."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = _snippet(response.text) or "(empty body)"
        if status in _REJECT_STATUSES:
            raise QueryRejected(f"backend rejected the query (HTTP {status}): {text}", query=query)
        what = "malformed response, not a JSON object" if status < 400 else "error"
        raise BackendUnavailable(f"HTTP {status} {what}: {text}", query=query)
    error_type = str(body.get("errorType") or "")
    error = _snippet(str(body.get("error") or response.reason or "no error text"))
    http = f"HTTP {status}" + (f" {error_type}" if error_type not in ("", str(status)) else "")  # VM: "422"
    rejected = status in _REJECT_STATUSES and error_type not in _FAILURE_ERROR_TYPES
    if rejected or (body.get("status") == "error" and error_type in _REJECT_ERROR_TYPES):
        raise QueryRejected(f"backend rejected the query ({http}): {error}", query=query)
    if status >= 400 or body.get("status") == "error":
        raise BackendUnavailable(f"backend failed ({http}): {error}", query=query)
    if body.get("status") != "success" or "data" not in body:
        text = _snippet(response.text, 200)
        raise BackendUnavailable(f"malformed response (HTTP {status}), no success status and data: {text}", query=query)
    return body


def _snippet(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def unix_seconds(moment: datetime) -> str:
    """The API's time parameter. A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.timestamp():.3f}"


def check_range(query: str, start: datetime, end: datetime, step_seconds: int) -> None:
    """Refuse, before sending, a range the backend would refuse."""
    if step_seconds <= 0:
        raise QueryRejected(f"range step must be positive, got {step_seconds}s", query=query)
    span = (end - start).total_seconds()
    if span < 0:
        raise QueryRejected(f"range end {end.isoformat()} is before its start {start.isoformat()}", query=query)
    if span / step_seconds > MAX_POINTS_PER_SERIES:
        needed = math.ceil(span / MAX_POINTS_PER_SERIES)
        raise QueryRejected(
            f"range of {span:.0f}s at step {step_seconds}s needs {int(span // step_seconds) + 1} points per series,"
            f" over the limit of {MAX_POINTS_PER_SERIES:,}: use a step of at least {needed}s or a shorter range",
            query=query,
        )


def parse_query_response(body: Mapping[str, Any], query: str) -> Measurement:
    """A `/api/v1/query(_range)` success body as a `Measurement`; series sorted by labels."""
    warnings = tuple(str(w) for w in body.get("warnings") or ())
    infos = tuple(str(i) for i in body.get("infos") or ())  # Prometheus 3: notes that do not spoil the answer
    try:
        data = body["data"]
        kind, result = data["resultType"], data["result"]
        if kind == "string":
            raise QueryRejected("the query evaluates to a string, not to numbers", query=query)
        if kind == "scalar":
            return Measurement(series=(Series((), (_point(result),)),), warnings=warnings, infos=infos)
        if kind not in ("vector", "matrix"):
            raise BackendUnavailable(f"malformed response: unknown resultType {kind!r}", query=query)
        series = []
        for item in result:
            if "histogram" in item or "histograms" in item:
                raise QueryRejected("native histogram samples are not supported: aggregate them", query=query)
            points = (_point(item["value"]),) if kind == "vector" else tuple(_point(p) for p in item["values"])
            series.append(Series(_labels(item["metric"]), points))
    except (LookupError, TypeError, ValueError) as exc:
        raise BackendUnavailable(f"malformed response: {type(exc).__name__} {exc}", query=query) from exc
    return Measurement(series=tuple(sorted(series, key=lambda s: s.labels)), warnings=warnings, infos=infos)


def _strings(data: Any, query: str) -> list[str]:
    if data is None:  # some proxies answer null for no match
        return []
    if not isinstance(data, list):
        raise BackendUnavailable("malformed response: data is not a list of names", query=query)
    return [str(item) for item in data]


def _labels(metric: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(name), str(value)) for name, value in metric.items()))


def _point(pair: Any) -> tuple[float, float]:
    """`[1700000000.123, "0.5"]` -> (1700000000.123, 0.5); "NaN", "+Inf" and "-Inf" become the floats."""
    timestamp, value = pair
    return float(timestamp), float(value)


def parse_exemplars(body: Mapping[str, Any], limit: int) -> list[str]:
    """Distinct trace IDs (label trace_id, traceID, traceId, trace-id, ...) of the exemplars, newest first."""
    found: list[tuple[float, str]] = []
    try:
        for group in body["data"] or ():
            for exemplar in group.get("exemplars") or ():
                for name, value in (exemplar.get("labels") or {}).items():
                    if re.sub(r"[_\-.]", "", str(name)).lower() == "traceid" and value:
                        found.append((float(exemplar.get("timestamp") or 0), str(value)))
    except (LookupError, TypeError, ValueError, AttributeError) as exc:
        raise BackendUnavailable(f"malformed exemplars response: {type(exc).__name__} {exc}") from exc
    trace_ids = dict.fromkeys(trace_id for _, trace_id in sorted(found, key=lambda f: -f[0]))
    return list(trace_ids)[: max(limit, 0)]


def parse_alert_rules(groups: list[Any], name: str) -> Iterator[AlertRule]:
    """The alerting rules named `name` in a rules API answer's groups; malformed entries are passed over."""
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            continue
        interval = group.get("interval")
        seconds = float(interval) if isinstance(interval, int | float) and not isinstance(interval, bool) else None
        for rule in group["rules"]:
            if not isinstance(rule, dict) or rule.get("type") != "alerting" or rule.get("name") != name:
                continue
            health = str(rule.get("health") or "unknown")
            last = str(rule.get("lastEvaluation") or "")
            yield AlertRule(
                name=name,
                group=str(group.get("name") or "")[:200],
                interval_seconds=seconds if seconds and math.isfinite(seconds) and seconds > 0 else None,
                health=health,
                last_error=str(rule.get("lastError") or "")[:500],
                evaluated=health != "unknown" and bool(last) and not last.startswith("0001-01-01"),
            )
