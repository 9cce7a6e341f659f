"""`doctor`'s permission rules on given answers (`verifier.adapters.access`): the boundaries exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verifier.adapters.access import github_access, jira_access, jira_site
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


def test_jira_without_a_project_asks_for_any_and_says_so() -> None:
    asked: list[dict[str, str]] = []
    granted = {key: {"havePermission": True} for key in ("BROWSE_PROJECTS", "ADD_COMMENTS", "EDIT_ISSUES")}

    def get(params: dict[str, str]) -> object:
        asked.append(params)
        return {"permissions": granted}

    found = jira_access(None, get, "me")
    assert asked == [{"permissions": "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES,TRANSITION_ISSUES"}]
    assert found == Access(
        (
            "Jira BROWSE_PROJECTS on any project",
            "Jira ADD_COMMENTS on any project",
            "Jira EDIT_ISSUES on any project",
        ),
        ("Jira TRANSITION_ISSUES on any project is not granted to me: the run cannot reopen a fix that did not hold",),
        ("VERIFIER_JIRA_PROJECT is not set: Jira answered for any project, not one",),
    )


@pytest.mark.parametrize("answer", [["permissions"], "permissions", None, {"permissions": ["BROWSE_PROJECTS"]}])
def test_a_mypermissions_answer_that_is_no_object_is_refused_in_one_line(answer: object) -> None:
    with pytest.raises(TrackerError) as raised:
        jira_access("OPS", lambda params: answer, "me")
    assert str(raised.value) == "Jira's mypermissions answer carries no permissions"


CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"
SITE = "https://acme.atlassian.net"


@pytest.mark.parametrize("answer", [[{"cloudId": CLOUD_ID}], f'{{"cloudId": "{CLOUD_ID}"}}', {"cloudId": 7}, {}])
def test_a_tenant_info_that_names_no_cloud_id_is_a_warning(answer: object) -> None:
    assert jira_site(CLOUD_ID, SITE, lambda: answer) == Access(
        warnings=(f"{SITE}/_edge/tenant_info names no cloudId to check VERIFIER_JIRA_CLOUD_ID against",)
    )


def test_the_cloud_id_is_compared_ignoring_case_and_a_long_one_is_cut_in_the_line() -> None:
    assert jira_site(CLOUD_ID.upper(), SITE, lambda: {"cloudId": CLOUD_ID}) == Access(
        granted=(f"VERIFIER_JIRA_CLOUD_ID is {SITE}'s cloud id",)
    )
    long = "0b7e6a52-1b2c-4d3e-8f90-123456789abc" + "X" * 500  # an answer is not trusted to be short
    assert jira_site(CLOUD_ID, SITE, lambda: {"cloudId": long}) == Access(
        missing=(
            f"VERIFIER_JIRA_CLOUD_ID {CLOUD_ID} is not {SITE}'s (its cloud id is "
            "'0b7e6a52-1b2c-4d3e-8f90-123456789abc'): API calls would go to another site than the links",
        )
    )


def test_an_unreadable_tenant_info_is_a_warning_naming_why() -> None:
    def fails() -> object:
        raise TrackerError("GET x: ReadTimeout: slow")

    assert jira_site(CLOUD_ID, SITE, fails) == Access(
        warnings=(
            f"{SITE}/_edge/tenant_info could not be read to check VERIFIER_JIRA_CLOUD_ID: GET x: ReadTimeout: slow",
        )
    )


@pytest.mark.parametrize("permissions", [["pull", "push"], "admin", True])
def test_a_repository_answer_whose_permissions_are_no_object_says_nothing_of_them(permissions: object) -> None:
    found = github_access(
        "acme/api", {"permissions": permissions}, {}, fine_grained=False, issues_refused=lambda: None, now=NOW
    )
    assert found == Access(warnings=("GitHub acme/api: GitHub did not say the account's permissions (a GitHub App?)",))


def test_a_token_with_no_scopes_is_named_as_holding_none() -> None:
    assert gh({"X-OAuth-Scopes": ""}).missing == (
        "GitHub acme/api: the token's scopes (none) hold neither repo nor public_repo",
    )
    assert gh({"X-OAuth-Scopes": "gist, read:org"}).missing == (
        "GitHub acme/api: the token's scopes (gist, read:org) hold neither repo nor public_repo",
    )
    assert gh({"X-OAuth-Scopes": "gist, repo"}).missing == ()


@pytest.mark.parametrize(
    ("issues", "granted", "missing"),
    [
        ("write", ("GitHub acme/api: Issues read", "GitHub acme/api: Issues write"), ()),
        (
            "read",
            ("GitHub acme/api: Issues read",),
            ("GitHub acme/api: the GitHub App's installation lacks Issues write (it has read)",),
        ),
        (
            None,
            (),
            (
                "GitHub acme/api: the GitHub App's installation lacks Issues read",
                "GitHub acme/api: the GitHub App's installation lacks Issues write (it has None)",
            ),
        ),
    ],
)
def test_a_github_apps_installation_needs_issues_write(
    issues: str | None, granted: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    installation = {"issues": issues} if issues else {"metadata": "read"}
    found = github_access(
        "acme/api", {}, {}, fine_grained=False, issues_refused=lambda: None, now=NOW, installation=installation
    )
    assert found == Access(granted, missing)


def test_expiry_lines_name_the_moment_and_the_days_left() -> None:
    assert gh({"github-authentication-token-expiration": "2026-12-16 12:00:00 UTC"}).warnings == (
        "GitHub token expires at 2026-12-16T12:00:00+00:00 (in 10 days): renew it",
    )
    assert gh({"github-authentication-token-expiration": "2026-12-01 08:00:00 +0100"}).missing == (
        "GitHub token expired at 2026-12-01T08:00:00+01:00",
    )
