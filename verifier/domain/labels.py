"""Label names a tracker accepts: GitHub refuses a name longer than 50 characters (422).

The rule (documented in the README): a name within the limit is kept as it is; a longer one keeps its first
`limit - 9` characters, then `~` and the first 8 hex digits of the SHA-256 of the whole name. So the shortened name
still starts as the long one does (`incident:INC-2026-…`), two names that share a long beginning stay apart, and
the same name always gives the same label, which is how filing finds its issues again (`find_filed`).
"""

from __future__ import annotations

import hashlib

__all__ = ["fit_label"]

#: The separator before the hash and how many hex digits of the hash are kept.
_MARK = "~"
_DIGITS = 8


def fit_label(name: str, limit: int) -> str:
    """`name` if it has at most `limit` characters, else its shortened form (see the module docstring)."""
    if len(name) <= limit:
        return name
    if limit <= _DIGITS + len(_MARK):
        raise ValueError(f"a label limit of {limit} leaves no room for the hash")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_DIGITS]
    return name[: limit - _DIGITS - len(_MARK)] + _MARK + digest
