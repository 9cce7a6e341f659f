"""Golden tests of the text protocol: every line a released version ever wrote keeps being read the same way.

Add a row here for every new format; never change or remove one (old comments stay in trackers for years).

What the text protocol promises beyond reading old lines: signatures that stay valid across releases, and
claims that are not believed without one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from verifier.domain import protocol
from verifier.domain.formats import find_config
from verifier.domain.protocol import Marker
from verifier.domain.verdicts import Outcome

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# (what v1 wrote, or what a tracker gave back, and what it means)
RESULTS = [
    ("<sub>action-item-verifier result v1; verdict=VERIFIED; resolved=2026-11-01T12:00:00Z</sub>", "VERIFIED", False),
    ("action-item-verifier result v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z", "FAILED", False),
    (
        "<sub>action-item-verifier result v1; verdict=PENDING; resolved=2026-11-01T12:00:00Z; early</sub>",
        "PENDING",
        True,
    ),
    ("action\\-item\\-verifier result v1; verdict=INVALID; resolved=2026\\-11\\-01T12:00:00Z", "INVALID", False),
    (
        "_action\\-item\\-verifier result v1; verdict=INCONCLUSIVE; resolved=2026-11-01T12:00:00Z; early_",
        "INCONCLUSIVE",
        True,
    ),
    ("h3. (x) x\n\naction-item-verifier result v1; verdict=ERROR; resolved=2026-11-01T12:00:00Z", "ERROR", False),
]


@pytest.mark.parametrize(("line", "verdict", "early"), RESULTS)
def test_every_result_marker_ever_written_is_read(line: str, verdict: str, early: bool) -> None:
    assert protocol.parse_result(line) == Marker(Outcome(verdict), AT, early)


def test_a_marker_recording_the_judged_config_appends_it_so_older_releases_still_read_it() -> None:
    line = "action-item-verifier result v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z; config=7d872958b6d405e9"
    assert protocol.result_marker(Outcome.FAILED, AT, early=False, config="7d872958b6d405e9") == line
    assert protocol.parse_result(line) == Marker(Outcome.FAILED, AT, False, config="7d872958b6d405e9")
    signed = "action-item-verifier result v1; verdict=VERIFIED; resolved=2026-11-01T12:00:00Z; early; sig=" + "a" * 32
    marker = protocol.parse_result(signed + "; config=7d872958b6d405e9")
    assert marker == Marker(Outcome.VERIFIED, AT, True, "a" * 32, "7d872958b6d405e9")
    assert protocol.parse_result(signed) == Marker(Outcome.VERIFIED, AT, True, "a" * 32)  # as an older one wrote it


def test_result_markers_are_written_as_v1_wrote_them() -> None:
    assert protocol.result_marker(Outcome.VERIFIED, AT, early=False) == RESULTS[1][0].replace("FAILED", "VERIFIED")
    assert protocol.result_marker(Outcome.PENDING, AT, early=True) == RESULTS[2][0].removeprefix("<sub>")[:-6]


def test_a_signed_marker_is_v1_with_a_field_appended_so_older_releases_still_read_it() -> None:
    signature = protocol.result_signature(b"k" * 32, "OPS-1", Outcome.FAILED, AT, early=False)
    line = protocol.result_marker(Outcome.FAILED, AT, early=False, signature=signature)
    assert line == f"{RESULTS[1][0]}; sig={signature}"
    marker = protocol.parse_result(line)
    assert marker == Marker(Outcome.FAILED, AT, False, signature)
    assert protocol.signed_by(b"k" * 32, "OPS-1", marker)
    assert not protocol.signed_by(b"k" * 32, "OPS-2", marker)  # not copied from another ticket
    assert not protocol.signed_by(b"other", "OPS-1", marker)
    forged = protocol.parse_result(line.replace("FAILED", "VERIFIED"))
    assert forged is not None and not protocol.signed_by(b"k" * 32, "OPS-1", forged)


@pytest.mark.parametrize(
    "line",
    [
        "<sub>action-item-verifier reminder v1; due=2026-11-05</sub>",
        "action-item-verifier reminder v1; due=2026-11-05",
        "action\\-item\\-verifier reminder v1; due=2026\\-11\\-05",
    ],
)
def test_every_reminder_marker_ever_written_is_read(line: str) -> None:
    assert protocol.parse_reminder(line) == "2026-11-05"
    assert protocol.reminder_marker(date(2026, 11, 5)) == "action-item-verifier reminder v1; due=2026-11-05"


@pytest.mark.parametrize(
    "line",
    [
        "<sub>action-item-verifier fingerprint: 0123456789abcdef</sub>",
        "action-item-verifier fingerprint: 0123456789abcdef",
        "action-item-verifier fingerprint `0123456789abcdef`",
        "action-item-verifier fingerprint: {{0123456789abcdef}}",
    ],
)
def test_every_fingerprint_ever_written_is_read(line: str) -> None:
    assert protocol.fingerprint_in(line) == "0123456789abcdef"
    assert protocol.fingerprint_line("0123456789abcdef") == "action-item-verifier fingerprint: 0123456789abcdef"


def test_the_v1_config_header_is_read_in_both_flavours() -> None:
    assert protocol.CONFIG_HEADER == "# action-item-verifier: v1"
    fields = "metric: x_seconds\ncondition: < 1s p99\n"
    for text in (
        f"```yaml\n# action-item-verifier: v1\n{fields}```",
        f"{{code:yaml}}\n# action-item-verifier: v1\n{fields}{{code}}",
    ):
        config = find_config(text)
        assert config is not None and config.metric == "x_seconds"


@pytest.mark.parametrize("flavour", ["markdown", "jira-wiki"])
def test_a_signed_filed_config_reads_back_with_a_signature_that_verifies(flavour: str) -> None:
    from dataclasses import replace

    from verifier.domain.config import canonical, render_config
    from verifier.domain.tickets import Flavour

    config = find_config(
        '```yaml\n# action-item-verifier: v1\nmetric: x_seconds\ncondition: < 1s p99\nlabels: {a: "{code}"}\n```'
    )
    assert config is not None
    signed = replace(config, signature=protocol.config_signature(b"key", canonical(config)))
    text = render_config(signed, Flavour(flavour))
    assert "\n# sig: " in text
    back = find_config(text)
    assert back == config and back is not None and back.signature == signed.signature
    assert protocol.config_signature(b"key", canonical(back)) == signed.signature
    edited = find_config(text.replace("< 1s p99", "< 9s p99"))
    assert edited is not None and protocol.config_signature(b"key", canonical(edited)) != edited.signature


# (a filed config block's last line as a release wrote it, and the signature it carries)
CONFIG_SIGNATURES = [
    ("# sig: d88122272d791931727c7fc7dc702100", "d88122272d791931727c7fc7dc702100"),  # earlier format: fields only
    ("# sig: v2:bbe77f4b2ef0323c695d3eb511abe0c0", "v2:bbe77f4b2ef0323c695d3eb511abe0c0"),  # bound: ticket + facts
    ("  # sig: v2:bbe77f4b2ef0323c695d3eb511abe0c0  \r\n", "v2:bbe77f4b2ef0323c695d3eb511abe0c0"),
    ("# sig: v3:bbe77f4b2ef0323c695d3eb511abe0c0", None),  # not a format of ours: part of the block, unsigned
]


@pytest.mark.parametrize(("line", "signature"), CONFIG_SIGNATURES)
def test_every_config_signature_line_ever_written_is_read(line: str, signature: str | None) -> None:
    body = "metric: x_seconds\ncondition: < 1s p99\n" + line
    fields, found = protocol.split_config_signature(body)
    assert found == signature
    assert fields == (body if signature is None else "metric: x_seconds\ncondition: < 1s p99\n")


def test_an_edited_reminder_does_not_stand_for_the_tools() -> None:
    from datetime import timedelta

    from verifier.domain.reminders import owed
    from verifier.domain.tickets import Comment, Ticket

    now, created = AT + timedelta(days=30), AT
    reminder = Comment("1", "bot", protocol.reminder_marker(date(2026, 11, 8)), now - timedelta(days=1))
    ticket = Ticket("OPS-1", "u", "t", "Open", None, None, frozenset(), "", "bot", (reminder,), created, "P1")
    assert not owed(ticket, frozenset({"bot"}), {"P1": 7}, now).reminder  # type: ignore[union-attr]  # reminded already
    edited = Comment(reminder.id, "bot", reminder.body, reminder.created, updated=now)  # someone changed it
    assert owed(Ticket(**{**ticket.__dict__, "comments": (edited,)}), frozenset({"bot"}), {"P1": 7}, now).reminder  # type: ignore[union-attr]


# The later re-check's marker (#24): its own kind, so that no release reads it as a result.
RECHECKS = [
    (
        "<sub>action-item-verifier recheck v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z; "
        "config=7d872958b6d405e9</sub>",
        Marker(Outcome.FAILED, AT, False, None, "7d872958b6d405e9"),
    ),
    (
        "action\\-item\\-verifier recheck v1; verdict=VERIFIED; resolved=2026\\-11\\-01T12:00:00Z; sig="
        + "b" * 32
        + "; config=7d872958b6d405e9",
        Marker(Outcome.VERIFIED, AT, False, "b" * 32, "7d872958b6d405e9"),
    ),
]


@pytest.mark.parametrize(("line", "marker"), RECHECKS)
def test_every_recheck_marker_ever_written_is_read_and_is_never_a_result(line: str, marker: Marker) -> None:
    assert protocol.parse_recheck(line) == marker
    assert protocol.parse_result(line) is None


def test_recheck_markers_are_written_as_v1_wrote_them() -> None:
    written = protocol.recheck_marker(Outcome.FAILED, AT, signature=None, config="7d872958b6d405e9")
    assert written == RECHECKS[0][0].removeprefix("<sub>").removesuffix("</sub>")


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
