"""What a GraphQL answer with `errors` is refused as (`GraphQLErrors`): the one line an operator reads, whichever
errors GitHub sent (#27: written from adapters.github's mutation survivors). Pure: the adapter tests hold how the
refusal travels (tests/adapters/test_github_graphql.py)."""

from __future__ import annotations

from verifier.adapters.github.graphql import GraphQLErrors


def test_the_line_names_every_kind_the_first_message_and_how_many_more() -> None:
    error = GraphQLErrors(
        [
            {"type": "SERVICE_UNAVAILABLE", "message": "timed out\n  while   resolving"},
            {"type": "FORBIDDEN", "message": "not shown"},
            {"type": "SERVICE_UNAVAILABLE", "message": "not shown either"},
        ],
        {"X-RateLimit-Remaining": 0},
    )
    assert str(error) == "GraphQL errors FORBIDDEN, SERVICE_UNAVAILABLE: timed out while resolving (and 2 more)"
    assert error.headers == {"x-ratelimit-remaining": "0"}
    assert not error.rate_limited and not error.not_found


def test_one_error_says_no_more_and_a_missing_type_or_message_is_named() -> None:
    assert str(GraphQLErrors([{"message": "bad"}], {})) == "GraphQL errors ERROR: bad"
    two = GraphQLErrors([{"type": "A", "message": "first"}, {"type": "A", "message": "second"}], {})
    assert str(two) == "GraphQL errors A: first (and 1 more)"
    assert str(GraphQLErrors([{"type": "NOT_FOUND"}], {})) == "GraphQL errors NOT_FOUND: no message"
    assert str(GraphQLErrors([], {})) == "GraphQL errors ERROR: no message"


def test_a_hostile_message_is_one_line_of_at_most_300_characters() -> None:
    line = str(GraphQLErrors([{"type": "X", "message": "a" * 299 + "\nb" + "c" * 500}], {}))
    assert line == "GraphQL errors X: " + "a" * 299 + " "


def test_rate_limited_and_not_found_read_every_error() -> None:
    assert GraphQLErrors([{"type": "FORBIDDEN"}, {"type": "RATE_LIMITED"}], {}).rate_limited
    assert GraphQLErrors([{"type": "NOT_FOUND"}, {"type": "NOT_FOUND"}], {}).not_found
    assert not GraphQLErrors([{"type": "NOT_FOUND"}, {"type": "FORBIDDEN"}], {}).not_found
    assert not GraphQLErrors([], {}).not_found
