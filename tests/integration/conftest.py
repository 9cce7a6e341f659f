"""Fixtures running real metrics servers (see backends.py).

`backend` is parametrised over Prometheus and VictoriaMetrics and scoped to the module: each test module
overrides the module-scoped `history` fixture with its scenario data, which is loaded once per server, so a
module's tests share two server starts. Give each scenario its own metric names or labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.integration.backends import (
    History,
    MetricsBackend,
    Pushgateway,
    quiet_anchor,
    start_backend,
)

BACKENDS = ("prometheus", "victoriametrics")


@pytest.fixture(scope="module")
def history() -> History:
    """Override in a module with the scenario data its tests query; empty by default."""
    anchor = quiet_anchor()
    return History(start=anchor - timedelta(hours=1), end=anchor)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, history: History, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsBackend]:
    """A running server of each kind holding the module's `history`."""
    kind: str = request.param
    server = start_backend(kind, tmp_path_factory.mktemp(kind), history)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    with Pushgateway(tmp_path_factory.mktemp("pushgateway")) as gateway:
        yield gateway
