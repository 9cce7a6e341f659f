"""The README's trust claims name the tests that hold them (#20): every test named there exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_NAMED = re.compile(r"`((?:tests/[\w/]+\.py|[\w]+\.py|…))::(test_\w+)(?:\[[^\]]*\])?`")


def _named_tests(text: str) -> list[tuple[str, str]]:
    """(file, test) for each `path::test` in the text; `…::test` and a bare file name refer to the last full path
    with that file name (or the last one at all)."""
    found, last = [], ""
    paths: dict[str, str] = {}
    for match in _NAMED.finditer(text):
        where, name = match.groups()
        if where.startswith("tests/"):
            last = paths[Path(where).name] = where
        else:
            last = paths.get(where, last) if where != "…" else last
        found.append((last, name))
    return found


def test_every_test_the_readme_names_exists() -> None:
    named = _named_tests((ROOT / "README.md").read_text())
    assert len(named) >= 12  # the trust section's claims
    missing = [
        f"{path}::{name}" for path, name in named if not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)
    ]
    assert missing == []
