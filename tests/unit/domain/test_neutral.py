"""Outside text is shown, never rendered; secrets never leave the process.

Outside text keeps every character a reader needs, and only gains the invisible breaks that make it inert.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import RESOLVED
from verifier import redaction
from verifier.domain import neutral
from verifier.domain.neutral import ZWSP
from verifier.domain.render import parse_marker, render_result
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Verdict

HOSTILE = (
    "@org/team ![x](https://e.vil/p.png) [click](http://e.vil) <img src=x onerror=alert(1)> www.e.vil "
    "!https://e.vil/i.png! [~admin] [link|https://e.vil] {html}<b>x</b>{html} #12 me@e.vil \\{code} | cell"
)


def _unescaped(text: str) -> str:
    """What a renderer sees as markup: an escaped character renders as itself and ends whatever was open, so a
    space stands in for it (dropping it would join `&` and `A` in `&\\[A`, which renders no entity)."""
    return re.sub(r"\\.", " ", text, flags=re.S)


def test_markdown_leaves_no_mention_image_link_or_html() -> None:
    text = _unescaped(neutral.markdown(HOSTILE))
    assert "@org" not in text and "#12" not in text
    assert "![" not in text and "](" not in text and "<img" not in text and "<b>" not in text
    assert "https://" not in text and "http://" not in text and "www." not in text
    assert " | " not in text.replace("\\|", "")
    assert "\n" not in neutral.markdown("a\nb\r\nc")


def test_an_ampersand_before_escaped_markup_stays_a_plain_ampersand() -> None:
    # Found by the fuzz job: `&[A` becomes `&\\[A`, shown as `&[A`; the `&` opens no entity.
    assert neutral.markdown("&[A") == "&\\[A"
    assert neutral.markdown("&A;") == "\\&A;"


def test_wiki_leaves_no_image_mention_link_or_macro() -> None:
    text = neutral.wiki(HOSTILE)
    assert "\\{code\\}" in text
    text = _unescaped(text)
    for live in ("!", "[", "{", "|", "https://"):
        assert live not in text, live  # the attacker's backslash cannot turn the escape into a line break


def test_code_fence_is_longer_than_any_backtick_run() -> None:
    assert neutral.code_fence("a ``` b ```` c") == "`````"
    assert neutral.code_fence("plain") == "```"


@given(st.text(max_size=300), st.sampled_from(list(Flavour)))
def test_neutral_text_is_one_line_and_keeps_every_visible_character(text: str, flavour: Flavour) -> None:
    out = neutral.markdown(text) if flavour is Flavour.MARKDOWN else neutral.wiki(text)
    assert "\n" not in out and "\r" not in out
    visible = "".join(text.split())
    kept = out.replace(neutral.ZWSP, "").replace("\\", "")
    assert all(c in kept for c in visible if c not in "\\\x00\x7f" and c.isprintable())


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_result_comment_shows_label_values_inert(flavour: Flavour) -> None:
    verdict = Verdict(Outcome.FAILED, f"series {HOSTILE} failed", series=HOSTILE, notes=(HOSTILE,), query="x```y")
    text = render_result(verdict, RESOLVED, flavour)
    assert parse_marker(text) is not None
    assert "https://" not in text and "@org" not in text
    if flavour is Flavour.MARKDOWN:
        live = _unescaped(text)
        assert "![" not in live and "<img" not in live and "](" not in live
        assert "````promql\nx```y\n````" in text
    else:
        live = _unescaped(text.split("{noformat}")[0])
        assert "!" not in live and "[~" not in live and "{html}" not in live


def test_redaction_masks_secrets_their_basic_header_and_key_lines() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
    redaction.register(["s3cr3t-token", "tenant-header-value", key, redaction.basic_auth("u", "pw-9876")])
    text = "Authorization: Bearer s3cr3t-token X-Org: tenant-header-value Basic dTpwdy05ODc2 MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    assert redaction.redact(text).count(redaction.MASK) == 4
    assert redaction.redact_data({"a": [text], "b": 1}) == {"a": [redaction.redact(text)], "b": 1}


def test_redacting_stream_masks_secrets_split_across_writes() -> None:
    redaction.register(["split-secret-value"])
    target = io.StringIO()
    stream = redaction.RedactingStream(target)
    stream.write("one split-se")
    stream.write("cret-value two\nand split-secret-value")
    stream.flush()
    assert "split-secret-value" not in target.getvalue()
    assert target.getvalue().count(redaction.MASK) == 2


@pytest.mark.parametrize("render", [neutral.markdown, neutral.wiki])
def test_a_link_keeps_its_scheme_split_by_an_invisible_break(render: Callable[[str], str]) -> None:
    assert render("see https://e.vil and www.e.vil") == f"see https{ZWSP}://e.vil and www{ZWSP}.e.vil"


@pytest.mark.parametrize("render", [neutral.markdown, neutral.wiki])
def test_mentions_and_issue_references_read_the_same_but_do_not_ping(render: Callable[[str], str]) -> None:
    assert render("@org/team see #12") == f"@{ZWSP}org/team see #{ZWSP}12"


@pytest.mark.parametrize("render", [neutral.markdown, neutral.wiki])
def test_control_characters_vanish_without_a_trace(render: Callable[[str], str]) -> None:
    assert render("a\x07b\u202ec\x7f") == "abc"


def test_a_wiki_backslash_stays_one_visible_backslash() -> None:
    assert neutral.wiki("C:\\dir") == f"C:\\{ZWSP}dir"
