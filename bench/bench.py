"""The benchmark: the run at 100, 1,000 and 10,000 due tickets against the sandbox servers with injected latency.

    .venv/bin/python bench/bench.py [--sizes 100,1000,10000] [--latency 0.05] [--concurrency 16] [--sparkline-size 1000]

For each size it seeds a Jira Cloud sandbox and a Prometheus API sandbox, each answering every request after
`--latency` seconds, and runs `action-item-verifier run --json` as a child process over HTTP (so start-up,
imports and the real clients count). It reports wall time, requests by kind, the child's peak RSS, and the ratio
to the round-trip lower bound: sequential search pages, plus queries and writes spread over the run's concurrency,
each costing one latency. Then the result comments' sparkline (one range query per judged ticket): the same run
with and without it. Then an idle re-run (everything already recorded), the seed article's sequential loop
(per ticket: read comments, one query, one write) at the size the goals name, and `--help` start-up time.
Goals (from the benchmark issue) are printed beside each figure; a missed goal is shown, not hidden.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter as Tally
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier_sandbox.http import RecordedRequest  # noqa: E402
from verifier_sandbox.jira import JiraSandbox  # noqa: E402
from verifier_sandbox.prometheus import Counter, MetricsStore, PrometheusSandbox  # noqa: E402

BOT = "action-item-verifier"
WINDOW_HOURS = 6
BODY = (
    "{code:yaml}\n# action-item-verifier: v1\n"
    f'metric: "bench_errors_total"\ncondition: "< 1"\ndelay: "{WINDOW_HOURS}h"\n'
    "{code}"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed-loop-size", type=int, default=1000, help="tickets for the seed-style loop (0: skip)")
    parser.add_argument(
        "--real-prometheus", type=int, default=0, metavar="N", help="also N tickets against a real Prometheus"
    )
    parser.add_argument(
        "--resolution", type=int, default=0, metavar="N", help="also resolve N configs against a real Prometheus"
    )
    parser.add_argument(
        "--sparkline-size", type=int, default=1000, help="tickets for the sparkline's cost, with and without (0: skip)"
    )
    parser.add_argument(
        "--hostile-comments", type=int, default=2000, metavar="N", help="one ticket with N comments of 60 KB (0: skip)"
    )
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"latency {args.latency * 1000:.0f} ms a request, concurrency {args.concurrency}\n")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(scenario(size, args.latency, args.concurrency))
    print_table(rows)
    if args.seed_loop_size:
        seed_loop(args.seed_loop_size, args.latency, args.concurrency)
    if args.sparkline_size:
        sparkline_cost(args.sparkline_size, args.latency, args.concurrency)
    if args.real_prometheus:
        real_backend(args.real_prometheus, args.latency, args.concurrency)
    if args.hostile_comments:
        hostile_ticket(args.hostile_comments, args.concurrency)
    if args.resolution:
        resolution_cost(args.resolution)
    help_time()
    return 0


def scenario(size: int, latency: float, concurrency: int, **settings: str) -> dict[str, object]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with sandboxes(size, now) as (jira, prometheus):
        jira.set_latency(latency)
        prometheus.set_latency(latency)
        first = run_child(jira, prometheus, concurrency, **settings)
        kinds = request_kinds(jira.requests, prometheus.requests)
        jira.clear_requests()
        prometheus.clear_requests()
        idle = run_child(jira, prometheus, concurrency)
        idle_kinds = request_kinds(jira.requests, prometheus.requests)
    # The issue's bound: sequential search pages, then queries and writes spread over the concurrency. The run
    # also re-reads each ticket before and after writing (so two runs at once leave one result): "with re-reads".
    pages, queries = kinds["search pages"], math.ceil(kinds["metric queries"] / concurrency)
    bound = latency * (pages + queries + math.ceil(kinds["writes"] / concurrency))
    reads = kinds["per-ticket reads"] + kinds["batched re-reads"]
    with_reads = latency * (pages + queries + math.ceil((kinds["writes"] + reads) / concurrency))
    return {
        "size": size,
        "wall": first["wall"],
        "rss": first["rss_mb"],
        "kinds": kinds,
        "bound": bound,
        "ratio": first["wall"] / bound if bound else float("nan"),
        "ratio_reads": first["wall"] / with_reads if with_reads else float("nan"),
        "idle_wall": idle["wall"],
        "idle_kinds": idle_kinds,
        "counts": first["report"].get("counts", {}),
    }


class sandboxes:
    """A Jira Cloud sandbox with `size` due tickets, and a Prometheus sandbox whose metric holds for all."""

    def __init__(self, size: int, now: datetime) -> None:
        self.size, self.now = size, now

    def __enter__(self) -> tuple[JiraSandbox, PrometheusSandbox]:
        store = MetricsStore(scrape_seconds=60)
        store.add(Counter("bench_errors_total", (), lambda t: 0.0))
        self.prometheus = PrometheusSandbox(store).start()
        self.jira = JiraSandbox("cloud", bot_name=BOT).start()
        for i in range(self.size):
            # Resolutions spread over a day, all due: the run handles the oldest first.
            resolved = self.now - timedelta(hours=WINDOW_HOURS + 1, minutes=i % 1440)
            self.jira.add_issue(
                summary=f"[Post-Incident] action item {i}",
                description=BODY,
                resolved=resolved,
                labels=["post-incident"],
                reporter=BOT,
            )
        return self.jira, self.prometheus

    def __exit__(self, *exc: object) -> None:
        self.jira.stop()
        self.prometheus.stop()


def run_child(
    jira: JiraSandbox, prometheus: PrometheusSandbox | _Url, concurrency: int, **settings: str
) -> dict[str, object]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VERIFIER_")},
        "VERIFIER_TRACKER": "jira",
        "VERIFIER_JIRA_URL": jira.url,
        "VERIFIER_JIRA_EMAIL": jira.email,
        "VERIFIER_JIRA_API_TOKEN": jira.api_token,
        "VERIFIER_PROMETHEUS_URL": prometheus.url,
        "VERIFIER_CONCURRENCY": str(concurrency),
        "VERIFIER_MAX_WRITES": "1000000",
        "VERIFIER_LOG_LEVEL": "warning",
        "VERIFIER_LOG_FORMAT": "json",
        **settings,
    }
    started = time.perf_counter()
    command = [sys.executable, "-c", _MEASURED_RUN]  # our own code, no outside input
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"the run exited {done.returncode}")
    peak_kib = int(done.stderr.rsplit("peak-rss-kib=", 1)[1].split()[0])
    return {"wall": wall, "rss_mb": peak_kib / 1024, "report": json.loads(done.stdout)}


# The CLI's own entry point, which then reports its own peak RSS: VmHWM belongs to the address space exec made,
# where ru_maxrss would also count the parent's memory at fork time (and RUSAGE_CHILDREN promtool's backfill).
_MEASURED_RUN = """
import sys
from verifier.cli import main
code = main(["run", "--json"])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak-rss-kib={peak}", file=sys.stderr)
sys.exit(code)
"""


def request_kinds(jira: list[RecordedRequest], prometheus: list[RecordedRequest]) -> Tally[str]:
    kinds: Tally[str] = Tally()
    for r in jira:
        if r.method not in ("GET", "HEAD"):
            kinds["writes"] += 1
        elif r.path.endswith(("/search/jql", "/search")) and (r.param("jql") or "").startswith("key in"):
            kinds["batched re-reads"] += 1  # before writing: the tickets whose verdicts came in meanwhile
        elif r.path.endswith(("/search/jql", "/search")):
            kinds["search pages"] += 1
        elif "/issue/" in r.path:
            kinds["per-ticket reads"] += 1
        else:
            kinds["other reads"] += 1
    kinds["metric queries"] = sum(1 for r in prometheus if "/api/v1/query" in r.path)
    return kinds


def print_table(rows: list[dict[str, object]]) -> None:
    print(
        "| due tickets | wall s | lower bound s | ratio (goal <= 1.3 at 10k) | ratio counting re-reads "
        "| search pages | per-ticket reads (batched) | metric queries | writes | requests a ticket (writes) "
        "| peak RSS MB (goal <= 150 at 10k) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        k, size = r["kinds"], r["size"]
        assert isinstance(k, Tally)
        assert isinstance(size, int)
        # Per judged ticket: its query, its reads around the writes, its writes (search pages are shared).
        per_ticket = (k["metric queries"] + k["per-ticket reads"] + k["batched re-reads"] + k["writes"]) / size
        print(
            f"| {r['size']:,} | {r['wall']:.1f} | {r['bound']:.1f} | {r['ratio']:.2f} | {r['ratio_reads']:.2f} | "
            f"{k['search pages']} | "
            f"{k['per-ticket reads']} ({k['batched re-reads']}) | {k['metric queries']} | {k['writes']} | "
            f"{per_ticket:.1f} ({k['writes'] / size:.1f}) | {r['rss']:.0f} |"
        )
    print("\nidle re-run (everything already recorded; goal: no writes, no per-ticket reads):")
    for r in rows:
        k = r["idle_kinds"]
        assert isinstance(k, Tally)
        print(
            f"  {r['size']:,} tickets: {r['idle_wall']:.1f} s, {k['search pages']} search pages, "
            f"{k['per-ticket reads']} per-ticket reads, {k['metric queries']} metric queries, {k['writes']} writes"
        )


def sparkline_cost(size: int, latency: float, concurrency: int) -> None:
    """The result comments' sparkline: one range query per judged ticket. The same run with it and without it."""
    with_it = scenario(size, latency, concurrency)
    without = scenario(size, latency, concurrency, VERIFIER_SPARKLINE="false")
    rows = ((with_it, "with the sparkline (default)"), (without, "without (VERIFIER_SPARKLINE=false)"))
    print(f"\nsparkline cost at {size:,} tickets:")
    for row, name in rows:
        kinds = row["kinds"]
        assert isinstance(kinds, Tally)
        queries = kinds["metric queries"]
        print(f"  {name}: {row['wall']:.1f} s, {queries:,} metric queries, {row['rss']:.0f} MB peak")
    extra, base = float(str(with_it["wall"])), float(str(without["wall"]))
    print(f"  cost: {extra - base:+.1f} s ({(extra / base - 1) * 100:+.0f}%)")


def seed_loop(size: int, latency: float, concurrency: int) -> None:
    """The seed article's checker, sequential: per ticket read its comments, run one query, write one comment
    (three requests a ticket, no label)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with sandboxes(size, now) as (jira, prometheus):
        jira.set_latency(latency)
        prometheus.set_latency(latency)
        session = requests.Session()
        session.auth = (jira.email, jira.api_token)
        keys = list(jira.issues)
        started = time.perf_counter()
        for key in keys:
            session.get(f"{jira.url}/rest/api/2/issue/{key}/comment", timeout=30).raise_for_status()
            session.get(
                f"{prometheus.url}/api/v1/query",
                params={"query": "sum(increase(bench_errors_total[6h]))", "time": str(now.timestamp())},
                timeout=30,
            ).raise_for_status()
            session.post(
                f"{jira.url}/rest/api/2/issue/{key}/comment", json={"body": "Verified"}, timeout=30
            ).raise_for_status()
        sequential = time.perf_counter() - started
    row = scenario(size, latency, concurrency)
    wall = row["wall"]
    assert isinstance(wall, float)
    print(
        f"\nseed-style sequential loop at {size:,} tickets: {sequential:.1f} s; the run: {wall:.1f} s; "
        f"speed-up {sequential / wall:.1f}x (goal >= 20x)"
    )


def real_backend(size: int, latency: float, concurrency: int) -> None:
    """`size` tickets, each verified against its own series in a real Prometheus holding 48 h of backfilled history."""
    import tempfile

    from tests.integration.backends import History, PrometheusServer, quiet_anchor

    end = quiet_anchor()
    history = History(start=end - timedelta(hours=49), end=end, step_seconds=60)
    for i in range(size):
        history.counter("bench_real_errors_total", 0.0 if i % 10 else 0.01, {"ticket": str(i)})
    with tempfile.TemporaryDirectory() as workdir, PrometheusServer(Path(workdir)) as prometheus:
        started = time.perf_counter()
        prometheus.load(history)
        loaded = time.perf_counter() - started
        jira = JiraSandbox("cloud", bot_name=BOT).start()
        try:
            for i in range(size):
                body = BODY.replace('delay: "6h"', 'delay: "48h"').replace(
                    'metric: "bench_errors_total"', f'metric: "bench_real_errors_total"\nlabels: {{ticket: "{i}"}}'
                )
                jira.add_issue(
                    summary=f"[Post-Incident] real {i}",
                    description=body,
                    resolved=end - timedelta(hours=48),
                    labels=["post-incident"],
                    reporter=BOT,
                )
            jira.set_latency(latency)
            result = run_child(jira, _Url(prometheus.url), concurrency)
            kinds = request_kinds(jira.requests, [])
        finally:
            jira.stop()
    report = result["report"]
    assert isinstance(report, dict)
    print(
        f"\nreal Prometheus ({loaded:.0f} s to backfill {size:,} distinct 48 h series): {size:,} tickets in "
        f"{result['wall']:.1f} s, peak RSS {result['rss_mb']:.0f} MB, {kinds['writes']} writes, "
        f"verdicts {report.get('counts')}"
    )


def resolution_cost(size: int) -> None:
    """What resolving a config's metric name costs per judged ticket: requests and time, on a real Prometheus."""
    import tempfile

    from tests.integration.backends import History, PrometheusServer, quiet_anchor
    from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
    from verifier.domain.formats import find_config
    from verifier.domain.planning import QueryPlan, plan
    from verifier.services.resolve import resolve

    end = quiet_anchor()
    history = History(start=end - timedelta(hours=7), end=end, step_seconds=60)
    history.counter("app_orders_failed_total", 1, {"ticket": "0"}).gauge("process_memory_usage_bytes", 1e8)
    history.histogram("http_server_request_duration_seconds", {0.02: 10})
    history.gauge("app_queue__item_", 3.0)  # as the SDK's remote-write exporter names it: no metadata, no _total
    configs = [
        ("counter", 'metric: "app.orders.failed"\nunit: "{order}"\ncondition: "< 5"'),
        ("gauge, no metadata", 'metric: "process.memory.usage"\nunit: "By"\ncondition: "< 512MiB"'),
        ("classic histogram", 'metric: "http.server.request.duration"\nunit: "s"\ncondition: "< 250ms p99"'),
        ("SDK remote-write name", 'metric: "app.queue"\nunit: "{item}"\ncondition: "< 5"'),
    ]
    with tempfile.TemporaryDirectory() as workdir, PrometheusServer(Path(workdir)) as prometheus:
        prometheus.load(history)
        with PrometheusMetrics(PrometheusConnection(url=prometheus.url)) as metrics:
            sent: list[str] = []
            metrics._session.hooks["response"].append(lambda r, *_, **__: sent.append(r.url))
            for what, fields in configs:
                config = find_config(f"```yaml\n# action-item-verifier: v1\n{fields}\ndelay: 6h\n```")
                assert config is not None
                planned = plan(config, end - timedelta(hours=6), end)
                assert isinstance(planned, QueryPlan)
                sent.clear()
                started = time.perf_counter()
                for _ in range(size):
                    resolve(planned, metrics)
                each = (time.perf_counter() - started) / size
                print(
                    f"resolution, {what}: {len(sent) / size:.0f} requests, {each * 1000:.1f} ms a ticket (goal: one lookup)"
                )


class _Url:
    """Stands where run_child expects a sandbox: only the URL is read."""

    def __init__(self, url: str) -> None:
        self.url = url


# Comment texts an attacker would post: fence floods (quadratic for a lazy regex), a config block with a
# 400-digit delay, and plain junk; 60 KB each, within GitHub's 65,536-character limit.
_HOSTILE = (
    "~~~\n" * 15_000,
    "```   \n" * 8_500,
    "{code:" * 10_000,
    "{code:yaml}\n# action-item-verifier: v1\nmetric: x\ncondition: < 1\ndelay_hours: "
    + "9" * 400
    + "\n{code}\n"
    + "x" * 59_000,
    "lorem ipsum " * 5_000,
    "{quote:" + "x" * 199 + "\n" + "{quote:" * 8_000,  # quote floods (#20): titled, toggled, line quotes
    "{quote}" * 8_500,
    "> bq. \n" * 8_500,
)


def hostile_ticket(comments: int, concurrency: int) -> None:
    """One due ticket carrying `comments` hostile comments of about 60 KB, against the same ticket without them:
    the child's peak RSS (the chart's memory limit is 384Mi) and the run's time, hostile / plain (goal <= 1.5x)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    walls, rss = {}, {}
    for name, texts in (("none", ()), ("plain", ("lorem ipsum " * 5_000,)), ("hostile", _HOSTILE)):
        with sandboxes(1, now) as (jira, prometheus):
            for n in range(comments if texts else 0):
                jira.add_comment("OPS-1", texts[n % len(texts)], author="mallory" if n % 2 else BOT)
            result = run_child(jira, prometheus, concurrency)
        walls[name], rss[name] = result["wall"], result["rss_mb"]
    print(
        f"one ticket, {comments} comments of ~60 KB ({comments * 60 / 1024:.0f} MB of text): hostile "
        f"{walls['hostile']:.1f} s, peak RSS {rss['hostile']:.0f} MB; the same size of plain text "
        f"{walls['plain']:.1f} s, {rss['plain']:.0f} MB (hostile / plain: {walls['hostile'] / walls['plain']:.2f}x, "
        f"goal <= 1.5x); no comments {walls['none']:.1f} s, {rss['none']:.0f} MB. Chart limit 384Mi = 403 MB."
    )


def help_time() -> None:
    times = []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "verifier", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    print(f"`action-item-verifier --help`: median {statistics.median(times):.3f} s over 7 runs (goal < 0.3 s)")


if __name__ == "__main__":
    raise SystemExit(main())
