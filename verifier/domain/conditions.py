"""Several conditions in one config (`conditions:`): all must hold, and the verdict is the worst of them.

Worst first: INVALID (a condition cannot be judged as written) and ERROR (the backend failed: nothing is written,
the next run tries again) stand as they would for one condition; then FAILED over INCONCLUSIVE over VERIFIED. A
FAILED beside an ERROR waits for the next run, so that no ticket is reopened on a run whose backend blinked.
"""

from __future__ import annotations

from dataclasses import replace

from verifier.domain.config import VerificationConfig, canonical
from verifier.domain.outcomes import Outcome
from verifier.domain.planning import QueryPlan
from verifier.domain.protocol import config_fingerprint
from verifier.domain.verdicts import Verdict

#: Each outcome's rank: the combined verdict is the highest. PENDING never reaches here (one window for all).
RANK = {
    Outcome.VERIFIED: 0,
    Outcome.INCONCLUSIVE: 1,
    Outcome.FAILED: 2,
    Outcome.ERROR: 3,
    Outcome.INVALID: 4,
    Outcome.PENDING: 5,
}
_WHAT = {
    Outcome.INCONCLUSIVE: "could not be judged",
    Outcome.FAILED: "did not hold",
    Outcome.ERROR: "could not be measured",
    Outcome.INVALID: "is invalid",
    Outcome.PENDING: "is not due",
}
#: The most of a metric expression a condition's name shows.
MAX_NAME = 200


def worst(outcomes: list[Outcome]) -> Outcome:
    """The outcome of several conditions: the highest-ranked of theirs."""
    return max(outcomes, key=RANK.__getitem__)


def name(config: VerificationConfig) -> str:
    """How the comment names one condition: `alert HighErrorRate silent`, `http_… < 300ms p99`."""
    if config.alert is not None:
        return config.alert.describe()
    metric = config.metric if len(config.metric) <= MAX_NAME else config.metric[: MAX_NAME - 1] + "…"
    return f"{metric} {config.condition.text}"


def combine(plan: QueryPlan, verdicts: list[Verdict]) -> Verdict:
    """The verdict of a config of several conditions, each condition's own verdict kept (named) in `parts`."""
    assert plan.parts
    parts = tuple(replace(v, condition=name(p.config)) for v, p in zip(verdicts, plan.parts, strict=True))
    outcome = worst([v.outcome for v in parts])
    total = len(parts)
    if outcome is Outcome.VERIFIED:
        reason = f"all {total} conditions held" if total > 1 else "the condition held"
    else:
        bad = [(n, v) for n, v in enumerate(parts, start=1) if v.outcome is outcome]
        first_number, first = bad[0]
        reason = (
            f"{len(bad)} of {total} conditions {_WHAT[outcome]}; "
            f"condition {first_number} ({first.condition}): {first.reason}"
        )
    return Verdict(
        outcome=outcome,
        reason=reason,
        start=plan.start,
        end=plan.end,
        early=plan.early,
        config=config_fingerprint(canonical(plan.config)),
        parts=parts,
    )
