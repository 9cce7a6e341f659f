"""The composition root: one place loads a command's settings, sets up logging and secrets, builds the adapters and
closes them; tests hand it fakes through `Adapters`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.services.test_run import QUERY, ticket
from verifier import bootstrap
from verifier.bootstrap import Adapters, app
from verifier.cli import main
from verifier.errors import SettingsError, VerifierError
from verifier.exit_codes import ExitCode
from verifier.settings import GitHubSettings, JiraSettings, MetricsSettings, RunSettings, TrackerSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))


def github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/api")
    monkeypatch.setenv("VERIFIER_GITHUB_TOKEN", "ghp_bootstrap_secret_1")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "http://prometheus.invalid:9090")


@dataclass
class Built:
    """Adapters that record what they were built from and whether they were closed."""

    tracker: FakeTracker = field(default_factory=FakeTracker)
    metrics: FakeMetrics = field(default_factory=lambda: FakeMetrics({QUERY: instant(0.05)}))
    settings: list[object] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def adapters(self) -> Adapters:
        def tracker(settings: TrackerSettings) -> FakeTracker:
            self.settings.append(settings)
            self.tracker.close = lambda: self.closed.append("tracker")  # type: ignore[attr-defined]
            return self.tracker

        def metrics(settings: MetricsSettings) -> FakeMetrics:
            self.settings.append(settings)
            self.metrics.close = lambda: self.closed.append("metrics")  # type: ignore[attr-defined]
            return self.metrics

        return Adapters(tracker=tracker, metrics=metrics, run_metrics=lambda _: None)  # type: ignore[arg-type]


def test_run_is_composed_from_settings_with_fakes_and_closes_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github_env(monkeypatch)
    monkeypatch.setenv("VERIFIER_CONCURRENCY", "2")
    built = Built()
    built.tracker.add(ticket("acme/api#1", resolved_at=datetime.now(UTC) - timedelta(days=3)))
    assert main(["run", "--json"], adapters=built.adapters()) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["counts"] == {"VERIFIED": 1}
    assert [kind for _, kind, _ in built.tracker.writes] == ["comment", "label"]
    assert isinstance(built.settings[0], GitHubSettings) and built.settings[0].repositories == ("acme/api",)
    assert isinstance(built.settings[1], MetricsSettings)
    assert sorted(built.closed) == ["metrics", "tracker"]


def test_every_settings_problem_of_a_command_is_named_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "ftp://jira.example")
    monkeypatch.setenv("VERIFIER_TRACKER_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "not a url")
    built = Built()
    assert main(["run"], adapters=built.adapters()) == ExitCode.INVALID
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    for name in ("VERIFIER_JIRA_URL", "VERIFIER_TRACKER_TIMEOUT_SECONDS", "VERIFIER_PROMETHEUS_URL"):
        assert f"{name}: " in error
    assert built.settings == [] and built.tracker.writes == []  # nothing was built, nothing read


def test_a_bad_run_setting_does_not_hide_the_metrics_settings_problem() -> None:
    with pytest.raises(SettingsError) as error, app():
        pass
    assert [p.split(":")[0] for p in error.value.problems] == ["VERIFIER_TRACKER", "VERIFIER_PROMETHEUS_URL"]


def test_adapters_are_built_on_first_use_and_closed_when_the_block_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    github_env(monkeypatch)
    built = Built()
    with app(metrics=False, adapters=built.adapters()) as context:
        assert built.settings == []
        assert context.tracker is context.tracker is built.tracker
        assert built.closed == []
    assert built.closed == ["tracker"]


def test_an_error_inside_the_block_still_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    github_env(monkeypatch)
    built = Built()

    def command() -> None:
        with app(adapters=built.adapters()) as context:
            context.metrics.instant(QUERY, datetime.now(UTC))
            raise VerifierError("boom")

    with pytest.raises(VerifierError):
        command()
    assert built.closed == ["metrics"]


def test_secrets_of_every_loaded_settings_class_are_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github_env(monkeypatch)
    monkeypatch.setenv("VERIFIER_PROMETHEUS_PASSWORD", "prom-password-2")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_USERNAME", "ops")
    monkeypatch.setenv("VERIFIER_LOG_FORMAT", "json")
    with app(adapters=Built().adapters()):
        structlog.get_logger().warning("leak", token="ghp_bootstrap_secret_1", note="pw prom-password-2")
    err = capsys.readouterr().err
    assert "leak" in err and "ghp_bootstrap_secret_1" not in err and "prom-password-2" not in err


def test_secrets_are_every_secret_field_whatever_its_name() -> None:
    jira = JiraSettings(url="https://jira.example", email="a@example.com", api_token="tok-123456")
    assert jira.secrets() == ["tok-123456"]
    assert RunSettings(tracker="jira").secrets() == []


def test_run_options_come_from_the_run_and_tracker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://jira.example")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "pat-123456")
    monkeypatch.setenv("VERIFIER_JIRA_NOT_FIX_RESOLUTIONS", "Won't Do, Obsolete")
    monkeypatch.setenv("VERIFIER_TRUSTED_AUTHORS", "alice, bob")
    for name, value in {
        "LOOKBACK_DAYS": "30",
        "CONCURRENCY": "3",
        "MAX_WRITES": "5",
        "OVERDUE_REMINDERS": "true",
    }.items():
        monkeypatch.setenv(f"VERIFIER_{name}", value)
    monkeypatch.setenv("VERIFIER_FAILED_LABEL", "regressed")
    with app(metrics=False) as context:
        options = context.run_options(dry_run=True, issues=("OPS-1",))
    assert options.not_a_fix == {"Won't Do", "Obsolete"}
    assert options.trusted_authors == {"alice", "bob"}
    assert (options.dry_run, options.issues, options.label) == (True, ("OPS-1",), "post-incident")
    assert (options.lookback_days, options.concurrency, options.max_writes) == (30, 3, 5)
    assert options.overdue_reminders is True and options.labels.failed == "regressed"
    github_env(monkeypatch)
    with app(metrics=False) as context:
        assert context.run_options().not_a_fix == {"not_planned", "duplicate"}


def test_the_real_builders_pick_the_adapter_by_tracker(monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.adapters.github import GitHubTracker
    from verifier.adapters.jira import JiraTracker

    jira = bootstrap.build_tracker(JiraSettings(url="https://jira.example", pat="pat-123456"))
    github = bootstrap.build_tracker(GitHubSettings(repositories="acme/api", token="ghp_123456"))
    assert isinstance(jira, JiraTracker) and isinstance(github, GitHubTracker)
    jira.close()
    github.close()


def test_a_check_across_fields_names_the_family_of_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://jira.example")
    with pytest.raises(SettingsError, match=r"VERIFIER_JIRA_\*: missing email and api_token"), app(metrics=False):
        pass


def test_the_verified_and_failed_labels_reach_the_github_adapter_as_judgement_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    github_env(monkeypatch)
    monkeypatch.setenv("VERIFIER_VERIFIED_LABEL", "ok-by-otel")
    monkeypatch.setenv("VERIFIER_FAILED_LABEL", "nok-by-otel")
    with app(metrics=False) as context:
        settings = context.tracker_settings
        assert isinstance(settings, GitHubSettings) and settings.judgement_labels == ("ok-by-otel", "nok-by-otel")


def test_the_secrets_of_settings_given_to_the_app_are_masked_in_every_output() -> None:
    """`app(given=...)` (the demo hands its throwaway servers' settings this way): what they hold that no output may
    show is registered with the redactor as for settings read from the environment."""
    from verifier.redaction import MASK, redact

    password = "given-prometheus-password-" + os.urandom(6).hex()
    given = MetricsSettings(url="http://127.0.0.1:9", username="demo", password=password)
    assert redact(f"echoed {password}") == f"echoed {password}"  # unknown before
    with app(run=False, tracker=False, metrics=True, given=[given]) as context:
        assert context.metrics_settings is given
    assert redact(f"echoed {password}") == f"echoed {MASK}"
