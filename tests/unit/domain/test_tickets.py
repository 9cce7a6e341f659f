"""`own_filing`: only a ticket the tool's account created is its filing; every other one is named."""

from hypothesis import given
from hypothesis import strategies as st

from verifier.domain.tickets import own_filing

BOT = "verifier-bot"


def test_the_first_ticket_the_tool_created_counts_and_the_others_are_squatters() -> None:
    candidates = [("OPS-1", "mallory"), ("OPS-2", BOT), ("OPS-3", ""), ("OPS-4", BOT)]
    assert own_filing(candidates, BOT) == ("OPS-2", ("OPS-1", "OPS-3"))
    assert own_filing([("OPS-1", "mallory")], BOT) == (None, ("OPS-1",))
    assert own_filing([], BOT) == (None, ())
    assert own_filing([("OPS-1", "")], "") == (None, ("OPS-1",))  # an unknown creator is nobody's


@given(st.lists(st.tuples(st.text(min_size=1, max_size=5), st.sampled_from([BOT, "mallory", ""])), max_size=8))
def test_a_squatter_is_never_the_filing_and_the_filing_is_always_the_tools(candidates: list[tuple[str, str]]) -> None:
    candidates = list(dict(candidates).items())  # keys are unique in a tracker
    ours, squatted = own_filing(candidates, BOT)
    creators = dict(candidates)
    assert ours is None or creators[ours] == BOT
    assert all(creators[key] != BOT for key in squatted)
    assert ours is not None or all(creator != BOT for creator in creators.values())
