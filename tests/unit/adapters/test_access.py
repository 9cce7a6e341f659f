"""`doctor`'s permission rules on given answers (`verifier.adapters.access`): the boundaries exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verifier.adapters.access import github_access, jira_access
from verifier.domain.access import Access
from verifier.errors import TrackerError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WRITE = {"admin": False, "maintain": False, "push": False, "triage": True, "pull": True}


def gh(
    headers: dict[str, str], role: dict[str, bool] | None = WRITE, fine: bool = False, refused: str | None = None
) -> Access:
    repo = {"permissions": role} if role is not None else {}
    return github_access("acme/api", repo, headers, fine_grained=fine, issues_refused=lambda: refused, now=NOW)


@pytest.mark.parametrize(
    ("expiry", "warned", "missing"),
    [
        ("2026-12-20 12:00:00 UTC", True, False),  # exactly 14 days: warned
        ("2026-12-20 12:00:01 UTC", False, False),
        ("2026-12-20 13:00:00 +0100", True, False),  # the same moment with an offset
        ("2026-12-06 12:00:00 UTC", False, True),  # expired now
        ("not a date", False, False),
    ],
)
def test_token_expiry(expiry: str, warned: bool, missing: bool) -> None:
    found = gh({"GitHub-Authentication-Token-Expiration": expiry})
    assert (any("expires" in w for w in found.warnings), any("expired" in m for m in found.missing)) == (
        warned,
        missing,
    )


@pytest.mark.parametrize("role", ["triage", "push", "maintain", "admin"])
def test_any_write_role_may_label_and_reopen(role: str) -> None:
    only = {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True, role: True}
    assert gh({}, only) == Access(("GitHub acme/api: read", "GitHub acme/api: Issues write"))


def test_no_pull_is_missing_read_and_public_repo_scope_is_enough() -> None:
    found = gh({"x-oauth-scopes": "public_repo"}, {"admin": False, "pull": False, "push": False})
    assert found.missing == (
        "GitHub acme/api: the account cannot read issues (no pull permission)",
        "GitHub acme/api: the account cannot label or reopen issues (needs triage or write access)",
    )


def test_no_role_in_the_answer_is_a_warning_not_a_pass() -> None:
    found = gh({}, role=None)
    assert (found.granted, found.missing) == ((), ())
    assert found.warnings == ("GitHub acme/api: GitHub did not say the account's permissions (a GitHub App?)",)


def test_jira_needs_have_permission_true_exactly() -> None:
    answer = {"permissions": {"BROWSE_PROJECTS": {"havePermission": True}, "ADD_COMMENTS": {"havePermission": "true"}}}
    found = jira_access("OPS", lambda params: answer, "me")
    assert found.granted == ("Jira BROWSE_PROJECTS on project OPS",)
    assert [line.split(" is ")[0] for line in found.missing] == [
        "Jira ADD_COMMENTS on project OPS",
        "Jira EDIT_ISSUES on project OPS",
        "Jira TRANSITION_ISSUES on project OPS",
    ]


def test_jira_answer_without_permissions_is_refused() -> None:
    with pytest.raises(TrackerError, match="carries no permissions"):
        jira_access("OPS", lambda params: {"errorMessages": []}, "me")


def test_fine_grained_token_names_what_github_accepts_and_the_owners_role() -> None:
    found = gh({}, {"admin": False, "pull": True, "push": False}, fine=True, refused="issues=read; pull_requests=read")
    assert found.missing == (
        "GitHub acme/api: the fine-grained token lacks Issues read (GitHub accepts issues=read; pull_requests=read)",
        "GitHub acme/api: the token's owner cannot label or reopen issues (needs triage or write access)",
    )
    readable = gh({}, WRITE, fine=True)
    assert (readable.granted, readable.missing) == (("GitHub acme/api: Issues read",), ())
    assert readable.warnings == (
        "GitHub acme/api: a fine-grained token's Issues write cannot be read without writing: check it grants "
        "Issues 'Read and write'",
    )
