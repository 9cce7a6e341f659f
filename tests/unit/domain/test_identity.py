"""Trusted authors compared by immutable id (`verifier.domain.identity`)."""

from hypothesis import given
from hypothesis import strategies as st

from verifier.domain.identity import Identities, entry_names, split_entry

IDS = Identities({"alice": "583231", "bob": None})


def test_entries_may_pin_an_id() -> None:
    assert split_entry("alice=583231") == ("alice", "583231")
    assert split_entry(" alice ") == ("alice", None)
    assert split_entry("alice=") == ("alice", None)
    assert entry_names(["Alice=1", "Bob"], fold=True) == frozenset({"alice", "bob"})
    assert entry_names(["Alice=1", "Bob"], fold=False) == frozenset({"Alice", "Bob"})


def test_a_trusted_account_keeps_its_entry_under_a_new_name() -> None:
    assert IDS.name("alice-renamed", "583231") == "alice"
    assert IDS.name("alice", "583231") == "alice"


def test_a_login_taken_over_by_another_account_is_not_the_entry() -> None:
    assert IDS.name("alice", "999999") == "alice (id 999999)"
    assert IDS.name("alice", None) == "alice (id unknown)"
    assert IDS.name("bob", "1") == "bob (id 1)"  # an entry that resolved to nobody trusts nobody


def test_everyone_else_keeps_their_name() -> None:
    assert IDS.name("mallory", "31337") == "mallory"
    assert IDS.mapping() == ["alice -> 583231", "bob -> not found (not trusted)"]


@given(st.text(min_size=1, max_size=8), st.text("0123456789", min_size=1, max_size=6))
def test_only_the_resolved_id_is_ever_named_as_the_entry(shown: str, account_id: str) -> None:
    named = IDS.name(shown, account_id)
    assert (named == "alice") == (account_id == "583231") or (shown == "alice" and account_id == "583231")
    assert named != "bob"
