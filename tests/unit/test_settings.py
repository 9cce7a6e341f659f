"""What mutation testing of verifier/settings.py found no test holding (#27): how a bad setting is named, and a
secret file that cannot be read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from verifier.errors import SettingsError
from verifier.settings import GitHubSettings, JiraSettings, MetricsSettings, RunSettings, load


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path))


def test_missing_tracker_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="VERIFIER_TRACKER: Field required"):
        load(RunSettings)


def test_every_bad_field_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://example.atlassian.net")
    monkeypatch.setenv("VERIFIER_CONCURRENCY", "0")
    monkeypatch.setenv("VERIFIER_LOOKBACK_DAYS", "many")
    with pytest.raises(SettingsError) as error:
        load(RunSettings)
    text = str(error.value)
    assert "VERIFIER_CONCURRENCY" in text
    assert "VERIFIER_LOOKBACK_DAYS" in text
    assert "\n" not in text


def test_seed_variable_names_are_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("JIRA_BASE_URL", "https://example.atlassian.net")
    monkeypatch.setenv("JIRA_API_TOKEN", "seed-token-1234")
    monkeypatch.setenv("JIRA_EMAIL", "sre@example.com")
    settings = load(JiraSettings)
    assert settings.url == "https://example.atlassian.net"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "seed-token-1234"


def test_secrets_come_from_files_in_the_secrets_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    (directory / "VERIFIER_GITHUB_TOKEN").write_text("ghp_from_file_123\n")
    (directory / "verifier_prometheus_bearer_token").write_text("prom-token-456")
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/payments, acme/checkout")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "https://mimir.example/prometheus")
    settings, metrics = load(GitHubSettings), load(MetricsSettings)
    assert settings.token is not None
    assert settings.token.get_secret_value().strip() == "ghp_from_file_123"
    assert settings.repositories == ("acme/payments", "acme/checkout")
    assert metrics.bearer_token is not None
    assert metrics.bearer_token.get_secret_value() == "prom-token-456"
    assert "ghp_from_file_123" not in repr(settings)
    assert "prom-token-456" not in repr(metrics)


def test_bad_repository_and_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "just-a-name")
    with pytest.raises(SettingsError, match="VERIFIER_GITHUB_REPOSITORY: expected owner/repo"):
        load(GitHubSettings)


def test_secret_values_never_appear_in_settings_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "https://user:hunter2-secret@prom.example")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_PASSWORD", "hunter2-secret")
    with pytest.raises(SettingsError) as error:
        load(MetricsSettings)
    assert "hunter2-secret" not in str(error.value)
    assert "VERIFIER_PROMETHEUS_URL" in str(error.value)


def problems(cls: type, monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load(cls)
    return list(error.value.problems)


def test_a_check_across_github_fields_names_the_github_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(
        GitHubSettings,
        monkeypatch,
        VERIFIER_GITHUB_REPOSITORY="acme/api",
        VERIFIER_GITHUB_TOKEN="t",
        VERIFIER_GITHUB_APP_ID="1",
    ) == ["VERIFIER_GITHUB_*: set either token or app_id + app_private_key + installation_id, not both"]


def test_a_check_across_fields_of_a_class_without_a_family_is_the_message_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert problems(
        MetricsSettings,
        monkeypatch,
        VERIFIER_PROMETHEUS_URL="https://p.example",
        VERIFIER_PROMETHEUS_BEARER_TOKEN="tok-1234",
        VERIFIER_PROMETHEUS_USERNAME="u",
    ) == ["bearer_token and username/password are mutually exclusive: set one or the other"]


def test_a_setting_read_under_a_name_of_its_own_is_named_by_that_name(monkeypatch: pytest.MonkeyPatch) -> None:
    (problem,) = problems(
        MetricsSettings, monkeypatch, VERIFIER_PROMETHEUS_URL="https://p.example", VERIFIER_GRAPH_URL="ftp://x"
    )
    assert problem.startswith("VERIFIER_GRAPH_URL: must be http(s)://"), problem


def test_a_secret_file_that_cannot_be_read_is_named_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file the Pod's user cannot read (fsGroup, modes) is one line naming it and why. The tests run as root,
    who reads any file, so the refusal the kernel would give another user is made here, for that file only."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    token = secrets / "VERIFIER_JIRA_API_TOKEN"
    token.write_text("token-1234")
    token.chmod(0o000)
    read_text = Path.read_text

    def refused(self: Path, *args: object, **kwargs: object) -> str:
        if self == token and os.geteuid() == 0:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refused)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(secrets))
    assert problems(
        JiraSettings, monkeypatch, VERIFIER_JIRA_URL="https://jira.example", VERIFIER_JIRA_EMAIL="sre@example.com"
    ) == [f"VERIFIER_SECRETS_DIR: cannot read {token}: Permission denied"]


def test_a_secrets_directory_below_one_that_may_not_be_searched_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A secret volume mounted below a directory the Pod's user may not enter: even asking whether the directory is
    there is refused (the error comes from the standard library, not wrapped by pydantic-settings). It was a
    traceback. The kernel refuses for real: as root, who may enter anything, the test drops to nobody's user id."""
    locked = tmp_path / "locked"
    secrets = locked / "secrets"
    secrets.mkdir(parents=True)
    locked.chmod(0o000)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(secrets))
    env = {"VERIFIER_JIRA_URL": "https://jira.example", "VERIFIER_JIRA_PAT": "dc-token"}
    root = os.geteuid() == 0
    try:
        if root:
            os.seteuid(65534)
        found = problems(JiraSettings, monkeypatch, **env)
    finally:
        if root:
            os.seteuid(0)
        locked.chmod(0o700)
    assert found == [f"VERIFIER_SECRETS_DIR: cannot read {secrets}: Permission denied"]
