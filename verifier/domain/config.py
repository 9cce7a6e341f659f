"""The verification config: what to measure, the condition it must meet, and when.

`build_config` turns raw fields (from any of the formats in `formats.py`) into a checked `VerificationConfig`;
`render_config` writes the project's own block, which `formats.find_config` reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from verifier import defaults
from verifier.domain.alerts import MAX_ALERT_NAME, AlertCondition
from verifier.domain.condition import Condition, parse_condition
from verifier.domain.config_fields import (
    DEFAULT_DELAY,
    Mode,
    read_choice,
    read_delay,
    read_duration,
    read_firing_at_most,
    read_labels,
    read_min_events,
    read_mode,
    read_recheck_after,
    read_text,
    read_tolerance,
    yaml_quoted,
)
from verifier.domain.durations import config_duration
from verifier.domain.metric import Kind, Metric, understand
from verifier.domain.no_data import Traffic, check_policy
from verifier.domain.protocol import CONFIG_HEADER, signature_line
from verifier.domain.tickets import Flavour
from verifier.errors import ConfigError

HEADER = CONFIG_HEADER
#: What the metric's samples are, when the backend cannot say (`type:`): written by `file` once resolved.
TYPES = ("counter", "gauge", "histogram")
#: How a counter's samples relate in time (`temporality:`): delta series hold per-interval values.
TEMPORALITIES = ("cumulative", "delta")
FIELDS = (
    "metric",
    "condition",
    "delay_hours",
    "delay",
    "window",
    "unit",
    "labels",
    "mode",
    "tolerance",
    "baseline_window",
    "min_events",
    "type",
    "temporality",
    "no_data",
    "traffic",
    "recheck_after",
    *("conditions", "alert", "firing_at_most"),  # several conditions, the alert stayed silent (see below)
)
MAX_METRIC_LENGTH = 4000


@dataclass(frozen=True)
class VerificationConfig:
    metric: str
    condition: Condition
    delay: timedelta = DEFAULT_DELAY
    window: timedelta = DEFAULT_DELAY
    unit: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    mode: Mode = "window"
    tolerance_percent: float = 0.0
    baseline_window: timedelta | None = None
    min_events: int | None = None  # events a quantile needs in the window; None: defaults.MIN_EVENTS
    type: str | None = None  # one of TYPES: the metric's type as declared or resolved at filing
    temporality: str | None = None  # one of TEMPORALITIES
    no_data: str | None = None  # "zero": a counter without any series is 0, given `traffic` (`no_data.py`)
    traffic: Traffic | None = None
    recheck_after: timedelta | None = None  # judge a VERIFIED fix again this long after its window (`recheck.py`)
    source: str = field(default="block", compare=False)  # which format it was read from
    signature: str | None = field(default=None, compare=False)  # `# sig:` of a block the tool filed (protocol)
    alert: AlertCondition | None = None  # `alert:`: metric and condition above are placeholders (`_build_alert`)
    parts: tuple[VerificationConfig, ...] = ()  # `conditions:`: all must hold; the fields above are the first's

    @property
    def understood(self) -> Metric:
        return understand(
            self.metric,
            quantile=self.condition.quantile,
            unit=self.unit,
            kind=self.type,
            delta=self.temporality == "delta",
        )


def build_config(raw: Mapping[str, object], source: str) -> VerificationConfig:
    """Check every field and the contradictions between them; raise ConfigError naming the first bad field."""
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        raise ConfigError(unknown[0], f"unknown field (known fields: {', '.join(FIELDS)})")
    if "conditions" in raw:
        return _build_several(raw, source)
    if "alert" in raw or "firing_at_most" in raw:
        return _build_alert(raw, source)
    metric = read_text(raw, "metric", required=True)
    assert metric is not None
    if len(metric) > MAX_METRIC_LENGTH:
        raise ConfigError("metric", f"is longer than {MAX_METRIC_LENGTH} characters")
    condition_text = read_text(raw, "condition", required=True)
    assert condition_text is not None
    condition = parse_condition(condition_text)
    delay = read_delay(raw)
    window = read_duration(raw, "window") or delay
    if window > delay:
        raise ConfigError(
            "window",
            f"{config_duration(window)} is longer than the delay {config_duration(delay)}: "
            "it would measure time before the fix",
        )
    unit = read_text(raw, "unit")
    labels = read_labels(raw.get("labels"))
    mode = read_mode(raw.get("mode"))
    tolerance = read_tolerance(raw.get("tolerance"), mode)
    baseline_window = read_duration(raw, "baseline_window")
    if baseline_window and not condition.relative:
        raise ConfigError("baseline_window", "is set, but the condition is not relative to a baseline")
    min_events = read_min_events(raw.get("min_events"), condition, metric)
    kind = read_choice(raw, "type", TYPES)
    temporality = read_choice(raw, "temporality", TEMPORALITIES)
    config = VerificationConfig(
        metric=metric,
        condition=condition,
        delay=delay,
        window=window,
        unit=unit,
        labels=labels,
        mode=mode,
        tolerance_percent=tolerance,
        baseline_window=baseline_window,
        min_events=min_events,
        type=kind,
        temporality=temporality,
        source=source,
    )
    understood = config.understood
    if labels and understood.kind is Kind.EXPRESSION:
        raise ConfigError("labels", "apply to a bare metric name; write the matchers into the PromQL expression")
    _check_type(config, understood)
    return _with_later_fields(config, raw, understood)


def _with_later_fields(config: VerificationConfig, raw: Mapping[str, object], understood: Metric) -> VerificationConfig:
    """`no_data`/`traffic` (counters never seen) and `recheck_after` (a later re-check), checked (#24)."""
    no_data, traffic = check_policy(raw.get("no_data"), raw.get("traffic"), understood.kind, config.metric)
    return replace(config, no_data=no_data, traffic=traffic, recheck_after=read_recheck_after(raw, config.delay))


def _check_type(config: VerificationConfig, understood: Metric) -> None:
    """`type:` and `temporality:` describe a bare metric name, and must not contradict the condition or name."""
    if understood.kind is Kind.EXPRESSION:
        for name in ("type", "temporality"):
            if getattr(config, name):
                raise ConfigError(name, "applies to a bare metric name, not to a PromQL expression")
        return
    histogram = config.condition.quantile is not None
    if config.type and (config.type == "histogram") != histogram:
        need = "a quantile such as p99" if config.type == "histogram" else "no quantile"
        raise ConfigError("type", f"'{config.type}' contradicts the condition, which needs {need}")
    if config.type == "gauge" and config.metric.endswith(("_total", "_count", "_sum")):
        raise ConfigError("type", f"'gauge' contradicts the metric name '{config.metric}', which is a counter's")
    if config.temporality == "delta" and (config.type == "gauge" or histogram):
        raise ConfigError("temporality", "'delta' applies to a counter (delta histograms are not supported)")


def render_config(config: VerificationConfig, flavour: Flavour) -> str:
    """The project's own config block, fenced for GitHub Markdown or in `{code:yaml}` for Jira."""
    if config.parts or config.alert:
        return _render_several(config, flavour)
    lines = [
        HEADER,
        f"metric: {yaml_quoted(config.metric, flavour)}",
        f"condition: {yaml_quoted(config.condition.text, flavour)}",
    ]
    lines.append(f"delay: {yaml_quoted(config_duration(config.delay), flavour)}")
    lines.append(f"window: {yaml_quoted(config_duration(config.window), flavour)}")
    if config.unit:
        lines.append(f"unit: {yaml_quoted(config.unit, flavour)}")
    if config.labels:
        pairs = ", ".join(f"{yaml_quoted(k, flavour)}: {yaml_quoted(v, flavour)}" for k, v in config.labels)
        lines.append(f"labels: {{{pairs}}}")
    if config.mode != "window":
        lines.append(f"mode: {config.mode}")
    if config.tolerance_percent:
        lines.append(f'tolerance: "{config.tolerance_percent!r}%"')
    if config.baseline_window:
        lines.append(f"baseline_window: {yaml_quoted(config_duration(config.baseline_window), flavour)}")
    if config.min_events is not None:
        lines.append(f"min_events: {config.min_events}")
    if config.type:
        lines.append(f"type: {config.type}")
    if config.temporality:
        lines.append(f"temporality: {config.temporality}")
    lines += _later_lines(config, flavour)
    if config.signature:
        lines.append(signature_line(config.signature))
    body = "\n".join(lines)
    if flavour is Flavour.JIRA_WIKI:
        return "{code:yaml}\n" + body + "\n{code}"
    return "```yaml\n" + body + "\n```"


def _later_lines(config: VerificationConfig, flavour: Flavour) -> list[str]:
    lines = []
    if config.no_data:
        lines.append(f"no_data: {config.no_data}")
    if config.traffic:
        lines.append(f"traffic: {yaml_quoted(config.traffic.text, flavour)}")
    if config.recheck_after:
        lines.append(f"recheck_after: {yaml_quoted(config_duration(config.recheck_after), flavour)}")
    return lines


def canonical(config: VerificationConfig) -> str:
    """The config's fields as the tool writes them, whatever flavour or escaping it was read from: what a filed
    config's signature covers."""
    block = render_config(replace(config, signature=None), Flavour.MARKDOWN)
    return block.split("\n", 2)[2].rsplit("\n", 1)[0]  # without the fence line, the header and the closing fence


# -- several conditions (`conditions:`) and the alert stayed silent (`alert:`) --------------------------------------
#: The fields that stay config-wide when a config holds several conditions: one window judges them all.
WIDE_FIELDS = ("delay", "delay_hours", "window", "recheck_after")  # config-wide: given once, beside the list
ALERT_FIELDS = ("alert", "firing_at_most", "labels", *WIDE_FIELDS)


def _build_several(raw: Mapping[str, object], source: str) -> VerificationConfig:
    """`conditions:` (a list, each entry a metric condition or an alert) beside the config-wide delay and
    window: every entry is checked as a config of its own, with those, and errors name the entry."""
    beside = sorted(str(k) for k in raw if k not in ("conditions", *WIDE_FIELDS))
    if beside:
        raise ConfigError(beside[0], "belongs inside each entry of 'conditions', not beside it")
    entries = raw.get("conditions")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            "conditions", "must be a non-empty list, e.g. [{metric: ..., condition: ...}, {alert: HighErrorRate}]"
        )
    if len(entries) > defaults.MAX_CONDITIONS:
        raise ConfigError("conditions", f"holds {len(entries)} conditions; at most {defaults.MAX_CONDITIONS}")
    wide = {k: raw[k] for k in WIDE_FIELDS if k in raw}
    parts = []
    for number, entry in enumerate(entries, start=1):
        where = f"conditions[{number}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(where, "must be a mapping such as {metric: ..., condition: ...} or {alert: ...}")
        inner = sorted(str(k) for k in entry if k in ("conditions", *WIDE_FIELDS))
        if inner:
            raise ConfigError(f"{where}.{inner[0]}", "is config-wide: give it once, beside 'conditions'")
        try:
            parts.append(build_config({**{str(k): v for k, v in entry.items()}, **wide}, source))
        except ConfigError as error:
            raise ConfigError(f"{where}.{error.field}", error.reason) from None
    return replace(parts[0], parts=tuple(parts), source=source)


def _build_alert(raw: Mapping[str, object], source: str) -> VerificationConfig:
    """`alert: <name>` with `firing_at_most:` and `labels:` matchers. `metric` and `condition` are placeholders
    (the ALERTS series, at most the firing time in seconds) so that code reading any config keeps working."""
    other = sorted(str(k) for k in raw if k not in ALERT_FIELDS)
    if other:
        raise ConfigError(other[0], f"does not apply to an alert condition (its fields: {', '.join(ALERT_FIELDS)})")
    name = read_text(raw, "alert", required=True)
    assert name is not None
    if len(name) > MAX_ALERT_NAME:
        raise ConfigError("alert", f"is longer than {MAX_ALERT_NAME} characters")
    if any(c < " " or c == "\x7f" for c in name):
        raise ConfigError("alert", "contains a control character")
    firing = read_firing_at_most(raw.get("firing_at_most"))
    delay = read_delay(raw)
    window = read_duration(raw, "window") or delay
    if window > delay:
        raise ConfigError(
            "window",
            f"{config_duration(window)} is longer than the delay {config_duration(delay)}: "
            "it would measure time before the fix",
        )
    if firing >= window:
        raise ConfigError("firing_at_most", f"must be shorter than the window ({config_duration(window)})")
    labels = read_labels(raw.get("labels"))
    if any(k in ("alertname", "alertstate") for k, _ in labels):
        raise ConfigError("labels", "of an alert cannot set alertname or alertstate: the tool sets them")
    alert = AlertCondition(name, firing, labels)
    seconds = int(firing.total_seconds())
    return VerificationConfig(
        metric="ALERTS",
        condition=parse_condition(f"<= {seconds}s"),
        delay=delay,
        window=window,
        labels=alert.labels,
        recheck_after=read_recheck_after(raw, delay),
        source=source,
        alert=alert,
    )


def _render_several(config: VerificationConfig, flavour: Flavour) -> str:
    """A config of several conditions (or one alert) as the project's block: each entry's own fields, then the
    config-wide delay and window. Every entry is part of `canonical`, so a signature binds them all."""
    lines = [HEADER]
    if config.parts:
        lines.append("conditions:")
        for part in config.parts:
            fields = _entry_lines(part, flavour)
            lines.extend(["  - " + fields[0], *("    " + f for f in fields[1:])])
    else:
        lines.extend(_entry_lines(config, flavour))
    lines.append(f"delay: {yaml_quoted(config_duration(config.delay), flavour)}")
    lines.append(f"window: {yaml_quoted(config_duration(config.window), flavour)}")
    if config.recheck_after:
        lines.append(f"recheck_after: {yaml_quoted(config_duration(config.recheck_after), flavour)}")
    if config.signature:
        lines.append(signature_line(config.signature))
    body = "\n".join(lines)
    if flavour is Flavour.JIRA_WIKI:
        return "{code:yaml}\n" + body + "\n{code}"
    return "```yaml\n" + body + "\n```"


def _entry_lines(config: VerificationConfig, flavour: Flavour) -> list[str]:
    """One condition's own fields, one line each, without the header and the config-wide delay and window."""
    if config.alert is not None:
        alert = config.alert
        lines = [f"alert: {yaml_quoted(alert.name, flavour)}"]
        if alert.firing_at_most:
            lines.append(f"firing_at_most: {yaml_quoted(config_duration(alert.firing_at_most), flavour)}")
        if alert.labels:
            pairs = ", ".join(f"{yaml_quoted(k, flavour)}: {yaml_quoted(v, flavour)}" for k, v in alert.labels)
            lines.append(f"labels: {{{pairs}}}")
        return lines
    block = render_config(replace(config, signature=None, parts=()), flavour)
    inner = block.split("\n")[2:-1]  # without the fence line, the header and the closing fence
    return [line for line in inner if not line.startswith(("delay: ", "window: ", "recheck_after: "))]
