"""`doctor` checks the permissions a run needs (#24): environment in, the lines and exit code out, and the requests
the tracker sandboxes received (each held to the official API description). Jira: `mypermissions` for the
project; GitHub: the account's role on each repository, a classic token's scopes, a fine-grained token's Issues
read, and the token's expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from verifier.cli import main
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.jira import JiraSandbox
from verifier_sandbox.prometheus import MetricsStore, PrometheusSandbox

NEEDED = "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES,TRANSITION_ISSUES"


@pytest.fixture
def prometheus() -> Iterator[PrometheusSandbox]:
    with PrometheusSandbox(MetricsStore(scrape_seconds=60)) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prometheus: PrometheusSandbox) -> pytest.MonkeyPatch:
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("VERIFIER_LOG_LEVEL", "error")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", prometheus.url)
    return monkeypatch


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["doctor"])
    return code, capsys.readouterr().out.splitlines()


def jira_env(env: pytest.MonkeyPatch, jira: JiraSandbox, project: str | None = "OPS") -> None:
    env.setenv("VERIFIER_TRACKER", "jira")
    env.setenv("VERIFIER_JIRA_URL", jira.url)
    if jira.cloud:
        env.setenv("VERIFIER_JIRA_EMAIL", jira.email)
        env.setenv("VERIFIER_JIRA_API_TOKEN", jira.api_token)
    else:
        env.setenv("VERIFIER_JIRA_PAT", jira.pat)
    if project:
        env.setenv("VERIFIER_JIRA_PROJECT", project)


# -- Jira -------------------------------------------------------------------------------------------------------
def test_jira_every_permission_granted(
    jira: JiraSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_env(env, jira)
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert [line for line in lines if "Jira" in line] == [
        f"ok    tracker (jira): Jira {key} on project OPS" for key in NEEDED.split(",")
    ]
    [asked] = [r for r in jira.requests if r.path.endswith("/mypermissions")]
    assert (asked.path, asked.param("permissions"), asked.param("projectKey")) == (
        "/rest/api/2/mypermissions",
        NEEDED,
        "OPS",
    )


def test_jira_each_missing_permission_is_a_line_and_doctor_fails(
    jira_cloud: JiraSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_cloud.denied["OPS"] = {"EDIT_ISSUES", "TRANSITION_ISSUES"}
    jira_env(env, jira_cloud)
    code, lines = doctor(capsys)
    account = jira_cloud.bot.account_id
    assert code == 1
    assert [line for line in lines if line.startswith("FAIL")] == [
        f"FAIL  tracker (jira): Jira EDIT_ISSUES on project OPS is not granted to {account}: the run cannot add "
        "the result labels",
        f"FAIL  tracker (jira): Jira TRANSITION_ISSUES on project OPS is not granted to {account}: the run cannot "
        "reopen a fix that did not hold",
    ]
    assert "ok    tracker (jira): Jira ADD_COMMENTS on project OPS" in lines


def test_jira_without_a_project_asks_for_any_and_warns(
    jira_cloud: JiraSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_env(env, jira_cloud, project=None)
    code, lines = doctor(capsys)
    assert code == 0
    assert "warn  tracker (jira): VERIFIER_JIRA_PROJECT is not set: Jira answered for any project, not one" in lines
    [asked] = [r for r in jira_cloud.requests if r.path.endswith("/mypermissions")]
    assert asked.param("projectKey") is None


def test_jira_through_the_api_gateway_with_the_sites_cloud_id(
    jira_cloud: JiraSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_env(env, jira_cloud)  # the sandbox is the site (its tenant info) and the gateway
    env.setenv("VERIFIER_JIRA_API_GATEWAY_URL", jira_cloud.url)
    env.setenv("VERIFIER_JIRA_CLOUD_ID", jira_cloud.cloud_id)
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert f"ok    tracker (jira): VERIFIER_JIRA_CLOUD_ID is {jira_cloud.url}'s cloud id" in lines
    paths = [r.path for r in jira_cloud.requests]
    assert f"/ex/jira/{jira_cloud.cloud_id}/rest/api/2/mypermissions" in paths
    [tenant] = [r for r in jira_cloud.requests if r.path == "/_edge/tenant_info"]
    assert "authorization" not in tenant.headers  # the credentials are the gateway's, not sent to the site
    assert all(p.startswith("/ex/jira/") for p in paths if p != "/_edge/tenant_info")


def test_jira_cloud_id_of_another_site_fails(
    jira_cloud: JiraSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with JiraSandbox("cloud", cloud_id="0b7e6a52-1b2c-4d3e-8f90-123456789abc") as site:
        jira_env(env, jira_cloud)
        env.setenv("VERIFIER_JIRA_URL", site.url)  # the links' site; the gateway serves another tenant
        env.setenv("VERIFIER_JIRA_API_GATEWAY_URL", jira_cloud.url)
        env.setenv("VERIFIER_JIRA_CLOUD_ID", jira_cloud.cloud_id)
        code, lines = doctor(capsys)
    assert code == 1
    assert [line for line in lines if line.startswith("FAIL")] == [
        f"FAIL  tracker (jira): VERIFIER_JIRA_CLOUD_ID {jira_cloud.cloud_id} is not {site.url}'s (its cloud id is "
        "'0b7e6a52-1b2c-4d3e-8f90-123456789abc'): API calls would go to another site than the links"
    ]


def test_jira_site_without_tenant_info_is_a_warning(
    jira_cloud: JiraSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jira_env(env, jira_cloud)
    env.setenv("VERIFIER_JIRA_URL", "http://127.0.0.1:9")  # nothing listens: unreadable, not a failure
    env.setenv("VERIFIER_JIRA_API_GATEWAY_URL", jira_cloud.url)
    env.setenv("VERIFIER_JIRA_CLOUD_ID", jira_cloud.cloud_id)
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert any(
        line.startswith("warn  tracker (jira): http://127.0.0.1:9/_edge/tenant_info could not be read")
        for line in lines
    )


# -- GitHub -----------------------------------------------------------------------------------------------------
def github_env(env: pytest.MonkeyPatch, github: GitHubSandbox, token: str | None = None) -> None:
    github.add_repo("acme/api")
    github.add_repo("acme/web")
    env.setenv("VERIFIER_TRACKER", "github")
    env.setenv("VERIFIER_GITHUB_API_URL", github.url)
    env.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/api,acme/web")
    env.setenv("VERIFIER_GITHUB_TOKEN", token or github.token)


def test_github_write_access_on_each_repository(
    github: GitHubSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github.scopes = "repo, workflow"
    github_env(env, github)
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert [line for line in lines if "GitHub" in line] == [
        "ok    tracker (github): GitHub acme/api: read",
        "ok    tracker (github): GitHub acme/api: Issues write",
        "ok    tracker (github): GitHub acme/web: read",
        "ok    tracker (github): GitHub acme/web: Issues write",
    ]
    assert {"/repos/acme/api", "/repos/acme/web"} <= {r.path for r in github.requests}


def test_github_read_only_role_and_scopes_fail_one_line_each(
    github: GitHubSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github.role = {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True}
    github.scopes = "read:org"
    github_env(env, github)
    code, lines = doctor(capsys)
    assert code == 1
    assert [line for line in lines if line.startswith("FAIL") and "acme/api" in line] == [
        "FAIL  tracker (github): GitHub acme/api: the token's scopes (read:org) hold neither repo nor public_repo",
        "FAIL  tracker (github): GitHub acme/api: the account cannot label or reopen issues (needs triage or "
        "write access)",
    ]
    assert len([line for line in lines if line.startswith("FAIL")]) == 4  # and the same two for acme/web


def test_github_fine_grained_token_without_issues_read_and_expiring(
    github: GitHubSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "github_pat_11AAAAAAA0sandbox"  # a sandbox credential
    github.add_token(token, github.login)
    github.fine_grained[token] = {"metadata=read"}
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=1)
    github.token_expiration = expiry
    github_env(env, github, token)
    code, lines = doctor(capsys)
    assert code == 1
    assert (
        "FAIL  tracker (github): GitHub acme/api: the fine-grained token lacks Issues read (GitHub accepts "
        "issues=read)" in lines
    )
    assert f"warn  tracker (github): GitHub token expires at {expiry.isoformat()} (in 3 days): renew it" in lines
    assert any(line.startswith("warn") and "Issues 'Read and write'" in line for line in lines)


def test_github_token_expiring_later_is_no_warning(
    github: GitHubSandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github.token_expiration = datetime.now(UTC) + timedelta(days=15)
    github_env(env, github)
    code, lines = doctor(capsys)
    assert code == 0
    assert not [line for line in lines if line.startswith("warn")]


@pytest.fixture(scope="module")
def app_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


@pytest.mark.parametrize(("issues", "failed"), [("write", []), ("read", ["Issues write (it has read)"])])
def test_github_app_installation_permissions(
    github: GitHubSandbox,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    app_key: str,
    issues: str,
    failed: list[str],
) -> None:
    github.installation_permissions = {"issues": issues, "metadata": "read"}
    github_env(env, github)
    env.delenv("VERIFIER_GITHUB_TOKEN")
    env.setenv("VERIFIER_GITHUB_APP_ID", str(github.app_id))
    env.setenv("VERIFIER_GITHUB_APP_PRIVATE_KEY", app_key)
    env.setenv("VERIFIER_GITHUB_INSTALLATION_ID", str(github.installation_id))
    code, lines = doctor(capsys)
    assert code == (1 if failed else 0), lines
    fails = [line for line in lines if line.startswith("FAIL")]
    assert fails == [
        f"FAIL  tracker (github): GitHub {repo}: the GitHub App's installation lacks {what}"
        for repo in ("acme/api", "acme/web")
        for what in failed
    ]
    assert "ok    tracker (github): GitHub acme/api: Issues read" in lines
    assert [r.path for r in github.requests if r.path.endswith("/installation")] == [
        "/repos/acme/api/installation",
        "/repos/acme/web/installation",
    ]
