"""Real metrics servers for the integration tests, and the scenario data they hold.

`History` describes time series in Python (gauges, counters, latency histograms) over a time range;
`to_openmetrics()` renders it for `promtool tsdb create-blocks-from openmetrics` (Prometheus) and
`to_import_text()` for VictoriaMetrics' `/api/v1/import/prometheus`.

`PrometheusServer`, `VictoriaMetricsServer` and `Pushgateway` run the Debian binaries on loopback, on a free
port, in a temporary directory; `start()` waits until the server is ready, `stop()` ends it. Both metrics
servers have `.name`, `.url` and `.load(history)`.

Scenario data must end a few hours before now: Prometheus' head block owns the recent past and promtool's blocks
must not reach into it. `quiet_anchor()` gives a round time safely behind that.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, Self

import pytest
import requests

Labels = Mapping[str, str]
At = Callable[[datetime], Any]


def require_binary(name: str) -> str:
    """The binary's path; skips the test when it is missing, or fails it when the CI variable is set."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (bash scripts/install-system-deps installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quiet_anchor(now: datetime | None = None, hours_back: int = 4) -> datetime:
    """A whole hour at least `hours_back` hours before now: scenario histories should end at or before it."""
    now = now or datetime.now(UTC)
    return (now - timedelta(hours=hours_back)).replace(minute=0, second=0, microsecond=0)


def switch(at: datetime, before: Any, after: Any) -> At:
    """A value that changes at `at` (e.g. latency before and after a fix): `before` for t < at, else `after`."""
    return lambda t: before if t < at else after


# ---------------------------------------------------------------------------------------------------- data


@dataclass
class RawSeries:
    family: str
    kind: str  # counter, gauge, histogram (OpenMetrics TYPE)
    name: str  # sample name: family + _total / _bucket / _sum / _count, or the family for a gauge
    labels: dict[str, str]
    points: list[tuple[float, float]]


@dataclass
class History:
    """Series sampled every `step_seconds` from `start` to `end` (both included)."""

    start: datetime
    end: datetime
    step_seconds: int = 60
    series: list[RawSeries] = field(default_factory=list)

    def times(self) -> Iterator[datetime]:
        t = self.start
        while t <= self.end:
            yield t
            t += timedelta(seconds=self.step_seconds)

    def gauge(self, name: str, value: float | At, labels: Labels | None = None) -> History:
        """`value` is a number or a function of time; a function returning None leaves a gap."""
        points = [(t.timestamp(), v) for t in self.times() if (v := _at(value, t)) is not None]
        self.series.append(RawSeries(name, "gauge", name, dict(labels or {}), points))
        return self

    def counter(self, name: str, increase: float | At, labels: Labels | None = None, initial: float = 0) -> History:
        """`name` ends in `_total`; at each step the counter grows by `increase` (None: no sample, no growth)."""
        if not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end in _total")
        total, points = float(initial), []
        for i, t in enumerate(self.times()):
            step = _at(increase, t)
            if step is not None:
                total += step if i else 0
                points.append((t.timestamp(), total))
        self.series.append(RawSeries(name.removesuffix("_total"), "counter", name, dict(labels or {}), points))
        return self

    def histogram(
        self,
        name: str,
        observations: Mapping[float, float] | At,
        buckets: Sequence[float] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        labels: Labels | None = None,
    ) -> History:
        """A classic histogram `name_bucket{le}`, `name_sum`, `name_count`.

        `observations` maps an observed value (e.g. a latency in seconds) to how many requests saw it in each
        step (or is a function of time giving such a mapping); the counters accumulate from zero.
        """
        bounds = [*sorted(float(b) for b in buckets), math.inf]
        counts, total_sum, total_count = [0.0] * len(bounds), 0.0, 0.0
        series = {le: RawSeries(name, "histogram", f"{name}_bucket", _with(labels, le=_fmt(le)), []) for le in bounds}
        sum_series = RawSeries(name, "histogram", f"{name}_sum", dict(labels or {}), [])
        count_series = RawSeries(name, "histogram", f"{name}_count", dict(labels or {}), [])
        for i, t in enumerate(self.times()):
            observed: Mapping[float, float] = (_at(observations, t) or {}) if i else {}
            for value, n in observed.items():
                total_sum, total_count = total_sum + value * n, total_count + n
                counts = [c + (n if value <= le else 0) for c, le in zip(counts, bounds, strict=True)]
            for le, c in zip(bounds, counts, strict=True):
                series[le].points.append((t.timestamp(), c))
            sum_series.points.append((t.timestamp(), total_sum))
            count_series.points.append((t.timestamp(), total_count))
        self.series.extend([*series.values(), count_series, sum_series])
        return self

    def to_openmetrics(self) -> str:
        """OpenMetrics text for promtool: families grouped with one TYPE line, timestamps in seconds, `# EOF`."""
        families: dict[str, list[RawSeries]] = {}
        for s in self.series:
            families.setdefault(s.family, []).append(s)
        lines: list[str] = []
        for family, members in families.items():
            lines.append(f"# TYPE {family} {members[0].kind}")
            if members[0].kind == "histogram":
                # One MetricPoint per label set and time: its buckets, count and sum together.
                groups: dict[str, list[RawSeries]] = {}
                for s in members:
                    key = _labels_text({k: v for k, v in s.labels.items() if k != "le"})
                    groups.setdefault(key, []).append(s)
                for group in groups.values():
                    for i in range(len(group[0].points)):
                        lines += [_line(s.name, s.labels, *s.points[i], ms=False) for s in group]
            else:
                lines += [_line(s.name, s.labels, t, v, ms=False) for s in members for t, v in s.points]
        return "\n".join([*lines, "# EOF", ""])

    def to_import_text(self) -> str:
        """Prometheus text exposition lines with millisecond timestamps, for VictoriaMetrics' import API."""
        return "".join(_line(s.name, s.labels, t, v, ms=True) + "\n" for s in self.series for t, v in s.points)

    def selectors(self) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted({**s.labels, "__name__": s.name}.items())) for s in self.series}


def _at(value: Any, t: datetime) -> Any:
    return value(t) if callable(value) else value


def _with(labels: Labels | None, **extra: str) -> dict[str, str]:
    return {**(labels or {}), **extra}


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels_text(labels: Mapping[str, str]) -> str:
    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items())) + "}" if labels else ""


def _line(name: str, labels: Mapping[str, str], t: float, v: float, *, ms: bool) -> str:
    stamp = str(round(t * 1000)) if ms else _fmt(t)
    return f"{name}{_labels_text(labels)} {_fmt(v)} {stamp}"


# ------------------------------------------------------------------------------------------------- servers


class MetricsBackend(Protocol):
    name: str

    @property
    def url(self) -> str: ...

    def load(self, history: History) -> None: ...


class _Server:
    """One server process with its log file; `start()` waits for `ready_path` to answer 200."""

    ready_path = "/-/ready"
    scheme = "http"  # "https" for a server given a certificate (`verify`: the CA bundle that trusts it)
    verify: bool | str = True
    cert: tuple[str, str] | None = None  # the client certificate a server that asks for one is probed with

    def __init__(self, workdir: Path, binary: str) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = require_binary(binary)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    @property
    def root(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 20) -> None:
        for _ in range(3):
            offset = self.log.stat().st_size if self.log.exists() else 0
            if self._spawn(timeout):
                return
            output = self.log.read_text(errors="replace")[offset:]
            if "address already in use" not in output:
                break
            self.port = free_port()  # someone took the port between free_port() and the server's bind
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.binary} did not become ready on port {self.port}:\n{tail}")

    def _spawn(self, timeout: float) -> bool:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, *self.args()], stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if (
                    requests.get(self.root + self.ready_path, timeout=1, verify=self.verify, cert=self.cert).status_code
                    == 200
                ):
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class PrometheusServer(_Server):
    """Prometheus with backfilled history; optional route prefix, scrape targets and feature flags."""

    name = "prometheus"

    def __init__(
        self,
        workdir: Path,
        *,
        route_prefix: str = "",
        scrape_targets: Sequence[str] = (),
        scrape_interval: str = "1s",
        features: Sequence[str] = (),
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(workdir, "prometheus")
        self.extra_args = list(extra_args)
        self.promtool = require_binary("promtool")
        self.route_prefix = route_prefix.rstrip("/")
        self.ready_path = f"{self.route_prefix}/-/ready"
        self.features = list(features)
        self.data = workdir / "data"
        self.config = workdir / "prometheus.yml"
        scrape = "".join(
            f"  - job_name: t{i}\n    static_configs:\n      - targets: [{json.dumps(target)}]\n"
            for i, target in enumerate(scrape_targets)
        )
        self.config.write_text(
            f"global:\n  scrape_interval: {scrape_interval}\n" + (f"scrape_configs:\n{scrape}" if scrape else "")
        )

    @property
    def url(self) -> str:
        return self.root + self.route_prefix

    def args(self) -> list[str]:
        return [
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.data}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=3650d",
            *([f"--web.route-prefix={self.route_prefix}"] if self.route_prefix else []),
            *([f"--enable-feature={','.join(self.features)}"] if self.features else []),
            *self.extra_args,
        ]

    def load(self, history: History) -> None:
        """Backfill with promtool into the data directory; a running server is restarted to open the blocks."""
        running = self.process is not None
        self.stop()
        source = self.workdir / f"history-{time.monotonic_ns()}.om"
        source.write_text(history.to_openmetrics())
        done = subprocess.run(
            [self.promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"promtool refused the history ({source}):\n{done.stdout}\n{done.stderr}")
        if running:
            self.start()


class VictoriaMetricsServer(_Server):
    """Single-node VictoriaMetrics; history goes in through the import API and is flushed before returning."""

    name = "victoriametrics"
    ready_path = "/health"

    def __init__(self, workdir: Path, extra_args: Sequence[str] = ()) -> None:
        super().__init__(workdir, "victoria-metrics")
        self.extra_args = list(extra_args)

    @property
    def url(self) -> str:
        return self.root

    def args(self) -> list[str]:
        return [
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-retentionPeriod=100y",
            f"-storageDataPath={self.workdir / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            *self.extra_args,
        ]

    def load(self, history: History, timeout: float = 15) -> None:
        if not history.series:
            return
        body = history.to_import_text().encode()
        requests.post(f"{self.root}/api/v1/import/prometheus", data=body, timeout=60).raise_for_status()
        requests.get(f"{self.root}/internal/force_flush", timeout=30).raise_for_status()
        expected = history.selectors()
        names = "|".join(sorted({dict(s)["__name__"] for s in expected}))
        params = {
            "match[]": f'{{__name__=~"{names}"}}',
            "start": str(history.start.timestamp()),
            "end": str(history.end.timestamp()),
        }
        deadline = time.monotonic() + timeout
        while True:
            found = requests.get(f"{self.root}/api/v1/series", params=params, timeout=10).json()["data"]
            if expected <= {tuple(sorted(s.items())) for s in found}:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"VictoriaMetrics shows {len(found)} of {len(expected)} imported series")
            time.sleep(0.1)


class Pushgateway(_Server):
    """A Pushgateway persisting to a file of its own: Debian's build defaults --persistence.file to one shared
    path (/var/lib/prometheus/pushgateway.data), through which series would leak from one test run to the next."""

    name = "pushgateway"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "prometheus-pushgateway")
        self.persistence = workdir / "pushgateway.data"

    @property
    def url(self) -> str:
        return self.root

    def args(self) -> list[str]:
        return [f"--web.listen-address=127.0.0.1:{self.port}", f"--persistence.file={self.persistence}"]


def start_backend(kind: str, workdir: Path, history: History | None = None) -> PrometheusServer | VictoriaMetricsServer:
    """A started metrics server of `kind` ("prometheus" or "victoriametrics") holding `history`."""
    if kind == "prometheus":
        prometheus = PrometheusServer(workdir)
        if history is not None and history.series:
            prometheus.load(history)  # before the first start: no restart needed
        prometheus.start()
        return prometheus
    if kind == "victoriametrics":
        vm = VictoriaMetricsServer(workdir)
        vm.start()
        if history is not None:
            vm.load(history)
        return vm
    raise ValueError(f"unknown backend {kind!r}")


# ----------------------------------------------------------------------------------- scripted HTTP server


@dataclass
class Reply:
    status: int = 200
    body: str | bytes | dict[str, Any] = field(default_factory=lambda: {"status": "success", "data": {}})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class ScriptedServer:
    """A loopback HTTP server answering with scripted `Reply`s (the last one repeats) and recording requests.

    For what real backends will not do on demand: warnings, 5xx bursts, malformed JSON; and for checking the
    headers the adapter sends.
    """

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply()]
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                parts = urlsplit(self.path)
                server.seen.append(Seen(parts.path, parse_qs(parts.query), dict(self.headers.items())))
                reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                time.sleep(reply.delay)
                body = reply.body
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                data = data.encode() if isinstance(data, str) else data
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._http.shutdown()
        self._http.server_close()
