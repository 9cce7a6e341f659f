"""Which config a ticket's verification uses, and what this tool already recorded on it.

Trust: a config counts only from the body of a ticket whose creator is trusted (the reporter is an editable field),
or from a comment by a trusted author (the tool's own account is always trusted). Anyone else's config is ignored, so
no commenter can make the verifier run their PromQL and post the answer. Of the trusted configs, the newest wins, and
there is no fallback: when the newest is a trusted author's text that someone else changed (or, with a signing key,
the body the tool filed, whose signature fails), the ticket's config is that refusal (INVALID), never an older
config. With a key, a comment under the tool's name that is not signed is nobody's (ignored and named).
A config inside a quote is not the quoting author's (`formats.unquoted`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from verifier.domain.binding import fingerprint_of, signed_earlier, signed_for
from verifier.domain.config import VerificationConfig
from verifier.domain.formats import carries_config, find_config
from verifier.domain.protocol import signed_by
from verifier.domain.render import Marker, parse_marker
from verifier.domain.tickets import Comment, Ticket
from verifier.errors import ConfigError

#: The result comments of the seed article's `VerificationChecker`: "Verified: `metric` now meets condition ..." and
#: "Verification FAILED: `metric` does not meet ...".
_ARTICLE_RESULT = re.compile(r"\A\s*(?:Verified|Verification FAILED): ")


@dataclass(frozen=True)
class Choice:
    """The newest trusted config of a ticket: the config, or the error that makes it unusable."""

    config: VerificationConfig | None
    error: ConfigError | None
    where: str  # "body" or "comment <id>"
    created: datetime | None  # None for the body: older than every comment


@dataclass(frozen=True)
class Selection:
    choice: Choice | None
    ignored_authors: tuple[str, ...]  # untrusted authors whose text carries a config


@dataclass(frozen=True)
class Recorded:
    """A result this tool already wrote for the ticket's current resolution and config."""

    marker: Marker
    comment: Comment


def select_config(
    ticket: Ticket, trusted: frozenset[str], own: frozenset[str] = frozenset(), key: bytes | None = None
) -> Selection:
    """The newest trusted config; configs by others are ignored and reported. With a signing key, a config in the
    tool's own text (the body it filed) counts only when its `# sig:` verifies: nobody edited what it filed."""
    sources: list[tuple[str, str, str | None, str, datetime | None]] = [
        ("body", ticket.filed_by, body_tampering(ticket, trusted), ticket.body, None)
    ]
    for c in _by_time(ticket.comments):
        sources.append((f"comment {c.id}", c.author, _tampering(c, trusted), c.body, c.created))
    ignored: list[str] = []
    chosen: Choice | None = None
    for where, author, tampered, text, created in sources:
        if parse_marker(text):
            continue  # the tool's own result comments are not configs
        if author not in trusted:  # checked before parsing: an untrusted text is only looked at, never read
            if carries_config(text):
                ignored.append(author)
            continue
        if tampered is not None:  # a trusted author's text someone else changed: refused, never skipped over
            if carries_config(text):
                edited = ConfigError("text", f"{where} by {author} carries a config, but {tampered}: it is refused")
                chosen = Choice(None, edited.for_ticket(ticket.key), where, created)
            continue
        try:
            config, error = find_config(text), None
        except ConfigError as problem:
            config, error = None, problem.for_ticket(ticket.key)
        if config is None and error is None:
            continue
        if key is not None and author in own and not (config is not None and _signed(key, config, ticket)):
            why = _unsigned(key, config)
            if (
                where == "body"
            ):  # the tool files its bodies signed: this one was changed or moved where no trace is kept
                why += ": edited since" if why == _NOT_SIGNED else ""
                unsigned = ConfigError("text", f"{where} by {author} is {why}")
                chosen = Choice(None, unsigned.for_ticket(ticket.key), where, created)
            else:  # a new comment under the tool's name but without its key: not the tool's, like a stranger's
                ignored.append(f"{author} ({why})")
            continue
        chosen = Choice(config, error, where, created)  # later sources replace earlier ones
    return Selection(chosen, tuple(dict.fromkeys(ignored)))


def body_tampering(ticket: Ticket, trusted: frozenset[str]) -> str | None:
    """Why the body is not its creator's words alone (someone untrusted edited it, or its history is unreadable),
    or None."""
    if ticket.history_gap is not None:
        return f"who edited the description is unknown ({ticket.history_gap})"
    editors = [e for e in ticket.body_edited_by if e != ticket.filed_by and e not in trusted]
    return f"the description was edited by {editors[0]}, not a trusted author" if editors else None


def body_refusal(ticket: Ticket, trusted: frozenset[str]) -> str | None:
    """Why the facts the body records (the incident's value and time, the service) are not from a trusted hand, or
    None when they are."""
    if ticket.filed_by not in trusted:
        return f"the description is by {ticket.filed_by or 'an unknown author'}, not a trusted author"
    return body_tampering(ticket, trusted)


def _signed(key: bytes, config: VerificationConfig, ticket: Ticket) -> bool:
    """Signed for this ticket, this config and the facts its body records (`binding`): not moved, not edited."""
    return signed_for(key, ticket.key, ticket.body, config)


_NOT_SIGNED = "not signed with the signing key"  # for this ticket and the facts its body records


def _unsigned(key: bytes, config: VerificationConfig | None) -> str:
    if config is not None and signed_earlier(key, config):
        return "signed in the earlier format, not bound to its ticket: run `file` again to re-sign"
    return _NOT_SIGNED


def _tampering(comment: Comment, trusted: frozenset[str]) -> str | None:
    """Why a comment's text is not its author's alone: someone else (or, where the tracker does not say who,
    anyone) edited it after it was written. None when it is untouched or its trusted author edited it."""
    if not comment.edited or (comment.updated_by in trusted and comment.updated_by == comment.author):
        return None
    return f"it was edited by {comment.updated_by or 'someone (the tracker does not say who)'}"


def tool_marker(ticket: Ticket, comment: Comment, own: frozenset[str], key: bytes | None = None) -> Marker | None:
    """The comment's result marker if this tool wrote it: posted by its account, never edited, and, with a signing
    key, signed with that key for this ticket and this verdict."""
    if comment.author not in own or comment.edited:
        return None
    marker = parse_marker(comment.body)
    if marker is None or (key is not None and not signed_by(key, ticket.key, marker)):
        return None
    return marker


def recorded_result(
    ticket: Ticket, own: frozenset[str], choice: Choice | None, *, early: bool, key: bytes | None = None
) -> Recorded | None:
    """The result already written for this resolution of this config, if any.

    Only markers in the tool's own comments count. A result older than the chosen config does not count (someone
    fixed an invalid config), nor one that records judging another config than the chosen one (a newer trusted
    config, even one written while the result was). An early (`--now`) result does not stand in for the scheduled one.
    """
    for found in reversed(own_results(ticket, own, key)):
        if choice and choice.created and found.comment.created < choice.created:
            return None
        judged, current = found.marker.config, fingerprint_of(choice.config) if choice else None
        if judged is not None and current is not None and judged != current:
            continue
        if found.marker.early and not early:
            continue
        return found
    return None


def own_results(ticket: Ticket, own: frozenset[str], key: bytes | None = None) -> list[Recorded]:
    """The tool's result comments (`tool_marker`) for the ticket's current resolution, oldest first."""
    if ticket.resolved_at is None:
        return []
    resolved = ticket.resolved_at.replace(microsecond=0)
    found = []
    for comment in _by_time(ticket.comments):
        marker = tool_marker(ticket, comment, own, key)
        if marker is not None and marker.resolved_at == resolved:
            found.append(Recorded(marker, comment))
    return found


def _by_time(comments: tuple[Comment, ...]) -> list[Comment]:
    """Oldest first; ids (numeric strings on both trackers) break ties between equal timestamps."""
    return sorted(comments, key=lambda c: (c.created, len(c.id), c.id))


def judged_elsewhere(ticket: Ticket, own: frozenset[str], trusted: frozenset[str], labels: Iterable[str]) -> str | None:
    """Why a done ticket counts as judged by someone else (the article's script, a person), or None.

    Judged elsewhere: no result of ours for the current resolution, and either a result comment of the article's
    script by a trusted author written since the ticket was resolved, or one of `labels` (the verified and the
    failed label), added by a trusted account (`Ticket.labelled_by`), that no earlier judgement explains. A result
    (ours or the script's) from before the current resolution means the ticket was reopened and resolved again: its
    labels are stale and it is judged as usual.
    """
    if ticket.resolved_at is None or own_results(ticket, own):
        return None
    resolved = ticket.resolved_at.replace(microsecond=0)
    judged_before = False
    for comment in _by_time(ticket.comments):
        ours = comment.author in own and parse_marker(comment.body) is not None
        article = comment.author in trusted and _ARTICLE_RESULT.match(comment.body) is not None
        if article and comment.created >= resolved:
            first = comment.body.strip().split(":", 1)[0]
            return f'judged elsewhere: {comment.author}\'s "{first}" comment of {comment.created:%Y-%m-%d}'
        judged_before = judged_before or ours or article
    found = sorted(label for label in set(labels) & ticket.labels if ticket.label_adder(label) in trusted)
    if found and not judged_before:
        return f"judged elsewhere: labelled {', '.join(found)} with no result of ours"
    return None


def untrusted_labels(ticket: Ticket, trusted: frozenset[str], labels: Iterable[str]) -> list[str]:
    """The judgement `labels` on the ticket that no trusted account added (`judged_elsewhere` ignores them), as
    refusals to name: "verified-by-otel (added by mallory)"."""
    return [
        f"{label} (added by {ticket.label_adder(label) or 'an unknown account'})"
        for label in sorted(set(labels) & ticket.labels)
        if ticket.label_adder(label) not in trusted
    ]
