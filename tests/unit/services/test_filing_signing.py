"""`file` with a signing key: each config is signed for the ticket the tracker created, and earlier filings whose
block and facts still say what the file says are re-signed (docs/migrating.md); changed ones are left and named."""

from __future__ import annotations

import re
from dataclasses import replace

from tests.unit.fakes import FakeTracker
from tests.unit.services.test_filing_file import NOW, document, text
from verifier.domain.binding import signed_for
from verifier.domain.config import canonical
from verifier.domain.filing import parse_filing
from verifier.domain.formats import find_config
from verifier.domain.protocol import config_signature
from verifier.services.filing import file_items

KEY = b"k" * 32
_SIG = re.compile(r"\n# sig: \S+")


def _filed(tracker: FakeTracker) -> None:
    file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, signing_key=KEY)


def _earlier(tracker: FakeTracker, key: str) -> None:
    """Make the ticket's block signed as a release before bound signatures signed it (fields only)."""
    body = tracker.tickets[key].body
    config = find_config(body)
    assert config is not None
    earlier = _SIG.sub(f"\n# sig: {config_signature(KEY, canonical(config))}", body)
    tracker.tickets[key] = replace(tracker.tickets[key], body=earlier)


def _signed(tracker: FakeTracker, key: str) -> bool:
    body = tracker.tickets[key].body
    config = find_config(body)
    return config is not None and signed_for(KEY, key, body, config)


def test_filing_again_re_signs_an_earlier_format_filing_that_still_says_what_the_file_says() -> None:
    tracker = FakeTracker()
    _filed(tracker)
    _earlier(tracker, "FAKE-1")
    assert not _signed(tracker, "FAKE-1")

    dry = file_items(parse_filing(text(document())), tracker, None, dry_run=True, now=NOW, signing_key=KEY)
    assert [i.status for i in dry.items] == ["would sign", "already filed"] and not _signed(tracker, "FAKE-1")
    report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, signing_key=KEY)

    assert [i.status for i in report.items] == ["signed", "already filed"]
    assert _signed(tracker, "FAKE-1") and _signed(tracker, "FAKE-2")
    assert report.error is None and [n for n in report.notes if "sign" in n] == []


def test_filing_again_leaves_a_filing_whose_facts_changed_and_names_it() -> None:
    tracker = FakeTracker()
    _filed(tracker)
    _earlier(tracker, "FAKE-1")
    body = tracker.tickets["FAKE-1"].body
    changed = re.sub(r"(Actual Value\*\*: )[0-9.]+", r"\g<1>1000", body)
    assert changed != body
    tracker.tickets["FAKE-1"] = replace(tracker.tickets["FAKE-1"], body=changed)
    writes = len(tracker.writes)

    report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, signing_key=KEY)

    assert [i.status for i in report.items] == ["already filed", "already filed"]
    assert len(tracker.writes) == writes and not _signed(tracker, "FAKE-1")
    assert report.notes[1:] == [
        'item 1 ("' + report.items[0].title + '"): FAKE-1 is not signed for its ticket and is left as it is: '
        "the incident facts in its body are not the ones in the file"
    ]


def test_a_block_moved_from_another_ticket_is_not_re_signed() -> None:
    tracker = FakeTracker()
    _filed(tracker)
    moved = _SIG.sub(_SIG.search(tracker.tickets["FAKE-2"].body).group(0), tracker.tickets["FAKE-1"].body)  # type: ignore[union-attr]
    tracker.tickets["FAKE-1"] = replace(tracker.tickets["FAKE-1"], body=moved)

    report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, signing_key=KEY)

    assert report.items[0].status == "already filed" and not _signed(tracker, "FAKE-1")
    assert "carries a signature that does not verify" in report.notes[1]


def test_a_failed_signing_edit_is_reported_and_filing_again_signs_it() -> None:
    tracker = FakeTracker()
    tracker.fail_on.add("edit_body")  # once: the first signing edit
    report = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, signing_key=KEY)
    assert report.error is not None and "FAKE-1 was created, but signing its config failed" in report.error
    assert [i.status for i in report.items] == ["created", "not filed"]

    again = file_items(parse_filing(text(document())), tracker, None, dry_run=False, now=NOW, signing_key=KEY)

    assert [i.status for i in again.items] == ["signed", "created"]
    assert _signed(tracker, "FAKE-1") and _signed(tracker, "FAKE-2")
