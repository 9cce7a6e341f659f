"""A GitHub REST API that runs in-process, for adapter tests and the demo.

    with GitHubSandbox() as gh:
        gh.add_repo("acme/api")
        n = gh.add_issue("acme/api", title="Add retries", labels=["postmortem"], state="closed")
        gh.add_comment("acme/api", n, "fixed in #12", user="alice")
        ... point PyGithub at gh.url with Auth.Token(gh.token) ...
        gh.issue("acme/api", n).labels, gh.writes()

Like GitHub: the issue list includes pull requests (they carry `pull_request`), `since` filters on `updated_at`,
pages are linked with a `Link` header, `labels` in a PATCH replaces the set while `POST .../labels` adds, closed
issues carry `closed_at` and `state_reason`, and every change bumps `updated_at`. Auth is `token X` / `Bearer X`;
GitHub App flows work too: `POST /app/installations/{id}/access_tokens` with an app JWT (its claims are checked,
its signature is not) returns an installation token that acts as `<app_slug>[bot]`. Creating an issue takes
`title`, `body`, `labels` (new ones come into being) and `assignees`: logins that can be assigned (`assignable`,
everyone when None), else 422 as on GitHub.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from verifier_sandbox.github_graphql import GraphQLEndpoint
from verifier_sandbox.github_model import (
    GitHubComment,
    GitHubEvent,
    GitHubIssue,
    GitHubRepo,
    Payloads,
    gh_time,
    label_names,
    paginate,
    parse_timestamp,
    rate_headers,
)
from verifier_sandbox.http import (
    HttpError,
    RecordedRequest,
    Reply,
    RequestMatcher,
    SandboxServer,
    json_object,
)

__all__ = ["GitHubComment", "GitHubIssue", "GitHubRepo", "GitHubSandbox"]

_DOCS = "https://docs.github.com/rest"
_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID sandbox."
)


#: GitHub refuses an issue or comment body longer than this many characters.
MAX_BODY = 65_536
BODY_TOO_LONG = "body is too long (maximum is 65536 characters)"


#: A role that may read, label, reopen and close issues (a collaborator with write access).
WRITE_ROLE = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}


class GitHubSandbox(SandboxServer):
    """An in-process GitHub. Seeding methods return the number or id they created; `issue()` is live state."""

    def __init__(
        self,
        *,
        token: str = "ghp_sandbox",  # noqa: S107 - a sandbox credential, not a secret
        login: str = "verifier-bot",
        base_path: str = "",
        app_id: int = 424242,
        app_slug: str = "action-item-verifier",
        installation_id: int = 4242,
        clock: Callable[[], datetime] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        points: int = 5000,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token, self.login, self.base_path = token, login, base_path.rstrip("/")
        self.app_id, self.app_slug, self.installation_id = app_id, app_slug, installation_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tokens: dict[str, str] = {token: login}
        self.installation_tokens: set[str] = set()
        self.repos: dict[str, GitHubRepo] = {}
        self.assignable: set[str] | None = None  # logins issues may be assigned to; None: any valid login
        self.remaining = 5000
        self._next_id = 5_000_000
        self.user_ids: dict[str, int] = {}  # login -> account id, where an account was renamed or re-registered
        self.no_such_users: set[str] = set()  # logins with no account (lower case); every other login has one
        # What `doctor` reads. A user token's role on every repository (`permissions` in `GET /repos/...`); a
        # classic token's scopes (`x-oauth-scopes`, None: not sent); every token's expiry
        # (`github-authentication-token-expiration`, None: not sent); fine-grained tokens (`github_pat_…`) and the
        # permissions each was given (`issues=read`...): without Issues read, listing issues is 403.
        self.role: dict[str, bool] = dict(WRITE_ROLE)
        self.scopes: str | None = None
        self.token_expiration: datetime | None = None
        self.fine_grained: dict[str, set[str]] = {}
        self.installation_permissions: dict[str, str] = {"issues": "write", "metadata": "read"}  # the App's
        self.sub_issues = True  # False: a GitHub Enterprise Server without sub-issues (their endpoints are 404)
        self.graphql = GraphQLEndpoint(self, points)  # POST /graphql (GHES: /api/graphql beside /api/v3)
        self._register_routes()

    @property
    def url(self) -> str:
        """The API root to give PyGithub as `base_url`."""
        return self.root + self.base_path

    @property
    def payloads(self) -> Payloads:
        return Payloads(api=self.url, web=self.root, ids=self.user_ids)

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    # -- seeding -------------------------------------------------------------------------------------------
    def add_token(self, token: str, login: str) -> None:
        self.tokens[token] = login

    def rename_user(self, old: str, new: str, *, reregister: bool = True) -> None:
        """`old` renames their account to `new`, as GitHub lets anyone: the account keeps its id, and everything it
        wrote shows the new login. With `reregister`, someone else then signs up as `old`: a new account, a new id."""
        with self._lock:
            self.user_ids[new] = self.user_ids.get(old, Payloads(api="", web="").user(old)["id"])
            for repo in self.repos.values():
                for issue in repo.issues.values():
                    issue.user = new if issue.user == old else issue.user
                    issue.assignees = [new if a == old else a for a in issue.assignees]
                    issue.closed_by = new if issue.closed_by == old else issue.closed_by
                    for comment in issue.comments:
                        comment.user = new if comment.user == old else comment.user
            if reregister:
                self._next_id += 1
                self.user_ids[old] = self._next_id
            else:
                self.user_ids.pop(old, None)

    def add_repo(self, full_name: str) -> GitHubRepo:
        owner, _, name = full_name.partition("/")
        with self._lock:
            self._next_id += 1
            return self.repos.setdefault(full_name, GitHubRepo(owner, name, self._next_id, self.now()))

    def add_issue(
        self,
        repo: str,
        *,
        title: str = "Action item",
        body: str | None = "",
        user: str = "alice",
        labels: Iterable[str] = (),
        state: str = "open",
        state_reason: str | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        closed_at: datetime | None = None,
        pull_request: bool = False,
        assignees: Iterable[str] = (),
    ) -> int:
        """Create an issue (or a pull request) and return its number. Closed without `closed_at`: an hour ago;
        closed issues default to `state_reason` "completed"."""
        now = self.now()
        with self._lock:
            target = self.add_repo(repo)
            self._next_id += 1
            closed = state == "closed"
            closed_at = (closed_at or now - timedelta(hours=1)) if closed else None
            number = len(target.issues) + 1
            target.issues[number] = GitHubIssue(
                number=number,
                id=self._next_id,
                title=title,
                body=body,
                user=user,
                state=state,
                state_reason=(state_reason or (None if pull_request else "completed")) if closed else state_reason,
                labels=list(dict.fromkeys(labels)),
                created_at=created_at or now - timedelta(days=3),
                updated_at=updated_at or closed_at or now,
                closed_at=closed_at,
                closed_by=user if closed else None,
                pull_request=pull_request,
                assignees=list(dict.fromkeys(assignees)),
            )
            for label in target.issues[number].labels:  # labels given at creation: `labeled` by its author
                self._event(target.issues[number], user, "labeled", label, created_at or now - timedelta(days=3))
            return number

    def edit_labels(
        self,
        repo: str,
        number: int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        actor: str,
        at: datetime | None = None,
    ) -> None:
        """Add or remove labels as `actor` would: GitHub records `labeled` / `unlabeled` events with the actor."""
        with self._lock:
            issue = self.issue(repo, number)
            gone = set(remove)
            labels = [label for label in issue.labels if label not in gone]
            self._relabel(issue, [*labels, *(a for a in add if a not in labels)], actor, at)

    def _relabel(self, issue: GitHubIssue, labels: list[str], actor: str, at: datetime | None = None) -> None:
        moment = at or self.now()
        for label in issue.labels:
            if label not in labels:
                self._event(issue, actor, "unlabeled", label, moment)
        for label in labels:
            if label not in issue.labels:
                self._event(issue, actor, "labeled", label, moment)
        issue.labels = list(dict.fromkeys(labels))
        issue.updated_at = max(issue.updated_at, moment)

    def _event(self, issue: GitHubIssue, actor: str, kind: str, label: str, at: datetime) -> None:
        self._next_id += 1
        issue.events.append(GitHubEvent(self._next_id, actor, kind, label, at))

    def add_comment(
        self, repo: str, number: int, body: str, *, user: str = "alice", created_at: datetime | None = None
    ) -> int:
        """Add a comment and return its id; like GitHub, it bumps the issue's `updated_at`."""
        with self._lock:
            issue = self.issue(repo, number)
            self._next_id += 1
            moment = created_at or self.now()
            issue.comments.append(GitHubComment(self._next_id, user, body, moment, moment))
            issue.updated_at = max(issue.updated_at, moment)
            return self._next_id

    def edit_comment(self, repo: str, number: int, comment_id: int, body: str, *, at: datetime | None = None) -> None:
        """Change a comment as someone with write access would: GitHub stamps `updated_at` (not who edited)."""
        with self._lock:
            comment = next(c for c in self.issue(repo, number).comments if c.id == comment_id)
            comment.body, comment.updated_at = body, at or self.now()

    def issue(self, repo: str, number: int) -> GitHubIssue:
        return self.repos[repo].issues[number]

    # -- faults --------------------------------------------------------------------------------------------
    def throttle(
        self,
        times: int = 1,
        *,
        status: int = 403,
        retry_after: int | None = 1,
        reset_in: int = 1,
        match: RequestMatcher | None = None,
    ) -> None:
        """Rate-limit the next `times` matching requests: a secondary limit with `retry-after` (default), or
        with `retry_after=None` a primary one: `x-ratelimit-remaining: 0` and `x-ratelimit-reset` in `reset_in` s."""

        def reply() -> Reply:
            if retry_after is not None:
                return Reply.json(
                    status, {"message": _SECONDARY, "documentation_url": _DOCS}, [("Retry-After", str(retry_after))]
                )
            headers = rate_headers(0, int(self.clock().timestamp()) + reset_in)
            message = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, ..."
            return Reply.json(status, {"message": message, "documentation_url": _DOCS}, headers)

        self.faults.inject(reply, times=times, match=match)

    def writes(self) -> list[RecordedRequest]:
        """The requests that could change state: a GraphQL query is a read (a POST only by the protocol)."""
        return [r for r in super().writes() if not self.graphql.is_query(r)]

    def rate_limit_graphql(self, times: int = 1, *, reset_in: int = 3600) -> None:
        """The next `times` GraphQL queries find the point quota spent: 200, a RATE_LIMITED error,
        `x-ratelimit-remaining: 0` and `x-ratelimit-reset` in `reset_in` s; the quota is whole again after them."""
        self.graphql.rate_limit(times, reset_in=reset_in)

    # -- the HTTP side -------------------------------------------------------------------------------------
    def error(self, status: int, message: str) -> Reply:
        return Reply.json(status, {"message": message, "documentation_url": _DOCS, "status": str(status)})

    def strip_base(self, path: str) -> str | None:
        if path == self.base_path.removesuffix("/v3") + "/graphql":  # github.com /graphql, GHES /api/graphql
            return "/graphql"
        if not self.base_path:
            return path
        return path[len(self.base_path) :] if path.startswith(self.base_path + "/") else None

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        path = self.strip_base(request.path) or ""
        if path.startswith("/app") or re.fullmatch(r"/repos/[^/]+/[^/]+/installation", path):
            return (
                None
                if scheme.lower() == "bearer" and self._valid_jwt(credential)
                else self.error(401, "A JSON web token could not be decoded")
            )
        if path == "/rate_limit" and not scheme:
            return None
        if not scheme:
            return self.error(401, "Requires authentication")
        if scheme.lower() not in ("token", "bearer") or credential not in self.tokens:
            return self.error(401, "Bad credentials")
        return None

    def _valid_jwt(self, token: str) -> bool:
        try:
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            return bool(str(claims["iss"]) == str(self.app_id) and claims["exp"] > self.clock().timestamp())
        except (IndexError, KeyError, ValueError, binascii.Error):
            return False

    def decorate(self, request: RecordedRequest, reply: Reply) -> Reply:
        if reply.header("x-ratelimit-remaining") is not None:
            return reply
        with self._lock:
            self.remaining = max(0, self.remaining - 1)
        extra: list[tuple[str, str]] = []
        if self.token_expiration is not None and self._token(request) in self.tokens:
            expiry = self.token_expiration.strftime("%Y-%m-%d %H:%M:%S UTC")
            extra.append(("github-authentication-token-expiration", expiry))
        if self.scopes is not None and self._token(request) in self.tokens:
            extra.append(("x-oauth-scopes", self.scopes))
        return reply.with_headers([*rate_headers(self.remaining, int(self.clock().timestamp()) + 3600), *extra])

    def _register_routes(self) -> None:
        repo, issue = "/repos/{owner}/{repo}", "/repos/{owner}/{repo}/issues/{number}"
        for method, path, handler in (
            ("GET", repo, self._get_repo),
            ("GET", f"{repo}/issues", self._list_issues),
            ("POST", f"{repo}/issues", self._create_issue),
            ("GET", issue, self._get_issue),
            ("PATCH", issue, self._edit_issue),
            ("GET", f"{issue}/comments", self._list_comments),
            ("POST", f"{issue}/comments", self._add_comment),
            ("DELETE", f"{repo}/issues/comments/{{comment_id}}", self._delete_comment),
            ("GET", f"{issue}/events", self._list_events),
            ("GET", f"{issue}/labels", self._list_labels),
            ("POST", f"{issue}/labels", self._add_labels),
            ("PUT", f"{issue}/labels", self._set_labels),
            ("POST", f"{issue}/sub_issues", self._add_sub_issue),
            ("GET", "/user", self._user),
            ("GET", "/users/{username}", self._user_by_login),
            ("GET", "/rate_limit", self._rate_limit),
            ("POST", "/graphql", lambda req, p: self.graphql.answer(req)),
            ("POST", "/app/installations/{installation_id}/access_tokens", self._access_token),
            ("GET", "/app", self._app),
            ("GET", f"{repo}/installation", self._repo_installation),
        ):
            self.route(method, path, handler)

    def _repo(self, p: Mapping[str, str]) -> GitHubRepo:
        found = self.repos.get(f"{p['owner']}/{p['repo']}")
        if found is None:
            raise HttpError(self.error(404, "Not Found"))
        return found

    def _issue(self, p: Mapping[str, str]) -> tuple[GitHubRepo, GitHubIssue]:
        repo = self._repo(p)
        try:
            return repo, repo.issues[int(p["number"])]
        except (KeyError, ValueError) as exc:
            raise HttpError(self.error(404, "Not Found")) from exc

    def _caller(self, req: RecordedRequest) -> str:
        return self.tokens.get(req.headers.get("authorization", "").partition(" ")[2], self.login)

    def _get_repo(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        payload = self.payloads.repository(self._repo(p))
        if self._token(req) not in self.installation_tokens:
            payload["permissions"] = dict(self.role)
        return Reply.json(200, payload)

    def _token(self, req: RecordedRequest) -> str:
        return req.headers.get("authorization", "").partition(" ")[2]

    def _list_issues(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo = self._repo(p)
        granted = self.fine_grained.get(self._token(req))
        if granted is not None and not {"issues=read", "issues=write"} & granted:
            refused = self.error(403, "Resource not accessible by personal access token")
            raise HttpError(refused.with_headers([("x-accepted-github-permissions", "issues=read")]))
        state = req.param("state") or "open"
        sort, direction = req.param("sort") or "created", req.param("direction") or "desc"
        if state not in ("open", "closed", "all") or sort not in ("created", "updated", "comments"):
            raise HttpError(self._invalid("state or sort"))
        if direction not in ("asc", "desc"):
            raise HttpError(self._invalid("direction"))
        wanted = {label for label in (req.param("labels") or "").split(",") if label}
        since = parse_timestamp(req.param("since"), self)
        found = [
            issue
            for issue in repo.issues.values()
            if state in ("all", issue.state)
            and wanted <= set(issue.labels)
            and (since is None or issue.updated_at >= since)
        ]
        order: dict[str, Callable[[GitHubIssue], Any]] = {
            "created": lambda i: (i.created_at, i.number),
            "updated": lambda i: (i.updated_at, i.number),
            "comments": lambda i: (len(i.comments), i.number),
        }
        found.sort(key=order[sort], reverse=direction == "desc")
        page, headers = paginate(req, found, self.root, self)
        return Reply.json(200, [self.payloads.issue(repo, i) for i in page], headers)

    def _create_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo = self._repo(p)
        body = json_object(req.json(), self)
        if not body.get("title"):
            raise HttpError(self._invalid("title"))
        assignees = body.get("assignees", [])
        if not isinstance(assignees, list) or not all(isinstance(a, str) for a in assignees):
            raise HttpError(self._invalid("assignees"))
        for login in assignees:
            valid = re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", login) is not None
            if not valid or (self.assignable is not None and login not in self.assignable):
                raise HttpError(self._invalid("assignees", value=login))
        number = self.add_issue(
            repo.full_name,
            title=str(body["title"]),
            body=body.get("body"),
            user=self._caller(req),
            labels=label_names(body.get("labels", []), self),
            assignees=assignees,
        )
        return Reply.json(201, self.payloads.issue(repo, repo.issues[number]))

    def _get_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        return Reply.json(200, self.payloads.issue(repo, issue))

    def _edit_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        body = json_object(req.json(), self)
        state, reason = body.get("state", issue.state), body.get("state_reason")
        if state not in ("open", "closed") or reason not in (None, "completed", "not_planned", "duplicate", "reopened"):
            raise HttpError(self._invalid("state or state_reason"))
        now = self.now()
        if state != issue.state:
            closing = state == "closed"
            issue.state = state
            issue.closed_at, issue.closed_by = (now, self._caller(req)) if closing else (None, None)
            issue.state_reason = (reason or "completed") if closing else "reopened"
        if "title" in body:
            issue.title = str(body["title"])
        if "body" in body:
            issue.body = body["body"]
        if "labels" in body:
            self._relabel(issue, list(dict.fromkeys(label_names(body["labels"], self))), self._caller(req), now)
        issue.updated_at = now
        return Reply.json(200, self.payloads.issue(repo, issue))

    def _list_comments(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        since = parse_timestamp(req.param("since"), self)
        comments = [c for c in issue.comments if since is None or c.updated_at >= since]
        page, headers = paginate(req, comments, self.root, self)
        return Reply.json(200, [self.payloads.comment(repo, issue, c) for c in page], headers)

    def _add_comment(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        text = json_object(req.json(), self).get("body")
        if not isinstance(text, str) or not text:
            raise HttpError(self._invalid("body"))
        if len(text) > MAX_BODY:  # GitHub: 422, "body is too long (maximum is 65536 characters)"
            error = {"resource": "IssueComment", "code": "custom", "field": "body", "message": BODY_TOO_LONG}
            raise HttpError(Reply.json(422, {"message": "Validation Failed", "errors": [error]}))
        comment_id = self.add_comment(repo.full_name, issue.number, text, user=self._caller(req))
        comment = next(c for c in issue.comments if c.id == comment_id)
        return Reply.json(201, self.payloads.comment(repo, issue, comment))

    def _delete_comment(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo = self._repo(p)
        for issue in repo.issues.values():
            kept = [c for c in issue.comments if str(c.id) != p["comment_id"]]
            if len(kept) < len(issue.comments):
                issue.comments[:] = kept
                return Reply.empty(204)
        raise HttpError(self.error(404, "Not Found"))

    def _labels_reply(self, repo: GitHubRepo, issue: GitHubIssue) -> Reply:
        return Reply.json(200, [self.payloads.label(repo, name) for name in issue.labels])

    def _list_labels(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        return self._labels_reply(*self._issue(p))

    def _add_labels(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        body = req.json()
        names = label_names(body.get("labels", []) if isinstance(body, dict) else body, self)
        if not names:
            raise HttpError(self._invalid("labels"))
        self._relabel(issue, list(dict.fromkeys([*issue.labels, *names])), self._caller(req))
        return self._labels_reply(repo, issue)

    def _set_labels(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        body = req.json()
        names = label_names(body.get("labels", []) if isinstance(body, dict) else body, self)
        self._relabel(issue, list(dict.fromkeys(names)), self._caller(req))
        return self._labels_reply(repo, issue)

    def _list_events(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        repo, issue = self._issue(p)
        page, headers = paginate(req, issue.events, self.root, self)
        return Reply.json(200, [self.payloads.event(repo, e) for e in page], headers)

    def _user(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        credential = req.headers.get("authorization", "").partition(" ")[2]
        if credential in self.installation_tokens:
            return self.error(403, "Resource not accessible by integration")
        return Reply.json(200, self.payloads.private_user(self._caller(req), self.now() - timedelta(days=400)))

    def _user_by_login(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """`GET /users/{username}`: logins match in any case, as on GitHub; one with no account is 404."""
        wanted = unquote(p["username"])  # the path segment as sent (`a%2Fb`), the login it names (`a/b`)
        if wanted.lower() in self.no_such_users:
            raise HttpError(self.error(404, "Not Found"))
        login = next((known for known in self.user_ids if known.lower() == wanted.lower()), wanted)
        return Reply.json(200, self.payloads.public_user(login, self.now() - timedelta(days=400)))

    def _rate_limit(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        reset = int(self.clock().timestamp()) + 3600
        return Reply.json(200, self.payloads.rate_limit(self.remaining, reset))

    def _access_token(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        if p["installation_id"] != str(self.installation_id):
            raise HttpError(self.error(404, "Not Found"))
        token = "ghs_" + secrets.token_hex(16)
        self.tokens[token] = f"{self.app_slug}[bot]"
        self.installation_tokens.add(token)
        expires = gh_time(self.now() + timedelta(hours=1))
        payload = {
            "token": token,
            "expires_at": expires,
            "permissions": dict(self.installation_permissions),
            "repository_selection": "all",
        }
        return Reply.json(201, payload)

    def _repo_installation(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """The App's installation on a repository, with its permissions (`installation_permissions`)."""
        repo = self._repo(p)
        created = gh_time(self.now() - timedelta(days=30))
        number = self.installation_id
        payload = {
            "id": number,
            "account": self.payloads.user(repo.owner),
            "repository_selection": "all",
            "access_tokens_url": f"{self.url}/app/installations/{number}/access_tokens",
            "repositories_url": f"{self.url}/installation/repositories",
            "html_url": f"{self.root}/organizations/{repo.owner}/settings/installations/{number}",
            "app_id": self.app_id,
            "app_slug": self.app_slug,
            "target_id": 1,
            "target_type": "Organization",
            "permissions": dict(self.installation_permissions),
            "events": ["issues"],
            "created_at": created,
            "updated_at": created,
            "single_file_name": None,
            "suspended_by": None,
            "suspended_at": None,
        }
        return Reply.json(200, payload)

    def _add_sub_issue(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        """`POST .../issues/{n}/sub_issues` with the sub-issue's `id` (not its number), under the same owner; an
        issue has one parent (another only with `replace_parent`) and is no sub-issue of itself. Answers the
        parent issue."""
        if not self.sub_issues:
            raise HttpError(self.error(404, "Not Found"))
        repo, parent = self._issue(p)
        body = json_object(req.json(), self)
        wanted = body.get("sub_issue_id")
        if isinstance(wanted, bool) or not isinstance(wanted, int):
            raise HttpError(self._invalid("sub_issue_id"))
        found = [
            (other, issue)
            for other in self.repos.values()
            if other.owner == repo.owner
            for issue in other.issues.values()
            if issue.id == wanted and not issue.pull_request
        ]
        if not found or found[0][1] is parent:
            raise HttpError(self._invalid("sub_issue_id", value=str(wanted)))
        child = found[0][1]
        if child.parent is not None and not body.get("replace_parent"):
            raise HttpError(self._invalid("sub_issue_id", value=str(wanted)))  # "may only have one parent"
        child.parent = (repo.full_name, parent.number)
        location = f"{self.url}/repos/{repo.full_name}/issues/sub-issues/{child.id}"
        return Reply.json(201, self.payloads.issue(repo, parent), [("Location", location)])

    def _app(self, req: RecordedRequest, p: Mapping[str, str]) -> Reply:
        created = gh_time(self.now() - timedelta(days=30))
        app = {"id": self.app_id, "slug": self.app_slug, "node_id": f"A_{self.app_id}", "name": self.app_slug}
        details = {"owner": self.payloads.user("acme"), "description": "", "external_url": self.root}
        timestamps = {"html_url": f"{self.root}/apps/{self.app_slug}", "created_at": created, "updated_at": created}
        return Reply.json(200, {**app, **details, **timestamps, "permissions": {"issues": "write"}, "events": []})

    def _invalid(self, field: str, *, value: str | None = None) -> Reply:
        error: dict[str, Any] = {"resource": "Issue", "field": field, "code": "invalid"}
        if value is not None:
            error["value"] = value
        return Reply.json(
            422,
            {
                "message": "Validation Failed",
                "errors": [error],
                "documentation_url": _DOCS,
            },
        )
