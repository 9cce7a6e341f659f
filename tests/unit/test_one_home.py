"""One home for each fact (#23): every default, label and text format the tool writes or reads is written once in
`verifier/`, in its home (`defaults.py` for defaults, `domain/protocol.py` for the text written into trackers).

Read from the source with `ast`: string constants, docstrings and dict keys (JSON field names) left out, so prose
and a report's `"overdue"` section do not count, and a second copy of a label or a marker anywhere else does.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from verifier import defaults
from verifier.domain import protocol

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "verifier"
DEFAULTS = "verifier/defaults.py"
PROTOCOL = "verifier/domain/protocol.py"

#: Exact string constants and the one module that may hold them.
EXACT = {
    # The labels a run searches for and writes.
    defaults.LABEL: DEFAULTS,
    defaults.FILED_LABEL: DEFAULTS,
    defaults.VERIFIED_LABEL: DEFAULTS,
    defaults.FAILED_LABEL: DEFAULTS,
    defaults.INCONCLUSIVE_LABEL: DEFAULTS,
    defaults.INVALID_LABEL: DEFAULTS,
    defaults.REOPEN_FAILED_LABEL: DEFAULTS,
    defaults.OVERDUE_LABEL: DEFAULTS,
    # Closing reasons that are not a fix, the priorities and Jira's names for them, where the APIs are.
    **dict.fromkeys(defaults.JIRA_NOT_A_FIX, DEFAULTS),
    **dict.fromkeys(defaults.GITHUB_NOT_A_FIX, DEFAULTS),
    **dict.fromkeys(defaults.PRIORITIES, DEFAULTS),
    **dict.fromkeys(defaults.JIRA_PRIORITIES.values(), DEFAULTS),
    defaults.JIRA_ISSUE_TYPE: DEFAULTS,
    defaults.GITHUB_API_URL: DEFAULTS,
    defaults.JIRA_API_GATEWAY_URL: DEFAULTS,
    defaults.SECRETS_DIR: DEFAULTS,
    # The protocol: what each marker, header and signature line starts with.
    protocol.VERSION: PROTOCOL,
    protocol.SIGNATURE: PROTOCOL,
    protocol.BOUND: PROTOCOL,
    protocol.FINGERPRINT.removeprefix(protocol.NAME): PROTOCOL,  # the word alone is in messages too
}
#: Text formats, found inside any string constant (an f-string's pieces too), and their one home.
WITHIN = {
    "result v1; verdict=": PROTOCOL,
    "reminder v1; due=": PROTOCOL,
    "# sig:": PROTOCOL,
    "incident:": PROTOCOL,
    "incident-": PROTOCOL,
    "priority:": PROTOCOL,
    protocol.TITLE_PREFIX: PROTOCOL,
    protocol.SEED_CONFIG_TITLE: PROTOCOL,
    # The seed body's headings: filing writes them, the run reads the criteria and the incident's facts by them.
    protocol.CRITERIA_HEADING: PROTOCOL,
    protocol.WINDOW: PROTOCOL,
    protocol.TRIGGERED_AT: PROTOCOL,
    protocol.ACTUAL_VALUE: PROTOCOL,
    protocol.SERVICE: PROTOCOL,
    protocol.EXPECTED: PROTOCOL,
}
#: The product's name has four jobs; a fifth (a marker written outside the protocol, say) must be a new line here.
NAME_ROLES = {
    "verifier/__init__.py",  # the distribution whose version --version prints
    "verifier/cli.py",  # the program's name in --help
    DEFAULTS,  # the Pushgateway job and the secrets directory
    PROTOCOL,  # the namespace of every marker and header
}
#: Modules whose dataclass defaults are a rework in progress elsewhere (none left).
NUMBERS_PENDING: set[str] = set()


def _unread(tree: ast.AST) -> set[int]:
    """The ids of the constants that are docstrings (module, class, function, attribute) or dict keys."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            skipped.update(
                id(statement.value)
                for statement in body
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            )
        if isinstance(node, ast.Dict):
            skipped.update(id(key) for key in node.keys if key is not None)
    return skipped


def strings(package: Path) -> dict[str, list[str]]:
    """Each string constant of the package's source (but docstrings and dict keys): where it occurs, by module."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _unread(tree)
        where = path.relative_to(package.parent).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
                found[node.value].append(where)
    return found


def homes(found: dict[str, list[str]], literal: str, *, within: bool) -> list[str]:
    if not within:
        return found.get(literal, [])
    return [where for text, places in found.items() if literal in text for where in places]


FOUND = strings(VERIFIER)


@pytest.mark.parametrize(("literal", "home"), sorted(EXACT.items()))
def test_each_default_label_and_format_prefix_is_written_once_in_its_home(literal: str, home: str) -> None:
    assert homes(FOUND, literal, within=False) == [home]


@pytest.mark.parametrize(("literal", "home"), sorted(WITHIN.items()))
def test_each_text_format_is_written_once_in_the_protocol(literal: str, home: str) -> None:
    assert homes(FOUND, literal, within=True) == [home]


def test_the_product_s_name_is_written_only_where_it_has_a_job() -> None:
    assert set(homes(FOUND, protocol.NAME, within=True)) == NAME_ROLES
    assert FOUND[protocol.NAME].count(PROTOCOL) == 1  # every marker and header is built from protocol.NAME


def test_no_class_outside_defaults_py_writes_a_number_as_a_field_default() -> None:
    """A settings field, a run option or a plan's field defaults to a name from `defaults.py`, not a number
    (counters starting at 0 aside): so the run interval, retries, backoff... are each one line to change."""
    numbers = []
    for path in sorted(VERIFIER.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        if where == DEFAULTS or where in NUMBERS_PENDING:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for statement in node.body:
                value = statement.value if isinstance(statement, ast.AnnAssign) else None
                if isinstance(value, ast.Call) and ast.unparse(value.func) == "Field":
                    value = next((k.value for k in value.keywords if k.arg == "default"), None)
                if isinstance(value, ast.Call) and ast.unparse(value.func) == "timedelta":
                    value = next(iter(value.args), None) or next((k.value for k in value.keywords), None)
                if isinstance(value, ast.Constant) and type(value.value) in (int, float) and value.value != 0:
                    numbers.append(f"{where}:{statement.lineno}: {ast.unparse(statement)}")
    assert numbers == []


def test_the_reader_finds_a_second_copy_and_skips_prose_and_json_keys(tmp_path: Path) -> None:
    """The checks above can fail: a label copied into a module counts; a docstring and a JSON key do not."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text('"""post-incident in prose."""\nLABEL = "post-incident"\n')
    (package / "b.py").write_text(
        'def f(x):\n    """overdue"""\n    return {"overdue": x, "k": f"x incident:{x}"}, "post-incident"\n'
    )
    found = strings(package)
    assert homes(found, "post-incident", within=False) == ["pkg/a.py", "pkg/b.py"]
    assert homes(found, "overdue", within=False) == []
    assert homes(found, "incident:", within=True) == ["pkg/b.py"]
