"""What `file` writes beside the body: an item's tracker fields, its Jira due date, and the incident's issue.

    items:
      - title: Add connection pooling to the payments client
        fields: {team: Payments, story_points: 3}    # Jira custom fields, mapped in VERIFIER_JIRA_FIELDS
    incident:
      issue: acme/api#12                           # GitHub: the action items become its sub-issues

The file is written by a person but read as input from outside: a field's name is a short identifier, its value
a string (one line, at most `MAX_VALUE` characters) or a finite number, and an item has at most `MAX_FIELDS`.
The due date follows the SLA rule `report` counts overdue by (`sla.sla_due`), from the `now` given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

from verifier.domain.sla import sla_due
from verifier.errors import ConfigError

__all__ = [
    "FIELD_NAME",
    "FieldValue",
    "due_date",
    "parse_fields",
    "parse_issue",
    "unmapped",
]

FieldValue = str | int | float
#: A field's name in the file and in VERIFIER_JIRA_FIELDS.
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_FIELDS = 20
MAX_VALUE = 255  # Jira's single-line text fields hold 255 characters
_ISSUE = re.compile(r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100})#(?P<number>[1-9]\d{0,9})$")
_ISSUE_URL = re.compile(
    r"^https?://[A-Za-z0-9.\-:]+/(?P<repo>[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100})"
    r"/issues/(?P<number>[1-9]\d{0,9})/?$"
)


def parse_fields(value: object) -> tuple[tuple[str, FieldValue], ...]:
    """An item's `fields:` mapping, checked; ConfigError naming the field (`fields.<name>`) otherwise."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ConfigError("fields", "must be a mapping of field names to values (e.g. {team: Payments})")
    if len(value) > MAX_FIELDS:
        raise ConfigError("fields", f"has {len(value)} entries; at most {MAX_FIELDS}")
    out: list[tuple[str, FieldValue]] = []
    for key, entry in value.items():
        if not isinstance(key, str) or not FIELD_NAME.match(key):
            shown = key[:64] if isinstance(key, str) else type(key).__name__
            raise ConfigError("fields", f"'{shown}' is not a field name (lower-case letters, digits and _)")
        out.append((key, _value(key, entry)))
    return tuple(out)


def _value(name: str, entry: object) -> FieldValue:
    where = f"fields.{name}"
    if isinstance(entry, bool) or not isinstance(entry, str | int | float):
        raise ConfigError(where, f"must be a string or a number, not {type(entry).__name__}")
    if isinstance(entry, str):
        text = entry.strip()
        if not text or len(text) > MAX_VALUE or any(c in text for c in "\x00\r\n"):
            raise ConfigError(where, f"must be text of 1 to {MAX_VALUE} characters on one line")
        return text
    if isinstance(entry, int) and abs(entry) >= 2**53:  # what a JSON number keeps exactly
        raise ConfigError(where, "is too large a number")
    if isinstance(entry, float) and not math.isfinite(entry):
        raise ConfigError(where, "must be a finite number")
    return entry


def unmapped(fields: tuple[tuple[str, FieldValue], ...], mapping: Mapping[str, str]) -> str | None:
    """The first of `fields` that `mapping` (VERIFIER_JIRA_FIELDS) does not name, or None."""
    return next((name for name, _ in fields if name not in mapping), None)


def due_date(priority: str, now: datetime, sla_days: Mapping[str, int]) -> date:
    """The day an item filed `now` is due (Jira's `duedate`): the SLA rule `report` counts overdue by."""
    return sla_due(priority, now, sla_days).astimezone(UTC).date()


def parse_issue(value: object) -> str:
    """The incident's GitHub issue, `owner/repo#N` or its URL, as the key `owner/repo#N`."""
    text = value.strip() if isinstance(value, str) else ""
    match = _ISSUE.match(text) or _ISSUE_URL.match(text)
    if match is None:
        raise ConfigError(
            "incident.issue", "must be a GitHub issue: owner/repo#12 or https://github.com/owner/repo/issues/12"
        )
    return f"{match['repo']}#{match['number']}"
