"""`doctor`'s permission checks, one function per tracker: what a run needs, read without writing anything.

Jira: `GET mypermissions?permissions=BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES,TRANSITION_ISSUES` for the project
the run reads (`VERIFIER_JIRA_PROJECT`; without one, Jira answers for any project, which says less). With
`VERIFIER_JIRA_CLOUD_ID`, the site's own `/_edge/tenant_info` (public) must name the same cloud id: otherwise the
run would write to another site than the one its links point at.

GitHub: `GET /repos/{owner}/{repo}` for each repository (and, for a GitHub App, the installation's permissions
there: `GET /repos/{owner}/{repo}/installation`, `issues` read or write). Its `permissions` are the signed-in account's role there:
reading needs `pull`; labelling, reopening and closing issues need `triage` (or `push`, `maintain`, `admin`). A
classic token's `x-oauth-scopes` must hold `repo` or `public_repo`. A fine-grained token's own permissions can be
read nowhere without writing, so for one (`github_pat_…`) Issues read is proven by listing one issue, and Issues
write is a warning to check. Every answer's `github-authentication-token-expiration` is read: a token expiring
within `defaults.TOKEN_EXPIRY_WARNING_DAYS` is a warning, an expired one is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from verifier import defaults
from verifier.adapters.http import AnswerRefused, DeadlinePassed, GuardedAdapter, OriginBoundSession, guard
from verifier.domain.access import Access
from verifier.errors import TrackerError

#: The Jira project permissions a run uses, and what for.
JIRA_NEEDED = {
    "BROWSE_PROJECTS": "read the action items",
    "ADD_COMMENTS": "write result comments",
    "EDIT_ISSUES": "add the result labels",
    "TRANSITION_ISSUES": "reopen a fix that did not hold",
}
#: Any of these repository roles lets an account label, reopen and close issues.
_GITHUB_WRITE_ROLES = ("triage", "push", "maintain", "admin")
_EXPIRY_FORMATS = ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S %z")


def jira_access(project: str | None, get: Callable[[dict[str, str]], Any], account: str) -> Access:
    """`get(params)`: the `mypermissions` answer."""
    params = {"permissions": ",".join(JIRA_NEEDED)}
    where = f"project {project}" if project else "any project"
    if project:
        params["projectKey"] = project
    answer = get(params)
    found = answer.get("permissions") if isinstance(answer, dict) else None
    if not isinstance(found, dict):
        raise TrackerError("Jira's mypermissions answer carries no permissions")
    granted, missing = [], []
    for key, what in JIRA_NEEDED.items():
        entry = found.get(key)
        if isinstance(entry, dict) and entry.get("havePermission") is True:
            granted.append(f"Jira {key} on {where}")
        else:
            missing.append(f"Jira {key} on {where} is not granted to {account}: the run cannot {what}")
    warnings = () if project else ("VERIFIER_JIRA_PROJECT is not set: Jira answered for any project, not one",)
    return Access(tuple(granted), tuple(missing), warnings)


def tenant_info(site: str, verify: bool | str | None, timeout: float) -> Any:
    """The site's public `/_edge/tenant_info`, read without credentials (they belong to the API gateway), under the
    guarded transport's deadline and caps, following no redirect. `OriginBoundSession`: the tracker's CA bundle (or
    `verify=False`) holds here too where the environment names one (`REQUESTS_CA_BUNDLE`, psf/requests#3829)."""
    session = guard(OriginBoundSession(), GuardedAdapter(what="Jira's tenant_info"))
    session.verify = True if verify is None else verify
    url = f"{site}/_edge/tenant_info"
    try:
        response = session.get(url, timeout=timeout, allow_redirects=False)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, AnswerRefused, DeadlinePassed, ValueError) as error:
        raise TrackerError(f"GET {url}: {type(error).__name__}: {error}") from None
    finally:
        session.close()


def jira_site(cloud_id: str, site: str, tenant: Callable[[], Any]) -> Access:
    """`tenant()`: the site's `/_edge/tenant_info` answer (`{"cloudId": ...}`)."""
    try:
        answer = tenant()
    except TrackerError as error:
        return Access(
            warnings=(f"{site}/_edge/tenant_info could not be read to check VERIFIER_JIRA_CLOUD_ID: {error}",)
        )
    found = answer.get("cloudId") if isinstance(answer, dict) else None
    if not isinstance(found, str):
        return Access(warnings=(f"{site}/_edge/tenant_info names no cloudId to check VERIFIER_JIRA_CLOUD_ID against",))
    if found.lower() != cloud_id.lower():
        return Access(
            missing=(
                f"VERIFIER_JIRA_CLOUD_ID {cloud_id} is not {site}'s (its cloud id is {found[:36]!r}): API calls "
                "would go to another site than the links",
            )
        )
    return Access(granted=(f"VERIFIER_JIRA_CLOUD_ID is {site}'s cloud id",))


def github_access(
    repository: str,
    repo: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    fine_grained: bool,
    issues_refused: Callable[[], str | None],
    now: datetime,
    installation: Mapping[str, Any] | None = None,
) -> Access:
    """`repo`, `headers`: the `GET /repos/{owner}/{repo}` answer; `issues_refused()` lists one issue: None, or
    what GitHub accepts when it refused (`x-accepted-github-permissions`);
    `installation`: a GitHub App's permissions on the repository (`GET /repos/{owner}/{repo}/installation`)."""
    headers = {k.lower(): v for k, v in headers.items()}
    granted: list[str] = []
    missing: list[str] = []
    warnings: list[str] = []
    role = repo.get("permissions") if isinstance(repo.get("permissions"), dict) else None
    scopes = headers.get("x-oauth-scopes")
    if scopes is not None and not {"repo", "public_repo"} & {s.strip() for s in scopes.split(",")}:
        missing.append(
            f"GitHub {repository}: the token's scopes ({scopes or 'none'}) hold neither repo nor public_repo"
        )
    if installation is not None:
        issues = installation.get("issues")
        if issues in ("read", "write"):
            granted.append(f"GitHub {repository}: Issues read")
        else:
            missing.append(f"GitHub {repository}: the GitHub App's installation lacks Issues read")
        if issues == "write":
            granted.append(f"GitHub {repository}: Issues write")
        else:
            missing.append(f"GitHub {repository}: the GitHub App's installation lacks Issues write (it has {issues})")
    elif fine_grained:
        refused = issues_refused()
        if refused is None:
            granted.append(f"GitHub {repository}: Issues read")
        else:
            missing.append(f"GitHub {repository}: the fine-grained token lacks Issues read (GitHub accepts {refused})")
        if role is not None and not any(role.get(name) is True for name in _GITHUB_WRITE_ROLES):
            missing.append(
                f"GitHub {repository}: the token's owner cannot label or reopen issues (needs triage or write access)"
            )
        warnings.append(
            f"GitHub {repository}: a fine-grained token's Issues write cannot be read without writing: "
            "check it grants Issues 'Read and write'"
        )
    elif role is not None:
        if role.get("pull") is True:
            granted.append(f"GitHub {repository}: read")
        else:
            missing.append(f"GitHub {repository}: the account cannot read issues (no pull permission)")
        if any(role.get(name) is True for name in _GITHUB_WRITE_ROLES):
            granted.append(f"GitHub {repository}: Issues write")
        else:
            missing.append(
                f"GitHub {repository}: the account cannot label or reopen issues (needs triage or write access)"
            )
    else:
        warnings.append(f"GitHub {repository}: GitHub did not say the account's permissions (a GitHub App?)")
    expiry = _expiry(headers.get("github-authentication-token-expiration"))
    if expiry is not None:
        if expiry <= now:
            missing.append(f"GitHub token expired at {expiry.isoformat()}")
        elif expiry - now <= timedelta(days=defaults.TOKEN_EXPIRY_WARNING_DAYS):
            days = (expiry - now).days
            warnings.append(f"GitHub token expires at {expiry.isoformat()} (in {days} days): renew it")
    return Access(tuple(granted), tuple(missing), tuple(warnings))


def _expiry(text: str | None) -> datetime | None:
    """`github-authentication-token-expiration`: `2026-12-20 12:00:00 UTC` (or with a numeric offset)."""
    for form in _EXPIRY_FORMATS:
        try:
            moment = datetime.strptime(text or "", form)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # `%Z` reads `UTC` but sets no zone
    return None
