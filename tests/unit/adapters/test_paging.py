"""`PageGuard` (verifier/adapters/paging.py): where a listing that does not end is stopped, and what it says (#27).

tests/adapters/test_page_caps.py holds it on the sandbox trackers; these hold its exact edges: the cap is the
last page allowed, a page is a repeat only when all its items were seen (an empty page is not), and a token is a
cycle only when it was given before.
"""

from __future__ import annotations

import pytest

from verifier import defaults
from verifier.adapters.paging import PageGuard
from verifier.errors import TrackerError


def test_the_cap_is_the_last_page_allowed() -> None:
    guard = PageGuard("GET /issues", max_pages=3, ticket="OPS-1")
    for page in range(3):
        guard.check([page])
    assert guard.pages == 3
    with pytest.raises(TrackerError) as error:
        guard.check([3])
    assert error.value.reason == ("GET /issues: stopped at the cap of 3 pages (the listing did not end)")
    assert error.value.ticket == "OPS-1"


def test_the_default_cap_is_the_documented_one() -> None:
    guard = PageGuard("search")
    assert guard.max_pages == defaults.MAX_PAGES
    assert guard.ticket is None
    for page in range(defaults.MAX_PAGES):
        guard.check([page])
    with pytest.raises(TrackerError, match=f"cap of {defaults.MAX_PAGES} pages"):
        guard.check([defaults.MAX_PAGES])


def test_a_page_whose_items_were_all_seen_is_a_repeat() -> None:
    guard = PageGuard("search", ticket="OPS-2")
    guard.check(["a", "b"])
    guard.check(["b", "c"])  # overlaps, but brings c: the listing advances
    with pytest.raises(TrackerError) as error:
        guard.check(["a", "c"])
    assert error.value.reason == ("search: page 3 repeats an earlier page; stopped (the listing does not advance)")
    assert error.value.ticket == "OPS-2"


def test_empty_pages_are_not_repeats() -> None:
    guard = PageGuard("search")
    guard.check(["a"])
    guard.check([])
    guard.check([])
    assert guard.pages == 3


def test_a_page_token_given_twice_is_a_cycle() -> None:
    guard = PageGuard("search", ticket="OPS-3")
    guard.check(["a"], token="t1")
    guard.check(["b"], token="t2")
    guard.check(["c"])  # no token: nothing to remember
    with pytest.raises(TrackerError) as error:
        guard.check(["d"], token="t1")
    assert error.value.reason == ("search: page 4 leads back to an earlier page token; stopped (a cycle)")
    assert error.value.ticket == "OPS-3"


def test_the_first_page_answered_again_is_a_repeat() -> None:
    # The commonest endless listing: the same page whatever the offset or token asked for.
    guard = PageGuard("search")
    guard.check(["a", "b"])
    with pytest.raises(TrackerError) as error:
        guard.check(["b", "a"])
    assert error.value.reason == "search: page 2 repeats an earlier page; stopped (the listing does not advance)"
