"""Result comments for GitHub (Markdown) and Jira (v2 wiki markup), and the marker a later run recognises.

The marker is one plain-text line (`verifier.domain.protocol`), because plain text survives every tracker's
rendering round trip (Jira Cloud stores comments as ADF and may escape characters on the way back, so
`parse_marker` ignores backslashes and markup around it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from verifier.domain import evidence, neutral
from verifier.domain.durations import promql_duration
from verifier.domain.neutral import code_fence
from verifier.domain.outcomes import Outcome
from verifier.domain.protocol import REGRESSED_LABEL, Marker, recheck_marker, result_marker
from verifier.domain.protocol import parse_result as parse_marker
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Verdict

#: How much of each value from outside a result comment shows (README, "Hostile text"): the worst series' labels,
#: the reason and each note (they may quote backend errors and warnings), at most `MAX_NOTES` notes, and the query.
#: Cut values end in "…". With them a comment fits both trackers' limits; `render_result` still checks the total.
MAX_SERIES_CHARS = 500
MAX_REASON_CHARS = 1_000
MAX_NOTE_CHARS = 500
MAX_NOTES = 10
MAX_QUERY_CHARS = 4_000
#: The longest comment each tracker stores: Jira counts UTF-16 code units, GitHub characters.
COMMENT_LIMIT = {Flavour.JIRA_WIKI: 32_767, Flavour.MARKDOWN: 65_536}

_HEADLINES = {
    Outcome.VERIFIED: ("✅", "(/)", "Verified: the fix held"),
    Outcome.FAILED: ("❌", "(x)", "Verification failed: the fix did not hold"),
    Outcome.INCONCLUSIVE: ("⚠️", "(!)", "Verification inconclusive: a human needs to look"),
    Outcome.INVALID: ("⚠️", "(!)", "Verification config is invalid"),
    Outcome.PENDING: ("⏳", "(i)", "Verification pending"),
    Outcome.ERROR: ("⚠️", "(!)", "Verification could not run: the metrics backend failed"),
}
_NEXT_STEP = {
    Outcome.VERIFIED: "Labelled as verified; nothing more to do.",
    Outcome.FAILED: "Reopened for investigation: the metric that found the incident still breaks the condition.",
    Outcome.INCONCLUSIVE: "Not reopened. Check that the metric is still exported and the query selects it.",
    Outcome.INVALID: "Fix the verification config (or add a corrected one in a comment); the next run reads it.",
    Outcome.PENDING: "The next run after the window ends will judge it.",
    Outcome.ERROR: "Nothing was changed; the next run will try again.",
}


def marker_line(verdict: Verdict, resolved_at: datetime, signature: str | None = None) -> str:
    return result_marker(verdict.outcome, resolved_at, early=verdict.early, signature=signature, config=verdict.config)


def render_result(verdict: Verdict, resolved_at: datetime, flavour: Flavour, signature: str | None = None) -> str:
    """The comment a run writes for a verdict; `signature` (protocol.result_signature) goes into its marker.
    It always fits the tracker's limit (`COMMENT_LIMIT`): when the cut values still do not, the notes and the
    graph are left out, and the comment says so."""
    emoji, jira_icon, headline = _HEADLINES[verdict.outcome]
    voice = _Voice(
        emoji, jira_icon, headline, _NEXT_STEP[verdict.outcome], marker_line(verdict, resolved_at, signature)
    )
    return _fitted(verdict, flavour, voice)


def _fitted(verdict: Verdict, flavour: Flavour, voice: _Voice) -> str:
    comment = _render(verdict, flavour, voice, full=True)
    if comment_length(comment, flavour) > COMMENT_LIMIT[flavour]:
        comment = _render(verdict, flavour, voice, full=False)
    return comment


@dataclass(frozen=True)
class _Voice:
    """What a comment says around the verdict's table: its headline, the next step and its marker line."""

    emoji: str
    jira_icon: str
    headline: str
    next_step: str
    marker: str


_RECHECK_VOICE = {
    Outcome.VERIFIED: ("✅", "(/)", "Re-checked: the fix still holds", "Nothing more to do."),
    Outcome.FAILED: ("❌", "(x)", "Re-check failed: the fix regressed since it was verified", ""),
    Outcome.INCONCLUSIVE: (
        "⚠️",
        "(!)",
        "Re-check inconclusive",
        "Not reopened and not labelled: the earlier verification stands until a human looks.",
    ),
    Outcome.INVALID: ("⚠️", "(!)", "Re-check could not run: the config is invalid", "Nothing was changed."),
}
#: How a re-check's comment says it reopened the ticket: a later run re-applies a missing reopen only after it.
RECHECK_REOPENED = "Reopened and labelled"
_REGRESSED_NEXT = {
    True: RECHECK_REOPENED + " {label}: the fix held at its window, and no longer does.",
    False: "Labelled {label} (not reopened, by the verifier's setting): the fix held at its window, and no "
    "longer does.",
}


def render_recheck(
    verdict: Verdict, resolved_at: datetime, flavour: Flavour, signature: str | None, *, reopens: bool
) -> str:
    """The comment a later re-check writes (`recheck_after`), with its own marker kind (`protocol.recheck_marker`)."""
    emoji, jira_icon, headline, next_step = _RECHECK_VOICE[verdict.outcome]
    if verdict.outcome is Outcome.FAILED:
        next_step = _REGRESSED_NEXT[reopens].format(label=REGRESSED_LABEL)
    marker = recheck_marker(verdict.outcome, resolved_at, signature=signature, config=verdict.config)
    return _fitted(verdict, flavour, _Voice(emoji, jira_icon, headline, next_step, marker))


def comment_length(text: str, flavour: Flavour) -> int:
    """A comment's length as its tracker counts it."""
    return len(text.encode("utf-16-le")) // 2 if flavour is Flavour.JIRA_WIKI else len(text)


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` - 1 characters and "…" when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(verdict: Verdict, flavour: Flavour, voice: _Voice, *, full: bool) -> str:
    if verdict.parts:
        return _render_several(verdict, flavour, voice, full=full)
    rows = _rows(verdict, full=full)
    emoji, jira_icon, headline, marker = voice.emoji, voice.jira_icon, voice.headline, voice.marker
    graph = evidence.render(verdict.evidence, flavour) if full else ""
    graph = f"\n\n{graph}" if graph else ""
    shown = cut(verdict.query, MAX_QUERY_CHARS) if verdict.query else None
    if flavour is Flavour.JIRA_WIKI:
        table = "\n".join(f"||{k}|{_wiki_cell(v)}|" for k, v in rows)
        query = f"\n{{noformat}}\n{_noformat(shown)}\n{{noformat}}" if shown else ""
        return (
            f"h3. {jira_icon} {headline}\n{_wiki_cell(_summary(verdict))}\n\n{table}{query}{graph}\n\n"
            f"{voice.next_step}\n\n{marker}"
        )
    table = "\n".join(f"| {k} | {_md_cell(v)} |" for k, v in rows)
    fence = code_fence(shown or "")
    query = f"\n\n{fence}promql\n{shown}\n{fence}" if shown else ""
    return (
        f"### {emoji} {headline}\n{_md_cell(_summary(verdict))}\n\n|  |  |\n|---|---|\n{table}{query}{graph}\n\n"
        f"{voice.next_step}\n\n<sub>{marker}</sub>"
    )


def _render_several(verdict: Verdict, flavour: Flavour, voice: _Voice, *, full: bool) -> str:
    """Several conditions: a row for each (its verdict, measurement, threshold, data and graph link), then each
    one's query. The shares of the cut values keep ten conditions within the trackers' limits."""
    emoji, jira_icon, headline, marker = voice.emoji, voice.jira_icon, voice.headline, voice.marker
    share = len(verdict.parts)
    jira = flavour is Flavour.JIRA_WIKI
    cell = _wiki_cell if jira else _md_cell
    rows = [f"||Verdict|{verdict.outcome.value}|" if jira else f"| Verdict | {verdict.outcome.value} |"]
    for number, part in enumerate(verdict.parts, start=1):
        text = cell(condition_line(part, share))
        link = part.evidence.link if full and part.evidence and part.evidence.link else None
        if link:
            text += f" [Graph|{link}]" if jira else f" [Graph]({link})"
        rows.append(f"||Condition {number}|{text}|" if jira else f"| Condition {number} | {text} |")
    if verdict.start and verdict.end:
        span = promql_duration(verdict.end - verdict.start)
        window = f"{_utc(verdict.start)} to {_utc(verdict.end)} ({span})"
        rows.append(f"||Window|{cell(window)}|" if jira else f"| Window | {cell(window)} |")
    notes = [f"condition {n}: {note}" for n, part in enumerate(verdict.parts, start=1) for note in part.notes]
    for note in notes[:MAX_NOTES] if full else ():
        rows.append(
            f"||Note|{cell(cut(note, MAX_NOTE_CHARS))}|" if jira else f"| Note | {cell(cut(note, MAX_NOTE_CHARS))} |"
        )
    if len(notes) > (MAX_NOTES if full else 0):
        left = len(notes) - (MAX_NOTES if full else 0)
        text = f"{left} more note{'s' if left > 1 else ''} left out"
        rows.append(f"||Note|{text}|" if jira else f"| Note | {text} |")
    queries = []
    for number, part in enumerate(verdict.parts, start=1):
        if not part.query:
            continue
        shown = cut(part.query, MAX_QUERY_CHARS // share)
        if jira:
            queries.append(f"Condition {number}:\n{{noformat}}\n{_noformat(shown)}\n{{noformat}}")
        else:
            fence = code_fence(shown)
            queries.append(f"Condition {number}:\n\n{fence}promql\n{shown}\n{fence}")
    query = "\n\n" + "\n\n".join(queries) if queries else ""
    table = "\n".join(rows)
    if jira:
        return (
            f"h3. {jira_icon} {headline}\n{_wiki_cell(_summary(verdict))}\n\n{table}{query}\n\n"
            f"{voice.next_step}\n\n{marker}"
        )
    return (
        f"### {emoji} {headline}\n{_md_cell(_summary(verdict))}\n\n|  |  |\n|---|---|\n{table}{query}\n\n"
        f"{voice.next_step}\n\n<sub>{marker}</sub>"
    )


def condition_line(part: Verdict, share: int = 1) -> str:
    """One condition of several, on one line: `FAILED: <name>: measured 0.42 seconds (series …) against
    < 0.3 seconds; <reason>; <data>`. Values from outside are cut to their share of the comment."""
    unit = f" {part.threshold.unit.name}" if part.threshold and part.threshold.unit else ""
    text = f"{part.outcome.value}: {cut(part.condition or '', 200)}"
    if part.value is not None:
        where = f" (series {cut(part.series, MAX_SERIES_CHARS // share)})" if part.series else ""
        text += f": measured {part.value:.6g}{unit}{where}"
        if part.threshold is not None and part.op:
            text += f" against {part.op} {part.threshold.value:.6g}{unit}"
    text += f"; {cut(part.reason, MAX_REASON_CHARS // share)}"
    if part.support is not None:
        text += f"; data: {part.support.describe()}"
    return text


def _summary(verdict: Verdict) -> str:
    reason = cut(verdict.reason, MAX_REASON_CHARS)
    text = reason[:1].upper() + reason[1:] + "."
    if verdict.early:
        text += " Judged early, on the window so far; the scheduled run judges the whole window."
    return text


def _rows(verdict: Verdict, *, full: bool = True) -> list[tuple[str, str]]:
    rows = [("Verdict", verdict.outcome.value)]
    unit = f" {verdict.threshold.unit.name}" if verdict.threshold and verdict.threshold.unit else ""
    if verdict.value is not None:
        where = f" (series {cut(verdict.series, MAX_SERIES_CHARS)})" if verdict.series else ""
        rows.append(("Measured", f"{verdict.value:.6g}{unit}{where}"))
    if verdict.threshold is not None and verdict.op:
        rows.append(("Condition", f"{verdict.op} {verdict.threshold.value:.6g}{unit}"))
    if verdict.start and verdict.end:
        span = promql_duration(verdict.end - verdict.start)
        rows.append(("Window", f"{_utc(verdict.start)} to {_utc(verdict.end)} ({span})"))
    if verdict.support is not None:
        rows.append(("Data", verdict.support.describe()))
    notes = verdict.notes if full else ()
    rows.extend(("Note", cut(note, MAX_NOTE_CHARS)) for note in notes[:MAX_NOTES])
    left = len(verdict.notes) - len(notes[:MAX_NOTES])
    if left:
        why = "" if full else ", the comment would not fit the tracker's limit"
        rows.append(("Note", f"{left} more note{'s' if left > 1 else ''} left out{why}"))
    return rows


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _md_cell(text: str) -> str:
    return neutral.markdown(text)


def _wiki_cell(text: str) -> str:
    return neutral.wiki(text)


def _noformat(query: str) -> str:
    return re.sub(r"\{noformat\}", "{ noformat}", query, flags=re.IGNORECASE)


__all__ = [
    "COMMENT_LIMIT",
    "Marker",
    "comment_length",
    "condition_line",
    "cut",
    "marker_line",
    "parse_marker",
    "render_result",
]
