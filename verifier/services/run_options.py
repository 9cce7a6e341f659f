"""What a run is asked to do (`RunOptions`, built by bootstrap from the settings) and whose word counts in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from verifier import defaults
from verifier.domain.actions import Labels
from verifier.domain.evidence import GraphLinks
from verifier.domain.sla import DEFAULT_SLA_DAYS
from verifier.domain.tickets import fold_resolution
from verifier.domain.triage import Policy


@dataclass(frozen=True)
class RunOptions:
    label: str = defaults.LABEL
    lookback_days: int = defaults.LOOKBACK_DAYS
    trusted_authors: frozenset[str] = frozenset()
    not_a_fix: frozenset[str] = frozenset()
    labels: Labels = field(default_factory=Labels)
    concurrency: int = defaults.CONCURRENCY
    # After this many seconds no new measurement starts; the verdicts ready are written (0: no deadline).
    run_deadline_seconds: float = defaults.RUN_DEADLINE_SECONDS
    max_writes: int = defaults.MAX_WRITES
    dry_run: bool = False
    early: bool = False  # --now: judge the window so far
    issues: tuple[str, ...] = ()
    accept_warnings: bool = False
    overdue_reminders: bool = False  # remind open tickets past their SLA (not with `issues`)
    sla_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    signing_key: bytes | None = None  # signs result markers; only markers that verify are the tool's
    links: GraphLinks | None = None  # graph links and sparklines in result comments
    rejudge: bool = False  # judge tickets judged elsewhere (the article's script, a person) all the same
    run_interval: timedelta = timedelta(seconds=defaults.RUN_INTERVAL_SECONDS)  # the dry run's first-run plan
    settle_seconds: int = defaults.SETTLE_SECONDS  # a window is judged once its end is this old (late data)
    recheck_action: str = defaults.RECHECK_ACTION  # comment | reopen: what a re-check's regression does


def policy_for(options: RunOptions, own: frozenset[str]) -> Policy:
    """Whose configs count (the trusted authors and the tool's own account) and whose results are the tool's."""
    not_a_fix = frozenset(fold_resolution(name) for name in options.not_a_fix)
    judged = frozenset({options.labels.verified, options.labels.failed})
    return Policy(
        options.trusted_authors | own,
        own,
        not_a_fix,
        options.early,
        judged,
        options.rejudge,
        options.signing_key,
        settle=timedelta(seconds=options.settle_seconds),
        recheck_action=options.recheck_action,
    )
