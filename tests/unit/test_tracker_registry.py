"""A composition root that only wires (#23): each tracker's settings answer the questions the run, `file` and the
adapters' construction ask (`settings.TrackerSettings`), and a tracker is registered by one line (`TRACKERS`).
So `bootstrap.py`, `cli.py` and `commands.py` name no tracker, and a third tracker needs nothing from them."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.services.test_run import ticket
from verifier import defaults
from verifier import settings as settings_module
from verifier.bootstrap import Adapters, app
from verifier.errors import SettingsError
from verifier.ports import Tracker
from verifier.settings import TRACKERS, FilingOptions, GitHubSettings, JiraSettings, RunSettings, TrackerSettings, load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))


class ThirdSettings(TrackerSettings):
    """A tracker the code base has never seen: its settings, and nothing else."""

    model_config = SettingsConfigDict(env_prefix="VERIFIER_THIRD_", extra="ignore", frozen=True)

    display_name: ClassVar[str] = "Third"
    family: ClassVar[str] = "VERIFIER_THIRD_*"
    fold_authors: ClassVar[bool] = True
    label_max: ClassVar[int | None] = 40

    space: str
    built: ClassVar[list[FakeTracker]] = []

    def not_a_fix(self) -> frozenset[str]:
        return frozenset({"wontfix"})

    def filing(self) -> FilingOptions:
        return FilingOptions(config_comment=True)

    def build(self) -> Tracker:
        tracker = FakeTracker()
        tracker.add(ticket("T-1"))
        self.built.append(tracker)
        return tracker


def test_a_third_tracker_is_one_registration_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TRACKERS, "third", ThirdSettings)  # the one line
    monkeypatch.setenv("VERIFIER_TRACKER", "third")
    monkeypatch.setenv("VERIFIER_THIRD_SPACE", "ops")
    monkeypatch.setenv("VERIFIER_TRUSTED_AUTHORS", "Alice")
    with app(metrics=False, adapters=Adapters(metrics=lambda _: FakeMetrics())) as context:
        assert isinstance(context.tracker_settings, ThirdSettings) and context.tracker_settings.space == "ops"
        options = context.run_options()
        assert context.tracker is ThirdSettings.built[-1]
        assert context.tracker.get_ticket("T-1").key == "T-1"
        assert options.not_a_fix == {"wontfix"} and options.trusted_authors == {"alice"}
        assert context.filing_options(dry_run=True)["config_comment"] is True
    monkeypatch.setenv("VERIFIER_LABEL", "x" * 41)
    with pytest.raises(SettingsError) as error, app(metrics=False):
        pass
    assert error.value.problems == ["VERIFIER_LABEL has 41 characters: Third refuses labels over 40"]
    monkeypatch.delenv("VERIFIER_THIRD_SPACE")
    monkeypatch.delenv("VERIFIER_LABEL")
    with pytest.raises(SettingsError) as error, app(metrics=False):
        pass
    assert error.value.problems == ["VERIFIER_THIRD_SPACE: Field required"]


def test_an_unregistered_tracker_is_refused_naming_those_there_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "third")
    with pytest.raises(SettingsError) as error, app(metrics=False):
        pass
    assert error.value.problems == ["VERIFIER_TRACKER: Input should be 'jira' or 'github'"]


@pytest.mark.parametrize(
    ("name", "env", "not_a_fix", "fold", "comment"),
    [
        (
            "jira",
            {"JIRA_URL": "https://jira.example", "JIRA_PAT": "pat-123456", "JIRA_PROJECT": "OPS"},
            set(defaults.JIRA_NOT_A_FIX),
            False,
            True,
        ),
        (
            "github",
            {"GITHUB_REPOSITORY": "acme/api", "GITHUB_TOKEN": "ghp_123456"},
            {"not_planned", "duplicate"},
            True,
            False,
        ),
    ],
)
def test_each_tracker_s_settings_answer_for_it(
    monkeypatch: pytest.MonkeyPatch, name: str, env: dict[str, str], not_a_fix: set[str], fold: bool, comment: bool
) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", name)
    for key, value in env.items():
        monkeypatch.setenv(f"VERIFIER_{key}", value)
    with app(metrics=False) as context:
        settings = context.tracker_settings
        assert type(settings) is TRACKERS[name]
        assert settings.not_a_fix() == not_a_fix and context.run_options().not_a_fix == not_a_fix
        assert settings.fold_authors is fold
        assert context.filing_options()["config_comment"] is comment
        built = settings.build()
        assert type(built).__name__ == {"jira": "JiraTracker", "github": "GitHubTracker"}[name]
        built.close()  # type: ignore[attr-defined]


def test_jira_settings_without_a_project_cannot_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://jira.example")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "pat-123456")
    with app(metrics=False) as context, pytest.raises(SettingsError) as error:
        context.filing_options()
    assert error.value.problems == ["VERIFIER_JIRA_PROJECT: the project to file the action items in is required"]


def test_the_app_refuses_settings_it_has_no_slot_for() -> None:
    """No `else` that silently means a tracker: settings of an unknown kind are an error."""

    class Stray(BaseSettings):
        pass

    with app(run=False, tracker=False, metrics=False) as context, pytest.raises(TypeError, match=r"^Stray is not"):
        context.give(Stray())
    with app(run=False, tracker=False, metrics=False, given=[RunSettings(tracker="jira")]) as context:
        assert context.has_settings() and context.settings.tracker == "jira" and not context.has_metrics()


def test_the_metrics_backend_is_configured_by_the_settings_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.settings import MetricsSettings

    assert MetricsSettings.configured() is False
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "http://prometheus.invalid:9090")
    assert MetricsSettings.configured() is True
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/api")
    monkeypatch.setenv("VERIFIER_GITHUB_TOKEN", "ghp_123456")
    with app(metrics="if-set") as context:
        assert context.has_metrics() and context.metrics_settings.url == "http://prometheus.invalid:9090"


def names_in(path: Path) -> set[str]:
    """Every name, attribute, imported module and string constant in a module's code (docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.add(node.value)
    return found


@pytest.mark.parametrize("module", ["bootstrap.py", "cli.py", "commands.py"])
def test_the_composition_root_and_the_cli_name_no_tracker(module: str) -> None:
    found = names_in(ROOT / "verifier" / module)
    trackers = {cls.__name__ for cls in TRACKERS.values()} | {f"verifier.adapters.{name}" for name in TRACKERS}
    assert found & trackers == set()
    assert found & {"__dict__", "cached_property"} == set()
    if module == "bootstrap.py":  # the settings know their variables (the CLI's help may name them to people)
        assert not {text for text in found if text.startswith("VERIFIER_")}
    assert {JiraSettings.__name__, GitHubSettings.__name__} <= set(vars(settings_module))  # the check can fail


@pytest.mark.parametrize(("seed_comment", "due_date"), [(True, False), (False, True)])
def test_jira_s_filing_options_carry_each_setting(
    monkeypatch: pytest.MonkeyPatch, seed_comment: bool, due_date: bool
) -> None:
    """`VERIFIER_JIRA_SEED_COMMENT`, `VERIFIER_JIRA_DUE_DATE` and `VERIFIER_JIRA_FIELDS` reach what `file` is told."""
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", "/nonexistent")
    for name, value in {
        "URL": "https://jira.example",
        "PAT": "pat-123456",
        "PROJECT": "OPS",
        "SEED_COMMENT": str(seed_comment).lower(),
        "DUE_DATE": str(due_date).lower(),
        "FIELDS": "team=customfield_10042,story_points=customfield_10016",
    }.items():
        monkeypatch.setenv(f"VERIFIER_JIRA_{name}", value)
    assert load(JiraSettings).filing() == FilingOptions(
        config_comment=seed_comment, due_date=due_date, field_names=frozenset({"team", "story_points"})
    )
