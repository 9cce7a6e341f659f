"""What the text protocol promises beyond reading old lines: signatures that stay valid across releases, and
claims that are not believed without one."""

from __future__ import annotations

from datetime import UTC, datetime

from verifier.domain import protocol
from verifier.domain.protocol import Marker
from verifier.domain.verdicts import Outcome

FIELDS = "metric: x_seconds\nlabels:\n  service: api\ncondition: < 1s p99"


def test_a_config_signed_by_an_earlier_release_still_verifies() -> None:
    # Pinned: a filed config stays in its ticket for years, and its `# sig:` line must keep matching.
    assert protocol.config_signature(b"key", FIELDS) == "d88122272d791931727c7fc7dc702100"


def test_a_config_signature_ignores_trailing_space_and_blank_edges_but_not_indentation() -> None:
    signed = protocol.config_signature(b"key", FIELDS)
    assert protocol.config_signature(b"key", "  \n" + FIELDS.replace("p99", "p99   ") + "\n\n") == signed
    assert protocol.config_signature(b"key", FIELDS.replace("\n  service", "\nservice")) != signed
    assert protocol.config_signature(b"key", FIELDS.replace("\n", "\n\n", 1)) != signed


def test_an_unsigned_result_marker_is_never_taken_as_signed() -> None:
    marker = Marker(Outcome.VERIFIED, datetime(2026, 11, 1, 12, tzinfo=UTC), early=False)
    assert not protocol.signed_by(b"k" * 32, "OPS-1", marker)


def test_text_without_a_fingerprint_has_none() -> None:
    assert protocol.fingerprint_in("action-item-verifier result v1; verdict=FAILED") is None
    assert protocol.fingerprint_in("") is None


FACTS = "actual=1.84\ntriggered=2026-11-20T09:41:00Z\nservice=checkout"


def test_a_bound_config_signature_is_pinned_for_jira_and_github_keys() -> None:
    # Pinned like the earlier format: what this release signs must verify in every later one.
    assert protocol.bound_config_signature(b"key", "OPS-1", FIELDS, FACTS) == "v2:bbe77f4b2ef0323c695d3eb511abe0c0"
    assert (
        protocol.bound_config_signature(b"key", "acme/api#12", FIELDS, FACTS) == "v2:e1dbf15b64ba1c89af2764eba0a9a89c"
    )


def test_a_bound_config_signature_covers_the_ticket_the_fields_and_every_fact() -> None:
    signature = protocol.bound_config_signature(b"key", "OPS-1", FIELDS, FACTS)
    assert protocol.config_bound(b"key", "OPS-1", FIELDS, FACTS, signature)
    assert not protocol.config_bound(b"key", "OPS-2", FIELDS, FACTS, signature)  # moved to another ticket
    assert not protocol.config_bound(b"key", "acme/api#1", FIELDS, FACTS, signature)
    assert not protocol.config_bound(b"key", "OPS-1", FIELDS.replace("< 1s", "< 9s"), FACTS, signature)
    for fact in ("actual=1.84", "triggered=2026-11-20T09:41:00Z", "service=checkout"):
        changed = FACTS.replace(fact, fact[:-1] + "0")
        assert not protocol.config_bound(b"key", "OPS-1", FIELDS, changed, signature), fact
    assert not protocol.config_bound(b"other", "OPS-1", FIELDS, FACTS, signature)
    assert not protocol.config_bound(b"key", "OPS-1", FIELDS, FACTS, None)
    earlier = protocol.config_signature(b"key", FIELDS)  # the unbound format never passes as bound
    assert not protocol.config_bound(b"key", "OPS-1", FIELDS, FACTS, earlier)
    assert not protocol.config_bound(b"key", "OPS-1", FIELDS, FACTS, "v2:" + earlier)
