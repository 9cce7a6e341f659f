"""`domain.filing_fields`: the helpers the action-items file's readers share."""

from __future__ import annotations

from verifier.domain.filing_fields import EXCERPT, excerpt


def test_an_excerpt_shows_a_number_only_while_its_text_is_cheap_to_make() -> None:
    """A huge integer from the file is named, not printed: its text alone would cost more than the message."""
    assert excerpt(2**998) == str(2**998)[:EXCERPT]  # 999 bits: still shown
    assert excerpt(2**999) == "a int"  # 1,000 bits
    assert excerpt(-(2**998)) == str(-(2**998))[:EXCERPT]
    assert excerpt([1, 2]) == "a list" and excerpt(None) == "None" and excerpt(1.5) == "1.5"
    assert excerpt("a\n  b", 3) == "a b"
