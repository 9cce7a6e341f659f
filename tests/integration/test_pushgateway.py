"""The run's metrics, pushed to a real Pushgateway and read back from its /metrics page."""

from __future__ import annotations

import re

import pytest
import requests

from tests.integration.backends import Pushgateway
from verifier.adapters.pushgateway import push_run_metrics
from verifier.errors import VerifierError


def _scrape(gateway: Pushgateway, job: str) -> dict[str, float]:
    text = requests.get(f"{gateway.url}/metrics", timeout=5).text
    values = {}
    for line in text.splitlines():
        match = re.match(r"^(action_item_verifier_\w+)\{([^}]*)\} (\S+)$", line)
        if match and f'job="{job}"' in match.group(2):
            verdict = re.search(r'verdict="(\w+)"', match.group(2))
            key = match.group(1) + (f":{verdict.group(1)}" if verdict else "")
            values[key] = float(match.group(3))
    return values


def test_a_successful_run_then_a_failed_one_keeps_the_last_success_time(pushgateway: Pushgateway) -> None:
    push_run_metrics(
        pushgateway.url,
        "verifier-test",
        counts={"VERIFIED": 3, "FAILED": 1},
        errors=0,
        writes=7,
        duration_seconds=1.5,
        finished_at=1000.0,
        succeeded=True,
    )
    first = _scrape(pushgateway, "verifier-test")
    assert first["action_item_verifier_tickets:VERIFIED"] == 3
    assert first["action_item_verifier_tickets:FAILED"] == 1
    assert first["action_item_verifier_tickets:ERROR"] == 0
    assert first["action_item_verifier_writes"] == 7
    assert first["action_item_verifier_last_success_timestamp_seconds"] == 1000.0

    push_run_metrics(
        pushgateway.url,
        "verifier-test",
        counts={"ERROR": 2},
        errors=2,
        writes=0,
        duration_seconds=0.5,
        finished_at=2000.0,
        succeeded=False,
    )
    second = _scrape(pushgateway, "verifier-test")
    assert second["action_item_verifier_tickets:ERROR"] == 2
    assert second["action_item_verifier_last_run_timestamp_seconds"] == 2000.0
    assert second["action_item_verifier_last_success_timestamp_seconds"] == 1000.0


def test_an_unreachable_pushgateway_is_a_verifier_error() -> None:
    with pytest.raises(VerifierError, match=r"pushing metrics to http://127\.0\.0\.1:9 failed"):
        push_run_metrics(
            "http://127.0.0.1:9",
            "j",
            counts={},
            errors=0,
            writes=0,
            duration_seconds=0,
            finished_at=0,
            succeeded=True,
            timeout_seconds=2,
        )
