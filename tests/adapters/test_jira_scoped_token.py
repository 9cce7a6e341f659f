"""Scoped Atlassian API tokens (#24): with `VERIFIER_JIRA_CLOUD_ID` every API call goes through the API gateway
(`<gateway>/ex/jira/<cloud id>/rest/api/...`) while links keep the site URL. Environment in, the requests the Jira
sandbox (answering as the gateway for its cloud id, 404 for another) received out; every exchange is held to
Atlassian's API description."""

from __future__ import annotations

import pytest

from verifier.bootstrap import build_tracker
from verifier.errors import SettingsError, TrackerError
from verifier.settings import JiraSettings, load
from verifier_sandbox.jira import JiraSandbox

SITE = "https://acme.atlassian.net"


@pytest.fixture
def scoped_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object, jira_cloud: JiraSandbox) -> JiraSandbox:
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("VERIFIER_JIRA_URL", SITE)  # unreachable here: only links may use it
    monkeypatch.setenv("VERIFIER_JIRA_EMAIL", jira_cloud.email)
    monkeypatch.setenv("VERIFIER_JIRA_API_TOKEN", jira_cloud.api_token)
    monkeypatch.setenv("VERIFIER_JIRA_API_GATEWAY_URL", jira_cloud.url)
    monkeypatch.setenv("VERIFIER_JIRA_CLOUD_ID", jira_cloud.cloud_id)
    return jira_cloud


def test_every_call_goes_through_the_gateway_and_links_keep_the_site(scoped_env: JiraSandbox) -> None:
    jira = scoped_env
    key = jira.add_issue(summary="Add retries", labels=["postmortem"], resolution="Done")
    tracker = build_tracker(load(JiraSettings))

    assert tracker.account() == jira.bot.account_id
    tickets = list(tracker.resolved_tickets("postmortem", lookback_days=30))
    tracker.comment(key, "checked")

    assert [(t.key, t.url) for t in tickets] == [(key, f"{SITE}/browse/{key}")]
    assert tracker.get_ticket(key).url == f"{SITE}/browse/{key}"
    assert [c.body for c in jira.issue(key).comments][-1] == "checked"
    prefix = f"/ex/jira/{jira.cloud_id}/rest/api/2/"
    paths = [r.path for r in jira.requests]
    assert paths and all(path.startswith(prefix) for path in paths), paths
    assert f"{prefix}issue/{key}/comment" in paths


def test_another_cloud_id_is_not_found_and_said_so(scoped_env: JiraSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_JIRA_CLOUD_ID", "00000000-0000-4000-8000-000000000000")
    tracker = build_tracker(load(JiraSettings))

    with pytest.raises(TrackerError, match="HTTP 404"):
        tracker.account()
    assert [r.path for r in scoped_env.requests] == ["/ex/jira/00000000-0000-4000-8000-000000000000/rest/api/2/myself"]


def test_without_a_cloud_id_the_site_is_the_api(jira_cloud: JiraSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("VERIFIER_JIRA_URL", jira_cloud.url)
    monkeypatch.setenv("VERIFIER_JIRA_EMAIL", jira_cloud.email)
    monkeypatch.setenv("VERIFIER_JIRA_API_TOKEN", jira_cloud.api_token)
    monkeypatch.setenv("VERIFIER_JIRA_API_GATEWAY_URL", "http://gateway.invalid")  # unused without a cloud id

    build_tracker(load(JiraSettings)).account()

    assert [r.path for r in jira_cloud.requests] == ["/rest/api/2/myself", "/rest/api/2/serverInfo"]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"VERIFIER_JIRA_CLOUD_ID": "acme"}, "VERIFIER_JIRA_CLOUD_ID"),
        ({"VERIFIER_JIRA_CLOUD_ID": "35273b54-3f06-40d2-880f-dd28cf8daafa/../x"}, "VERIFIER_JIRA_CLOUD_ID"),
        ({"VERIFIER_JIRA_API_GATEWAY_URL": "ftp://api.atlassian.com"}, "VERIFIER_JIRA_API_GATEWAY_URL"),
    ],
)
def test_a_bad_cloud_id_or_gateway_is_named(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("VERIFIER_JIRA_URL", SITE)
    monkeypatch.setenv("VERIFIER_JIRA_EMAIL", "bot@example.com")
    monkeypatch.setenv("VERIFIER_JIRA_API_TOKEN", "token")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load(JiraSettings)
    assert [line.split(":")[0] for line in error.value.problems] == [named]


def test_a_cloud_id_with_a_data_center_pat_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://jira.example.com")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "pat")
    monkeypatch.setenv("VERIFIER_JIRA_CLOUD_ID", "35273b54-3f06-40d2-880f-dd28cf8daafa")

    with pytest.raises(SettingsError, match="cloud_id is for Jira Cloud's scoped API tokens"):
        load(JiraSettings)


def test_a_401_on_the_site_points_at_the_cloud_id(jira_cloud: JiraSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("VERIFIER_JIRA_URL", jira_cloud.url)
    monkeypatch.setenv("VERIFIER_JIRA_EMAIL", jira_cloud.email)
    monkeypatch.setenv("VERIFIER_JIRA_API_TOKEN", "a-scoped-token")  # the site refuses it

    with pytest.raises(TrackerError, match=r"HTTP 401.*set VERIFIER_JIRA_CLOUD_ID \(the cloudId at <site>/_edge"):
        build_tracker(load(JiraSettings)).account()
    monkeypatch.setenv("VERIFIER_JIRA_URL", SITE)
    monkeypatch.setenv("VERIFIER_JIRA_API_GATEWAY_URL", jira_cloud.url)
    monkeypatch.setenv("VERIFIER_JIRA_CLOUD_ID", jira_cloud.cloud_id)
    with pytest.raises(TrackerError) as refused:  # with the cloud id set, the advice is about the token alone
        build_tracker(load(JiraSettings)).account()
    assert "HTTP 401" in str(refused.value) and "VERIFIER_JIRA_CLOUD_ID" not in str(refused.value)
