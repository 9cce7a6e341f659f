"""A pytest plugin loaded only by mutation runs (pyproject.toml, [tool.mutmut] pytest_add_cli_args).

A mutant is killed by the first failing test, so property tests report their first counter-example instead of
shrinking it: shrinking a broken function's counter-example can outlast mutmut's timeout.

mutmut runs the tests in another order than pytest does, and several sessions in one process; a test that
configured logging to a captured stream leaves later tests writing to it after it is closed, so each test starts
from structlog's defaults.
"""

from __future__ import annotations

import pytest
import structlog
from hypothesis import Phase, settings

settings.register_profile("mutation", phases=(Phase.explicit, Phase.generate), database=None, deadline=None)
settings.load_profile("mutation")


def pytest_runtest_setup(item: pytest.Item) -> None:
    structlog.reset_defaults()


#: Tests of verifier/'s source text (each literal in one home, the import graph): under mutation testing that text is
#: mutmut's copy, with every function's mutants beside it, so they fail whatever the mutant (mutmut's clean run of
#: the selection then stops the run); no behaviour of the mutated code is theirs to hold.
SOURCE_TEXT_TESTS = ("tests/unit/test_one_home.py", "tests/unit/test_architecture.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept = [item for item in items if not item.nodeid.startswith(SOURCE_TEXT_TESTS)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
