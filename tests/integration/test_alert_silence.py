"""The alert stayed silent, and several conditions, on a real Prometheus evaluating real alerting rules (#24).

A live Prometheus scrapes a small target every second (`checkout_error_ratio{service="checkout"} 0.5`) and
evaluates a rule file every second: `CheckoutErrorRatioHigh` (ratio > 0.1) fires, `CheckoutErrorRatioCritical`
(ratio > 10) stays silent. A second Prometheus scrapes the same target with no rule file at all. The CLI's
`evaluate` judges configs over the last ten minutes (the window ends now, when the test judges).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.backends import PrometheusServer
from tests.integration.test_evaluate_cli import clean_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIRING, SILENT = "CheckoutErrorRatioHigh", "CheckoutErrorRatioCritical"
RULES = f"""groups:
  - name: checkout
    interval: 1s
    rules:
      - alert: {FIRING}
        expr: checkout_error_ratio > 0.1
      - alert: {SILENT}
        expr: checkout_error_ratio > 10
"""


class Target:
    """A scrape target serving one gauge, on loopback."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b'# TYPE checkout_error_ratio gauge\ncheckout_error_ratio{service="checkout"} 0.5\n'
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.http.server_address[1]}"


def live_prometheus(workdir: Path, target: Target, rules: str | None) -> PrometheusServer:
    server = PrometheusServer(workdir)
    rule_files = ""
    if rules is not None:
        (workdir / "rules.yml").write_text(rules)
        rule_files = f"rule_files: [{json.dumps(str(workdir / 'rules.yml'))}]\n"
    server.config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + rule_files
        + f"scrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: [{json.dumps(target.address)}]\n"
    )
    server.start()
    return server


def wait_for(url: str, query: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()
        if answer["data"]["result"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"no answer to {query} within {timeout}s")


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    served = Target()
    yield served
    served.http.shutdown()


@pytest.fixture(scope="module")
def ruled(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Prometheus evaluating the rules; ready once the firing alert has a few seconds of samples and the silent
    rule has been evaluated (its ALERTS series stays absent)."""
    server = live_prometheus(tmp_path_factory.mktemp("ruled"), target, RULES)
    try:
        wait_for(server.url, f'count_over_time(ALERTS{{alertname="{FIRING}",alertstate="firing"}}[1m]) >= 5')
        wait_for(server.url, "count_over_time(checkout_error_ratio[1m]) >= 3")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def unruled(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = live_prometheus(tmp_path_factory.mktemp("unruled"), target, None)
    try:
        wait_for(server.url, "checkout_error_ratio")
        yield server
    finally:
        server.stop()


def evaluate(url: str, config: str) -> tuple[int, dict[str, Any]]:
    """`evaluate --json` of a config over the ten minutes before now."""
    now = datetime.now(UTC).replace(microsecond=0)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "verifier",
            "evaluate",
            "--config",
            "-",
            "--json",
            "--resolved-at",
            (now - timedelta(minutes=10)).isoformat(),
            "--now",
            now.isoformat(),
        ],
        input=config,
        capture_output=True,
        text=True,
        env=clean_env(VERIFIER_PROMETHEUS_URL=url),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def block(body: str) -> str:
    return f"```yaml\n# action-item-verifier: v1\n{body}\ndelay: 10m\n```"


def test_an_alert_that_fired_again_in_the_window_is_failed(ruled: PrometheusServer) -> None:
    code, out = evaluate(ruled.url, block(f"alert: {FIRING}"))
    assert (code, out["verdict"]) == (1, "FAILED"), out
    assert out["reason"].startswith(f"alert {FIRING} fired again in the window: about "), out["reason"]
    samples = int(out["reason"].rsplit("(", 1)[1].split()[0])
    assert samples >= 2
    assert out["value"] == pytest.approx(samples * 1.0)  # one sample per 1 s evaluation
    assert out["query"] == f'max(count_over_time(ALERTS{{alertname="{FIRING}",alertstate="firing"}}[10m]))'


def test_an_alert_firing_within_its_allowance_is_verified(ruled: PrometheusServer) -> None:
    code, out = evaluate(ruled.url, block(f"alert: {FIRING}\nfiring_at_most: 9m"))
    assert (code, out["verdict"]) == (0, "VERIFIED"), out
    assert out["reason"].startswith(f"alert {FIRING} fired for about "), out["reason"]
    assert out["reason"].endswith("within the allowed 9m")


def test_an_alert_that_stayed_silent_is_verified(ruled: PrometheusServer) -> None:
    code, out = evaluate(ruled.url, block(f"alert: {SILENT}\nlabels: {{service: checkout}}"))
    assert (code, out["verdict"], out["reason"]) == (0, "VERIFIED", f"alert {SILENT} stayed silent over the window")
    assert out["value"] == 0.0
    assert "the rule is evaluated in group checkout (every 1s)" in out["notes"]


def test_labels_narrow_the_alert_to_the_incidents_series(ruled: PrometheusServer) -> None:
    """The firing alert carries service="checkout": matched on another service, it is silent there."""
    code, out = evaluate(ruled.url, block(f"alert: {FIRING}\nlabels: {{service: payments}}"))
    assert (code, out["verdict"]) == (0, "VERIFIED"), out
    assert 'service="payments"' in out["query"]


def test_an_alert_no_rule_evaluates_is_inconclusive(ruled: PrometheusServer) -> None:
    code, out = evaluate(ruled.url, block("alert: NoSuchAlert"))
    assert (code, out["verdict"]) == (3, "INCONCLUSIVE"), out
    assert out["reason"] == (
        "no rule data: the backend evaluates no alerting rule named 'NoSuchAlert' (rules API), so its silence "
        "proves nothing"
    )


def test_with_no_rule_data_at_all_the_alert_is_inconclusive(unruled: PrometheusServer) -> None:
    code, out = evaluate(unruled.url, block(f"alert: {SILENT}"))
    assert (code, out["verdict"]) == (3, "INCONCLUSIVE"), out
    assert out["reason"].startswith(f"no rule data: the backend evaluates no alerting rule named '{SILENT}'")


def test_one_condition_held_and_one_regressed_is_failed_with_both_shown(ruled: PrometheusServer) -> None:
    config = block(
        "conditions:\n"
        '  - {metric: checkout_error_ratio, condition: "< 1", labels: {service: checkout}}\n'
        f"  - {{alert: {FIRING}}}"
    )
    code, out = evaluate(ruled.url, config)
    assert (code, out["verdict"]) == (1, "FAILED"), out
    first, second = out["conditions"]
    assert (first["condition"], first["verdict"], first["value"]) == ("checkout_error_ratio < 1", "VERIFIED", 0.5)
    assert first["threshold"] == "< 1"
    assert first["query"] == 'avg_over_time(checkout_error_ratio{service="checkout"}[10m])'
    assert (second["condition"], second["verdict"]) == (f"alert {FIRING} silent", "FAILED")
    assert first["graph"] and second["graph"] and "ALERTS" in second["graph"]
    assert out["reason"].startswith(f"1 of 2 conditions did not hold; condition 2 (alert {FIRING} silent): alert")


# -- the rules API as the adapter reads it -----------------------------------------------------------------------
def test_the_rules_api_is_asked_for_alerting_rules_of_the_name(ruled: PrometheusServer) -> None:
    from verifier.adapters.prometheus import PrometheusMetrics
    from verifier.connections import PrometheusConnection

    with PrometheusMetrics(PrometheusConnection(url=ruled.url)) as metrics:
        (rule,) = metrics.alert_rules(SILENT) or ()
        assert (rule.name, rule.group, rule.interval_seconds, rule.health, rule.evaluated) == (
            SILENT,
            "checkout",
            1.0,
            "ok",
            True,
        )
        assert metrics.alert_rules("NoSuchAlert") == ()


def test_a_backend_without_a_rules_api_has_no_rule_data() -> None:
    from tests.integration.backends import Reply, ScriptedServer
    from verifier.adapters.prometheus import PrometheusMetrics
    from verifier.connections import PrometheusConnection

    with ScriptedServer(Reply(status=404, body="404 page not found")) as server:
        with PrometheusMetrics(PrometheusConnection(url=server.url)) as metrics:
            assert metrics.alert_rules(SILENT) is None
        (seen,) = server.seen
        assert seen.path == "/api/v1/rules"
        assert seen.query == {"type": ["alert"], "rule_name[]": [SILENT]}


def test_check_config_resolves_each_metric_condition_and_keeps_the_alert(ruled: PrometheusServer) -> None:
    config = block(
        "conditions:\n"
        '  - {metric: checkout_error_ratio, condition: "< 1", labels: {service: checkout}}\n'
        f"  - {{alert: {FIRING}}}"
    )
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "check-config", "-", "--resolve", "--json"],
        input=config,
        capture_output=True,
        text=True,
        env=clean_env(VERIFIER_PROMETHEUS_URL=ruled.url),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["condition 1"] == "checkout_error_ratio < 1"
    assert out["condition 2"] == f"alert {FIRING} silent"
    assert out["resolved 2"] == "an alert: the ALERTS series, nothing to resolve"
    assert out["query 1"] == 'avg_over_time(checkout_error_ratio{service="checkout"}[10m])'
    assert out["config"] == (
        "conditions:\n"
        '  - metric: "checkout_error_ratio"\n'
        '    condition: "< 1"\n'
        '    unit: "ratio"\n'
        '    labels: {"service": "checkout"}\n'
        "    type: gauge\n"
        f'  - alert: "{FIRING}"\n'
        'delay: "10m"\n'
        'window: "10m"'
    )
