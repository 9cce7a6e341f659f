"""What `tracker.py` and `filing.py` both read Jira with: JQL quoting, name folding, an issue's fields, and the
shape of a Cloud account id. A leaf of the Jira adapter, so neither module imports the other's private names (#23).
"""

from __future__ import annotations

import re
from typing import Any

from verifier.errors import TrackerError

#: Cloud account ids: 24 hex digits (older accounts) or `<number>:<uuid-ish>`.
ACCOUNT_ID = re.compile(r"^(?:[0-9a-f]{24}|\d+:[0-9a-f-]{20,})$")


def issue_fields(raw: dict[str, Any], key: str) -> dict[str, Any]:
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        raise TrackerError("Jira returned the issue without its fields", ticket=key)
    return fields


def fold(text: str) -> str:
    return text.replace("\u2019", "'").casefold().strip()


def jql_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
