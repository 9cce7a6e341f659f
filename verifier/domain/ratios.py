"""Ratios written as PromQL: how many events a ratio's denominator counted in the window.

A ratio such as `sum(increase(errors_total[$window])) / sum(increase(requests_total[$window]))` is only as good
as the requests under it: 1 error in 3 requests is 33%, and says nothing. The denominator is recognised only in
the plain shape people write (one top-level `/`, a `sum` of `increase` or `rate` over `[$window]`), so that the
count asked for is exactly the one the ratio divided by; any other expression has no event count.
"""

from __future__ import annotations

import re

_DENOMINATOR = re.compile(
    r"^sum\s*(?:(?:by|without)\s*\([^()]*\)\s*)?\(\s*(?:increase|rate)\s*\(\s*(?P<selector>[^()\[\]]+?)\s*"
    r"\[\s*\$(?:window|\{window\})\s*\]\s*\)\s*\)$"
)
_OPEN, _CLOSE = "([{", ")]}"


def denominator(expr: str) -> str | None:
    """The selector a ratio divides by (`requests_total{code!=""}`), or None when `expr` is not such a ratio."""
    parts = _top_level_split(expr, "/")
    if parts is None or len(parts) != 2:
        return None
    match = _DENOMINATOR.match(parts[1].strip())
    return match.group("selector") if match else None


def _top_level_split(expr: str, operator: str) -> list[str] | None:
    """`expr` split at `operator` outside brackets and strings; None when the brackets or quotes do not close."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(expr):
        char = expr[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
        elif char == operator and depth == 0:
            parts.append(expr[start:i])
            start = i + 1
        i += 1
    if depth or quote:
        return None
    parts.append(expr[start:])
    return parts
