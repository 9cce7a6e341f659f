"""State and JSON shapes of the Jira sandbox (the server lives in `verifier_sandbox.jira`).

Dates: inside an issue's `fields` (resolutiondate, created, updated) the sandbox writes Jira's own format
`2025-01-13T10:22:33.000+0000`, which the OpenAPI description leaves untyped there; where the description types a
value as `date-time` (comment created/updated, serverTime) it writes RFC 3339 (`...+00:00`), because the contract
validator checks formats. A client therefore has to read both, as it must against a real Jira.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from verifier_sandbox.jql import JqlFacts

StatusCategory = Literal["new", "indeterminate", "done"]
CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
_CATEGORY_OF = {"to do": "new", "open": "new", "backlog": "new", "in progress": "indeterminate", "done": "done"}
ISSUE_FIELDS = (
    "summary",
    "status",
    "resolution",
    "resolutiondate",
    "labels",
    "description",
    "reporter",
    "creator",
    "comment",
    "project",
    "issuetype",
    "priority",
    "assignee",
    "created",
    "updated",
)
#: The issue types and priorities every sandbox project has: id -> name (Jira's defaults).
ISSUE_TYPES = {"10000": "Epic", "10001": "Task", "10002": "Bug", "10003": "Story"}
PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}


@dataclass(frozen=True)
class JiraTransition:
    """A workflow transition: `GET .../transitions` offers it while the issue is not already in `to_status`."""

    id: str
    name: str
    to_status: str
    to_category: StatusCategory


DEFAULT_WORKFLOW: tuple[JiraTransition, ...] = (
    JiraTransition("11", "To Do", "To Do", "new"),
    JiraTransition("21", "In Progress", "In Progress", "indeterminate"),
    JiraTransition("31", "Done", "Done", "done"),
)


@dataclass(frozen=True)
class JiraUser:
    name: str
    account_id: str
    display_name: str
    email: str
    # Deactivated accounts and app (bot) accounts are still found by `user/search` (Cloud's `accountType`:
    # "atlassian" for people, "app" for apps); `dataclasses.replace` a user to make one.
    active: bool = True
    account_type: str = "atlassian"

    @classmethod
    def named(cls, name: str, email: str | None = None) -> JiraUser:
        digest = hashlib.sha256(name.encode()).hexdigest()[:24]
        return cls(name, f"712020:{digest}", name.replace("-", " ").title(), email or f"{name}@example.com")


@dataclass
class JiraComment:
    id: str
    author: JiraUser
    body: str
    created: datetime
    updated: datetime
    update_author: JiraUser | None = None  # who edited it last; None: its author


@dataclass
class JiraIssue:
    """One issue; the server hands these out live, so tests can read what the adapter changed."""

    id: int
    key: str
    project: str
    summary: str
    description: str | None
    status: str
    category: StatusCategory
    resolution: str | None
    resolved: datetime | None
    labels: list[str]
    reporter: JiraUser
    workflow: str
    created: datetime
    updated: datetime
    comments: list[JiraComment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    issue_type: str = "Task"
    priority: str | None = None
    assignee: JiraUser | None = None
    # Field changes, oldest first: (who, when, field, old text, new text); served with `expand=changelog` (the
    # newest ones only, on Cloud) and, whole and paged, by `GET .../issue/{key}/changelog`.
    changes: list[tuple[JiraUser, datetime, str, str | None, str | None]] = field(default_factory=list)
    creator: JiraUser | None = None  # who created it (None: its reporter); unlike the reporter, never changes
    due_date: str | None = None  # `duedate`, YYYY-MM-DD
    custom: dict[str, Any] = field(default_factory=dict)  # custom field id -> value, as set at creation

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])

    def facts(self) -> JqlFacts:
        return JqlFacts(
            key=self.key.lower(),
            project=self.project.lower(),
            number=self.number,
            summary=self.summary,
            labels=frozenset(self.labels),
            status=self.status,
            category=self.category,
            resolution=self.resolution,
            resolved=self.resolved,
            created=self.created,
            updated=self.updated,
            reporter=frozenset({self.reporter.name, self.reporter.account_id}),
        )


def jira_time(moment: datetime) -> str:
    """Jira's own timestamp format: 2025-01-13T10:22:33.000+0000."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def adf(text: str) -> dict[str, Any]:
    """Wiki text as an Atlassian Document: one paragraph per line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []} for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(document: dict[str, Any]) -> str:
    """The plain text of an Atlassian Document (paragraphs joined by newlines)."""

    def text_of(node: dict[str, Any]) -> str:
        if node.get("type") == "text":
            return str(node.get("text", ""))
        return "".join(text_of(child) for child in node.get("content", []) if isinstance(child, dict))

    return "\n".join(text_of(p) for p in document.get("content", []) if isinstance(p, dict))


@dataclass(frozen=True)
class Renderer:
    """Builds the JSON of one API flavour: `version` "2" (wiki strings) or "3" (ADF); Cloud or Data Center users."""

    base: str
    version: str
    cloud: bool

    def api(self, path: str) -> str:
        return f"{self.base}/rest/api/{self.version}/{path}"

    def rich(self, text: str | None) -> Any:
        if text is None:
            return None
        return adf(text) if self.version == "3" else text

    def server_info(self, now: datetime) -> dict[str, Any]:
        version = (1001, 0, 0) if self.cloud else (9, 12, 15)
        return {
            "baseUrl": self.base,
            "version": "1001.0.0-SNAPSHOT" if self.cloud else "9.12.15",
            "versionNumbers": list(version),
            "deploymentType": "Cloud" if self.cloud else "Server",
            "buildNumber": 100300,
            "buildDate": "2025-11-01T00:00:00.000+00:00",
            "serverTime": rfc3339(now),
            "scmInfo": "sandbox",
            "serverTitle": "Jira sandbox",
        }

    def user(self, user: JiraUser) -> dict[str, Any]:
        avatars = {size: f"{self.base}/avatar/{user.name}?s={size}" for size in ("16x16", "24x24", "32x32", "48x48")}
        common = {"displayName": user.display_name, "active": user.active, "timeZone": "UTC", "avatarUrls": avatars}
        if self.cloud:
            return {
                "self": self.api(f"user?accountId={user.account_id}"),
                "accountId": user.account_id,
                "accountType": user.account_type,
                **common,
            }
        return {
            "self": self.api(f"user?username={user.name}"),
            "name": user.name,
            "key": f"JIRAUSER{int(hashlib.sha256(user.name.encode()).hexdigest()[:6], 16)}",
            "emailAddress": user.email,
            **common,
        }

    def named(self, kind: str, known: dict[str, str], name: str) -> dict[str, Any]:
        """An issue type or priority reference: self, id and name."""
        ident = next(i for i, n in known.items() if n == name)
        return {"self": self.api(f"{kind}/{ident}"), "id": ident, "name": name}

    def status(self, name: str, category: str) -> dict[str, Any]:
        cat_id, cat_name, colour = CATEGORIES[category]
        status_id = str(10000 + int(hashlib.sha256(name.encode()).hexdigest()[:4], 16))
        return {
            "self": self.api(f"status/{status_id}"),
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": name,
            "id": status_id,
            "statusCategory": {
                "self": self.api(f"statuscategory/{cat_id}"),
                "id": cat_id,
                "key": category,
                "colorName": colour,
                "name": cat_name,
            },
        }

    def comment(self, issue: JiraIssue, comment: JiraComment) -> dict[str, Any]:
        author = self.user(comment.author)
        return {
            "self": self.api(f"issue/{issue.id}/comment/{comment.id}"),
            "id": comment.id,
            "author": author,
            "updateAuthor": self.user(comment.update_author) if comment.update_author else author,
            "body": self.rich(comment.body),
            "created": rfc3339(comment.created),
            "updated": rfc3339(comment.updated),
            "jsdPublic": True,
        }

    def comment_page(self, issue: JiraIssue, start: int, limit: int, *, newest_first: bool = False) -> dict[str, Any]:
        ordered = issue.comments[::-1] if newest_first else issue.comments
        page = ordered[start : start + limit]
        return {
            "comments": [self.comment(issue, c) for c in page],
            "maxResults": limit,
            "total": len(issue.comments),
            "startAt": start,
        }

    def issue(
        self,
        issue: JiraIssue,
        fields: set[str] | None,
        inline_comments: int,
        *,
        changelog: bool = False,
        changelog_cap: int | None = None,
    ) -> dict[str, Any]:
        """The issue with `fields` (None: all of them); `fields` empty gives the id only (Cloud's default).
        `changelog` (the request's `expand=changelog`) adds its field changes as Jira's PageOfChangelogs: on Cloud
        only the newest `changelog_cap` of them, with `total` saying how many there are."""
        inline = {"changelog": self.changelog(issue, changelog_cap)} if changelog else {}
        if fields is not None and not fields:
            return {"id": str(issue.id)} | inline
        wanted = set(ISSUE_FIELDS) if fields is None else fields
        values: dict[str, Any] = {
            "summary": issue.summary,
            "status": self.status(issue.status, issue.category),
            "resolution": None
            if issue.resolution is None
            else {"self": self.api("resolution/1"), "id": "1", "name": issue.resolution, "description": ""},
            "resolutiondate": jira_time(issue.resolved) if issue.resolved else None,
            "labels": list(issue.labels),
            "description": self.rich(issue.description),
            "reporter": self.user(issue.reporter),
            "creator": self.user(issue.creator or issue.reporter),
            "comment": self.comment_page(issue, 0, inline_comments),
            "project": {"self": self.api(f"project/{issue.project}"), "key": issue.project, "name": issue.project},
            "issuetype": self.named("issuetype", ISSUE_TYPES, issue.issue_type) | {"subtask": False},
            "priority": None if issue.priority is None else self.named("priority", PRIORITIES, issue.priority),
            "assignee": None if issue.assignee is None else self.user(issue.assignee),
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
        }
        if fields is not None:  # asked for by name only (Jira's `*all` would carry them too)
            values |= {"duedate": issue.due_date, **issue.custom}
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": str(issue.id),
            "self": self.api(f"issue/{issue.id}"),
            "key": issue.key,
            "fields": {name: value for name, value in values.items() if name in wanted},
        } | inline

    def changelog(self, issue: JiraIssue, cap: int | None = None) -> dict[str, Any]:
        """The inline PageOfChangelogs: the newest `cap` histories (all with None), oldest first."""
        histories = self.histories(issue)
        shown = histories if cap is None else histories[max(0, len(histories) - cap) :]
        return {"startAt": 0, "maxResults": len(shown), "total": len(histories), "histories": shown}

    def changelog_page(self, issue: JiraIssue, start: int, limit: int, url: str) -> dict[str, Any]:
        """`GET .../issue/{key}/changelog`: a PageBeanChangelog of the histories, oldest first."""
        histories = self.histories(issue)
        values = histories[start : start + limit]
        last = start + len(values) >= len(histories)
        page: dict[str, Any] = {
            "self": f"{url}?startAt={start}&maxResults={limit}",
            "maxResults": limit,
            "startAt": start,
            "total": len(histories),
            "isLast": last,
            "values": values,
        }
        if not last:
            page["nextPage"] = f"{url}?startAt={start + limit}&maxResults={limit}"
        return page

    def histories(self, issue: JiraIssue) -> list[dict[str, Any]]:
        return [
            {
                "id": str(10000 + n),
                "author": self.user(who),
                "created": rfc3339(when),
                "items": [
                    {
                        k: v
                        for k, v in (
                            ("field", name),
                            ("fieldtype", "jira"),
                            ("fieldId", name),
                            ("fromString", old),
                            ("toString", new),
                        )
                        if v is not None
                    }
                ],
            }
            for n, (who, when, name, old, new) in enumerate(issue.changes)
        ]

    def transition(self, transition: JiraTransition) -> dict[str, Any]:
        return {
            "id": transition.id,
            "name": transition.name,
            "to": self.status(transition.to_status, transition.to_category),
            "hasScreen": False,
            "isGlobal": True,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "looped": False,
        }


def category_of(status: str) -> str:
    category = _CATEGORY_OF.get(status.lower())
    if category is None:
        raise ValueError(f"status {status!r}: pass category= (new, indeterminate or done)")
    return category


def selected_fields(names: Any, default: str) -> set[str] | None:
    """The fields a request asked for; None for all of them, empty for the id only."""
    wanted = [str(n).strip() for n in (names or [default]) if str(n).strip()] or [default]
    selected: set[str] = set()
    for name in wanted:
        if name in ("*all", "*navigable"):
            selected.update(ISSUE_FIELDS)
        elif name.startswith("-"):
            selected.discard(name[1:])
        elif name != "id":
            selected.add(name)
    return None if selected == set(ISSUE_FIELDS) else selected


def encode_page_token(offset: int, jql: str, listing: int) -> str:
    """Cloud's opaque `nextPageToken`: the offset in a listing, bound to the query it belongs to."""
    raw = json.dumps({"o": offset, "q": hashlib.sha256(jql.encode()).hexdigest()[:12], "l": listing})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_page_token(token: Any, jql: str) -> tuple[int, int]:
    """The offset and listing in a token ((0, 0) for none); ValueError when it is malformed or belongs to another
    query."""
    if token is None:
        return 0, 0
    try:
        state = json.loads(base64.urlsafe_b64decode(str(token)))
        if state["q"] == hashlib.sha256(jql.encode()).hexdigest()[:12]:
            return int(state["o"]), int(state["l"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise ValueError("invalid page token")
