"""State and JSON shapes of the GitHub sandbox (the server lives in `verifier_sandbox.github`).

GitHub's issue, comment, user and repository objects have many required fields; `Payloads` fills every field the
API description requires, with values shaped like GitHub's (URLs into the sandbox, node ids, templates), so the
contract validator accepts them and PyGithub can follow the `url` fields back to the sandbox.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from verifier_sandbox.http import HttpError, RecordedRequest, Reply, SandboxServer, int_param

StateReason = str  # completed | not_planned | duplicate | reopened


@dataclass
class GitHubComment:
    id: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class GitHubEvent:
    """An issue event (`labeled` / `unlabeled`), with the account that caused it (`actor`)."""

    id: int
    actor: str
    event: str
    label: str
    created_at: datetime


@dataclass
class GitHubIssue:
    """One issue or pull request; the server hands these out live, so tests can read what the adapter changed."""

    number: int
    id: int
    title: str
    body: str | None
    user: str
    state: str
    state_reason: StateReason | None
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    pull_request: bool = False
    comments: list[GitHubComment] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    events: list[GitHubEvent] = field(default_factory=list)  # oldest first, as `GET .../events` lists them
    parent: tuple[str, int] | None = None  # the issue it is a sub-issue of: (repository, number)


@dataclass
class GitHubRepo:
    owner: str
    name: str
    id: int
    created_at: datetime
    issues: dict[int, GitHubIssue] = field(default_factory=dict)
    label_ids: dict[str, int] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def gh_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(text: str) -> int:
    return zlib.crc32(text.encode()) % 90_000_000 + 1_000_000


_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


_PRIVATE_ONLY = frozenset(
    {
        "private_gists",
        "total_private_repos",
        "owned_private_repos",
        "disk_usage",
        "collaborators",
        "two_factor_authentication",
    }
)


@dataclass(frozen=True)
class Payloads:
    """JSON builders; `api` is the API root URL (with any /api/v3), `web` the root of the html_url links."""

    api: str
    web: str
    ids: Mapping[str, int] = field(default_factory=dict, compare=False)  # login -> id, where not `_id(login)`

    def user(self, login: str) -> dict[str, Any]:
        url = f"{self.api}/users/{login}"
        # An account keeps its id when renamed, and a login can change hands; logins are one account in any case.
        uid = self.ids.get(login, _id(login.lower()))
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "avatar_url": f"{self.web}/avatars/{login}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def private_user(self, login: str, created_at: datetime) -> dict[str, Any]:
        counts = ("public_repos", "public_gists", "followers", "following", "private_gists")
        more = ("total_private_repos", "owned_private_repos", "disk_usage", "collaborators")
        return {
            **self.user(login),
            "user_view_type": "private",
            "name": login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            **dict.fromkeys((*counts, *more), 0),
            "created_at": gh_time(created_at),
            "updated_at": gh_time(created_at),
            "two_factor_authentication": True,
        }

    def public_user(self, login: str, created_at: datetime) -> dict[str, Any]:
        """`GET /users/{username}`: the public profile."""
        profile = {k: v for k, v in self.private_user(login, created_at).items() if k not in _PRIVATE_ONLY}
        return {**profile, "user_view_type": "public"}

    def label(self, repo: GitHubRepo, name: str) -> dict[str, Any]:
        label_id = repo.label_ids.setdefault(name, _id(f"{repo.full_name}:{name}"))
        return {
            "id": label_id,
            "node_id": f"LA_{label_id}",
            "url": f"{self.api}/repos/{repo.full_name}/labels/{name}",
            "name": name,
            "description": None,
            "color": f"{zlib.crc32(name.encode()) & 0xFFFFFF:06x}",
            "default": False,
        }

    def issue(self, repo: GitHubRepo, issue: GitHubIssue) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        html = f"{self.web}/{repo.full_name}/{'pull' if issue.pull_request else 'issues'}/{issue.number}"
        payload: dict[str, Any] = {
            "id": issue.id,
            "node_id": f"{'PR' if issue.pull_request else 'I'}_{issue.id}",
            "url": url,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "timeline_url": f"{url}/timeline",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user),
            "labels": [self.label(repo, name) for name in issue.labels],
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(login) for login in issue.assignees],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(issue.comments),
            "closed_at": gh_time(issue.closed_at) if issue.closed_at else None,
            "closed_by": self.user(issue.closed_by) if issue.closed_by else None,
            "created_at": gh_time(issue.created_at),
            "updated_at": gh_time(issue.updated_at),
            "author_association": "MEMBER",
        }
        if issue.parent is not None:
            payload["parent_issue_url"] = f"{self.api}/repos/{issue.parent[0]}/issues/{issue.parent[1]}"
        if issue.pull_request:
            pull = f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}"
            payload["pull_request"] = {
                "url": pull,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": gh_time(issue.closed_at) if issue.closed_at else None,
            }
            payload["draft"] = False
        return payload

    def comment(self, repo: GitHubRepo, issue: GitHubIssue, comment: GitHubComment) -> dict[str, Any]:
        issue_url = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id}",
            "url": f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}",
            "html_url": f"{self.web}/{repo.full_name}/issues/{issue.number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.user(comment.user),
            "created_at": gh_time(comment.created_at),
            "updated_at": gh_time(comment.updated_at),
            "issue_url": issue_url,
            "author_association": "MEMBER",
        }

    def event(self, repo: GitHubRepo, event: GitHubEvent) -> dict[str, Any]:
        """A labeled/unlabeled issue event (`issue-event-for-issue`)."""
        return {
            "id": event.id,
            "node_id": f"LE_{event.id}",
            "url": f"{self.api}/repos/{repo.full_name}/issues/events/{event.id}",
            "actor": self.user(event.actor),
            "event": event.event,
            "commit_id": None,
            "commit_url": None,
            "created_at": gh_time(event.created_at),
            "performed_via_github_app": None,
            "label": {"name": event.label, "color": self.label(repo, event.label)["color"]},
        }

    def repository(self, repo: GitHubRepo) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}"
        created = gh_time(repo.created_at)
        open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
        host = self.web.split("://", 1)[-1]
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user(repo.owner),
            "private": False,
            "html_url": f"{self.web}/{repo.full_name}",
            "description": None,
            "fork": False,
            "url": url,
            **{name: url + suffix for name, suffix in _REPO_URLS.items()},
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host.split(':')[0]}:{repo.full_name}.git",
            "clone_url": f"{self.web}/{repo.full_name}.git",
            "svn_url": f"{self.web}/{repo.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": "Python",
            "license": None,
            **dict.fromkeys(("forks", "forks_count", "stargazers_count", "watchers", "watchers_count"), 0),
            **dict.fromkeys(("size", "network_count", "subscribers_count"), 0),
            "open_issues": open_issues,
            "open_issues_count": open_issues,
            "default_branch": "main",
            **dict.fromkeys(("has_issues", "has_projects", "has_wiki"), True),
            **dict.fromkeys(("has_pages", "has_discussions", "archived", "disabled"), False),
            "pushed_at": created,
            "created_at": created,
            "updated_at": created,
        }

    def rate_limit(self, remaining: int, reset: int) -> dict[str, Any]:
        core = {"limit": 5000, "remaining": remaining, "reset": reset, "used": 5000 - remaining}
        search = {"limit": 30, "remaining": 30, "reset": reset, "used": 0}
        return {"resources": {"core": core, "search": search}, "rate": core}


#: GitHub refuses a label name longer than this, with this error (a new label comes into being on first use).
MAX_LABEL = 50
LABEL_TOO_LONG = "name is too long (maximum is 50 characters)"


def label_names(value: Any, server: SandboxServer) -> list[str]:
    """Label names from a request: strings or {"name": ...} objects; 422 for anything else, and for a name over
    50 characters, as GitHub answers."""
    if not isinstance(value, list):
        raise HttpError(server.error(422, "labels must be a list"))
    names = [str(v.get("name", "")) if isinstance(v, dict) else str(v) for v in value]
    if any(len(n) > MAX_LABEL for n in names):
        error = {"resource": "Label", "code": "custom", "field": "name", "message": LABEL_TOO_LONG}
        docs = "https://docs.github.com/rest/issues/issues#create-an-issue"
        raise HttpError(Reply.json(422, {"message": "Validation Failed", "errors": [error], "documentation_url": docs}))
    return [n for n in names if n]


def parse_timestamp(value: str | None, server: SandboxServer) -> datetime | None:
    """An ISO 8601 query parameter (`since`); 422 when it is not one."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HttpError(server.error(422, f"'{value}' is not an ISO 8601 timestamp")) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paginate(
    req: RecordedRequest, items: list[Any], root: str, server: SandboxServer
) -> tuple[list[Any], list[tuple[str, str]]]:
    """One page of `items` per `per_page` (max 100) / `page`, and the Link header to the other pages."""
    per_page = max(1, min(int_param(req.param("per_page"), 30, server, status=422), 100))
    page = max(1, int_param(req.param("page"), 1, server, status=422))
    last = max(1, -(-len(items) // per_page))
    links = []
    for rel, target in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
        if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
            query = urlencode([*((k, v) for k, v in req.query if k != "page"), ("page", str(target))])
            links.append(f'<{root}{req.path}?{query}>; rel="{rel}"')
    headers = [("Link", ", ".join(links))] if links else []
    return items[(page - 1) * per_page : page * per_page], headers


def rate_headers(remaining: int, reset: int) -> list[tuple[str, str]]:
    return [
        ("x-ratelimit-limit", "5000"),
        ("x-ratelimit-remaining", str(remaining)),
        ("x-ratelimit-used", str(5000 - remaining)),
        ("x-ratelimit-reset", str(reset)),
        ("x-ratelimit-resource", "core"),
    ]
