"""What a verdict asks of the tracker, as data: comments, labels, a reopen. The run applies them.

`missing_writes` is the one place that settles a ticket's writes, from the ticket as re-read just before writing; the
budget charge is one per write request the decision needs.

Applying is idempotent by construction: the result comment (with its marker) is written first and records the
decision; a later run that finds the marker re-applies only the labels and the reopen still missing, so a run
killed half-way never loses a reopen and never writes a comment twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from verifier import defaults
from verifier.domain.binding import fingerprint_of
from verifier.domain.outcomes import Outcome
from verifier.domain.protocol import result_signature
from verifier.domain.render import render_result
from verifier.domain.selection import Choice, recorded_result, select_config
from verifier.domain.tickets import Flavour, Ticket
from verifier.domain.verdicts import Verdict


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
    labels: tuple[str, ...] = ()  # added in the same request (Jira: one issue edit)


@dataclass(frozen=True)
class AddLabel:
    label: str


@dataclass(frozen=True)
class Reopen:
    # When the workflow has no way back: say so in a comment and a label, each unless there already for this
    # resolution (the reopen itself is tried every run, in case the workflow changed). A run stopped between the
    # two leaves the label to the next.
    note_if_impossible: bool = True
    labels: tuple[str, ...] = ()  # added in the same request (GitHub: one issue update)
    label_if_impossible: bool = True


Action = WriteComment | AddLabel | Reopen

#: The most write requests one decision reserves: the result comment, its label, the reopen. The run holds this
#: much for a ticket not decided yet, so that a later ticket's writes never take an earlier one's place.
MOST_WRITES = 3

REOPEN_FAILED_NOTE = (
    "The verifier could not reopen this ticket: its workflow offers no transition back to an open status for the "
    "verifier's account. Please reopen it by hand; the verification above failed."
)


def actions_for(
    verdict: Verdict,
    ticket: Ticket,
    flavour: Flavour,
    labels: Labels,
    *,
    already_written: bool,
    labels_with: frozenset[str] = frozenset(),
    signing_key: bytes | None = None,
) -> list[Action]:
    """The writes still missing for a verdict, one per request. PENDING and ERROR write nothing.

    `labels_with` names the writes the tracker lets carry labels in the same request ("comment", "reopen"): the
    label then rides with the first of them instead of costing a request of its own. With a signing key the
    result's marker is signed (`protocol.result_signature`), so that an edited verdict is not taken for the tool's."""
    label = labels.for_outcome(verdict.outcome)
    if label is None or ticket.resolved_at is None:
        return []
    actions: list[Action] = []
    if not already_written:
        signature = (
            result_signature(
                signing_key, ticket.key, verdict.outcome, ticket.resolved_at, early=verdict.early, config=verdict.config
            )
            if signing_key
            else None
        )
        actions.append(WriteComment(render_result(verdict, ticket.resolved_at, flavour, signature)))
    if label not in ticket.labels:
        actions.append(AddLabel(label))
    if verdict.outcome is Outcome.FAILED:
        # Still resolved, so still to reopen (a stale reopen-failed label says nothing about this resolution).
        actions.append(impossible_unsaid(ticket, labels))
    return combined(actions, labels_with)


def impossible_unsaid(ticket: Ticket, labels: Labels) -> Reopen:
    """A reopen that, should the workflow refuse it, notes and labels that unless the label says so already."""
    unsaid = labels.reopen_failed not in ticket.labels
    return Reopen(note_if_impossible=unsaid, label_if_impossible=unsaid)


def combined(actions: list[Action], labels_with: frozenset[str]) -> list[Action]:
    adds = [a for a in actions if isinstance(a, AddLabel)]
    if not adds:
        return actions
    label = adds[0].label
    for i, action in enumerate(actions):
        if isinstance(action, WriteComment) and "comment" in labels_with:
            actions[i] = WriteComment(action.body, (*action.labels, label))
            return [a for a in actions if not isinstance(a, AddLabel)]
        if isinstance(action, Reopen) and "reopen" in labels_with:
            actions[i] = replace(action, labels=(*action.labels, label))
            return [a for a in actions if not isinstance(a, AddLabel)]
    return actions


@dataclass(frozen=True)
class Decision:
    """The writes one ticket gets now, or why it gets none (`note`)."""

    actions: tuple[Action, ...] = ()
    note: str = ""
    config_since: datetime | None = None  # when the judged config was written (None: the body)

    @property
    def charge(self) -> int:
        """Write requests reserved: one per action. What only a failure asks for (the note after an impossible
        reopen, deleting a duplicate result) is paid from what is left of the budget when it happens."""
        return len(self.actions)


def missing_writes(
    verdict: Verdict,
    listed_resolved_at: datetime | None,
    ticket: Ticket,
    flavour: Flavour,
    labels: Labels,
    *,
    trusted: frozenset[str],
    own: frozenset[str],
    already_written: bool,
    labels_with: frozenset[str] = frozenset(),
    signing_key: bytes | None = None,
    judged: str | None = None,
) -> Decision:
    """The writes still missing on `ticket` as it is now: another run (or a person) may have acted since it was
    listed. A ticket resolved again since then is left for the next run, which judges the new resolution.
    `judged`: the fingerprint of the config the verdict was measured on, confirmed against the ticket as re-read
    (`judged_elsewise`); None where there is nothing to confirm (the listing, a recorded or unusable config)."""
    if ticket.resolved_at != listed_resolved_at:
        return Decision(note="the ticket changed since it was listed, left for the next run")
    choice = select_config(ticket, trusted, own, signing_key).choice
    stale = judged_elsewise(judged, choice)
    if stale is not None:
        return Decision(note=stale)
    recorded = recorded_result(ticket, own, choice, early=verdict.early, key=signing_key)
    written = already_written or recorded is not None
    actions = actions_for(
        verdict, ticket, flavour, labels, already_written=written, labels_with=labels_with, signing_key=signing_key
    )
    return Decision(spare_noted(actions, ticket, own), config_since=choice.created if choice else None)


def spare_noted(actions: Sequence[Action], ticket: Ticket, own: frozenset[str]) -> tuple[Action, ...]:
    """The actions, with no second note that the reopen is impossible when the tool's note is on this resolution
    already: a run stopped between the note and its label (which is what `actions_for` reads) wrote it once, and
    the label is still to come."""
    resolved = ticket.resolved_at
    noted = resolved is not None and any(
        c.author in own
        and not c.edited
        and c.created.replace(microsecond=0) >= resolved.replace(microsecond=0)
        and " ".join(c.body.split()) == REOPEN_FAILED_NOTE
        for c in ticket.comments
    )
    return tuple(replace(a, note_if_impossible=False) if noted and isinstance(a, Reopen) else a for a in actions)


def judged_elsewise(judged: str | None, choice: Choice | None) -> str | None:
    """Why a verdict measured on the config whose fingerprint is `judged` must not be written on the ticket as
    re-read (`choice`: its newest trusted config now): a trusted author wrote a newer config, or the judged one is
    no longer trusted, while the run measured. Nothing is written; the next run judges what is current. None when
    the judged config is still the current one, or there is nothing to compare (`judged` None)."""
    if judged is None:
        return None
    current = fingerprint_of(choice.config) if choice is not None else None
    if current == judged:
        return None
    where = f" ({choice.where})" if choice is not None else ""
    return f"the config changed since it was judged{where}: nothing written, the next run judges the new one"


def describe(action: Action) -> str:
    """One request, as the run summary lists it: `comment`, `label verified-by-otel`, `comment + label …`."""
    if isinstance(action, AddLabel):
        return f"label {action.label}"
    what = "comment" if isinstance(action, WriteComment) else "reopen"
    return " + ".join([what, *(f"label {label}" for label in action.labels)])
