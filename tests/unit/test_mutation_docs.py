"""docs/mutation.md gives a score (or says why there is none yet) for every module scripts/mutation mutates (#27).

`bash scripts/mutation --list` prints each module its groups mutate, from their globs as the files stand: a module
added to verifier/domain, verifier/services or verifier/adapters, or moved into a package, needs its row.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def covered() -> dict[str, str]:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    listing = subprocess.run(
        ["bash", str(ROOT / "scripts" / "mutation"), "--list"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    pairs = (line.split() for line in listing.splitlines() if line.strip())
    return {module.removeprefix("verifier."): group for module, group in pairs}


def test_the_listing_names_the_core_the_wiring_and_the_adapters() -> None:
    modules = covered()
    assert modules["domain.verdicts"] == "core"
    assert modules["settings"] == modules["redaction"] == "core"
    assert modules["cli"] == modules["bootstrap"] == modules["connections"] == "wiring"
    assert modules["adapters.http"] == "adapters.http"
    assert "adapters.__init__" not in modules and "domain.__init__" not in modules


def test_every_mutated_module_has_a_row_in_docs_mutation_md() -> None:
    text = (ROOT / "docs" / "mutation.md").read_text()
    missing = [m for m in sorted(covered()) if not re.search(rf"^\|(?:[^|\n]*\|)*\s*{re.escape(m)}\s*\|", text, re.M)]
    assert not missing, f"docs/mutation.md has no score row for: {', '.join(missing)}"


def test_every_test_path_a_group_is_judged_by_exists() -> None:
    """mutmut stops before trying anything when a named test file is gone (the unit tests' move into packages
    left three groups naming old paths)."""
    script = (ROOT / "scripts" / "mutation").read_text()
    table = script.split('TABLE="', 1)[1].split('"', 1)[0]
    named = re.findall(r"(?<!\S)(tests/\S+)", table)
    assert len(named) > 10
    assert [path for path in named if not (ROOT / path).exists()] == []
