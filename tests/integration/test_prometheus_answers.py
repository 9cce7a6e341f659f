"""The Prometheus adapter's requests and its reading of each answer, word for word: what it sends for each API,
what it makes of odd answers (a backend that lacks an API, one that answers strangely), and the error texts a
ticket's comment and the run's report carry. Scripted loopback servers (backends.ScriptedServer) stand in where a
real backend will not answer so on demand; test_prometheus_adapter.py holds the real backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from tests.integration.backends import Reply, ScriptedServer
from verifier.adapters.prometheus import PrometheusConnection, PrometheusMetrics
from verifier.domain.alerts import AlertRule
from verifier.errors import BackendUnavailable

pytestmark = pytest.mark.integration

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@contextmanager
def scripted(*replies: Reply, **settings: object) -> Iterator[tuple[ScriptedServer, PrometheusMetrics]]:
    with (
        ScriptedServer(*replies) as server,
        PrometheusMetrics(PrometheusConnection.model_validate({"url": server.url, "retries": 0, **settings})) as m,
    ):
        yield server, m


def success(data: object) -> dict[str, object]:
    return {"status": "success", "data": data}


# -- alerting rules ------------------------------------------------------------------------------------------------

RULE = {"type": "alerting", "name": "High", "health": "ok", "lastEvaluation": "2026-12-06T10:00:00Z"}


def test_alert_rules_asks_for_alerting_rules_of_that_name_and_reads_them() -> None:
    with scripted(Reply(body=success({"groups": [{"name": "g", "interval": 15, "rules": [RULE]}]}))) as (server, m):
        assert m.alert_rules("High") == (AlertRule("High", "g", 15.0, "ok"),)
    assert [(s.path, s.query) for s in server.seen] == [("/api/v1/rules", {"type": ["alert"], "rule_name[]": ["High"]})]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(404, "404 page not found"),  # no rules API (VictoriaMetrics single-node)
        Reply(body=success(None)),
        Reply(body=success(["not", "an", "object"])),
        Reply(body=success({"groups": None})),
        Reply(body=success({"groups": {"not": "a list"}})),
    ],
    ids=["no-api", "null-data", "list-data", "null-groups", "object-groups"],
)
def test_alert_rules_is_none_when_the_backend_cannot_say(reply: Reply) -> None:
    with scripted(reply) as (_, m):
        assert m.alert_rules("High") is None


def test_alert_rules_is_empty_when_no_rule_has_that_name() -> None:
    with scripted(Reply(body=success({"groups": []}))) as (_, m):
        assert m.alert_rules("High") == ()


def test_alert_rules_of_a_failing_backend_is_an_error_naming_the_rules_asked_for() -> None:
    body = {"status": "error", "errorType": "internal", "error": "rule manager stopped"}
    with scripted(Reply(500, body)) as (_, m), pytest.raises(BackendUnavailable) as raised:
        m.alert_rules("High")
    assert str(raised.value) == "backend failed (HTTP 500 internal): rule manager stopped (query: rules of alert High)"
