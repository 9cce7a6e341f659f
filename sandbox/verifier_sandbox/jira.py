"""A Jira that runs in-process, for adapter tests and the demo: Cloud or Data Center flavour.

    with JiraSandbox("cloud") as jira:
        key = jira.add_issue(summary="Add retries", labels=["postmortem"], resolution="Done")
        jira.add_comment(key, "done in #123", author="alice")
        ... point the adapter at jira.url with jira.email / jira.api_token (Cloud) or jira.pat (Data Center) ...
        jira.issue(key).labels, jira.writes()

Cloud: `serverInfo.deploymentType` "Cloud", basic auth with email + API token, `/rest/api/{2,3}/search` answers
410 Gone, search is `/rest/api/{2,3}/search/jql` paged by `nextPageToken`. Data Center: deploymentType "Server",
bearer PAT, `/rest/api/2/search` paged by `startAt` with `total`, no v3 and no `search/jql`. v2 speaks wiki-markup
strings, v3 Atlassian Document Format (a plain-string comment body on v3 is answered 400).

Creating issues checks what Jira checks: a project key, a one-line summary, a known issue type and priority (by id
or name), labels without spaces, and an assignee that exists — by `accountId` on Cloud (user names were removed
there; `GET user/search?query=` finds the id by name or email), by `name` on Data Center.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from verifier_sandbox.http import (
    HttpError,
    RecordedRequest,
    Reply,
    RequestMatcher,
    SandboxServer,
    int_param,
    json_object,
)
from verifier_sandbox.jira_model import (
    DEFAULT_WORKFLOW,
    ISSUE_TYPES,
    PRIORITIES,
    JiraComment,
    JiraIssue,
    JiraTransition,
    JiraUser,
    Renderer,
    StatusCategory,
    adf_text,
    category_of,
    decode_page_token,
    encode_page_token,
    selected_fields,
)
from verifier_sandbox.jql import JqlError, parse_jql

__all__ = ["DEFAULT_WORKFLOW", "JiraComment", "JiraIssue", "JiraSandbox", "JiraTransition", "JiraUser"]

Deployment = Literal["cloud", "datacenter"]
_LISTINGS_KEPT = 64  # listings being paged through at once; an older token is expired, as Jira says
_REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


#: Jira refuses a text field (a comment, a description) longer than 32,767 characters, counted as Java counts
#: them (UTF-16 code units), with this message.
MAX_TEXT = 32_767
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."


def too_long(text: str) -> bool:
    return len(text.encode("utf-16-le")) // 2 > MAX_TEXT


class JiraSandbox(SandboxServer):
    """An in-process Jira. Every seeding method returns the key or id it created; `issue(key)` is live state."""

    def __init__(
        self,
        deployment: Deployment = "cloud",
        *,
        email: str = "verifier@example.com",
        api_token: str = "sandbox-api-token",  # noqa: S107 - a sandbox credential, not a secret
        pat: str = "sandbox-pat",
        bot_name: str = "verifier-bot",
        clock: Callable[[], datetime] | None = None,
        max_page_size: int = 100,
        inline_comments: int = 20,
        inline_changelog: int = 100,
        search_changelog: int = 40,
        cloud_id: str = "35273b54-3f06-40d2-880f-dd28cf8daafa",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.deployment = deployment
        # Cloud also answers as Atlassian's API gateway does for scoped tokens: `/ex/jira/<cloud_id>/rest/api/...`
        # (another cloud id is a 404); the site's public `/_edge/tenant_info` names it.
        self.cloud_id = cloud_id
        # `GET mypermissions`: the permission keys the signed-in user lacks, per project key ("" for the answer
        # without a project, which says whether any project grants it); every other permission is granted.
        self.denied: dict[str, set[str]] = {}
        # The create screen: the custom fields on it (id -> "string" or "number": a text or a number field) and
        # whether Due Date is; any other field in a create request is refused as Jira refuses it.
        self.custom_fields: dict[str, str] = {}
        self.due_date_on_screen = True
        self.email, self.api_token, self.pat = email, api_token, pat
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_page_size = max_page_size
        self.inline_comments = inline_comments
        # Jira Cloud's `expand=changelog` carries only the newest histories (at most 100 on an issue GET, fewer in a
        # search); `total` says how many exist and `GET .../issue/{key}/changelog` pages through them all. Data
        # Center has no such endpoint and expands them all.
        self.inline_changelog, self.search_changelog = inline_changelog, search_changelog
        # Cloud's `search/jql` is eventually consistent: "recent updates might not be immediately visible" unless
        # the issue's id is in `reconcileIssues` (at most 50). With a lag set, a search leaves out the comments
        # added within it, except on the issues it reconciles (comments only: what a duplicate check reads).
        self.search_lag = timedelta(0)
        self.bot = JiraUser.named(bot_name, email)
        self.users: dict[str, JiraUser] = {bot_name: self.bot}
        self.issues: dict[str, JiraIssue] = {}
        # Indexes, so a lookup costs the same at 50,000 issues as at 5 (bench/): by id, by lower-case key, the
        # highest number per project, and the result lists of the listings being paged (see `_search_jql`).
        self._by_id: dict[str, JiraIssue] = {}
        self._by_lower_key: dict[str, JiraIssue] = {}
        self._numbers: dict[str, int] = {}
        self._listings: OrderedDict[int, list[str]] = OrderedDict()
        self._next_listing = 0
        self.workflows: dict[str, tuple[JiraTransition, ...]] = {"default": DEFAULT_WORKFLOW, "none": ()}
        self._next_id = 10000
        self._next_comment = 20000
        self._register_routes()

    @property
    def cloud(self) -> bool:
        return self.deployment == "cloud"

    @property
    def url(self) -> str:
        return self.root

    # -- seeding -------------------------------------------------------------------------------------------
    def user(self, name: str) -> JiraUser:
        """The user called `name` (created on first use); Cloud identifies it by `account_id`."""
        with self._lock:
            return self.users.setdefault(name, JiraUser.named(name))

    def set_workflow(self, name: str, transitions: Sequence[JiraTransition]) -> None:
        """Define a workflow; `add_issue(workflow=name)` uses it. "none" (no transitions) exists already."""
        with self._lock:
            self.workflows[name] = tuple(transitions)

    def add_issue(
        self,
        *,
        project: str = "OPS",
        summary: str = "Action item",
        description: str | None = None,
        status: str = "Done",
        category: StatusCategory | None = None,
        resolution: str | None = "Done",
        resolved: datetime | None = None,
        labels: Iterable[str] = (),
        reporter: str = "alice",
        creator: str | None = None,
        workflow: str = "default",
        created: datetime | None = None,
        properties: Mapping[str, Any] | None = None,
        issue_type: str = "Task",
        priority: str | None = None,
        assignee: str | None = None,
    ) -> str:
        """Create an issue and return its key. A done issue without `resolved` was resolved an hour ago."""
        now = self.clock()
        cat: StatusCategory = category or category_of(status)  # type: ignore[assignment]
        if issue_type not in ISSUE_TYPES.values() or (priority is not None and priority not in PRIORITIES.values()):
            raise ValueError(f"unknown issue type {issue_type!r} or priority {priority!r} (see jira_model)")
        with self._lock:
            if workflow not in self.workflows:
                raise ValueError(f"unknown workflow {workflow!r}")
            self._next_id += 1
            number = self._numbers[project] = self._numbers.get(project, 0) + 1
            key = f"{project}-{number}"
            issue = self.issues[key] = JiraIssue(
                id=self._next_id,
                key=key,
                project=project,
                summary=summary,
                description=description,
                status=status,
                category=cat,
                resolution=resolution if cat == "done" else None,
                resolved=(resolved or now - timedelta(hours=1)) if cat == "done" else None,
                labels=list(dict.fromkeys(labels)),
                reporter=self.user(reporter),
                creator=self.user(creator or reporter),  # fixed at creation, whatever the reporter becomes
                workflow=workflow,
                created=created or now - timedelta(days=3),
                updated=now,
                properties=dict(properties or {}),
                issue_type=issue_type,
                priority=priority,
                assignee=self.user(assignee) if assignee else None,
            )
            self._by_id[str(issue.id)] = self._by_lower_key[key.lower()] = issue
            return key

    def add_comment(self, key: str, body: str, *, author: str = "alice", created: datetime | None = None) -> str:
        """Add a (wiki-markup) comment and return its id."""
        with self._lock:
            issue = self.issue(key)
            self._next_comment += 1
            moment = created or self.clock()
            comment = JiraComment(str(self._next_comment), self.user(author), body, moment, moment)
            issue.comments.append(comment)
            issue.updated = max(issue.updated, moment)
            return comment.id

    def edit_description(self, key: str, text: str, *, editor: str, at: datetime | None = None) -> None:
        """Change the description as an editor would: Jira records it in the issue's changelog."""
        with self._lock:
            issue = self.issue(key)
            moment = at or self.clock()
            issue.changes.append((self.user(editor), moment, "description", issue.description, text))
            issue.description, issue.updated = text, max(issue.updated, moment)

    def edit_labels(
        self, key: str, *, add: Iterable[str] = (), remove: Iterable[str] = (), editor: str, at: datetime | None = None
    ) -> None:
        """Add or remove labels as an editor would: Jira records the change (space-separated) in the changelog."""
        with self._lock:
            issue = self.issue(key)
            labels = [label for label in issue.labels if label not in set(remove)]
            labels += [label for label in add if label not in labels]
            self._record(issue, self.user(editor), at or self.clock(), "labels", issue.labels, labels)
            issue.labels = labels

    def set_reporter(self, key: str, reporter: str, *, editor: str, at: datetime | None = None) -> None:
        """Change the (editable) Reporter field: the change is a history item; the creator stays."""
        with self._lock:
            issue, new = self.issue(key), self.user(reporter)
            moment = at or self.clock()
            issue.changes.append((self.user(editor), moment, "reporter", issue.reporter.display_name, new.display_name))
            issue.reporter, issue.updated = new, max(issue.updated, moment)

    def _record(self, issue: JiraIssue, who: JiraUser, at: datetime, name: str, old: list[str], new: list[str]) -> None:
        if old != new:
            issue.changes.append((who, at, name, " ".join(old) or None, " ".join(new) or None))
            issue.updated = max(issue.updated, at)

    def edit_comment(self, key: str, comment_id: str, body: str, *, editor: str, at: datetime | None = None) -> None:
        """Change a comment as someone with "edit all comments" would: Jira stamps `updated` and `updateAuthor`."""
        with self._lock:
            comment = next(c for c in self.issue(key).comments if c.id == comment_id)
            comment.body, comment.update_author = body, self.user(editor)
            comment.updated = at or self.clock()

    def issue(self, key: str) -> JiraIssue:
        return self.issues[key]

    # -- faults --------------------------------------------------------------------------------------------
    def throttle(self, times: int = 1, *, retry_after: int = 1, match: RequestMatcher | None = None) -> None:
        """Answer the next `times` matching requests with 429 and `Retry-After`."""
        reply = Reply.json(
            429,
            {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            [("Retry-After", str(retry_after)), ("X-RateLimit-Limit", "100"), ("X-RateLimit-FillRate", "10")],
        )
        self.faults.inject(reply, times=times, match=match)

    # -- the HTTP side -------------------------------------------------------------------------------------
    def error(self, status: int, message: str) -> Reply:
        return Reply.json(status, {"errorMessages": [message], "errors": {}})

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        if request.path == "/_edge/tenant_info":  # public, as on Atlassian's sites
            return None
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if self.cloud and scheme.lower() == "basic":
            try:
                if base64.b64decode(credentials).decode() == f"{self.email}:{self.api_token}":
                    return None
            except (binascii.Error, UnicodeDecodeError):
                pass
        if not self.cloud and scheme.lower() == "bearer" and credentials == self.pat:
            return None
        return self.error(401, "You are not authenticated. Authentication required to perform this operation.")

    def strip_base(self, path: str) -> str | None:
        """Cloud: the gateway's `/ex/jira/<cloud id>` prefix for this site's id; any other id is not found."""
        prefix = f"/ex/jira/{self.cloud_id}/"
        if self.cloud and path.startswith(prefix):
            return path[len(prefix) - 1 :]
        return None if path.startswith("/ex/") else path

    def _render(self, version: str) -> Renderer:
        allowed = ("2", "3", "latest") if self.cloud else ("2", "latest")
        if version not in allowed:
            raise HttpError(self.error(404, "Not Found"))
        return Renderer(self.root, "2" if version == "latest" else version, self.cloud)

    def _find(self, key: str) -> JiraIssue:
        issue = self.issues.get(key) or self._by_id.get(key)
        if issue is not None:
            return issue
        raise HttpError(self.error(404, "Issue does not exist or you do not have permission to see it."))

    def _register_routes(self) -> None:
        api = "/rest/api/{v}"
        for method, path, handler in (
            ("GET", "/serverInfo", self._server_info),
            ("GET", "/myself", self._myself),
            ("GET", "/mypermissions", self._my_permissions),
            ("GET", "/user/search", self._user_search),
            ("GET", "/search", self._search),
            ("POST", "/search", self._search),
            ("GET", "/search/jql", self._search_jql),
            ("POST", "/search/jql", self._search_jql),
            ("POST", "/issue", self._create_issue),
            ("GET", "/issue/{key}", self._get_issue),
            ("PUT", "/issue/{key}", self._edit_issue),
            ("GET", "/issue/{key}/changelog", self._changelog),
            ("GET", "/issue/{key}/comment", self._list_comments),
            ("POST", "/issue/{key}/comment", self._add_comment),
            ("DELETE", "/issue/{key}/comment/{id}", self._delete_comment),
            ("GET", "/issue/{key}/transitions", self._list_transitions),
            ("POST", "/issue/{key}/transitions", self._transition),
            ("GET", "/issue/{key}/properties", self._list_properties),
            ("GET", "/issue/{key}/properties/{prop}", self._get_property),
            ("PUT", "/issue/{key}/properties/{prop}", self._put_property),
            ("DELETE", "/issue/{key}/properties/{prop}", self._delete_property),
        ):
            self.route(method, api + path, handler)
        self.route("GET", "/_edge/tenant_info", self._tenant_info)

    def _tenant_info(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """A Cloud site names its cloud id (what `/ex/jira/<cloud id>` takes); Data Center has no such page."""
        if not self.cloud:
            raise HttpError(self.error(404, "Not Found"))
        return Reply.json(200, {"cloudId": self.cloud_id})

    def _server_info(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        return Reply.json(200, self._render(p["v"]).server_info(self.clock()))

    def _myself(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        return Reply.json(200, {**r.user(self.bot), "emailAddress": self.bot.email, "locale": "en_US"})

    def _my_permissions(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """Each asked-for key as Jira describes it, `havePermission` per `denied`; no `permissions`: 400."""
        self._render(p["v"])
        keys = [k.strip() for k in (req.param("permissions") or "").split(",") if k.strip()]
        if not keys:
            raise HttpError(self.error(400, "The permissions query parameter was not provided."))
        denied = self.denied.get(req.param("projectKey") or "", set())  # every project key exists here
        found = {
            key: {
                "id": str(10 + n),
                "key": key,
                "name": key.replace("_", " ").title(),
                "type": "PROJECT",
                "description": f"Ability to {key.lower().replace('_', ' ')}.",
                "havePermission": key not in denied,
            }
            for n, key in enumerate(keys)
        }
        return Reply.json(200, {"permissions": found})

    def _user_search(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """Cloud: `query` matches a prefix of the display name (or of a word in it) or of the email address.
        Data Center: `username` does the same, and matches the user name too."""
        r = self._render(p["v"])
        wanted = req.param("query") if self.cloud else req.param("username")
        if not wanted or not wanted.strip():
            missing = "query" if self.cloud else "username"
            raise HttpError(self.error(400, f"The '{missing}' query parameter is required."))
        prefix = wanted.strip().casefold()
        found = []
        for user in self.users.values():
            words = [user.display_name, *user.display_name.split(), user.email, *(() if self.cloud else (user.name,))]
            if any(word.casefold().startswith(prefix) for word in words):
                found.append({**r.user(user), "emailAddress": user.email})
        start = int_param(req.param("startAt"), 0, self)
        size = int_param(req.param("maxResults"), 50, self)
        return Reply.json(200, found[start : start + size])

    # -- search ----------------------------------------------------------------------------------------------
    def _search_args(self, req: RecordedRequest) -> dict[str, Any]:
        if req.method == "POST":
            body = req.json()
            if not isinstance(body, dict):
                raise HttpError(self.error(400, "The request body must be a JSON object."))
            return body
        args: dict[str, Any] = {k: req.param(k) for k in ("jql", "startAt", "maxResults", "nextPageToken")}
        args["fields"] = [f for value in req.params("fields") for f in value.split(",")]
        return {k: v for k, v in args.items() if v not in (None, [])}

    def _run_jql(self, jql: str) -> list[JiraIssue]:
        try:
            query = parse_jql(jql, self.clock())
        except JqlError as exc:
            raise HttpError(self.error(400, str(exc))) from exc
        if query.keys is None:
            candidates = list(self.issues.values())
        else:  # `key in (...)`: only the named issues can match, found by key rather than by testing every issue
            candidates = [i for i in (self._by_lower_key.get(k) for k in query.keys) if i is not None]
        by_key = {issue.key.lower(): issue for issue in candidates}
        return [by_key[f.key] for f in query.run([i.facts() for i in candidates])]

    def _page_size(self, value: Any) -> int:
        size = int_param(value, 50, self)
        return max(0, min(size, self.max_page_size))

    def _search(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        if self.cloud:
            return Reply.json(410, {"errorMessages": [_REMOVED_SEARCH], "errors": {}})
        args = self._search_args(req)
        found = self._run_jql(str(args.get("jql", "")))
        start, size = int_param(args.get("startAt"), 0, self), self._page_size(args.get("maxResults"))
        fields = selected_fields(args.get("fields"), "*navigable")
        changelog = _expands(req, "changelog")
        issues = [
            r.issue(
                i, fields, self.inline_comments, changelog=changelog, changelog_cap=self._cap(self.search_changelog)
            )
            for i in found[start : start + size]
        ]
        payload = {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(found)}
        return Reply.json(200, {**payload, "issues": issues})

    def _search_jql(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        if not self.cloud:
            raise HttpError(self.error(404, "Not Found"))
        args = self._search_args(req)
        jql = str(args.get("jql", ""))
        size = self._page_size(args.get("maxResults"))
        expired = HttpError(self.error(400, "The provided next page token is invalid or expired."))
        try:
            start, listing = decode_page_token(args.get("nextPageToken"), jql)
        except ValueError as exc:
            raise expired from exc
        # A token is a cursor: the pages after the first are cut from the result as it stood at the first (the
        # issues as they are now), so a page costs its size, not a search of every issue. A few are kept.
        if listing == 0:  # the first page
            found = [i.key for i in self._run_jql(jql)]
            with self._lock:
                self._next_listing += 1
                listing = self._next_listing
                self._listings[listing] = found
                while len(self._listings) > _LISTINGS_KEPT:
                    self._listings.popitem(last=False)
        keys = self._listings.get(listing)
        if keys is None:
            raise expired
        fields = selected_fields(args.get("fields"), "id")
        changelog = _expands(req, "changelog")
        reconciled = {n for value in req.params("reconcileIssues") for n in value.split(",")}
        if len(reconciled) > 50:
            raise HttpError(self.error(400, "reconcileIssues accepts at most 50 issue ids."))
        issues = [
            r.issue(
                self._as_indexed(self.issues[key], reconciled),
                fields,
                self.inline_comments,
                changelog=changelog,
                changelog_cap=self._cap(self.search_changelog),
            )
            for key in keys[start : start + size]
        ]
        payload: dict[str, Any] = {"issues": issues, "isLast": start + size >= len(keys)}
        if start + size < len(keys):
            payload["nextPageToken"] = encode_page_token(start + size, jql, listing)
        else:
            self._listings.pop(listing, None)
        return Reply.json(200, payload)

    def _as_indexed(self, issue: JiraIssue, reconciled: set[str]) -> JiraIssue:
        """The issue as the search index has it: without the comments added within `search_lag`, unless the
        search reconciles it."""
        if not self.search_lag or str(issue.id) in reconciled:
            return issue
        indexed = self.clock() - self.search_lag
        return replace(issue, comments=[c for c in issue.comments if c.created <= indexed])

    # -- issues ----------------------------------------------------------------------------------------------
    def _get_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        fields = selected_fields([f for v in req.params("fields") for f in v.split(",")], "*all")
        changelog = _expands(req, "changelog")
        cap = self._cap(self.inline_changelog)
        issue = self._find(p["key"])
        return Reply.json(200, r.issue(issue, fields, self.inline_comments, changelog=changelog, changelog_cap=cap))

    def _cap(self, cap: int) -> int | None:
        return cap if self.cloud else None

    def _changelog(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """Cloud's `GET .../issue/{key}/changelog` (PageBeanChangelog, oldest first, at most 100 a page)."""
        r = self._render(p["v"])
        if not self.cloud:
            raise HttpError(self.error(404, "Not Found"))
        issue = self._find(p["key"])
        start, size = int_param(req.param("startAt"), 0, self), int_param(req.param("maxResults"), 100, self)
        url = r.api(f"issue/{issue.key}/changelog")
        return Reply.json(200, r.changelog_page(issue, max(0, start), max(1, min(size, 100)), url))

    def _create_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        fields = json_object(req.json(), self).get("fields")
        if not isinstance(fields, dict):
            raise HttpError(Reply.json(400, {"errorMessages": ["Field 'fields' is required."], "errors": {}}))
        errors: dict[str, str] = {}
        project = fields.get("project")
        key = project.get("key") if isinstance(project, dict) else None
        if not isinstance(key, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]+", key):
            errors["project"] = "Specify a valid project ID or key"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or "\r" in summary or len(summary) > 255:
            errors["summary"] = "The summary is invalid: at most 255 characters, on one line."
        issue_type = _named(fields.get("issuetype"), ISSUE_TYPES)
        if issue_type is None:
            errors["issuetype"] = "Specify a valid issue type"
        priority = _named(fields["priority"], PRIORITIES) if "priority" in fields else None
        if "priority" in fields and priority is None:
            errors["priority"] = "The priority selected is invalid."
        assignee = self._assignee(fields.get("assignee"), errors) if fields.get("assignee") is not None else None
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) and x and not x.isspace() for x in labels):
            errors["labels"] = "Labels must be a list of non-empty strings."
        elif any(any(c.isspace() for c in x) or len(x) > 255 for x in labels):
            errors["labels"] = "The label contains spaces which is invalid, or is longer than 255 characters."
        description = fields.get("description")
        if r.version == "3" and description is not None and not isinstance(description, dict):
            errors["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        elif r.version != "3" and description is not None and not isinstance(description, str):
            errors["description"] = "Operation value must be a string"
        known = {"project", "summary", "issuetype", "priority", "assignee", "labels", "description"}
        known |= {"duedate"} if self.due_date_on_screen else set()
        known |= set(self.custom_fields)
        due, custom = self._screen_fields(fields, errors)
        for name in sorted(set(fields) - known):
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            raise HttpError(Reply.json(400, {"errorMessages": [], "errors": errors}))
        key = self.add_issue(
            project=str(key),
            summary=str(summary),
            description=adf_text(description) if isinstance(description, dict) else description,
            status="To Do",
            labels=[str(label) for label in labels],
            reporter=self.bot.name,
            issue_type=issue_type or "Task",
            priority=priority,
            assignee=assignee,
        )
        issue = self.issue(key)
        issue.due_date, issue.custom = due, custom
        return Reply.json(201, {"id": str(issue.id), "key": key, "self": r.api(f"issue/{issue.id}")})

    def _screen_fields(self, fields: Mapping[str, Any], errors: dict[str, str]) -> tuple[str | None, dict[str, Any]]:
        """The due date and the custom fields of a create request, checked as Jira checks them."""
        due = fields.get("duedate") if self.due_date_on_screen else None
        if due is not None:
            try:
                valid = isinstance(due, str) and date.fromisoformat(due).isoformat() == due
            except ValueError:
                valid = False
            if not valid:
                errors["duedate"] = f"Error parsing date string: {str(due)[:40]}"
        custom: dict[str, Any] = {}
        for field_id, kind in self.custom_fields.items():
            if field_id not in fields or fields[field_id] is None:
                continue
            value = fields[field_id]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if kind == "number" and not number:
                errors[field_id] = "Operation value must be a number"
            elif kind == "string" and not isinstance(value, str):
                errors[field_id] = "Operation value must be a string"
            elif kind == "string" and len(value) > 255:
                errors[field_id] = "The entered text is too long. It exceeds the allowed limit of 255 characters."
            else:
                custom[field_id] = value
        return (due if isinstance(due, str) else None), custom

    def _assignee(self, value: Any, errors: dict[str, str]) -> str | None:
        """The user name of the assignee a create request names; an error for an unknown one."""
        wanted = None
        if isinstance(value, dict):
            wanted = (value.get("accountId") or value.get("id")) if self.cloud else value.get("name")
        for user in self.users.values():
            if wanted is not None and wanted == (user.account_id if self.cloud else user.name):
                return user.name
        hint = (
            " (Jira Cloud assigns by accountId)" if self.cloud and isinstance(value, dict) and "name" in value else ""
        )
        errors["assignee"] = f"User '{wanted or value}' does not exist{hint}."
        return None

    def _edit_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        issue = self._find(p["key"])
        body = json_object(req.json(), self)
        fields, update = json_object(body.get("fields", {}), self), json_object(body.get("update", {}), self)
        errors: dict[str, str] = {}
        for name in set(fields) | set(update):
            if name not in ("summary", "description", "labels") and not (name == "comment" and name in update):
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            elif name in fields and name in update:
                errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
        labels = list(issue.labels)
        if isinstance(fields.get("labels"), list):
            labels = [str(label) for label in fields["labels"]]
        for op in update.get("labels", []):
            for verb, value in json_object(op, self).items():
                if verb == "add" and value not in labels:
                    labels.append(str(value))
                elif verb == "remove" and value in labels:
                    labels.remove(value)
                elif verb == "set":
                    labels = [str(label) for label in value]
        for label in labels:
            if not label or any(c.isspace() for c in label):
                errors["labels"] = f"The label '{label}' contains spaces which is invalid."
        comments = []  # `update.comment`: [{"add": {"body": ...}}], as Jira adds a comment in an edit
        for op in update.get("comment", []):
            added = json_object(json_object(op, self).get("add"), self).get("body")
            if r.version == "3" and isinstance(added, dict) and added.get("type") == "doc":
                added = adf_text(added)
            if not isinstance(added, str) or not added.strip():
                errors["comment"] = "Comment body can not be empty!"
            elif too_long(added):
                errors["comment"] = TOO_LONG
            comments.append(added)
        if errors:
            raise HttpError(Reply.json(400, {"errorMessages": [], "errors": errors}))
        for text in comments:
            self.add_comment(issue.key, str(text), author=self.bot.name)
        self._record(issue, self.bot, self.clock(), "labels", issue.labels, labels)  # who changed what: the history
        issue.labels = labels
        if "summary" in fields:
            issue.summary = str(fields["summary"])
        if "description" in fields:
            text = fields["description"]
            text = adf_text(text) if r.version == "3" and isinstance(text, dict) else text
            issue.changes.append((self.bot, self.clock(), "description", issue.description, text))
            issue.description = text
        issue.updated = self.clock()
        return Reply.empty(204)

    # -- comments --------------------------------------------------------------------------------------------
    def _list_comments(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        issue = self._find(p["key"])
        start = int_param(req.param("startAt"), 0, self)
        size = max(0, min(int_param(req.param("maxResults"), 100, self), self.max_page_size))
        return Reply.json(200, r.comment_page(issue, start, size, newest_first=req.param("orderBy") == "-created"))

    def _add_comment(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        issue = self._find(p["key"])
        body = json_object(req.json(), self).get("body")
        if r.version == "3":
            if not isinstance(body, dict) or body.get("type") != "doc":
                message = "Comment body is not valid: expected an Atlassian Document Format object."
                raise HttpError(Reply.json(400, {"errorMessages": [], "errors": {"comment": message}}))
            body = adf_text(body)
        if not isinstance(body, str) or not body.strip():
            raise HttpError(
                Reply.json(400, {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}})
            )
        if too_long(body):
            raise HttpError(Reply.json(400, {"errorMessages": [], "errors": {"comment": TOO_LONG}}))
        comment_id = self.add_comment(issue.key, body, author=self.bot.name)
        comment = next(c for c in issue.comments if c.id == comment_id)
        return Reply.json(201, r.comment(issue, comment))

    def _delete_comment(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        issue = self._find(p["key"])
        kept = [c for c in issue.comments if c.id != p["id"]]
        if len(kept) == len(issue.comments):
            raise HttpError(self.error(404, "Can not find a comment for the id: " + p["id"]))
        issue.comments[:] = kept
        return Reply.empty(204)

    # -- transitions -----------------------------------------------------------------------------------------
    def _available(self, issue: JiraIssue) -> list[JiraTransition]:
        return [t for t in self.workflows[issue.workflow] if t.to_status != issue.status]

    def _list_transitions(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        available = [r.transition(t) for t in self._available(self._find(p["key"]))]
        return Reply.json(200, {"expand": "transitions", "transitions": available})

    def _transition(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        self._render(p["v"])
        issue = self._find(p["key"])
        body = json_object(req.json(), self)
        wanted = str(json_object(body.get("transition"), self).get("id"))
        transition = next((t for t in self._available(issue) if t.id == wanted), None)
        if transition is None:
            raise HttpError(self.error(400, f"Transition id '{wanted}' is not valid for this issue."))
        resolution = json_object(json_object(body.get("fields", {}), self).get("resolution", {}), self).get("name")
        issue.status, issue.category = transition.to_status, transition.to_category
        done = transition.to_category == "done"
        issue.resolution = (resolution or "Done") if done else None
        issue.resolved = self.clock() if done else None
        issue.updated = self.clock()
        return Reply.empty(204)

    # -- properties ------------------------------------------------------------------------------------------
    def _list_properties(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        r = self._render(p["v"])
        issue = self._find(p["key"])
        keys = [{"key": k, "self": r.api(f"issue/{issue.id}/properties/{k}")} for k in issue.properties]
        return Reply.json(200, {"keys": keys})

    def _get_property(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        self._render(p["v"])
        issue = self._find(p["key"])
        if p["prop"] not in issue.properties:
            raise HttpError(self.error(404, f"The property with key '{p['prop']}' does not exist."))
        return Reply.json(200, {"key": p["prop"], "value": issue.properties[p["prop"]]})

    def _put_property(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        self._render(p["v"])
        issue = self._find(p["key"])
        existed = p["prop"] in issue.properties
        issue.properties[p["prop"]] = req.json()
        return Reply.empty(200 if existed else 201)

    def _delete_property(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        self._render(p["v"])
        issue = self._find(p["key"])
        if issue.properties.pop(p["prop"], None) is None:
            raise HttpError(self.error(404, f"The property with key '{p['prop']}' does not exist."))
        return Reply.empty(204)


def _expands(req: RecordedRequest, entity: str) -> bool:
    """Whether `expand` (a comma-separated list of entities; Jira ignores the names it does not know) asks for
    `entity`: `expand=XXchangelogXX` expands nothing."""
    return entity in {name.strip() for value in req.params("expand") for name in value.split(",")}


def _named(value: Any, known: Mapping[str, str]) -> str | None:
    """The name of the issue type or priority a request refers to by `id` or `name`; None when unknown."""
    if not isinstance(value, dict):
        return None
    if "id" in value:
        return known.get(str(value["id"]))
    return value.get("name") if value.get("name") in known.values() else None
