"""Which variables a tracker's settings read, built by `settings._tracker_config` while the test runs (#27).

`JiraSettings` and `GitHubSettings` call `_tracker_config` once, when verifier/settings.py is imported, so a slip in
it is invisible to a test that only uses those classes under mutation testing (mutmut switches a mutant on after
the import). These tests build a tracker's settings class with it, with the arguments the real classes give, and
check what each variable reaches: the tracker's own prefix, `VERIFIER_TRACKER_*` for the three tracker-wide fields,
the seed's names, never a bare field name; frozen, extra keys ignored, inputs kept out of errors, lists written
`a,b`. tests/e2e/test_settings_table.py holds the real classes end to end.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from verifier.connections import CommaList, JiraConnection
from verifier.errors import SettingsError
from verifier.settings import FilingOptions, GitHubSettings, JiraSettings, TrackerSettings, _tracker_config, load

if TYPE_CHECKING:
    from verifier.ports import Tracker

JIRA_SEED = {"url": ("JIRA_BASE_URL",), "email": ("JIRA_EMAIL",), "api_token": ("JIRA_API_TOKEN",)}


def jira_class() -> type[Any]:
    config = _tracker_config("VERIFIER_JIRA_", JIRA_SEED, {})
    return type("Jira", (JiraSettings,), {"model_config": config, "__module__": __name__})


def github_class() -> type[Any]:
    config = _tracker_config("VERIFIER_GITHUB_", {}, {"repositories": "repository"})
    return type("GitHub", (GitHubSettings,), {"model_config": config, "__module__": __name__})


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_", "GITHUB_")) or name in {"URL", "EMAIL", "TOKEN", "PROJECT"}:
            monkeypatch.delenv(name)


def setenv(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_jira_fields_come_from_the_jira_prefix_and_the_tracker_wide_ones_from_verifier_tracker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setenv(
        monkeypatch,
        VERIFIER_JIRA_URL="https://acme.atlassian.net",
        VERIFIER_JIRA_EMAIL="bot@acme.test",
        VERIFIER_JIRA_API_TOKEN="jira-token",
        VERIFIER_JIRA_PROJECT="OPS",
        VERIFIER_TRACKER_VERIFY_TLS="false",
        VERIFIER_TRACKER_CA_BUNDLE="/etc/ca/private.pem",
        VERIFIER_TRACKER_TIMEOUT_SECONDS="7.5",
    )
    jira = jira_class()()
    assert jira.url == "https://acme.atlassian.net"
    assert jira.email == "bot@acme.test"
    assert jira.api_token.get_secret_value() == "jira-token"
    assert jira.project == "OPS"
    assert jira.verify_tls is False
    assert jira.ca_bundle == Path("/etc/ca/private.pem")
    assert jira.timeout_seconds == 7.5


def test_tracker_wide_fields_are_not_read_under_the_trackers_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(
        monkeypatch,
        VERIFIER_JIRA_URL="https://acme.atlassian.net",
        VERIFIER_JIRA_PAT="dc-token",
        VERIFIER_JIRA_VERIFY_TLS="false",
        VERIFIER_JIRA_CA_BUNDLE="/etc/ca/private.pem",
        VERIFIER_JIRA_TIMEOUT_SECONDS="7.5",
    )
    jira = jira_class()()
    assert (jira.verify_tls, jira.ca_bundle) == (True, None)
    assert jira.timeout_seconds == JiraConnection.model_fields["timeout_seconds"].default != 7.5


def test_the_seeds_jira_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(monkeypatch, JIRA_BASE_URL="https://seed.atlassian.net", JIRA_EMAIL="seed@acme.test", JIRA_API_TOKEN="s")
    jira = jira_class()()
    assert (jira.url, jira.email, jira.api_token.get_secret_value()) == (
        "https://seed.atlassian.net",
        "seed@acme.test",
        "s",
    )


def test_a_bare_field_name_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(monkeypatch, URL="https://stray.example", EMAIL="stray@example.test", PROJECT="STRAY")
    with pytest.raises(ValidationError) as error:
        jira_class()()
    assert [e["loc"] for e in error.value.errors()] == [("VERIFIER_JIRA_URL",)]


def test_github_reads_its_repositories_from_the_singular_variable_written_a_comma_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setenv(
        monkeypatch,
        VERIFIER_GITHUB_REPOSITORY="acme/api, acme/web",
        VERIFIER_GITHUB_TOKEN="gh-token",
        VERIFIER_TRACKER_TIMEOUT_SECONDS="4",
    )
    github = github_class()()
    assert tuple(github.repositories) == ("acme/api", "acme/web")
    assert github.token.get_secret_value() == "gh-token"
    assert github.timeout_seconds == 4


def test_github_does_not_read_the_jira_seed_names_or_its_plural_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(monkeypatch, VERIFIER_GITHUB_REPOSITORIES="acme/api", JIRA_API_TOKEN="seed", VERIFIER_GITHUB_TOKEN="t")
    with pytest.raises(ValidationError) as error:
        github_class()()
    assert [e["loc"] for e in error.value.errors()] == [("VERIFIER_GITHUB_REPOSITORY",)]


def test_lists_and_maps_are_written_plainly_not_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(
        monkeypatch,
        VERIFIER_JIRA_URL="https://acme.atlassian.net",
        VERIFIER_JIRA_PAT="dc-token",
        VERIFIER_JIRA_NOT_FIX_RESOLUTIONS="Won't Do,Duplicate",
    )
    assert tuple(jira_class()().not_fix_resolutions) == ("Won't Do", "Duplicate")


def test_fields_can_be_given_by_name_extra_keys_are_ignored_and_the_settings_are_frozen() -> None:
    jira = jira_class()(url="https://acme.atlassian.net", pat="dc-token", project="OPS", unknown="ignored")
    assert (jira.url, jira.project) == ("https://acme.atlassian.net", "OPS")
    assert not hasattr(jira, "unknown")
    with pytest.raises(ValidationError):
        jira.url = "https://elsewhere.example"


def test_a_bad_value_is_kept_out_of_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(monkeypatch, VERIFIER_JIRA_URL="https://acme.atlassian.net", VERIFIER_JIRA_PROJECT="secret-looking-value")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "dc-token")
    with pytest.raises(ValidationError) as error:
        jira_class()()
    assert [e["loc"] for e in error.value.errors()] == [("VERIFIER_JIRA_PROJECT",)]
    assert "secret-looking-value" not in str(error.value)


def test_the_real_tracker_settings_read_no_bare_name_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A Pod or a CI job may well have `URL`, `TOKEN` or `PROJECT` set for something else: they must not count.
    setenv(monkeypatch, URL="https://stray.example", PAT="stray", TOKEN="stray", REPOSITORIES="stray/repo")
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))
    with pytest.raises(SettingsError) as jira:
        load(JiraSettings)
    assert jira.value.problems == ["VERIFIER_JIRA_URL: Field required"]
    with pytest.raises(SettingsError) as github:
        load(GitHubSettings)
    assert github.value.problems == ["VERIFIER_GITHUB_REPOSITORY: Field required"]


def test_a_secret_file_named_by_a_bare_field_name_does_not_count(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "url").write_text("https://stray.example")
    (tmp_path / "VERIFIER_JIRA_PAT").write_text("dc-token")
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path))
    with pytest.raises(SettingsError) as error:
        load(JiraSettings)
    assert error.value.problems == ["VERIFIER_JIRA_URL: Field required"]
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://acme.atlassian.net")
    jira = load(JiraSettings)
    assert (jira.url, jira.pat.get_secret_value()) == ("https://acme.atlassian.net", "dc-token")


class _PlainConnection(BaseModel):
    """A third tracker's connection model that sets neither `frozen` nor `hide_input_in_errors`."""

    url: str
    project: str = Field(pattern=r"^[A-Z]+$")
    closed_as: CommaList = ()


class _ThirdSettings(_PlainConnection, TrackerSettings):
    display_name = "Third"
    family = "VERIFIER_THIRD_*"
    fold_authors = False

    def not_a_fix(self) -> frozenset[str]:
        return frozenset()

    def filing(self) -> FilingOptions:
        return FilingOptions()

    def build(self) -> Tracker:
        raise NotImplementedError


def test_the_tracker_config_itself_freezes_the_settings_and_keeps_inputs_out_of_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jira's and GitHub's connection models set both too; a new tracker's model that forgets them must not leak a
    secret-looking value into an error, nor let code change a setting after it was read."""
    third = type("Third", (_ThirdSettings,), {"model_config": _tracker_config("VERIFIER_THIRD_", {}, {})})
    setenv(monkeypatch, VERIFIER_THIRD_URL="https://third.example", VERIFIER_THIRD_PROJECT="tok-secret-value")
    with pytest.raises(ValidationError) as error:
        third()
    assert [e["loc"] for e in error.value.errors()] == [("VERIFIER_THIRD_PROJECT",)]
    assert "tok-secret-value" not in str(error.value)
    monkeypatch.setenv("VERIFIER_THIRD_PROJECT", "OPS")
    settings = third()
    assert (settings.url, settings.project) == ("https://third.example", "OPS")
    with pytest.raises(ValidationError):
        settings.url = "https://elsewhere.example"
    assert settings.url == "https://third.example"


def test_the_tracker_config_itself_lets_code_pass_fields_by_name_and_reads_lists_written_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the tracker config sets for every tracker, held where no connection model or registered class sets
    it already: fields by name in code (`populate_by_name`) and `a,b` lists not taken for JSON."""
    third = type("Third", (_ThirdSettings,), {"model_config": _tracker_config("VERIFIER_THIRD_", {}, {})})
    by_name = third(url="https://third.example", project="OPS")
    assert (by_name.url, by_name.project, by_name.closed_as) == ("https://third.example", "OPS", ())
    setenv(monkeypatch, VERIFIER_THIRD_URL="https://third.example", VERIFIER_THIRD_CLOSED_AS="Won't Do, Duplicate")
    assert third(project="OPS").closed_as == ("Won't Do", "Duplicate")
