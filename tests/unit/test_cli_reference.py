"""docs/cli.md is what `--help` prints, for the top level and every command (scripts/cli-reference writes it).

Rendered in this process, so that a changed option, choice, default shown in the help or help text fails here
(and shows in review as a change to the page).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def reference() -> ModuleType:
    path = ROOT / "scripts" / "cli-reference"
    loader = importlib.machinery.SourceFileLoader("cli_reference", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("cli_reference", loader))
    loader.exec_module(module)
    return module


def test_docs_cli_md_is_what_help_prints() -> None:
    module = reference()
    assert (ROOT / "docs" / "cli.md").read_text() == module.render(), "run scripts/cli-reference"


def test_the_reference_has_every_command_the_parser_has() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    usage = text.split("## `action-item-verifier check-config --help`")[0]
    for command in reference().COMMANDS:
        assert f"## `action-item-verifier {command} --help`" in text
        assert f"\n    {command}" in usage
