"""The alert stayed silent: a condition that the incident's alert did not fire again over the window.

Prometheus, and the Mimir, Thanos and vmalert rulers, write an `ALERTS{alertname, alertstate}` series while an
alerting rule's alert is pending or firing, one sample per rule evaluation. An alert that never fired leaves no
series at all, exactly as a rule that was never evaluated does: silence is told from "no rule data" by the
rules API (`/api/v1/rules`), which lists the alerting rules the backend evaluates, their health and interval.

Pure: the values here are read by `config.py` (the config fields), `planning.py` (the query) and `silence.py`
(the verdict).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from verifier.domain.durations import config_duration

#: The longest alert name a config may give (Alertmanager names are short; a longer one is an attack).
MAX_ALERT_NAME = 200


@dataclass(frozen=True)
class AlertCondition:
    """`alert: <name>` (optionally `firing_at_most: <duration>`, `labels: {...}` matchers): the alert must not
    have fired over the window for longer than `firing_at_most` (0s: not at all)."""

    name: str
    firing_at_most: timedelta = timedelta(0)
    labels: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """`alert HighErrorRate silent` or `alert HighErrorRate firing at most 5m`, for the comment's line."""
        matchers = ", ".join(f'{k}="{v}"' for k, v in self.labels)
        where = f"{{{matchers}}}" if matchers else ""
        if not self.firing_at_most:
            return f"alert {self.name}{where} silent"
        return f"alert {self.name}{where} firing at most {config_duration(self.firing_at_most)}"


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule as the rules API lists it: its group's evaluation interval, health and whether it
    has been evaluated at all (`lastEvaluation` set)."""

    name: str
    group: str
    interval_seconds: float | None
    health: str  # "ok", "err", "unknown"
    last_error: str = ""
    evaluated: bool = True
