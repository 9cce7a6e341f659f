"""What mutation testing of verifier/redaction.py found no test holding (#27): the order secrets are masked in,
the shortest secret kept, the lines of a PEM key, and the stream filter's line handling."""

from __future__ import annotations

import io
import secrets

from verifier import redaction
from verifier.redaction import MASK, RedactingStream, redact, variants


def test_a_secret_inside_a_longer_one_that_sorts_before_it_is_not_masked_first() -> None:
    """Longest first, not reverse alphabetical: `zz…` sorts after `a-zz…` but is inside it."""
    short = "zz-" + secrets.token_hex(4)
    longer = "a-" + short + "-tail"
    assert redact(f"x {longer} y", [short, longer]) == f"x {MASK} y"
    redaction.register([short, longer])
    assert redact(f"x {longer} y") == f"x {MASK} y"


def test_a_secret_of_the_minimum_length_is_masked() -> None:
    four = "Ωq§" + "žŧđ"[secrets.randbelow(3)]  # no ordinary output holds these
    assert len(four) == redaction.MIN_LENGTH
    redaction.register([four, "Ωq§"])  # the three-letter one would mask ordinary words: not kept
    assert redact(f"[{four}] Ωq§") == f"[{MASK}] Ωq§"


def test_each_line_of_a_pem_key_is_a_secret_of_its_own_but_not_its_markers_or_short_lines() -> None:
    line16, line15 = "MIIEvQIBADANBgkq", "hkiG9w0BAQEFAAS"
    assert (len(line16), len(line15)) == (16, 15)
    key = f"-----BEGIN PRIVATE KEY-----\n{line16}\n  {line15}\n-----END PRIVATE KEY-----\n"
    assert variants(key) == [key, line16]


def test_the_stream_filter_passes_each_complete_line_at_once_and_keeps_the_rest_until_flushed() -> None:
    target = io.StringIO()
    stream = RedactingStream(target)
    secret = "stream-" + secrets.token_hex(6)
    redaction.register([secret])
    stream.write(f"one {secret}\ntwo\nthr")
    assert target.getvalue() == f"one {MASK}\ntwo\n"  # both complete lines, before any flush
    stream.flush()
    assert target.getvalue() == f"one {MASK}\ntwo\nthr"
    stream.write("ee\n")
    stream.flush()
    assert target.getvalue() == f"one {MASK}\ntwo\nthree\n"
    assert stream.getvalue() == target.getvalue()  # anything else: as the wrapped stream
    assert stream.isatty() is False
