"""Result comments for GitHub (Markdown) and Jira (v2 wiki markup), and the marker a later run recognises.

The marker is one plain-text line, `action-item-verifier result v1; verdict=…; resolved=…`, because plain text
survives every tracker's rendering round trip (Jira Cloud stores comments as ADF and may escape characters on
the way back, so `parse_marker` ignores backslashes and markup around it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from verifier.domain import evidence
from verifier.domain.durations import promql_duration
from verifier.domain.tickets import Flavour
from verifier.domain.verdicts import Outcome, Verdict

_MARKER = re.compile(
    r"action-item-verifier result v1; verdict=(?P<verdict>[A-Z]+); "
    r"resolved=(?P<resolved>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(?P<early>; early)?"
)
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


@dataclass(frozen=True)
class Marker:
    verdict: Outcome
    resolved_at: datetime
    early: bool


def marker_line(verdict: Verdict, resolved_at: datetime) -> str:
    early = "; early" if verdict.early else ""
    return f"action-item-verifier result v1; verdict={verdict.outcome.value}; resolved={_utc(resolved_at)}{early}"


def parse_marker(text: str) -> Marker | None:
    """The last result marker in a comment, or None."""
    matches = list(_MARKER.finditer(text.replace("\\", "")))
    if not matches:
        return None
    last = matches[-1]
    try:
        verdict = Outcome(last.group("verdict"))
    except ValueError:
        return None
    resolved = datetime.strptime(last.group("resolved"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return Marker(verdict, resolved, early=bool(last.group("early")))


def render_result(verdict: Verdict, resolved_at: datetime, flavour: Flavour) -> str:
    """The comment a run writes for a verdict."""
    rows = _rows(verdict)
    emoji, jira_icon, headline = _HEADLINES[verdict.outcome]
    marker = marker_line(verdict, resolved_at)
    graph = evidence.render(verdict.evidence, flavour)
    graph = f"\n\n{graph}" if graph else ""
    if flavour is Flavour.JIRA_WIKI:
        table = "\n".join(f"||{k}|{_wiki_cell(v)}|" for k, v in rows)
        query = f"\n{{noformat}}\n{_noformat(verdict.query)}\n{{noformat}}" if verdict.query else ""
        return (
            f"h3. {jira_icon} {headline}\n{_wiki_cell(_summary(verdict))}\n\n{table}{query}{graph}\n\n"
            f"{_NEXT_STEP[verdict.outcome]}\n\n{marker}"
        )
    table = "\n".join(f"| {k} | {_md_cell(v)} |" for k, v in rows)
    query = f"\n\n```promql\n{verdict.query}\n```" if verdict.query else ""
    return (
        f"### {emoji} {headline}\n{_summary(verdict)}\n\n|  |  |\n|---|---|\n{table}{query}{graph}\n\n"
        f"{_NEXT_STEP[verdict.outcome]}\n\n<sub>{marker}</sub>"
    )


def _summary(verdict: Verdict) -> str:
    text = verdict.reason[:1].upper() + verdict.reason[1:] + "."
    if verdict.early:
        text += " Judged early, on the window so far; the scheduled run judges the whole window."
    return text


def _rows(verdict: Verdict) -> list[tuple[str, str]]:
    rows = [("Verdict", verdict.outcome.value)]
    unit = f" {verdict.threshold.unit.name}" if verdict.threshold and verdict.threshold.unit else ""
    if verdict.value is not None:
        where = f" (series {verdict.series})" if verdict.series else ""
        rows.append(("Measured", f"{verdict.value:.6g}{unit}{where}"))
    if verdict.threshold is not None and verdict.op:
        rows.append(("Condition", f"{verdict.op} {verdict.threshold.value:.6g}{unit}"))
    if verdict.start and verdict.end:
        span = promql_duration(verdict.end - verdict.start)
        rows.append(("Window", f"{_utc(verdict.start)} to {_utc(verdict.end)} ({span})"))
    rows.extend(("Note", note) for note in verdict.notes)
    return rows


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _wiki_cell(text: str) -> str:
    return re.sub(r"([{}\[\]|])", r"\\\1", " ".join(text.split()))


def _noformat(query: str) -> str:
    return re.sub(r"\{noformat\}", "{ noformat}", query, flags=re.IGNORECASE)
