"""`action-item-verifier demo`: the real run, over HTTP, against in-process Jira Cloud and Prometheus API servers.

The seeded incident (INC-2041, checkout latency) has action items whose fixes held, regressed, have no data, are
still in their window, or carry a broken config; one closed as Won't Do; one whose only config was written by an
untrusted commenter; two are still open, one of them (from an earlier incident) past its due date. The demo runs
`run` twice to show that the second run writes nothing, then prints the week's `report`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TextIO

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from verifier import bootstrap, logs
from verifier.domain.action_items import ActionItem, IncidentContext, render_body
from verifier.domain.formats import find_config
from verifier.domain.report import as_markdown
from verifier.domain.tickets import Flavour
from verifier.services.report import make_report
from verifier.services.run import RunReport, run
from verifier.services.summary import as_text
from verifier.settings import JiraSettings, MetricsSettings, RunSettings
from verifier_sandbox.jira import JiraSandbox
from verifier_sandbox.prometheus import Counter, Gauge, Histogram, MetricsStore, PrometheusSandbox

BOT = "action-item-verifier"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)
LATENCY = "http_server_request_duration_seconds"


def run_demo(out: TextIO) -> int:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    logs.configure(json=False, level="error")
    store = _metrics(now)
    with (
        PrometheusSandbox(store) as prometheus,
        JiraSandbox("cloud", bot_name=BOT, email="verifier@example.com") as jira,
    ):
        keys = _tickets(jira, now)
        settings = (
            RunSettings(tracker="jira", concurrency=4, log_level="error", log_format="console"),
            JiraSettings(url=jira.url, email=jira.email, api_token=SecretStr(jira.api_token)),
            MetricsSettings(url=prometheus.url, retries=1),
        )
        print(f"Jira Cloud sandbox at {jira.url}, Prometheus API sandbox at {prometheus.url}", file=out)
        print("Incident INC-2041: checkout p99 latency 1.84 s (alert threshold 0.5 s)\n", file=out)
        first = _run(settings, now)
        print("First run:", file=out)
        print(as_text(first), file=out)
        print("\nComments the verifier wrote:", file=out)
        for key in keys:
            for comment in jira.issue(key).comments:
                if comment.author.name == BOT and "action-item-verifier result" in comment.body:
                    issue = jira.issue(key)
                    print(
                        f"\n--- {key} ({issue.summary}; status now {issue.status}; labels {', '.join(issue.labels)})",
                        file=out,
                    )
                    print(comment.body, file=out)
        writes_before = len(jira.writes())
        later = now + timedelta(hours=6)
        second = _run(settings, later)
        print("\nSecond run, six hours later (the CronJob's next tick):", file=out)
        print(as_text(second), file=out)
        print(f"tracker writes in the second run: {len(jira.writes()) - writes_before}", file=out)
        with bootstrap.app(metrics=False, given=settings) as context:
            week = later - timedelta(days=7)
            report = make_report(context.tracker, context.run_options(), since=week, now=later)
        print("\nThe week's report (`action-item-verifier report --since 7d`):\n", file=out)
        print(as_markdown(report), file=out, end="")
    return first.exit_code


def _run(settings: tuple[BaseSettings, ...], now: datetime) -> RunReport:
    with bootstrap.app(given=settings) as context:
        return run(context.tracker, context.metrics, context.run_options(), now, threading.Event())


def _metrics(now: datetime) -> MetricsStore:
    fixed_at = (now - timedelta(days=3)).timestamp()

    def latency(before: dict[float, float], after: dict[float, float]) -> Callable[[float], dict[float, float]]:
        return lambda t: after if t >= fixed_at else before

    incident = {0.3: 0.9, 1.8: 0.1}
    store = MetricsStore(scrape_seconds=60)
    store.add(
        Histogram(LATENCY, (("service", "checkout"),), BUCKETS, 600, latency(incident, {0.04: 0.995, 0.2: 0.005})),
        Histogram(LATENCY, (("service", "inventory"),), BUCKETS, 300, latency(incident, {0.06: 0.95, 0.9: 0.05})),
        Counter("checkout_oom_kills_total", (("service", "checkout"),), lambda t: 0.0 if t >= fixed_at else 0.2),
        Gauge("container_memory_working_set_bytes", (("pod", "checkout-0"),), lambda t: 1.1 * 2**30),
    )
    return store


def _tickets(jira: JiraSandbox, now: datetime) -> list[str]:
    context = IncidentContext(
        alert_name="CheckoutLatencyHigh",
        metric_name=LATENCY,
        threshold_value=0.5,
        actual_value=1.84,
        service_name="checkout",
        environment="production",
        triggered_at=now - timedelta(days=6, hours=3),
        sample_trace_ids=("4bf92f3577b34da6a3ce929d0e0e4736", "a3ce929d0e0e47364bf92f3577b34da6"),
        related_metrics=(("db_client_connections_pending", "212"), ("payments_client_retries_total rate", "38/s")),
        affected_components=("checkout-api", "payments-client", "inventory-client"),
    )

    def item(title: str, metric: str, condition: str, extra: str = "") -> ActionItem:
        block = f"```yaml\n# action-item-verifier: v1\nmetric: '{metric}'\ncondition: '{condition}'\n{extra}```"
        config = find_config(block)
        assert config is not None
        return ActionItem(title, f"{title}.", "P1", "alice", "INC-2041", context, config)

    def add(action: ActionItem, *, resolved: timedelta, resolution: str = "Done", body: str | None = None) -> str:
        return jira.add_issue(
            summary=f"[Post-Incident] {action.title}",
            description=body if body is not None else render_body(action, Flavour.JIRA_WIKI),
            resolution=resolution,
            resolved=now - resolved,
            labels=["post-incident", "incident-INC-2041", "auto-generated"],
            reporter=BOT,
            created=now - timedelta(days=6),
            priority="High",  # P1
        )

    held = item(
        "Add connection pooling to the payments client", LATENCY, "< 250ms p99", "labels: {service: checkout}\n"
    )
    regressed = item("Cap retries in the inventory client", LATENCY, "< 300ms p99", "labels: {service: inventory}\n")
    no_data = item("Export queue depth from the order worker", "order_worker_queue_depth", "< 100")
    pending = item("Raise the checkout memory limit", "container_memory_working_set_bytes", "< 1.5GiB")
    keys = [
        add(held, resolved=timedelta(days=3)),
        add(regressed, resolved=timedelta(days=3)),
        add(no_data, resolved=timedelta(days=3)),
        add(pending, resolved=timedelta(hours=6)),
    ]
    broken = render_body(replace(held, title="Alert on payment webhook latency"), Flavour.JIRA_WIKI).replace(
        f'metric: "{LATENCY}"', 'metric: "payment_webhook_payload_bytes"'
    )
    keys.append(add(replace(held, title="Alert on payment webhook latency"), resolved=timedelta(days=3), body=broken))
    # The seed article's own format: a plain body, then its "Automated Verification Config" comment.
    oom = replace(held, title="Stop OOM kills in checkout")
    seed = add(oom, resolved=timedelta(days=3), body="Stop OOM kills in checkout.\n\nFiled by the seed's script.")
    jira.add_comment(
        seed,
        "*Automated Verification Config*\n{code}\nmetric: checkout_oom_kills_total\ncondition: < 1\ndelay_hours: 48\n{code}",
        author=BOT,
        created=now - timedelta(days=5),
    )
    keys.append(seed)
    keys.append(add(replace(held, title="Rewrite checkout in Rust"), resolved=timedelta(days=3), resolution="Won't Do"))
    balancer = replace(held, title="Tune the load balancer")
    untrusted = add(balancer, resolved=timedelta(days=3), body="Tune the load balancer.")
    jira.add_comment(
        untrusted, "```yaml\n# action-item-verifier: v1\nmetric: up\ncondition: '> 0'\n```", author="mallory"
    )
    keys.append(untrusted)
    # Still open: one filed this week, one from an earlier incident, P1 and twelve days old (due after seven).
    runbook = replace(held, title="Write the checkout failover runbook", priority="P2")
    keys.append(
        jira.add_issue(
            summary=f"[Post-Incident] {runbook.title}",
            description=render_body(runbook, Flavour.JIRA_WIKI),
            status="To Do",
            labels=["post-incident", "incident-INC-2041", "auto-generated"],
            reporter=BOT,
            created=now - timedelta(days=2),
            priority="Medium",
        )
    )
    breaker = replace(
        held,
        title="Add a circuit breaker to the payments client",
        incident_id="INC-1987",
        context=replace(context, service_name="payments", alert_name="PaymentsErrorRateHigh"),
    )
    keys.append(
        jira.add_issue(
            summary=f"[Post-Incident] {breaker.title}",
            description=render_body(breaker, Flavour.JIRA_WIKI),
            status="In Progress",
            labels=["post-incident", "incident-INC-1987", "auto-generated"],
            reporter=BOT,
            created=now - timedelta(days=12),
            priority="High",
        )
    )
    return keys
