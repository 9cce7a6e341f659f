"""The text protocol: everything this tool writes into a tracker and reads back later.

The tracker's comment history is the tool's database, so these formats are an API with old data in it. Rules:
- every format carries a version (`v1`); a reader keeps reading every version a release ever wrote (the golden
  tests in tests/unit/domain/test_protocol.py hold them), and a new field is appended, never inserted, so that older
  releases still read what newer ones write;
- readers ignore backslashes (Jira Cloud may escape characters on the way back) and markup around a line.

Formats (v1):
    result marker    action-item-verifier result v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z[; early][; sig=…]
                     [; config=0123456789abcdef]          (the fingerprint of the config judged; appended later)
    recheck marker   action-item-verifier recheck v1; verdict=FAILED; resolved=2026-11-01T12:00:00Z[; sig=…]
                     [; config=0123456789abcdef]          (a later re-check of a VERIFIED result, `recheck_after`)
    reminder marker  action-item-verifier reminder v1; due=2026-11-05
    fingerprint      action-item-verifier fingerprint: 0123456789abcdef
    config header    # action-item-verifier: v1          (first line of a config block; `# sig: …` may end it)
    config signature # sig: v2:0123…(32 hex)               (bound: the ticket, the block's fields, the body's facts)
                     # sig: 0123…(32 hex)                  (earlier format: the block's fields only; no longer trusted)

`sig` is an HMAC-SHA256 (hex, first 32 digits) with the key from `VERIFIER_SIGNING_KEY` over what the line asserts:
for a result, the ticket, verdict, resolution time and early flag, and the judged config's fingerprint when the
marker carries one (`config=`: `config_fingerprint` of the block's canonical fields); for a filed config (`v2:`), the ticket (Jira key
or GitHub owner/repo#number), the block's fields and every fact of the body a verdict uses (`action_items.bound_facts`:
the incident's value and trigger time, the service), so a block moved to another ticket, or a body whose facts
changed, does not verify. A filed config signed in the earlier format (fields only) could be copied to any ticket:
it verifies only with `config_signature` and counts for nothing but re-signing (docs/migrating.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from verifier.defaults import PRIORITIES
from verifier.domain.outcomes import Outcome

#: Every marker and config header starts with the tool's name: the namespace of its lines in a comment history.
NAME = "action-item-verifier"
VERSION = "v1"  # of the config block format
CONFIG_HEADER = f"# {NAME}: {VERSION}"
#: What each format starts with (its own version in it); the readers below are built from the same text.
RESULT = f"{NAME} result v1; verdict="
REMINDER = f"{NAME} reminder v1; due="
FINGERPRINT = f"{NAME} fingerprint"
SIGNATURE = "# sig: "
SIGNATURE_LENGTH = 32  # hex digits: 128 bits of HMAC-SHA256
BOUND = "v2:"  # a config signature bound to its ticket and facts starts with this

_RESULT = re.compile(
    re.escape(RESULT) + r"(?P<verdict>[A-Z]+); "
    r"resolved=(?P<resolved>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(?P<early>; early)?(?:; sig=(?P<sig>[0-9a-f]{32}))?"
    r"(?:; config=(?P<config>[0-9a-f]{16}))?"
)
_REMINDER = re.compile(re.escape(REMINDER) + r"(\d{4}-\d\d-\d\d)")
_FINGERPRINT = re.compile(re.escape(FINGERPRINT) + r":?\s*`?\{?\{?([0-9a-f]{16})")
_SIGNATURE_LINE = re.compile(  # the block's last line
    r"\n[ \t]*" + re.escape(SIGNATURE) + "((?:" + re.escape(BOUND) + r")?[0-9a-f]{32})[ \t\r\n]*\Z"
)
#: A config block's first line, as people type it (spaces around `#` and `:` vary).
_CONFIG_HEADER = re.compile(rf"^\s*#\s*{re.escape(NAME)}\s*:\s*(?P<version>\S+)\s*$")
#: The labels filing writes: the incident (GitHub `incident:<id>`, Jira `incident-<id>`: Jira labels take no
#: colon in the seed's JQL) and, on GitHub where there is no priority field, the priority.
#: What a filed ticket's title starts with (the seed's), and the title of the seed's config comment on Jira.
TITLE_PREFIX = "[Post-Incident] "
SEED_CONFIG_TITLE = "Automated Verification Config"
#: The seed body's headings and bullet names (the seed article's, verbatim): filing writes them into a ticket's
#: body (`action_items`), the run reads the criteria section (`formats`) and the incident's facts back by them.
CRITERIA_HEADING = "Verification Criteria"
METRIC = "Metric"
EXPECTED = "Expected"
WINDOW = "Verification Window"
SERVICE = "Service"
TRIGGERED_AT = "Triggered At"
ACTUAL_VALUE = "Actual Value"
GITHUB_INCIDENT_LABEL = "incident:{}"
JIRA_INCIDENT_LABEL = "incident-{}"
PRIORITY_LABEL = "priority:{}"
_PRIORITY_LABEL = re.compile(  # as filing writes it, or a person types it: any case, spaces after the colon
    "^" + re.escape(PRIORITY_LABEL.removesuffix("{}")) + r"\s*(" + "|".join(map(re.escape, PRIORITIES)) + ")$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Marker:
    verdict: Outcome
    resolved_at: datetime
    early: bool
    signature: str | None = None  # None in results written without a signing key
    config: str | None = None  # the judged config's fingerprint; None in results written before it was recorded


def result_marker(
    outcome: Outcome, resolved_at: datetime, *, early: bool, signature: str | None = None, config: str | None = None
) -> str:
    line = f"{RESULT}{outcome.value}; resolved={utc(resolved_at)}"
    line += ("; early" if early else "") + (f"; sig={signature}" if signature else "")
    return line + (f"; config={config}" if config else "")


def parse_result(text: str) -> Marker | None:
    """The last result marker in a comment, or None (also when a re-check marker comes after it: the comment is a
    re-check's, whatever text it quotes)."""
    return _last_marker(_RESULT, _RECHECK, text.replace("\\", ""))


def _last_marker(pattern: re.Pattern[str], other: re.Pattern[str], text: str) -> Marker | None:
    """The last match of `pattern` in `text` as a Marker, unless a match of `other` comes after it: the tool
    writes its marker as a comment's last line, so the last marker says what kind of comment it is."""
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    if other.search(text, last.end()) is not None:
        return None
    try:
        verdict = Outcome(last.group("verdict"))
    except ValueError:
        return None
    resolved = datetime.strptime(last.group("resolved"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    early = bool(last.group("early"))
    return Marker(verdict, resolved, early=early, signature=last.group("sig"), config=last.group("config"))


def result_signature(
    key: bytes, ticket: str, outcome: Outcome, resolved_at: datetime, *, early: bool, config: str | None = None
) -> str:
    claim = f"{ticket}\n{outcome.value}\n{utc(resolved_at)}\n{int(early)}"
    return _mac(key, f"result v2\n{claim}\n{config}" if config else f"result v1\n{claim}")


def signed_by(key: bytes, ticket: str, marker: Marker) -> bool:
    """Whether the marker's signature was made with `key` for this ticket and this claim."""
    if marker.signature is None:
        return False
    wanted = result_signature(key, ticket, marker.verdict, marker.resolved_at, early=marker.early, config=marker.config)
    return hmac.compare_digest(wanted, marker.signature)


def config_fingerprint(fields: str) -> str:
    """The fingerprint a result records of the config it judged: of the block's canonical fields (`canonical`)."""
    return hashlib.sha256(("config\n" + _lines(fields)).encode()).hexdigest()[:16]


def reminder_marker(due: date | str) -> str:
    """The marker of a reminder for the breach due on `due` (a date, or the ISO date `parse_reminder` read)."""
    return REMINDER + (due if isinstance(due, str) else due.isoformat())


def parse_reminder(text: str) -> str | None:
    """The due date (ISO) of the first reminder marker in a comment, or None."""
    match = _REMINDER.search(text.replace("\\", ""))
    return match.group(1) if match else None


def fingerprint_line(fingerprint: str) -> str:
    return f"{FINGERPRINT}: {fingerprint}"


def fingerprint_in(text: str) -> str | None:
    match = _FINGERPRINT.search(text)
    return match.group(1) if match else None


def config_signature(key: bytes, fields: str) -> str:
    """The earlier format's signature of a filed config block whose field lines are `fields` (not bound to a
    ticket): read only to re-sign what an earlier release filed."""
    return _mac(key, "config v1\n" + _lines(fields))


def bound_config_signature(key: bytes, ticket: str, fields: str, facts: str) -> str:
    """The signature line's value for a config block filed on `ticket`, whose field lines are `fields`, in a body
    whose facts are `facts` (`action_items.bound_facts`)."""
    return BOUND + _mac(key, f"config v2\n{ticket}\n{_lines(fields)}\n--\n{_lines(facts)}")


def config_bound(key: bytes, ticket: str, fields: str, facts: str, signature: str | None) -> bool:
    """Whether `signature` was made with `key` for this ticket, these fields and these facts."""
    if signature is None or not signature.startswith(BOUND):
        return False
    return hmac.compare_digest(bound_config_signature(key, ticket, fields, facts), signature)


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def signature_line(signature: str) -> str:
    return SIGNATURE + signature


def split_config_signature(body: str) -> tuple[str, str | None]:
    """A config block's body without its last line when that is `# sig: …`, and the signature (None: unsigned)."""
    match = _SIGNATURE_LINE.search(body)
    if match is None:
        return body, None
    return body[: match.start()] + "\n", match.group(1)


def config_header_version(line: str) -> str | None:
    """The version a config block's first line names when it is the tool's header (`# action-item-verifier: v1`,
    spaces as typed), else None."""
    match = _CONFIG_HEADER.match(line)
    return match.group("version") if match else None


def priority_label(priority: str) -> str:
    return PRIORITY_LABEL.format(priority)


def priority_of_label(name: str) -> str | None:
    """P0-P3 from a `priority:P1` label (any case, as filing writes it or a person types it), else None."""
    match = _PRIORITY_LABEL.match(name)
    return match.group(1).upper() if match else None


def incident_label(incident_id: str, *, github: bool) -> str:
    """The label filing gives an item for its incident (GitHub shortens it to its label limit on the way)."""
    return (GITHUB_INCIDENT_LABEL if github else JIRA_INCIDENT_LABEL).format(incident_id)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]


# ------------------------------------------------------------------------------- the later re-check (#24)

#: The label a ticket gets when its fix, VERIFIED at its window, broke the condition at the re-check.
REGRESSED_LABEL = "regressed-later"

_RECHECK = re.compile(
    r"action-item-verifier recheck v1; verdict=(?P<verdict>[A-Z]+); "
    r"resolved=(?P<resolved>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(?P<early>; early)?(?:; sig=(?P<sig>[0-9a-f]{32}))?"
    r"(?:; config=(?P<config>[0-9a-f]{16}))?"
)


def recheck_marker(outcome: Outcome, resolved_at: datetime, *, signature: str | None, config: str | None) -> str:
    line = f"action-item-verifier recheck v1; verdict={outcome.value}; resolved={utc(resolved_at)}"
    return line + (f"; sig={signature}" if signature else "") + (f"; config={config}" if config else "")


def parse_recheck(text: str) -> Marker | None:
    """The last re-check marker in a comment, or None (also when a result marker comes after it)."""
    return _last_marker(_RECHECK, _RESULT, text.replace("\\", ""))


def recheck_signature(key: bytes, ticket: str, outcome: Outcome, resolved_at: datetime, config: str | None) -> str:
    """A re-check's signature: a claim of its own kind, so that no result's signature verifies as a re-check's."""
    return _mac(key, f"recheck v1\n{ticket}\n{outcome.value}\n{utc(resolved_at)}\n{config}")


def recheck_signed_by(key: bytes, ticket: str, marker: Marker) -> bool:
    if marker.signature is None:
        return False
    wanted = recheck_signature(key, ticket, marker.verdict, marker.resolved_at, marker.config)
    return hmac.compare_digest(wanted, marker.signature)
