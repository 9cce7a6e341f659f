"""Several conditions through the CLI against the tracker sandboxes and a real Prometheus evaluating real
alerting rules (#24): one condition held and one regressed (the incident's alert fired again) is FAILED, the
ticket is reopened, and the result comment shows both conditions, each on its own line with its graph link."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tests.e2e.conftest import make_desk
from tests.e2e.seed import FAILED, Spec, base_env, run_cli
from tests.integration.backends import PrometheusServer
from tests.integration.test_alert_silence import FIRING, RULES, SILENT, Target, live_prometheus, wait_for

pytestmark = pytest.mark.integration

CONFIG = f"""Pool the connections.

```yaml
# action-item-verifier: v1
conditions:
  - {{metric: checkout_error_ratio, condition: "< 1", labels: {{service: checkout}}}}
  - {{alert: {FIRING}}}
delay: 1h
```
"""


@pytest.fixture(scope="module")
def ruled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    target = Target()
    server = live_prometheus(tmp_path_factory.mktemp("ruled"), target, RULES)
    try:
        wait_for(server.url, f'count_over_time(ALERTS{{alertname="{FIRING}",alertstate="firing"}}[1m]) >= 3')
        yield server
    finally:
        server.stop()
        target.http.shutdown()


@pytest.mark.parametrize("tracker", ["jira-cloud", "github"])
def test_one_held_and_one_regressed_is_failed_with_both_shown(
    request: pytest.FixtureRequest, tracker: str, ruled: PrometheusServer
) -> None:
    desk = make_desk(request, tracker)
    resolved = datetime.now(UTC) - timedelta(minutes=5)
    key = desk.file(Spec(body=CONFIG), "two conditions", SimpleNamespace(resolved=resolved))  # type: ignore[arg-type]
    env = {**base_env(ruled.url, VERIFIER_SETTLE_SECONDS="0"), **desk.env()}
    done = run_cli(env, "--now", "--issue", key, "--json")
    assert done.code == 0, done.err
    (ticket,) = done.report()["tickets"]
    assert ticket["outcome"] == "FAILED", ticket
    assert ticket["reason"].startswith(f"1 of 2 conditions did not hold; condition 2 (alert {FIRING} silent): ")
    held, fired = (c["line"] for c in ticket["conditions"])
    assert all(c["graph"] for c in ticket["conditions"])
    assert re.fullmatch(
        r'VERIFIED: checkout_error_ratio < 1: measured 0\.5 ratio \(series \{instance="127\.0\.0\.1:\d+", '
        r'job="checkout", service="checkout"\}\) against < 1 ratio; the condition held; data: 1 of 1 step with data',
        held,
    ), held
    assert fired.startswith(f"FAILED: alert {FIRING} silent: measured ")
    state = desk.state(key)
    assert state.results == ["FAILED"] and state.open and FAILED in state.labels
    (comment,) = state.bot_comments
    rows = [line for line in comment.splitlines() if "Condition 1" in line or "Condition 2" in line]
    table = [r for r in rows if r.startswith(("|", "||"))]
    assert len(table) == 2, comment
    assert "VERIFIED: checkout" in table[0] and "FAILED: alert" in table[1]
    assert all("Graph" in r for r in table), table  # each condition's evidence link, on its own line
    assert 'checkout_error_ratio{service="checkout"}' in comment and "ALERTS" in comment  # each one's query


def test_a_silent_alert_beside_a_held_metric_is_verified(
    request: pytest.FixtureRequest, ruled: PrometheusServer
) -> None:
    desk = make_desk(request, "jira-cloud")
    config = CONFIG.replace(f"{{alert: {FIRING}}}", f"{{alert: {SILENT}}}")
    key = desk.file(Spec(body=config), "both held", SimpleNamespace(resolved=datetime.now(UTC) - timedelta(minutes=5)))  # type: ignore[arg-type]
    done = run_cli(
        {**base_env(ruled.url, VERIFIER_SETTLE_SECONDS="0"), **desk.env()}, "--now", "--issue", key, "--json"
    )
    (ticket,) = done.report()["tickets"]
    assert (ticket["outcome"], ticket["reason"]) == ("VERIFIED", "all 2 conditions held"), ticket
    state: Any = desk.state(key)
    assert state.results == ["VERIFIED"] and not state.open


@pytest.mark.parametrize("tracker", ["jira-cloud", "github"])
def test_file_keeps_every_condition_signs_them_all_and_the_run_judges_each(
    request: pytest.FixtureRequest, tracker: str, ruled: PrometheusServer, tmp_path: Any
) -> None:
    """`file` with `alert_silent: true` files the item's metric condition and the incident's alert, resolved and
    signed; the closed ticket's run judges both; the signature breaks when any one condition is changed."""
    from tests.hostile.test_trust_sign import SIGNING_KEY, _body, _close, _file, _file_env, _set_body
    from verifier.domain.binding import signed_for
    from verifier.domain.formats import find_config

    desk = make_desk(request, tracker)
    doc = {
        "incident": {
            "id": "INC-24",
            "alert_name": FIRING,
            "metric_name": "checkout_error_ratio",
            "threshold_value": 0.1,
            "actual_value": 0.5,
            "service_name": "checkout",
            "environment": "production",
            "triggered_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        },
        "items": [
            {
                "title": "Cap the error ratio",
                "priority": "P1",
                "verification": {
                    "metric": "checkout_error_ratio",
                    "condition": "< 1",
                    "labels": {"service": "checkout"},
                    "delay": "1h",
                    "alert_silent": True,
                },
            }
        ],
    }
    path = tmp_path / "items.yaml"
    path.write_text(json.dumps(doc))
    filed = _file(desk, path, ruled.url, VERIFIER_SIGNING_KEY=SIGNING_KEY)
    (item,) = filed["items"]
    assert item["condition"] == f"checkout_error_ratio < 1; alert {FIRING} silent"
    key = item["key"]
    body = _body(desk, key)
    config = find_config(body)
    assert config is not None
    assert [(p.metric, p.type, p.alert.name if p.alert else None) for p in config.parts] == [
        ("checkout_error_ratio", "gauge", None),  # resolved on the backend at filing
        ("ALERTS", None, FIRING),
    ]
    assert signed_for(SIGNING_KEY.encode(), key, body, config)

    _close(desk, key, datetime.now(UTC) - timedelta(minutes=5))
    env = {**_file_env(desk, ruled.url), "VERIFIER_SIGNING_KEY": SIGNING_KEY, "VERIFIER_SETTLE_SECONDS": "0"}
    done = run_cli(env, "--now", "--issue", key, "--json")
    (ticket,) = done.report()["tickets"]
    assert ticket["outcome"] == "FAILED", ticket
    assert [c["line"].split(":", 1)[0] for c in ticket["conditions"]] == ["VERIFIED", "FAILED"]

    # Any condition changed by an editor: the block is no longer the tool's.
    other = _body(desk, key).replace(f'"{FIRING}"', f'"{SILENT}"')
    assert other != _body(desk, key)
    _set_body(desk, key, other)
    changed = find_config(other)
    assert changed is not None and not signed_for(SIGNING_KEY.encode(), key, other, changed)
