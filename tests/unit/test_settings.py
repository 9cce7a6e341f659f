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
