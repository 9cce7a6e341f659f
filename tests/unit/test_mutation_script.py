"""scripts/mutation hands mutmut the tests as they stand (#27).

mutmut copies tests/ into the group's mutants/ over the copy of the run before and removes nothing there: a test
file moved since (the unit tests' move into packages, #23) stayed in the copy, was collected, failed on its import
of what had moved, and stopped the run before it tried anything; a module moved since stayed in its copy of
verifier/, where `tests/unit/test_mutation_docs.py` listed it, and stopped the run too. And mutmut maps tests to
the functions they run only for tests it has not seen: a test mapped before a function changed was never run
against its mutants, so each run starts with mutmut's map of tests forgotten (the results kept). Here mutmut is a stand-in that notes what the
copy holds when it is started; the script runs in a scratch repository with the group's earlier copy in place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STAND_IN = """#!/bin/sh
# mutmut as the script starts it, in the group's directory: note whether the moved test is still in the copy.
if [ -e mutants/tests/unit/test_moved_away.py ]; then echo stale-test >> "$SEEN"; else echo fresh >> "$SEEN"; fi
if [ -e mutants/verifier/moved_away.py ] || [ -e mutants/verifier/moved_away.py.meta ]; then echo stale-module >> "$SEEN"; fi
grep -q '"tests_by_mangled_function_name": {}, "duration_by_test": {}' mutants/mutmut-stats.json || echo old-map >> "$SEEN"
"""


def _scratch(tmp_path: Path, stand_in: str, doc: str = "# Mutation testing\n") -> Path:
    """A repository with the script, pyproject, `doc` as docs/mutation.md, verifier/ and one unit test, and
    `stand_in` as mutmut."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "mutation", repo / "scripts" / "mutation")
    shutil.copy(ROOT / "scripts" / "mutation_explained.py", repo / "scripts" / "mutation_explained.py")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / "docs").mkdir()
    (repo / "docs" / "mutation.md").write_text(doc)
    (repo / "verifier").symlink_to(ROOT / "verifier")
    (repo / "tests" / "unit").mkdir(parents=True)
    (repo / "tests" / "unit" / "test_here.py").write_text("def test_here() -> None:\n    pass\n")
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "mutmut").write_text(stand_in)
    for tool in ("python", "mutmut"):
        (bin_dir / tool).chmod(0o755)
    return repo


def test_each_mutmut_run_starts_without_the_tests_and_modules_gone_since_and_maps_the_tests_anew(
    tmp_path: Path,
) -> None:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    repo = _scratch(tmp_path, STAND_IN)
    earlier = repo / ".mutation" / "wiring" / "mutants" / "tests" / "unit"  # the copy of an earlier run
    earlier.mkdir(parents=True)
    (earlier / "test_moved_away.py").write_text("from verifier.moved_away import nothing\n")
    module = repo / ".mutation" / "wiring" / "mutants" / "verifier"
    module.mkdir()
    (module / "moved_away.py").write_text("nothing = None\n")
    (module / "moved_away.py.meta").write_text("{}\n")
    test = "tests/unit/test_here.py::test_here"  # mapped to a function that changed since, say
    stats = {"tests_by_mangled_function_name": {"verifier.cli.x_main": [test]}, "duration_by_test": {test: 0.1}}
    stats |= {"stats_time": 1.0, "function_hashes": {}, "function_dependencies": {}, "config_fingerprint": {}}
    (module.parent / "mutmut-stats.json").write_text(json.dumps(stats))

    seen = tmp_path / "seen"
    env = {**os.environ, "SEEN": str(seen), "MUTATION_CHILDREN": "1"}
    done = subprocess.run(
        ["bash", "scripts/mutation", "--group", "wiring"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    runs = seen.read_text().split()
    assert runs and set(runs) == {"fresh"}, done.stdout + done.stderr


def test_the_survivors_tried_again_are_those_docs_mutation_md_does_not_explain(tmp_path: Path) -> None:
    """An explained survivor (mostly an equivalent) tried again runs every test that covers it for nothing: in a
    tracker group that is minutes each. A run tries again only the unexplained ones; `--explained` all of them."""
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    doc = "| mutant | why |\n|---|---|\n| `cli.x_main__mutmut_1`, `_3` | equivalent |\n"
    repo = _scratch(tmp_path, '#!/bin/sh\necho "$*" >> "$SEEN"\n', doc)
    results = repo / ".mutation" / "wiring" / "mutants" / "verifier"
    results.mkdir(parents=True)
    codes = {f"verifier.cli.x_main__mutmut_{n}": code for n, code in ((1, 0), (2, 0), (3, 0), (4, 1), (5, None))}
    (results / "cli.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))

    tried = []
    for flags in ([], ["--explained"]):
        seen = tmp_path / f"seen{len(flags)}"
        env = {**os.environ, "SEEN": str(seen), "MUTATION_CHILDREN": "1"}
        subprocess.run(
            ["bash", "scripts/mutation", *flags, "--group", "wiring"],
            cwd=repo,
            env=env,
            capture_output=True,
            timeout=120,
        )
        again = seen.read_text().splitlines()[1]  # the first run tries the untried; the second, the survivors
        tried.append(sorted(name for name in again.split() if name.startswith("verifier.cli.")))

    # _4 was killed; _5 never tried (the stand-in records no result), so it is named in both
    assert tried == [
        ["verifier.cli.x_main__mutmut_2", "verifier.cli.x_main__mutmut_5"],
        [f"verifier.cli.x_main__mutmut_{n}" for n in (1, 2, 3, 5)],
    ]


def test_every_top_level_package_the_tests_import_is_copied_for_mutmut() -> None:
    """mutmut runs the tests in its copy of the repository, which holds verifier/, tests/ and pyproject's
    `also_copy`: a package the tests import that is not copied fails collection and stops every run of the group
    (`tests/unit/test_bench_report.py` imports `bench`, which was not copied: the core's run failed at once)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    copied = {entry.strip("/") for entry in config["also_copy"]} | {"verifier", "tests"}
    imported = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for name in re.findall(r"(?m)^\s*(?:from|import) (\w+)", path.read_text()):
            if (ROOT / name).is_dir():  # a package of the repository (bench/ is a namespace package)
                imported.add(name)
    assert "bench" in imported  # the check sees what it is for
    assert sorted(imported - copied) == []
