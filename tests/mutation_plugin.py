"""A pytest plugin loaded only by mutation runs (pyproject.toml, [tool.mutmut] pytest_add_cli_args).

A mutant is killed by the first failing test, so: property tests report their first counter-example instead of
shrinking it (shrinking a broken function can outlast mutmut's timeout), and the quickest tests run first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import Phase, settings

settings.register_profile("mutation", phases=(Phase.explicit, Phase.generate), database=None, deadline=None)
settings.load_profile("mutation")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stats = Path("mutmut-stats.json")  # mutmut runs the tests inside mutants/, next to its timings
    if stats.exists():
        durations: dict[str, float] = json.loads(stats.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
