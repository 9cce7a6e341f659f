"""Text from outside the tool's settings, made inert where it is written into a tracker or a report.

Metric label values, ticket titles, service names, config text and backend error text can come from anyone who
can comment, file a ticket or emit a metric. Written as they are, they would ping people (`@org/team`), show
images (`![x](y)`, `!http://x!`), render links and HTML, or close the block they stand in. These functions keep
the characters readable and take away their meaning: one line, no live mention, image, link, HTML or macro.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"  # zero-width space: splits `@user`, `#12` and `https://` so no renderer links them
_URL = re.compile(r"(?i)\b(https?|ftp|file|mailto|www)(:|\.)")
# CommonMark lets any ASCII punctuation be escaped; `<` only opens HTML before a letter, `/`, `!` or `?`, and `&`
# an entity before a letter or `#`, so `< 100ms` stays as written.
_MARKDOWN = re.compile(r"([\\`*_\[\]!|~]|<(?=[A-Za-z/!?])|&(?=[A-Za-z#]))")
_WIKI = re.compile(r"([{}\[\]|!])")  # Jira wiki: macros, links and [~mentions], cells, !images!
_BACKTICKS = re.compile(r"`+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")  # incl. bidi overrides


def _unlink(text: str) -> str:
    text = " ".join(_CONTROL.sub("", text).split())
    text = _URL.sub(lambda m: m.group(1) + ZWSP + m.group(2), text)
    return text.replace("@", "@" + ZWSP).replace("#", "#" + ZWSP)


def markdown(text: str) -> str:
    """One line of GitHub Markdown that renders as the text itself (also safe in a table cell)."""
    return _MARKDOWN.sub(r"\\\1", _unlink(text))


def wiki(text: str) -> str:
    """One line of Jira wiki markup that renders as the text itself (also safe in a table cell)."""
    # Jira has no escape for a backslash (`\\` is a line break): a zero-width space keeps it from pairing up.
    return _WIKI.sub(r"\\\1", _unlink(text).replace("\\", "\\" + ZWSP))


def code_fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`, so the text cannot close its block."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)
