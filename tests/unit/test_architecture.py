"""The import graph of `verifier/`, read with `ast` (#23): no cycle, and no module takes another's private name.

Every import counts: module level, inside a function, and under `if TYPE_CHECKING:` (a cycle hidden there is
still a cycle a reader has to hold in their head, and the first runtime use brings it back).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules(package: Path) -> dict[str, str]:
    """Each module's dotted name and source, `__init__.py` named by its package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text(encoding="utf-8")
    return found


def imports(name: str, source: str, known: Mapping[str, str]) -> Iterator[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for every import in `source` of a module in `known`."""
    is_package = any(other.startswith(f"{name}.") for other in known)
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    yield f"{target}.{alias.name}", None  # a submodule
                elif target in known:
                    yield target, alias.name


def graph(known: Mapping[str, str]) -> dict[str, set[str]]:
    return {
        name: {target for target, _ in imports(name, source, known) if target != name} for name, source in known.items()
    }


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def private_imports(known: Mapping[str, str]) -> list[str]:
    """`module imports _name from other` for each private (not dunder) name taken from another module."""
    return [
        f"{name} imports {taken} from {target}"
        for name, source in known.items()
        for target, taken in imports(name, source, known)
        if taken and taken.startswith("_") and not taken.startswith("__") and target != name
    ]


def test_verifier_has_no_import_cycle() -> None:
    assert cycles(graph(modules(ROOT / "verifier"))) == []


def test_no_module_in_verifier_imports_a_private_name_from_another() -> None:
    assert private_imports(modules(ROOT / "verifier")) == []


def test_the_reader_sees_cycles_at_every_level_and_private_names() -> None:
    """The checks above can fail: a cycle through a function-level and a TYPE_CHECKING import, and a private name."""
    known = {
        "pkg": "",
        "pkg.a": "from pkg.b import thing\n",
        "pkg.b": "def f():\n    from pkg import c\n",
        "pkg.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import _secret\n",
        "pkg.d": "import pkg.a\nfrom pkg.a import __version__\n",
    }
    assert graph(known)["pkg.c"] == {"pkg.a"}
    assert cycles(graph(known)) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert private_imports(known) == ["pkg.c imports _secret from pkg.a"]
    assert cycles(graph({**known, "pkg.b": ""})) == []


def reaches(edges: Mapping[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in edges.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_the_shared_vocabulary_sits_at_the_bottom() -> None:
    """The run's outcomes import nothing of the tool; the SLA rule and the reminders stand on tickets, the
    protocol and the defaults, not on the weekly report (#23)."""
    edges = graph(modules(ROOT / "verifier"))
    assert reaches(edges, "verifier.domain.outcomes") == set()
    assert reaches(edges, "verifier.domain.sla") <= {"verifier", "verifier.defaults", "verifier.domain.tickets"}
    assert "verifier.domain.report" not in reaches(edges, "verifier.domain.reminders")
