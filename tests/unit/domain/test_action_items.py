"""The ticket body we file, as a tracker reader sees it in either flavour, and what the run reads back from it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.unit.helpers import config
from verifier.domain.action_items import (
    ActionItem,
    IncidentContext,
    fingerprint_in,
    incident_facts,
    incident_service,
    render_body,
)
from verifier.domain.formats import find_config
from verifier.domain.planning import IncidentFacts
from verifier.domain.tickets import Flavour

CONTEXT = IncidentContext(
    alert_name="CheckoutLatencyHigh",
    metric_name="http_server_request_duration_seconds",
    threshold_value=0.5,
    actual_value=1.84,
    service_name="checkout",
    environment="production",
    triggered_at=datetime(2026, 10, 30, 9, 15, tzinfo=UTC),
    sample_trace_ids=("t1", "t2", "t3", "t4", "t5", "t6"),
    related_metrics=(("db_pool_wait_seconds p99", "1.2"), ("cpu", "0.9")),
    affected_components=("checkout-api", "payments-client"),
)
ITEM = ActionItem(
    title="Add connection pooling",
    description="Pool {connections} [so] bursts | do not exhaust sockets.",
    priority="P1",
    assignee="alice",
    incident_id="INC-2041",
    context=CONTEXT,
    verification=config(metric="http_server_request_duration_seconds", condition="< 100ms p99", delay="36h"),
)

MARKDOWN_BODY = """Pool {connections} [so] bursts | do not exhaust sockets.

## Incident Context (Auto-Generated from OpenTelemetry)

**Alert**: CheckoutLatencyHigh
**Service**: checkout
**Environment**: production
**Triggered At**: 2026-10-30T09:15:00+00:00

### Metric That Triggered Alert
- **Metric**: `http_server_request_duration_seconds`
- **Threshold**: 0.5
- **Actual Value**: 1.84

### Sample Trace IDs
- `t1`
- `t2`
- `t3`
- `t4`
- `t5`

### Related Metrics at Time of Incident
- **db\\_pool\\_wait\\_seconds p99**: 1.2
- **cpu**: 0.9

### Affected Components
checkout-api, payments-client

## Verification Criteria
Once implemented, this fix will be verified by checking:
- **Metric**: `http_server_request_duration_seconds`
- **Expected**: < 100ms p99
- **Verification Window**: 36 hours after deployment

```yaml
# action-item-verifier: v1
metric: "http_server_request_duration_seconds"
condition: "< 100ms p99"
delay: "36h"
window: "36h"
```

This ticket was auto-generated from incident **INC-2041**.
<sub>action-item-verifier fingerprint: 989b3f21f6b90d4e</sub>
"""

JIRA_BODY = r"""Pool \{connections\} \[so\] bursts \| do not exhaust sockets.

h2. Incident Context (Auto-Generated from OpenTelemetry)

*Alert*: CheckoutLatencyHigh
*Service*: checkout
*Environment*: production
*Triggered At*: 2026-10-30T09:15:00+00:00

h3. Metric That Triggered Alert
* *Metric*: {{http_server_request_duration_seconds}}
* *Threshold*: 0.5
* *Actual Value*: 1.84

h3. Sample Trace IDs
* {{t1}}
* {{t2}}
* {{t3}}
* {{t4}}
* {{t5}}

h3. Related Metrics at Time of Incident
* *db_pool_wait_seconds p99*: 1.2
* *cpu*: 0.9

h3. Affected Components
checkout-api, payments-client

h2. Verification Criteria
Once implemented, this fix will be verified by checking:
* *Metric*: {{http_server_request_duration_seconds}}
* *Expected*: < 100ms p99
* *Verification Window*: 36 hours after deployment

{code:yaml}
# action-item-verifier: v1
metric: "http_server_request_duration_seconds"
condition: "< 100ms p99"
delay: "36h"
window: "36h"
{code}

This ticket was auto-generated from incident *INC-2041*.
action-item-verifier fingerprint: 989b3f21f6b90d4e
"""


def test_a_markdown_body_reads_exactly_as_filed_with_at_most_five_traces() -> None:
    assert render_body(ITEM, Flavour.MARKDOWN) == MARKDOWN_BODY


def test_a_jira_body_reads_exactly_as_filed_with_wiki_markup_escaped() -> None:
    assert render_body(ITEM, Flavour.JIRA_WIKI) == JIRA_BODY


BARE = replace(
    ITEM,
    description="d",
    context=replace(CONTEXT, sample_trace_ids=(), related_metrics=(), affected_components=()),
)


def test_a_markdown_body_without_traces_related_metrics_or_components_says_none_recorded() -> None:
    body = render_body(BARE, Flavour.MARKDOWN)
    assert (
        "### Sample Trace IDs\n- none recorded\n\n"
        "### Related Metrics at Time of Incident\n- none recorded\n\n"
        "### Affected Components\nnone recorded\n\n"
    ) in body


def test_a_jira_body_without_traces_related_metrics_or_components_says_none_recorded() -> None:
    body = render_body(BARE, Flavour.JIRA_WIKI)
    assert (
        "h3. Sample Trace IDs\n* none recorded\n\n"
        "h3. Related Metrics at Time of Incident\n* none recorded\n\n"
        "h3. Affected Components\nnone recorded\n\n"
    ) in body


def test_jira_escapes_macros_and_links_in_every_field_it_copies() -> None:
    hostile = replace(
        ITEM,
        description="{code}x{code}",
        incident_id="INC-[1]",
        context=replace(
            CONTEXT,
            alert_name="A|B",
            service_name="{svc}",
            environment="[prod]",
            metric_name="m}",
            sample_trace_ids=("{t}",),
            related_metrics=(("[k]", "|v|"),),
            affected_components=("{a}", "[b]"),
        ),
    )
    body = render_body(hostile, Flavour.JIRA_WIKI)
    for line in (
        r"\{code\}x\{code\}",
        r"*Alert*: A\|B",
        r"*Service*: \{svc\}",
        r"*Environment*: \[prod\]",
        r"* *Metric*: {{m\}}}",
        r"* \{t\}",  # not a plain id: inert text, not monospace
        r"* *\[k\]*: \|v\|",
        r"\{a\}, \[b\]",
        r"This ticket was auto-generated from incident *INC-\[1\]*.",
    ):
        assert line in body.splitlines(), line


def test_numbers_and_hours_are_written_in_their_shortest_form() -> None:
    item = replace(
        ITEM,
        context=replace(CONTEXT, threshold_value=0.0000005, actual_value=1234567.0),
        verification=config(metric="x", condition="< 1", delay="90m"),
    )
    body = render_body(item, Flavour.MARKDOWN)
    assert "- **Threshold**: 5e-07\n- **Actual Value**: 1.23457e+06\n" in body
    assert "- **Verification Window**: 1.5 hours after deployment\n" in body


@pytest.mark.parametrize("flavour", list(Flavour))
def test_the_facts_the_run_reads_back_are_those_the_body_records(flavour: Flavour) -> None:
    assert incident_facts(render_body(ITEM, flavour)) == CONTEXT.facts()
    assert incident_service(render_body(ITEM, flavour)) == "checkout"


def test_the_context_gives_its_value_and_trigger_time_as_facts() -> None:
    assert CONTEXT.facts() == IncidentFacts(actual_value=1.84, triggered_at=datetime(2026, 10, 30, 9, 15, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("*Actual Value*: -1.5e3", -1500.0),
        ("Actual Value: .5", 0.5),
        ("Actual Value:5.", 5.0),
        ("__Actual Value__: 2", 2.0),
        ("**Actual Value**:** +7", 7.0),
        ("Actual Value: 1e999", None),  # not a number anyone can compare against
        ("Actual Value: high", None),
        ("no value here", None),
    ],
)
def test_the_recorded_value_is_read_in_any_number_form_or_left_out(text: str, value: float | None) -> None:
    assert incident_facts(text).actual_value == value


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("*Triggered At*: 2026-10-30T09:15:00.250Z", datetime(2026, 10, 30, 9, 15, 0, 250000, tzinfo=UTC)),
        (
            "Triggered At: 2026-10-30T09:15:00+0530",
            datetime(2026, 10, 30, 9, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("Triggered At:2026-10-30T09:15:00-05:00", datetime(2026, 10, 30, 9, 15, tzinfo=timezone(-timedelta(hours=5)))),
        ("Triggered At: 2026-13-30T09:15:00Z", None),  # no such month: no baseline rather than a crash
        ("Triggered At: 2026-10-30T09:15:00", None),  # no zone: it cannot be placed
        ("nothing", None),
    ],
)
def test_the_trigger_time_is_read_with_its_zone_or_left_out(text: str, at: datetime | None) -> None:
    assert incident_facts(text).triggered_at == at


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("**Service**: checkout\n", "checkout"),
        ("*Service*: checkout", "checkout"),
        ("__Service__:__ search", "search"),
        ("Service:\tpay ments  \nnext line", "pay ments"),
        ("Service: a*b\nService: ok", "ok"),  # a value with markup is not a name: the next one is
        ("Service: **x**", None),
        ("**Service**: a*b*c*d", None),
        ("Service:\n checkout", None),  # the name must be on the same line
        ("no service", None),
    ],
)
def test_the_service_is_the_first_plain_value_named_on_its_line(text: str, service: str | None) -> None:
    assert incident_service(text) == service


def test_an_unknown_priority_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"^priority must be one of P0, P1, P2, P3, not 'urgent'$"):
        replace(ITEM, priority="urgent")
    assert replace(ITEM, priority="P0").priority == "P0"
    assert replace(ITEM, priority="P3").priority == "P3"


def test_a_service_line_with_markup_after_a_long_name_is_not_a_name_and_reading_ends() -> None:
    assert incident_service("**Service**: checkout (see *runbook*)\nmore text") is None


def test_a_later_service_label_on_the_same_line_is_still_read() -> None:
    assert incident_service("Service: a* **Service**: ok") == "ok"


CONTEXT_MODELS = IncidentContext(
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
ITEM_MODELS = ActionItem(
    title="Add connection pooling to the payments client",
    description="Pool connections so that bursts do not exhaust sockets.",
    priority="P1",
    assignee="alice",
    incident_id="INC-2041",
    context=CONTEXT_MODELS,
    verification=config(metric='sum(rate(x_total{a="b"}[$window]))', condition="< 1", delay="24h"),
    labels=("team-payments",),
)


@pytest.mark.parametrize("flavour", list(Flavour))
def test_body_carries_section_block_context_and_fingerprint(flavour: Flavour) -> None:
    body = render_body(ITEM_MODELS, flavour)
    assert "Verification Criteria" in body and "action-item-verifier: v1" in body
    assert find_config(body) == ITEM_MODELS.verification
    assert fingerprint_in(body) == ITEM_MODELS.fingerprint
    facts = incident_facts(body)
    assert facts.actual_value == 1.84 and facts.triggered_at == CONTEXT_MODELS.triggered_at


@pytest.mark.parametrize("flavour", list(Flavour))
def test_the_human_section_alone_still_reads_back(flavour: Flavour) -> None:
    item = replace(
        ITEM_MODELS, verification=config(metric="http_server_request_duration_seconds", condition="< 100ms p99")
    )
    body = render_body(item, flavour)
    start = body.index("Verification Criteria")
    section_only = body[:start] + body[start:].split("```yaml")[0].split("{code:yaml}")[0]
    parsed = find_config(section_only)
    assert parsed == item.verification and parsed is not None and parsed.source == "seed-section"


def test_fingerprint_is_stable_and_ignores_spacing_and_case() -> None:
    assert (
        ITEM_MODELS.fingerprint
        == replace(ITEM_MODELS, title="add  connection pooling to the PAYMENTS client").fingerprint
    )
    assert ITEM_MODELS.fingerprint != replace(ITEM_MODELS, incident_id="INC-2042").fingerprint


def test_priority_is_checked() -> None:
    with pytest.raises(ValueError, match="priority"):
        replace(ITEM_MODELS, priority="urgent")


def test_seed_body_facts() -> None:
    seed = "**Triggered At**: 2026-10-30T09:15:00+00:00\n- **Actual Value**: 0.45\n"
    facts = incident_facts(seed)
    assert facts.actual_value == 0.45 and facts.triggered_at == datetime(2026, 10, 30, 9, 15, tzinfo=UTC)
    assert incident_facts("**Triggered At**: 2026-10-30T09:15:00\n").triggered_at is None  # no zone: unplaceable
