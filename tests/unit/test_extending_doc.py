"""docs/extending.md's lists of files to touch are true of the tree (#23).

Every `path` in the two "Adding ..." sections exists, and every `path::Name` (`Class.member` too) is defined there:
imported for a Python module, found as text in any other file. Every question `TrackerSettings` asks of a tracker
is on the list, so a new one cannot be added without saying so.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "extending.md"
SECTIONS = ("## Adding a tracker", "## Adding a metrics-auth mode")
#: A backticked reference to the tree: a path with a folder or an extension, and optionally `::Name`.
REFERENCE = re.compile(r"`((?:[\w.-]+/)+[\w.-]*|[\w-]+\.(?:py|md|json|yaml))(?:::([\w.]+))?`")


def sections(text: str) -> dict[str, str]:
    """Each "Adding ..." section's text, up to the next second-level heading."""
    found = {}
    for heading in SECTIONS:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        found[heading] = text[start : end if end != -1 else len(text)]
    return found


def references(text: str) -> list[tuple[str, str | None]]:
    """(path, name or None) for every reference in the list items of `text` (an item goes on over indented lines;
    placeholders like `<name>` are left out)."""
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.lstrip().startswith("- "):
            items.append(line)
            inside = True
        elif inside and line.startswith(" ") and line.strip():
            items[-1] += " " + line.strip()
        else:
            inside = False
    joined = "\n".join(items)
    return [(path, name or None) for path, name in REFERENCE.findall(joined) if "<" not in path]


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def problem(path: str, name: str | None, root: Path = ROOT) -> str | None:
    """What is wrong with one reference, or None."""
    target = root / path
    if not target.exists():
        return f"{path}: no such file or folder"
    if name is None:
        return None
    if path.endswith(".py"):
        module = importlib.import_module(module_of(path))
        value: object = module
        for part in name.split("."):
            if hasattr(value, part):
                value = getattr(value, part)
            elif part in getattr(value, "__annotations__", {}):  # declared only (a ClassVar each subclass sets)
                return None
            else:
                return f"{path}: defines no {name}"
        return None
    if name not in target.read_text(encoding="utf-8"):
        return f"{path}: never mentions {name}"
    return None


def test_every_file_and_name_the_doc_lists_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = {heading: references(body) for heading, body in sections(text).items()}
    assert all(len(refs) >= 10 for refs in found.values()), {h: len(r) for h, r in found.items()}
    problems = [p for refs in found.values() for path, name in refs if (p := problem(path, name))]
    assert problems == []


def test_the_registration_point_and_every_question_a_tracker_answers_are_listed() -> None:
    listed = set(references(sections(DOC.read_text(encoding="utf-8"))[SECTIONS[0]]))
    assert ("verifier/settings.py", "TRACKERS") in listed
    settings = ast.parse((ROOT / "verifier" / "settings.py").read_text(encoding="utf-8"))
    base = next(n for n in settings.body if isinstance(n, ast.ClassDef) and n.name == "TrackerSettings")
    hooks = {"settings_customise_sources"}  # pydantic-settings' own hook, not a question the tracker answers
    # Under mutation testing the file is mutmut's copy, whose class also holds each method's mutants (`xǁ…`).
    methods = {n.name for n in base.body if isinstance(n, ast.FunctionDef) and "__mutmut_" not in n.name}
    questions = (methods - hooks) | {
        n.target.id for n in base.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert {"build", "not_a_fix", "filing", "fold_authors"} <= questions
    missing = {q for q in questions if ("verifier/settings.py", f"TrackerSettings.{q}") not in listed}
    assert missing == set()


def test_the_checks_can_fail() -> None:
    doc = (
        "## Adding a tracker\n- `verifier/settings.py::TRACKERS` and `verifier/nowhere.py`\n"
        "- `verifier/settings.py::TrackerSettings.nothing`, `README.md::nosuchwordshere`\n"
        "- `verifier/adapters/<name>/` is new, and\n  `verifier/ports.py::WRITE_GATE` goes on\nprose `verifier/x.py`\n"
        "## Next\n- `x/y.py`\n"
        "## Adding a metrics-auth mode\n- `verifier/ports.py::Tracker`\n"
    )
    refs = references(sections(doc)[SECTIONS[0]])
    assert refs == [
        ("verifier/settings.py", "TRACKERS"),
        ("verifier/nowhere.py", None),
        ("verifier/settings.py", "TrackerSettings.nothing"),
        ("README.md", "nosuchwordshere"),
        ("verifier/ports.py", "WRITE_GATE"),
    ]
    assert [problem(path, name) for path, name in refs] == [
        None,
        "verifier/nowhere.py: no such file or folder",
        "verifier/settings.py: defines no TrackerSettings.nothing",
        "README.md: never mentions nosuchwordshere",
        None,
    ]
    assert references(sections(doc)[SECTIONS[1]]) == [("verifier/ports.py", "Tracker")]
