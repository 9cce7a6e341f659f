"""What a verdict asks of the tracker, as data: comments, labels, a reopen. The run applies them.

Applying is idempotent by construction: the result comment (with its marker) is written first and records the
decision; a later run that finds the marker re-applies only the labels and the reopen still missing, so a run
killed half-way never loses a reopen and never writes a comment twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier import defaults
from verifier.domain.render import render_result
from verifier.domain.tickets import Flavour, Ticket
from verifier.domain.verdicts import Outcome, Verdict


@dataclass(frozen=True)
class Labels:
    verified: str = defaults.VERIFIED_LABEL
    failed: str = defaults.FAILED_LABEL
    inconclusive: str = defaults.INCONCLUSIVE_LABEL
    invalid: str = defaults.INVALID_LABEL
    reopen_failed: str = defaults.REOPEN_FAILED_LABEL

    def for_outcome(self, outcome: Outcome) -> str | None:
        return {
            Outcome.VERIFIED: self.verified,
            Outcome.FAILED: self.failed,
            Outcome.INCONCLUSIVE: self.inconclusive,
            Outcome.INVALID: self.invalid,
        }.get(outcome)


@dataclass(frozen=True)
class WriteComment:
    body: str


@dataclass(frozen=True)
class AddLabel:
    label: str


@dataclass(frozen=True)
class Reopen:
    pass


Action = WriteComment | AddLabel | Reopen

REOPEN_FAILED_NOTE = (
    "The verifier could not reopen this ticket: its workflow offers no transition back to an open status for the "
    "verifier's account. Please reopen it by hand; the verification above failed."
)


def actions_for(
    verdict: Verdict, ticket: Ticket, flavour: Flavour, labels: Labels, *, already_written: bool
) -> list[Action]:
    """The writes still missing for a verdict. PENDING and ERROR write nothing."""
    label = labels.for_outcome(verdict.outcome)
    if label is None or ticket.resolved_at is None:
        return []
    actions: list[Action] = []
    if not already_written:
        actions.append(WriteComment(render_result(verdict, ticket.resolved_at, flavour)))
    if label not in ticket.labels:
        actions.append(AddLabel(label))
    if verdict.outcome is Outcome.FAILED:
        actions.append(Reopen())  # still resolved, so still to reopen (a stale reopen-failed label says nothing)
    return actions
