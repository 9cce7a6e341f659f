"""Filing for the Jira tracker: finding an action item's ticket by its fingerprint, and creating it.

`JiraFiling` is a layer of `verifier.adapters.jira.JiraTracker`, the one adapter of the Tracker port for Jira: it
searches and reads tickets back through `JiraReading` and writes the seed comment through `JiraWriting`.

Filing: `create_issue` would fetch every field's metadata first; `POST /issue` is sent through the session.
Cloud assigns by `accountId` (names were removed for privacy), found with `user/search?query=`; Data Center by
`name`. Priorities and the issue type are sent by id when the setting is a number, by name otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import structlog

from verifier import defaults
from verifier.adapters.jira.jql import ACCOUNT_ID, fold, issue_fields, jql_quote
from verifier.adapters.jira.reading import JiraReading
from verifier.adapters.jira.writing import JiraWriting
from verifier.domain.action_items import ActionItem, fingerprint_in, render_body
from verifier.domain.config import VerificationConfig
from verifier.domain.formats import find_config
from verifier.domain.protocol import SEED_CONFIG_TITLE, TITLE_PREFIX
from verifier.domain.protocol import incident_label as incident_label_of
from verifier.domain.tickets import Filed, Flavour, Ticket, own_filing
from verifier.errors import ConfigError, TrackerError

__all__ = ["FILED_LABELS", "JiraFiling", "incident_label", "item_fields", "seed_comment"]

#: Where the fingerprint is, and who created the ticket (the reporter only where a server leaves `creator` out:
#: Jira always sends it, but a reporter is editable).
FIND_FIELDS = ("description", "creator", "reporter")
FILED_LABELS = (defaults.LABEL, defaults.FILED_LABEL)
_log = structlog.get_logger()


class JiraFiling(JiraReading, JiraWriting):
    """The Tracker port's filing methods (`find_filed`, `create`) for `JiraTracker`."""

    def find_filed(self, incident_id: str, fingerprint: str) -> Filed:
        """Only an issue the tool's account created counts (`creator`, which nobody can change)."""

        clauses = [f"labels = {jql_quote(incident_label(incident_id))}"]
        if self._connection.project:
            clauses.append(f"project = {jql_quote(self._connection.project)}")
        jql = " AND ".join(clauses) + " ORDER BY key ASC"
        candidates = []
        for raw in self._search(jql, FIND_FIELDS):
            key = str(raw.get("key", "?"))
            fields = issue_fields(raw, key)
            description = fields.get("description")
            if isinstance(description, str) and fingerprint_in(description) == fingerprint:
                candidates.append((key, self._user(fields["creator" if "creator" in fields else "reporter"])))
        ours, squatted = own_filing(candidates, self._own_account())
        return Filed(self.get_ticket(ours) if ours is not None else None, squatted)

    def edit_body(self, key: str, body: str) -> None:
        edit = {"fields": {"description": body}}
        self._request("PUT", f"issue/{quote(key, safe='')}", ticket=key, action="edit the description", body=edit)

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        project = self._connection.project
        if not project:
            raise TrackerError("filing needs the Jira project key to create issues in (VERIFIER_JIRA_PROJECT)")
        labels = [FILED_LABELS[0], incident_label(item.incident_id), FILED_LABELS[1], *item.labels]
        fields: dict[str, Any] = {
            "project": {"key": project},
            "summary": TITLE_PREFIX + item.title,
            "description": render_body(item, Flavour.JIRA_WIKI),
            "issuetype": _reference(self._connection.issue_type),
            "priority": _reference(self._connection.priorities[item.priority]),
            "labels": list(dict.fromkeys(labels)),
        }
        if item.assignee:
            fields["assignee"] = self._assignee(item.assignee)
        fields.update(item_fields(item, self._connection.custom_fields))
        action = "create the issue"
        created = self._request("POST", "issue", ticket=None, action=action, body={"fields": fields})
        key = str(created.get("key") or "")
        if not key:
            raise TrackerError(f"Jira {action}: the answer carries no issue key")
        _log.info("jira.created", ticket=key, fingerprint=item.fingerprint)
        if config_comment:
            comment = seed_comment(item.verification)
            if comment is None:
                _log.info(
                    "jira.seed_comment_skipped", ticket=key, reason="the config needs more than the seed's fields"
                )
            else:
                self.comment(key, comment)
        return self.get_ticket(key)

    def _assignee(self, who: str) -> dict[str, str]:
        """Cloud: the user's accountId (given as such, or found by name or email); Data Center: the user name."""

        if not self._is_cloud():
            return {"name": who}
        if ACCOUNT_ID.match(who):
            return {"accountId": who}
        if who not in self._account_ids:
            action = f"look up the assignee '{who}'"
            found = self._request("GET", "user/search", ticket=None, action=action, params={"query": who})
            users = [u for u in found if isinstance(u, dict) and u.get("accountId")] if isinstance(found, list) else []
            humans = [u for u in users if u.get("active", True) and u.get("accountType", "atlassian") == "atlassian"]
            exact = [
                u
                for u in humans
                if fold(who) in (fold(str(u.get("emailAddress") or "")), fold(str(u.get("displayName") or "")))
            ]
            chosen = exact if len(exact) == 1 else humans
            if len(chosen) != 1:
                names = ", ".join(str(u.get("displayName")) for u in chosen[:5])
                problem = f"matches {len(chosen)} users ({names})" if chosen else "matches no active user"
                raise TrackerError(f"the assignee '{who}' {problem}; give an email or the accountId")
            self._account_ids[who] = str(chosen[0]["accountId"])
        return {"accountId": self._account_ids[who]}


def incident_label(incident_id: str) -> str:
    """The label a filed ticket carries for its incident, as the seed writes it: `incident-<id>`."""
    return incident_label_of(incident_id, github=False)


def seed_comment(config: VerificationConfig) -> str | None:
    """The seed's "Automated Verification Config" comment for `config`, or None when its three fields cannot say
    the same (a window, labels, a mode): a comment by the tool is trusted and newer than the body, so it
    would replace the body's block with a different check."""
    hours = format(config.delay.total_seconds() / 3600, "g")
    # What `file` resolved (type, unit, temporality) follows the seed's three fields, so the comment says the same.
    resolved = "".join(
        f"{name}: {value}\n" for name in ("type", "unit", "temporality") if (value := getattr(config, name))
    )
    text = (
        f"*{SEED_CONFIG_TITLE}*\n{{code}}\n"
        f"metric: {config.metric}\ncondition: {config.condition.text}\ndelay_hours: {hours}\n{resolved}{{code}}"
    )
    try:
        same = find_config(text) == config
    except ConfigError:
        same = False
    return text if same else None


def item_fields(item: ActionItem, mapping: Mapping[str, str]) -> dict[str, Any]:
    """The due date (`YYYY-MM-DD`) and the item's custom fields by their Jira ids; a field the mapping does not
    name is refused (`file` checks every item before the first write, so this is a second line)."""
    fields: dict[str, Any] = {"duedate": item.due.isoformat()} if item.due is not None else {}
    for name, value in item.fields:
        if name not in mapping:
            raise TrackerError(f"the field '{name}' is not mapped to a Jira field (VERIFIER_JIRA_FIELDS)")
        fields[mapping[name]] = value
    return fields


def _reference(value: str) -> dict[str, str]:
    """A priority or issue type by id (all digits) or by name."""
    return {"id": value} if value.isdigit() else {"name": value}
