"""The benchmark (#26): the run, the seed article's loop and the round-trip bound at 1k, 10k and 50k due tickets, Jira
and GitHub, against the sandbox servers with injected latency.

    .venv/bin/python bench/bench.py [--sizes 1000] [--trackers jira,github] [--latency 0.05] [--concurrency 16]
        [--article-sample 200] [--outcomes 100] [--sparkline-size N] [--real-prometheus N] [--resolution N]
        [--hostile-comments N] [--dry-run SIZES [--baseline DIR]]

The defaults take about two minutes on a 2-core machine; the README's figures come from `--sizes 1000,10000,50000
--article-sample 1000`. For each tracker and size it seeds a sandbox tracker (Jira Cloud or GitHub) and a
Prometheus API sandbox, each answering every request after `--latency` seconds, and runs `action-item-verifier run
--json` as a child process over HTTP (so start-up, imports and the real clients count): wall time, requests by kind
as the servers count them, the child's peak RSS, the ratio to the round-trip bound (sequential search pages, plus
queries and writes spread over the concurrency, each one latency), an idle re-run, and the seed article's loop as the
article writes it (list the done post-incident tickets; per ticket read its comments, run one query, post one
comment, then label it or reopen it), sequential, timed over `--article-sample` tickets of the listing and scaled
to all of them. GitHub's real limits are computed, not slept through: 80 content-creating requests a minute and 500
an hour (secondary limits) and 5,000 requests an hour (primary); the child runs with the tool's own write pacer
lifted, and "on real GitHub" is the later of the measured time and what those limits allow for its requests. Then
requests per ticket by outcome (verified, failed, inconclusive, pending, already recorded), and the extras.
Goals (from the issue) are printed beside each figure; a missed goal is shown, not hidden.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier_sandbox.github import GitHubSandbox  # noqa: E402
from verifier_sandbox.http import RecordedRequest  # noqa: E402
from verifier_sandbox.jira import JiraSandbox  # noqa: E402
from verifier_sandbox.prometheus import Counter, MetricsStore, PrometheusSandbox  # noqa: E402

BOT = "action-item-verifier"
GITHUB_BOT = "verifier-bot"  # the GitHub sandbox's signed-in account
REPO = "acme/api"
LABEL = "post-incident"
WINDOW_HOURS = 6
# The metric each outcome's tickets name: 0 errors (holds), a growing counter (fails), no such series.
METRICS = {"verified": "bench_errors_total", "failed": "bench_failing_total", "inconclusive": "bench_missing_total"}
OUTCOMES = ("verified", "failed", "inconclusive", "pending", "already recorded")
# GitHub: secondary limits on content-creating requests, and the primary limit on all requests (REST, a token).
GITHUB_PER_MINUTE, GITHUB_PER_HOUR, GITHUB_REQUESTS_PER_HOUR = 80, 500, 5000


def body(tracker: str, metric: str = METRICS["verified"]) -> str:
    fields = f'# action-item-verifier: v1\nmetric: "{metric}"\ncondition: "< 1"\ndelay: "{WINDOW_HOURS}h"\n'
    return f"{{code:yaml}}\n{fields}{{code}}" if tracker == "jira" else f"```yaml\n{fields}```\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000", help="due tickets, comma-separated (README: 1000,10000,50000)")
    parser.add_argument("--trackers", default="jira,github")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--article-sample", type=int, default=200, help="tickets the article's loop is timed over")
    parser.add_argument("--outcomes", type=int, default=100, help="tickets per outcome for requests a ticket (0: skip)")
    parser.add_argument(
        "--real-prometheus", type=int, default=0, metavar="N", help="also N tickets against a real Prometheus"
    )
    parser.add_argument(
        "--resolution", type=int, default=0, metavar="N", help="also resolve N configs against a real Prometheus"
    )
    parser.add_argument(
        "--sparkline-size", type=int, default=0, help="tickets for the sparkline's cost, with and without (0: skip)"
    )
    parser.add_argument(
        "--hostile-comments", type=int, default=0, metavar="N", help="one ticket with N comments of 60 KB (0: skip)"
    )
    parser.add_argument("--dry-run", default="", metavar="SIZES", help="also a dry run's peak RSS at these Jira sizes")
    parser.add_argument(
        "--baseline",
        default="",
        metavar="DIR",
        help="--dry-run from this source tree too (`git archive main verifier`)",
    )
    args = parser.parse_args()
    trackers = [t for t in args.trackers.split(",") if t]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"latency {args.latency * 1000:.0f} ms a request, concurrency {args.concurrency}\n", flush=True)
    rows = []
    for tracker in trackers:
        for size in (int(s) for s in args.sizes.split(",") if s):  # "": the other tables alone
            rows.append(scenario(tracker, size, args.latency, args.concurrency, article_sample=args.article_sample))
            print_row(rows[-1], flush=True)
    print_table(rows)
    print_memory(rows)
    if args.outcomes:
        per_outcome(trackers, args.outcomes, args.latency, args.concurrency)
    if args.sparkline_size:
        sparkline_cost(args.sparkline_size, args.latency, args.concurrency)
    if args.real_prometheus:
        real_backend(args.real_prometheus, args.latency, args.concurrency)
    if args.hostile_comments:
        hostile_ticket(args.hostile_comments, args.concurrency)
    if args.resolution:
        resolution_cost(args.resolution)
    if args.dry_run:
        dry_run_memory([int(s) for s in args.dry_run.split(",")], args.latency, args.concurrency, args.baseline)
    help_time()
    return 0


@dataclass
class Row:
    tracker: str
    size: int
    wall: float
    rss: float
    kinds: Tally[str]
    bound: float
    with_reads: float
    idle_wall: float
    idle_kinds: Tally[str]
    counts: dict[str, Any]
    article: dict[str, float] = field(default_factory=dict)


def scenario(
    tracker: str, size: int, latency: float, concurrency: int, *, article_sample: int = 0, **settings: str
) -> Row:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with sandboxes(tracker, size, now) as bench:
        bench.set_latency(latency)
        first = run_child(bench, concurrency, **settings)
        kinds = bench.kinds()
        bench.clear()
        idle = run_child(bench, concurrency)
        idle_kinds = bench.kinds()
        article = article_loop(bench, article_sample, now) if article_sample else {}
    # The issue's bound: sequential search pages, then queries and writes spread over the concurrency. The run
    # also re-reads each ticket around its writes (so two runs at once leave one result): "with re-reads".
    pages, queries = kinds["search pages"], math.ceil(kinds["metric queries"] / concurrency)
    bound = latency * (pages + queries + math.ceil(kinds["writes"] / concurrency))
    reads = kinds["per-ticket reads"] + kinds["batched re-reads"]
    with_reads = latency * (pages + queries + math.ceil((kinds["writes"] + reads) / concurrency))
    report = first["report"]
    return Row(
        tracker,
        size,
        float(first["wall"]),
        float(first["rss_mb"]),
        kinds,
        bound,
        with_reads,
        float(idle["wall"]),
        idle_kinds,
        report.get("counts", {}) if isinstance(report, dict) else {},
        article,
    )


@dataclass
class Bench:
    """A seeded tracker sandbox and a Prometheus sandbox."""

    tracker: str
    server: JiraSandbox | GitHubSandbox
    prometheus: PrometheusSandbox
    keys: list[str]

    @property
    def jira(self) -> JiraSandbox:
        assert isinstance(self.server, JiraSandbox)
        return self.server

    @property
    def github(self) -> GitHubSandbox:
        assert isinstance(self.server, GitHubSandbox)
        return self.server

    def set_latency(self, latency: float) -> None:
        self.server.set_latency(latency)
        self.prometheus.set_latency(latency)

    def clear(self) -> None:
        self.server.clear_requests()
        self.prometheus.clear_requests()

    def kinds(self) -> Tally[str]:
        return request_kinds(self.tracker, self.server.requests, self.prometheus.requests)

    def env(self) -> dict[str, str]:
        if self.tracker == "jira":
            return {
                "VERIFIER_TRACKER": "jira",
                "VERIFIER_JIRA_URL": self.jira.url,
                "VERIFIER_JIRA_EMAIL": self.jira.email,
                "VERIFIER_JIRA_API_TOKEN": self.jira.api_token,
            }
        return {
            "VERIFIER_TRACKER": "github",
            "VERIFIER_GITHUB_REPOSITORY": REPO,
            "VERIFIER_GITHUB_TOKEN": self.github.token,
            "VERIFIER_GITHUB_API_URL": self.github.url,
        }


@contextmanager
def sandboxes(tracker: str, size: int, now: datetime, outcome: str = "verified") -> Iterator[Bench]:
    """A tracker sandbox with `size` tickets of one outcome (due ones resolved over a day, oldest first), and a
    Prometheus sandbox where the verified metric holds and the failed one grows."""
    store = MetricsStore(scrape_seconds=60)
    store.add(Counter(METRICS["verified"], (), lambda t: 0.0))
    store.add(Counter(METRICS["failed"], (), lambda t: 5.0))
    prometheus = PrometheusSandbox(store).start()
    server: JiraSandbox | GitHubSandbox
    # GitHub's hourly quotas are computed (`github_allows`), not enforced: GraphQL's points are lifted too.
    server = JiraSandbox("cloud", bot_name=BOT) if tracker == "jira" else GitHubSandbox(login=GITHUB_BOT, points=10**9)
    server.start()
    metric = METRICS.get(outcome, METRICS["verified"])
    keys = []
    try:
        for i in range(size):
            # Due tickets were resolved over the past day; pending ones an hour ago, within their 6 h delay.
            ago = timedelta(hours=1) if outcome == "pending" else timedelta(hours=WINDOW_HOURS + 1, minutes=i % 1440)
            if isinstance(server, JiraSandbox):
                keys.append(
                    server.add_issue(
                        summary=f"[Post-Incident] action item {i}",
                        description=body("jira", metric),
                        resolved=now - ago,
                        labels=[LABEL],
                        reporter=BOT,
                    )
                )
            else:
                number = server.add_issue(
                    REPO,
                    title=f"[Post-Incident] action item {i}",
                    body=body("github", metric),
                    user=GITHUB_BOT,
                    labels=[LABEL],
                    state="closed",
                    closed_at=now - ago,
                )
                keys.append(f"{REPO}#{number}")
        yield Bench(tracker, server, prometheus, keys)
    finally:
        server.stop()
        prometheus.stop()


def run_child(bench: Bench, concurrency: int, source: str | None = None, **settings: str) -> dict[str, Any]:
    """The CLI's run over the sandboxes; `source`: a directory holding another `verifier` package to run instead
    (the child runs there: `-c` puts its working directory first on the import path)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VERIFIER_", "JIRA_", "GITHUB_"))},
        **bench.env(),
        "VERIFIER_PROMETHEUS_URL": bench.prometheus.url,
        "VERIFIER_CONCURRENCY": str(concurrency),
        "VERIFIER_MAX_WRITES": "1000000",
        "VERIFIER_RUN_DEADLINE_SECONDS": "0",
        "VERIFIER_LOG_LEVEL": "warning",
        "VERIFIER_LOG_FORMAT": "json",
        **settings,
    }
    started = time.perf_counter()
    command = [sys.executable, "-c", _MEASURED_RUN]  # our own code, no outside input
    done = subprocess.run(command, env=env, cwd=source, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a ticket failed verification (the failed outcome)
        print(done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"the run exited {done.returncode}")
    peak_kib = int(done.stderr.rsplit("peak-rss-kib=", 1)[1].split()[0])
    return {"wall": wall, "rss_mb": peak_kib / 1024, "report": json.loads(done.stdout), "code": done.returncode}


# The CLI's own entry point, which then reports its own peak RSS: VmHWM belongs to the address space exec made,
# where ru_maxrss would also count the parent's memory at fork time (and RUSAGE_CHILDREN promtool's backfill).
# The tool's own GitHub write pacer (GitHub's secondary limits) is lifted: what it would allow is computed instead.
_MEASURED_RUN = """
import sys
from verifier.adapters import github
github.WritePacer.acquire = lambda self, ticket=None: None
from verifier.cli import main
code = main(["run", "--json"])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak-rss-kib={peak}", file=sys.stderr)
sys.exit(code)
"""


def request_kinds(tracker: str, sent: list[RecordedRequest], prometheus: list[RecordedRequest]) -> Tally[str]:
    kinds: Tally[str] = Tally()
    for r in sent:
        if r.method not in ("GET", "HEAD", "OPTIONS") and not r.path.endswith("/graphql"):
            kinds["writes"] += 1
        elif tracker == "github":
            listing = r.path.endswith("/graphql") and b"ListIssues" in r.body  # GraphQL: 100 issues whole
            if listing or r.path.endswith(f"/repos/{REPO}/issues"):
                kinds["search pages"] += 1
            elif r.path.endswith("/graphql") and b"ReadIssues" in r.body:
                kinds["batched re-reads"] += 1  # many issues whole, before writing and after
            elif r.path.endswith("/graphql"):
                kinds["per-ticket reads"] += 1  # one issue whole (a re-read), or the rest of a long connection
            elif f"/repos/{REPO}/issues/" in r.path:
                kinds["per-ticket reads"] += 1
            else:
                kinds["other reads"] += 1
        elif r.path.endswith(("/search/jql", "/search")) and (r.param("jql") or "").startswith("key in"):
            kinds["batched re-reads"] += 1  # before writing: the tickets whose verdicts came in meanwhile
        elif r.path.endswith(("/search/jql", "/search")):
            kinds["search pages"] += 1
        elif "/issue/" in r.path:
            kinds["per-ticket reads"] += 1
        else:
            kinds["other reads"] += 1
    kinds["metric queries"] = sum(1 for r in prometheus if "/api/v1/query" in r.path)
    kinds["other metric requests"] = len(prometheus) - kinds["metric queries"]
    return kinds


def tracker_requests(kinds: Tally[str]) -> int:
    return sum(n for kind, n in kinds.items() if kind not in ("metric queries", "other metric requests"))


def github_allows(requests_sent: int, writes: int, *, min_interval: float = 0.0) -> float:
    """The earliest a real GitHub lets `writes` content-creating requests (and `requests_sent` in all) finish, sent
    as early as its limits allow: 80 writes in any minute, 500 in any hour, 5,000 requests an hour."""
    sent: list[float] = []
    for k in range(writes):
        at = 0.0
        if k:
            at = sent[k - 1] + min_interval
        if k >= GITHUB_PER_MINUTE:
            at = max(at, sent[k - GITHUB_PER_MINUTE] + 60)
        if k >= GITHUB_PER_HOUR:
            at = max(at, sent[k - GITHUB_PER_HOUR] + 3600)
        sent.append(at)
    primary = 3600.0 * (math.ceil(requests_sent / GITHUB_REQUESTS_PER_HOUR) - 1) if requests_sent else 0.0
    return max(sent[-1] if sent else 0.0, primary)


def article_loop(bench: Bench, sample: int, now: datetime) -> dict[str, float]:
    """The seed article's `check_pending_verifications`, sequential, as it is written: list the done tickets
    labelled post-incident; for each, read its comments (where the article keeps the config), query the metric,
    comment, then label it verified or reopen it. Timed over the first `sample` tickets, scaled to all."""
    session = requests.Session()
    query = f"sum(increase({METRICS['verified']}[{WINDOW_HOURS}h]))"
    writes_before = sum(1 for r in bench.server.requests if r.method != "GET")
    started = time.perf_counter()
    if bench.tracker == "jira":
        jira = bench.jira
        session.auth = (jira.email, jira.api_token)
        api = f"{jira.url}/rest/api/2"
        keys, token = [], None
        while True:
            params: dict[str, Any] = {"jql": f'labels = "{LABEL}" AND statusCategory = Done', "maxResults": 100}
            params["fields"] = "summary,resolutiondate"  # the article reads when each was resolved
            page = session.get(f"{api}/search/jql", params={**params, "nextPageToken": token}, timeout=30)
            page.raise_for_status()
            keys += [issue["key"] for issue in page.json()["issues"]]
            token = page.json().get("nextPageToken")
            if token is None:
                break
    else:
        gh = bench.github
        session.headers["Authorization"] = f"token {gh.token}"
        api = f"{gh.url}/repos/{REPO}"
        keys, number = [], 1
        while True:
            wanted: dict[str, Any] = {"state": "closed", "labels": LABEL, "per_page": 100, "page": number}
            page = session.get(f"{api}/issues", params=wanted, timeout=30)
            page.raise_for_status()
            keys += [str(issue["number"]) for issue in page.json()]
            if len(page.json()) < 100:
                break
            number += 1
    listed = time.perf_counter() - started
    sample_keys = keys[:sample]
    started = time.perf_counter()
    for key in sample_keys:
        session.get(f"{api}/issue/{key}/comment" if bench.tracker == "jira" else f"{api}/issues/{key}/comments")
        answer = session.get(
            f"{bench.prometheus.url}/api/v1/query", params={"query": query, "time": str(now.timestamp())}, timeout=30
        )
        answer.raise_for_status()
        result = answer.json()["data"]["result"]
        verified = bool(result) and float(result[0]["value"][1]) < 1
        text = {"body": "Verified" if verified else "Verification FAILED. Reopening for investigation."}
        if bench.tracker == "jira":
            session.post(f"{api}/issue/{key}/comment", json=text, timeout=30).raise_for_status()
            if verified:
                update = {"update": {"labels": [{"add": "verified-by-otel"}]}}
                session.put(f"{api}/issue/{key}", json=update, timeout=30).raise_for_status()
            else:
                reopen = {"transition": {"id": "11"}}
                session.post(f"{api}/issue/{key}/transitions", json=reopen, timeout=30).raise_for_status()
        else:
            session.post(f"{api}/issues/{key}/comments", json=text, timeout=30).raise_for_status()
            if verified:
                labels = {"labels": ["verified-by-otel"]}
                session.post(f"{api}/issues/{key}/labels", json=labels, timeout=30).raise_for_status()
            else:
                session.patch(f"{api}/issues/{key}", json={"state": "open"}, timeout=30).raise_for_status()
    looped = time.perf_counter() - started
    each = looped / max(1, len(sample_keys))
    writes = (sum(1 for r in bench.server.requests if r.method != "GET") - writes_before) / max(1, len(sample_keys))
    pages = math.ceil(len(keys) / 100)
    total_writes = round(writes * len(keys))
    return {
        "sample": len(sample_keys),
        "listed": listed,
        "each": each,
        "wall": listed + each * len(keys),
        "requests": pages + 4 * len(keys),
        "writes": total_writes,
    }


def print_row(r: Row, *, flush: bool = False) -> None:
    k = r.kinds
    print(
        f"{r.tracker} {r.size:,}: run {r.wall:.1f} s (bound {r.bound:.1f} s, {r.wall / r.bound:.2f}x), "
        f"peak RSS {r.rss:.0f} MB, {tracker_requests(k):,} tracker requests ({k['writes']:,} writes), "
        f"{k['metric queries']:,} queries; idle re-run {r.idle_wall:.1f} s, {tracker_requests(r.idle_kinds)} "
        f"tracker requests; article loop {r.article.get('wall', float('nan')):.1f} s "
        f"(timed over {r.article.get('sample', 0):.0f}); verdicts {r.counts}",
        flush=flush,
    )


def print_table(rows: list[Row]) -> None:
    print(
        "\n| tracker | due tickets | run s | round-trip bound s | run / bound (goal <= 1.3) | counting re-reads "
        "| article's loop s | article / run (goal >= 20) | peak RSS MB (goal <= 150 at 50k) "
        "| search pages | per-ticket reads (batched) | metric queries | writes | requests a ticket |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        k = r.kinds
        per_ticket = (tracker_requests(k) + k["metric queries"] + k["other metric requests"]) / r.size
        article = r.article.get("wall", float("nan"))
        print(
            f"| {r.tracker} | {r.size:,} | {r.wall:.1f} | {r.bound:.1f} | {r.wall / r.bound:.2f} | "
            f"{r.wall / r.with_reads:.2f} | {article:.0f} | {article / r.wall:.1f} | {r.rss:.0f} | "
            f"{k['search pages']} | {k['per-ticket reads']} ({k['batched re-reads']}) | {k['metric queries']} | "
            f"{k['writes']} | {per_ticket:.2f} |"
        )
    github = [r for r in rows if r.tracker == "github"]
    if github:
        print(
            "\nOn a real GitHub (80 writes a minute, 500 an hour, 5,000 requests an hour; the later of the measured "
            "time and what the limits allow):"
        )
        for r in github:
            tool = max(r.wall, github_allows(tracker_requests(r.kinds), r.kinds["writes"]))
            paced = github_allows(tracker_requests(r.kinds), r.kinds["writes"], min_interval=1.0)
            article = max(
                r.article.get("wall", 0.0),
                github_allows(int(r.article.get("requests", 0)), int(r.article.get("writes", 0))),
            )
            print(
                f"  {r.size:,} tickets: the run {_hours(tool)} ({r.kinds['writes']:,} writes; the tool's own pacer, "
                f"1 s apart, {_hours(paced)}, and it stops writing when its next write is 15 min away: after 500 "
                f"writes in an hour), the article's loop {_hours(article)}; article / run {article / tool:.1f}x"
            )
    print("\nidle re-run (everything already recorded; goal: 0 writes; Jira <= 110, GitHub <= 300 requests at 10k):")
    for r in rows:
        k = r.idle_kinds
        print(
            f"  {r.tracker} {r.size:,}: {r.idle_wall:.1f} s, {tracker_requests(k)} tracker requests "
            f"({k['search pages']} search pages, {k['per-ticket reads']} per-ticket reads, {k['writes']} writes), "
            f"{k['metric queries']} metric queries"
        )


def print_memory(rows: list[Row]) -> None:
    """Peak RSS per ticket (#26: memory flat in the number of tickets; goal <= 150 MB at 50,000): each run's peak
    over its tickets, and between two sizes of one tracker the growth per ticket and where it leads at 50,000."""
    print("\npeak RSS per ticket (goal: <= 150 MB at 50,000 tickets, 3.1 KB a ticket at most over the whole run):")
    for tracker in dict.fromkeys(r.tracker for r in rows):
        mine = sorted((r for r in rows if r.tracker == tracker), key=lambda r: r.size)
        for r in mine:
            print(f"  {tracker} {r.size:,}: {r.rss:.0f} MB, {r.rss * 1024 / r.size:.2f} KB a ticket")
        measured = next((r for r in mine if r.size >= 50_000), None)
        for small, large in pairwise(mine):
            growth = (large.rss - small.rss) * 1024 / (large.size - small.size)
            line = f"  {tracker} {small.size:,} -> {large.size:,}: {growth:+.2f} KB a further ticket"
            if measured is None:  # the first 1,000 are held whole (stream.WINDOW): the rate falls beyond them
                at_50k = large.rss + growth * (50_000 - large.size) / 1024
                line += f"; at that rate 50,000 would take about {at_50k:.0f} MB (an estimate: --sizes 50000 measures)"
            print(line)
        if measured is not None:
            verdict = "within" if measured.rss <= 150 else "MISSES"
            print(f"  {tracker} 50,000 measured: {measured.rss:.0f} MB ({verdict} the goal)")


def _hours(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 3600:.1f} h"


def per_outcome(trackers: list[str], size: int, latency: float, concurrency: int) -> None:
    """Requests a ticket costs by outcome, as the servers count them (start-up and search pages included)."""
    print(f"\nrequests a ticket by outcome ({size} tickets each; tracker + metrics; writes in brackets):")
    print("| outcome | " + " | ".join(trackers) + " |")
    print("|---|" + "---|" * len(trackers))
    cells: dict[str, list[str]] = {o: [] for o in OUTCOMES}
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for tracker in trackers:
        for outcome in OUTCOMES:
            with sandboxes(tracker, size, now, outcome) as bench:
                bench.set_latency(latency)
                run_child(bench, concurrency)
                if outcome == "already recorded":
                    bench.clear()
                    run_child(bench, concurrency)
                k = bench.kinds()
            sent = tracker_requests(k)
            metrics = k["metric queries"] + k["other metric requests"]
            cells[outcome].append(f"{sent / size:.2f} + {metrics / size:.2f} ({k['writes'] / size:.2f})")
    for outcome in OUTCOMES:
        print(f"| {outcome} | " + " | ".join(cells[outcome]) + " |")


def dry_run_memory(sizes: list[int], latency: float, concurrency: int, baseline: str) -> None:
    """A dry run (`VERIFIER_DRY_RUN`, the chart's default: every team's first run) over `sizes` due Jira tickets:
    peak RSS, wall time and requests; with `baseline`, that tree's run too, alternately, on the same sandboxes."""
    print(f"\ndry run (Jira){' against ' + baseline if baseline else ''}:")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    trees = {"this tree": None, **({"baseline": baseline} if baseline else {})}
    for size in sizes:
        with sandboxes("jira", size, now) as bench:
            bench.set_latency(latency)
            peaks = {}
            for name, source in trees.items():
                bench.clear()
                result = run_child(bench, concurrency, source, VERIFIER_DRY_RUN="true")
                k, report, peaks[name] = bench.kinds(), result["report"], result["rss_mb"]
                print(
                    f"  {size:,} {name}: peak RSS {result['rss_mb']:.0f} MB, {result['wall']:.1f} s, "
                    f"{tracker_requests(k):,} tracker requests ({k['writes']} writes, {k['search pages']} search "
                    f"pages, {k['batched re-reads']} batched reads), plan {report['plan']['writes']:,} writes; "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            if baseline:
                print(f"  {size:,}: this tree / baseline {peaks['this tree'] / peaks['baseline']:.2f}x peak RSS")


def sparkline_cost(size: int, latency: float, concurrency: int) -> None:
    """The result comments' sparkline: one range query per judged ticket. The same run with it and without it."""
    with_it = scenario("jira", size, latency, concurrency)
    without = scenario("jira", size, latency, concurrency, VERIFIER_SPARKLINE="false")
    rows = ((with_it, "with the sparkline (default)"), (without, "without (VERIFIER_SPARKLINE=false)"))
    print(f"\nsparkline cost at {size:,} tickets:")
    for row, name in rows:
        queries = row.kinds["metric queries"]
        print(f"  {name}: {row.wall:.1f} s, {queries:,} metric queries, {row.rss:.0f} MB peak")
    extra, base = with_it.wall, without.wall
    print(f"  cost: {extra - base:+.1f} s ({(extra / base - 1) * 100:+.0f}%)")


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
                text = body("jira").replace(f'delay: "{WINDOW_HOURS}h"', 'delay: "48h"')
                text = text.replace(
                    f'metric: "{METRICS["verified"]}"', f'metric: "bench_real_errors_total"\nlabels: {{ticket: "{i}"}}'
                )
                jira.add_issue(
                    summary=f"[Post-Incident] real {i}",
                    description=text,
                    resolved=end - timedelta(hours=48),
                    labels=["post-incident"],
                    reporter=BOT,
                )
            jira.set_latency(latency)
            result = run_child(Bench("jira", jira, _Url(prometheus.url), []), concurrency)  # type: ignore[arg-type]
            kinds = request_kinds("jira", jira.requests, [])
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
        with sandboxes("jira", 1, now) as bench:
            for n in range(comments if texts else 0):
                bench.jira.add_comment("OPS-1", texts[n % len(texts)], author="mallory" if n % 2 else BOT)
            result = run_child(bench, concurrency)
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
