"""The verdict of an alert condition (`alerts.py`): did the incident's alert fire again over the window?

FAILED when the ALERTS series shows the alert firing longer than allowed; VERIFIED when it stayed silent (or
within the allowance) while the backend shows the rule being evaluated; INCONCLUSIVE when it cannot show that
(no rules API, no such alerting rule, a rule that fails or was never evaluated): an absent series proves silence
only where a rule was there to write it.
"""

from __future__ import annotations

import math
from datetime import timedelta

from verifier.domain.alerts import AlertRule
from verifier.domain.config import canonical
from verifier.domain.durations import promql_duration
from verifier.domain.measurement import Measurement
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import QueryPlan
from verifier.domain.protocol import config_fingerprint
from verifier.domain.verdicts import Verdict

#: The most rules' errors a verdict quotes.
_MAX_ERRORS = 3


def judge_alert(
    plan: QueryPlan, firing: Measurement, rules: tuple[AlertRule, ...] | None, *, accept_warnings: bool = False
) -> Verdict:
    """Judge the alert condition from the firing samples (`plan.query`) and the rules the backend evaluates."""
    alert = plan.config.alert
    assert alert is not None
    if firing.warnings and not accept_warnings:
        return _verdict(plan, Outcome.INCONCLUSIVE, "the backend warned: " + "; ".join(firing.warnings))
    values = [v for s in firing.series for _, v in s.points[-1:]]
    if any(not math.isfinite(v) or v < 0 for v in values):
        bad = next(v for v in values if not math.isfinite(v) or v < 0)
        return _verdict(plan, Outcome.INCONCLUSIVE, f"the count of the alert's firing samples is {bad:g}")
    samples = max(values, default=0.0)
    evaluated = [r for r in rules or () if r.evaluated and r.health != "err"]
    interval = max((r.interval_seconds for r in evaluated if r.interval_seconds), default=None)
    if samples and not alert.firing_at_most:  # it fired: no rule data is needed to know that
        seconds = samples * interval if interval else None
        return _fired(plan, samples, seconds)
    if rules is None:
        reason = (
            f"no rule data: the backend has no rules API (/api/v1/rules), so the absence of {alert.name}'s "
            "firing samples cannot be told from a rule that was never evaluated"
        )
        return _verdict(plan, Outcome.INCONCLUSIVE, reason)
    if not rules:
        reason = (
            f"no rule data: the backend evaluates no alerting rule named '{alert.name}' (rules API), so its "
            "silence proves nothing"
        )
        return _verdict(plan, Outcome.INCONCLUSIVE, reason)
    if not evaluated:
        errors = "; ".join(dict.fromkeys(r.last_error[:200] for r in rules if r.last_error))
        why = f"fails to evaluate: {errors[:600]}" if errors else "has not been evaluated"
        return _verdict(plan, Outcome.INCONCLUSIVE, f"no rule data: the alerting rule '{alert.name}' {why}")
    if samples and interval is None:
        reason = f"the rules API gives no evaluation interval to turn {round(samples):,} firing samples into time"
        return _verdict(plan, Outcome.INCONCLUSIVE, reason)
    seconds = samples * interval if interval else 0.0
    if seconds > alert.firing_at_most.total_seconds():
        return _fired(plan, samples, seconds)
    groups = ", ".join(sorted({f"{r.group} (every {_seconds(r.interval_seconds)})" for r in evaluated})[:3])
    note = f"the rule is evaluated in group {groups}"
    if not samples:
        return _verdict(plan, Outcome.VERIFIED, f"alert {alert.name} stayed silent over the window", 0.0, note)
    allowed = _seconds(alert.firing_at_most.total_seconds())
    reason = f"alert {alert.name} fired for about {_seconds(seconds)}, within the allowed {allowed}"
    return _verdict(plan, Outcome.VERIFIED, reason, seconds, note)


def _fired(plan: QueryPlan, samples: float, seconds: float | None) -> Verdict:
    assert plan.config.alert is not None
    name = plan.config.alert.name
    count = f"{round(samples):,} firing sample{'s' if round(samples) != 1 else ''}"
    if seconds is None:
        reason = f"alert {name} fired again in the window ({count})"
    else:
        reason = f"alert {name} fired again in the window: about {_seconds(seconds)} ({count})"
    return _verdict(plan, Outcome.FAILED, reason, seconds)


def _seconds(seconds: float | None) -> str:
    return promql_duration(timedelta(seconds=round(seconds))) if seconds else "0s"


def _verdict(
    plan: QueryPlan, outcome: Outcome, reason: str, value: float | None = None, note: str | None = None
) -> Verdict:
    return Verdict(
        outcome=outcome,
        reason=reason,
        value=value,
        threshold=plan.threshold,
        op="<=",
        config=config_fingerprint(canonical(plan.config)),
        query=plan.query,
        start=plan.start,
        end=plan.end,
        early=plan.early,
        notes=plan.notes + ((note,) if note else ()),
    )
