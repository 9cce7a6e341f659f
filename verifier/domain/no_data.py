"""Counters never seen (`no_data: zero`): an error counter that never fired has no series at all, so its
condition (`== 0`) could never be judged. Opt-in, and only with traffic shown by a companion counter:

    no_data: zero
    traffic: http_server_request_duration_seconds_count{service="checkout"} >= 1000

`traffic` is a counter's selector (a metric name, optionally with `{label="value", ...}` matchers: `=`, `!=`,
`=~`, `!~`) and `>=` a whole number: its increase over the judged window, `sum(increase(<selector>[<window>]))`
at the window's end, must reach the bound. Only then is a metric without any series taken as 0 and judged; no
series with traffic below the bound, or traffic unknown (no series, NaN, ±Inf), is INCONCLUSIVE, never judged on
silence alone. A metric that has series is judged as always.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

from verifier.domain.durations import promql_duration
from verifier.domain.measurement import Measurement, Series
from verifier.domain.metric import Kind
from verifier.errors import ConfigError

ZERO = "zero"
#: The largest traffic bound a config may ask for.
MAX_TRAFFIC = 10**12
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MATCHER = re.compile(r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\\n]|\\.)*"\s*')
_BOUND = re.compile(r"\s*>=\s*(\d{1,13})\s*")
MAX_TRAFFIC_TEXT = 1000
TRAFFIC_GRAMMAR = 'a counter and a bound, such as: http_server_requests_total{service="checkout"} >= 1000'


@dataclass(frozen=True)
class Traffic:
    """The companion counter (`selector`) and the increase over the window it must reach (`minimum`)."""

    selector: str
    minimum: int

    @property
    def text(self) -> str:
        """As the config writes it; `parse_traffic` reads it back unchanged."""
        return f"{self.selector} >= {self.minimum}"


def parse_traffic(value: object) -> Traffic:
    """`name{matchers} >= N`, or a ConfigError naming the field. Linear: one pass of anchored matches."""
    if not isinstance(value, str):
        raise ConfigError("traffic", f"must be text ({TRAFFIC_GRAMMAR}), not {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_TRAFFIC_TEXT:
        raise ConfigError("traffic", f"is longer than {MAX_TRAFFIC_TEXT} characters")
    name = _NAME.match(text)
    if name is None:
        raise ConfigError("traffic", f"'{_cut(text)}' does not start with a metric name: write {TRAFFIC_GRAMMAR}")
    position = name.end()
    if text.startswith("{", position):
        position = _matchers_end(text, position + 1)
    selector = text[:position]
    bound = _BOUND.fullmatch(text, position)
    if bound is None:
        raise ConfigError("traffic", f"'{_cut(text)}' is not {TRAFFIC_GRAMMAR}")
    minimum = int(bound.group(1))
    if not 1 <= minimum <= MAX_TRAFFIC:
        raise ConfigError("traffic", f"the bound must be between 1 and {MAX_TRAFFIC:,}")
    return Traffic(selector, minimum)


def _matchers_end(text: str, position: int) -> int:
    """The position after the `}` closing the matchers that start at `position`."""
    while True:
        if text.startswith("}", position):
            return position + 1
        matcher = _MATCHER.match(text, position)
        if matcher is None:
            raise ConfigError("traffic", f"'{_cut(text)}' has a label matcher that is not name=\"value\"")
        position = matcher.end()
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("}", position):
            raise ConfigError("traffic", f"'{_cut(text)}' has label matchers without their closing brace")


def _cut(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


def check_policy(no_data: object, traffic: object, metric_kind: Kind, metric: str) -> tuple[str | None, Traffic | None]:
    """The checked `no_data:` and `traffic:` fields: both or neither, and only for a counter."""
    if no_data is None:
        if traffic is not None:
            raise ConfigError("traffic", "applies only with no_data: zero")
        return None, None
    if not isinstance(no_data, str) or no_data.strip().lower() != ZERO:
        raise ConfigError("no_data", f"'{no_data}' is not a policy: the only one is 'zero' (without it: INCONCLUSIVE)")
    if traffic is None:
        raise ConfigError(
            "no_data", "zero needs traffic: a counter showing the window had requests, such as " + TRAFFIC_GRAMMAR
        )
    if metric_kind is not Kind.COUNTER:
        raise ConfigError(
            "no_data",
            f"zero applies only to a counter (a name ending _total, _count or _sum, or type: counter), "
            f"not to '{_cut(metric)}'",
        )
    return ZERO, parse_traffic(traffic)


def traffic_query(traffic: Traffic, window: timedelta) -> str:
    """The companion counter's increase over the window, summed over its series."""
    return f"sum(increase({traffic.selector}[{promql_duration(window)}]))"


def traffic_refusal(traffic: Traffic, answer: Measurement) -> str | None:
    """Why the traffic answer does not let an unseen metric be taken as 0, or None when it does."""
    values = [v for s in answer.series for _, v in s.points[-1:]]
    if answer.warnings:
        return "the traffic query's answer came with warnings: " + "; ".join(answer.warnings)
    if not values:
        return f"no data for the traffic: no series for {traffic.selector} in the window"
    total = sum(values)
    if not math.isfinite(total):
        return f"the traffic in the window is not a finite number ({total})"
    if total < traffic.minimum:
        return f"only {_whole(total)} requests in the window (needs {traffic.minimum:,})"
    return None


def traffic_count(answer: Measurement) -> float:
    return sum(v for s in answer.series for _, v in s.points[-1:])


def zeros(steps: int, start: float, step: float) -> Measurement:
    """The unseen metric taken as 0: one series, 0 at every step judged (one point in window mode)."""
    return Measurement((Series((), tuple((start + i * step, 0.0) for i in range(steps))),))


def taken_as_zero(reason: str, requests: float) -> str:
    """The verdict's reason, saying what it stood on."""
    return f"{reason}; no series: taken as 0 (no_data: zero) with {_whole(requests)} requests in the window"


def unseen_inconclusive(reason: str, why: str) -> str:
    return f"{reason}; not taken as 0 (no_data: zero): {why}"


def _whole(value: float) -> str:
    return f"{round(value):,}"
