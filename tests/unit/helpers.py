"""Small builders shared by the unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from verifier.domain.config import VerificationConfig
from verifier.domain.formats import find_config
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import QueryPlan
from verifier.domain.verdicts import Verdict, decide

RESOLVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def config(**fields: object) -> VerificationConfig:
    lines = ["# action-item-verifier: v1"]
    for key, value in fields.items():
        lines.append(f"{key}: {value}" if key == "labels" else f"{key}: {_quote(value)}")
    found = find_config("```yaml\n" + "\n".join(lines) + "\n```")
    assert found is not None
    return found


def _quote(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' if isinstance(value, str) else str(value)


def instant(*values: float, labels: tuple[tuple[str, str], ...] = ()) -> Measurement:
    if len(values) == 1 and not labels:
        return Measurement((Series((), ((0.0, values[0]),)),))
    return Measurement(tuple(Series((("instance", str(i)),), ((0.0, v),)) for i, v in enumerate(values)))


def steps(*values: float) -> Measurement:
    return Measurement((Series((("job", "api"),), tuple((float(i), v) for i, v in enumerate(values))),))


#: An events query's answer well above the minimum a quantile needs (defaults.MIN_EVENTS).
ENOUGH_EVENTS = 10_000.0


def judge(plan: QueryPlan, measurement: Measurement, baseline: Measurement | None = None, **options: Any) -> Verdict:
    """`decide` with the window's events measured and plentiful, unless a test passes its own `events`."""
    options.setdefault("events", instant(ENOUGH_EVENTS))
    return decide(plan, measurement, baseline, **options)
