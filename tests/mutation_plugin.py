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
