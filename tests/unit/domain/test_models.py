from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.unit.helpers import config
from verifier.domain.action_items import ActionItem, IncidentContext, fingerprint_in, incident_facts, render_body
from verifier.domain.formats import find_config
from verifier.domain.tickets import Flavour

CONTEXT = IncidentContext(
    alert_name="CheckoutLatencyHigh",
    metric_name="http_server_request_duration_seconds",
    threshold_value=0.5,
    actual_value=1.84,
    service_name="checkout",
    environment="production",
    triggered_at=datetime(2026, 10, 30, 9, 15, tzinfo=UTC),
    sample_trace_ids=("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
    related_metrics=(("db_pool_wait_seconds p99", "1.2"),),
    affected_components=("checkout-api", "payments-client"),
)
ITEM = ActionItem(
    title="Add connection pooling to the payments client",
    description="Pool connections so that bursts do not exhaust sockets.",
    priority="P1",
    assignee="alice",
    incident_id="INC-2041",
    context=CONTEXT,
    verification=config(metric='sum(rate(x_total{a="b"}[$window]))', condition="< 1", delay="24h"),
    labels=("team-payments",),
)


@pytest.mark.parametrize("flavour", list(Flavour))
def test_body_carries_section_block_context_and_fingerprint(flavour: Flavour) -> None:
    body = render_body(ITEM, flavour)
    assert "Verification Criteria" in body and "action-item-verifier: v1" in body
    assert find_config(body) == ITEM.verification
    assert fingerprint_in(body) == ITEM.fingerprint
    facts = incident_facts(body)
    assert facts.actual_value == 1.84 and facts.triggered_at == CONTEXT.triggered_at


@pytest.mark.parametrize("flavour", list(Flavour))
def test_the_human_section_alone_still_reads_back(flavour: Flavour) -> None:
    item = replace(ITEM, verification=config(metric="http_server_request_duration_seconds", condition="< 100ms p99"))
    body = render_body(item, flavour)
    start = body.index("Verification Criteria")
    section_only = body[:start] + body[start:].split("```yaml")[0].split("{code:yaml}")[0]
    parsed = find_config(section_only)
    assert parsed == item.verification and parsed is not None and parsed.source == "seed-section"


def test_fingerprint_is_stable_and_ignores_spacing_and_case() -> None:
    assert ITEM.fingerprint == replace(ITEM, title="add  connection pooling to the PAYMENTS client").fingerprint
    assert ITEM.fingerprint != replace(ITEM, incident_id="INC-2042").fingerprint


def test_priority_is_checked() -> None:
    with pytest.raises(ValueError, match="priority"):
        replace(ITEM, priority="urgent")


def test_seed_body_facts() -> None:
    seed = "**Triggered At**: 2026-10-30T09:15:00+00:00\n- **Actual Value**: 0.45\n"
    facts = incident_facts(seed)
    assert facts.actual_value == 0.45 and facts.triggered_at == datetime(2026, 10, 30, 9, 15, tzinfo=UTC)
    assert incident_facts("**Triggered At**: 2026-10-30T09:15:00\n").triggered_at is None  # no zone: unplaceable
