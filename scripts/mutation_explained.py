"""The mutants docs/mutation.md explains: the names in the first cell of its table rows (used by scripts/mutation,
both to leave explained survivors out of a run's "survivors again" step and to score)."""

from __future__ import annotations

import re
from pathlib import Path


def explained(doc: Path = Path("docs/mutation.md")) -> set[str]:
    """Mutant names in the first cell of the document's table rows. A cell names a mutant in full
    (`domain.report.x_build_report__mutmut_40`), then more of the same function by number (`_54`) or range
    (`_5`–`_8`), or of another function of the same module (`x__not_a_fix__mutmut_5`)."""
    names: set[str] = set()
    for line in doc.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        prefix = ""
        for full, first, last in re.findall(r"([\w.ǁ]+__mutmut_)?_?(\d+)(?:`?\s*[–-]\s*`?_(\d+))?", line.split("|")[1]):
            if full and "." not in full:  # a function of the module before
                full = prefix.partition("__mutmut_")[0].rpartition(".")[0] + "." + full
            prefix = full or prefix
            if prefix:
                names.update(f"verifier.{prefix}{n}" for n in range(int(first), int(last or first) + 1))
    return names
