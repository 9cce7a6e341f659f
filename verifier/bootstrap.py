"""The composition root: the only module that knows which adapter serves which port.

Every command opens `app(...)`: it loads the settings the command needs at once (every problem in one
`SettingsError`), sets up logging and the secrets the logs must never show, builds each adapter on first use, and
closes them all when the block ends. Tests pass `Adapters` of their own (fakes, or real adapters on the sandbox
servers). Tracker clients are imported lazily, so that commands which need none start fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta
from functools import cached_property
from typing import Any, Literal, Protocol, TypeVar

from pydantic_settings import BaseSettings

from verifier import defaults, logs
from verifier.domain.actions import Labels
from verifier.domain.evidence import GraphLinks
from verifier.domain.identity import entry_names
from verifier.errors import SettingsError
from verifier.ports import Metrics, RunMetrics, Tracker
from verifier.services.run import RunOptions
from verifier.settings import JiraSettings, MetricsSettings, RunSettings, TrackerSettings, load, tracker_settings

A = TypeVar("A")
S = TypeVar("S", bound=BaseSettings)


class Backend(Metrics, Protocol):
    """The metrics port, plus the reachability check `doctor` makes."""

    def ping(self) -> None: ...


def build_tracker(settings: TrackerSettings) -> Tracker:
    if isinstance(settings, JiraSettings):
        from verifier.adapters.jira import JiraTracker

        return JiraTracker(settings)
    from verifier.adapters.github import GitHubTracker

    return GitHubTracker(settings)


def build_metrics(settings: MetricsSettings) -> Backend:
    from verifier.adapters.prometheus import PrometheusMetrics

    return PrometheusMetrics(settings)  # a PrometheusConnection, validated once


def graph_links(settings: MetricsSettings) -> GraphLinks:
    """Where result comments link to: VERIFIER_GRAPH_URL, else the query API's own URL; Grafana when set."""
    url = settings.graph_url or settings.url
    return GraphLinks(url, settings.grafana_url, settings.grafana_datasource_uid, sparkline=settings.sparkline)


def build_run_metrics(settings: RunSettings) -> RunMetrics | None:
    if not settings.pushgateway_url:
        return None
    from verifier.adapters.pushgateway import Pushgateway

    return Pushgateway(settings.pushgateway_url, settings.pushgateway_job)


@dataclass(frozen=True)
class Adapters:
    """How each adapter is built from its settings."""

    tracker: Callable[[TrackerSettings], Tracker] = build_tracker
    metrics: Callable[[MetricsSettings], Backend] = build_metrics
    run_metrics: Callable[[RunSettings], RunMetrics | None] = build_run_metrics


class App:
    """What a command needs. Settings are loaded, and adapters built, on first use; `app()` loads up front the
    ones the command names, so that a bad setting stops it before anything is read or written."""

    def __init__(self, adapters: Adapters, stack: ExitStack) -> None:
        self._adapters = adapters
        self._stack = stack

    @cached_property
    def settings(self) -> RunSettings:
        return self._load(RunSettings)

    @cached_property
    def tracker_settings(self) -> TrackerSettings:
        settings = tracker_settings(self.settings)
        logs.register_secrets(settings.secrets())
        return settings

    @cached_property
    def metrics_settings(self) -> MetricsSettings:
        return self._load(MetricsSettings)

    @cached_property
    def tracker(self) -> Tracker:
        return self._closing(self._adapters.tracker(self.tracker_settings))

    @cached_property
    def metrics(self) -> Backend:
        return self._closing(self._adapters.metrics(self.metrics_settings))

    @cached_property
    def run_metrics(self) -> RunMetrics | None:
        return self._closing(self._adapters.run_metrics(self.settings))

    def run_options(
        self, *, dry_run: bool = False, early: bool = False, issues: tuple[str, ...] = (), rejudge: bool = False
    ) -> RunOptions:
        """The run's options: every RunSettings field with the name of a RunOptions field is copied as it is (so a
        new setting the run reads needs only the two fields), the others are derived here."""
        settings, tracker = self.settings, self.tracker_settings
        not_a_fix = tracker.not_fix_resolutions if isinstance(tracker, JiraSettings) else defaults.GITHUB_NOT_A_FIX
        same = {f.name: getattr(settings, f.name) for f in fields(RunOptions) if f.name in RunSettings.model_fields}
        derived: dict[str, Any] = {
            # GitHub logins are case-insensitive: the adapter gives them in lower case (Jira account ids: exact).
            # `resolve_trust` has the adapter name people by the ids these names resolve to.
            "trusted_authors": entry_names(settings.trusted_authors, fold=not isinstance(tracker, JiraSettings)),
            "not_a_fix": frozenset(not_a_fix),
            "labels": Labels(
                verified=settings.verified_label,
                failed=settings.failed_label,
                inconclusive=settings.inconclusive_label,
                invalid=settings.invalid_label,
            ),
            "dry_run": dry_run or settings.dry_run,
            "early": early,
            "issues": issues,
            "accept_warnings": self.has_metrics() and self.metrics_settings.accept_warnings,
            "sla_days": dict(settings.sla_days),
            "rejudge": rejudge or settings.rejudge,
            "run_interval": timedelta(seconds=settings.run_interval_seconds),
            "links": graph_links(self.metrics_settings) if self.has_metrics() else None,
            "signing_key": settings.signing_key.get_secret_value().encode() if settings.signing_key else None,
        }
        return RunOptions(**{**same, **derived})

    def resolve_trust(self) -> None:
        """Resolve the trusted authors to immutable ids, at the start of a command that judges by them (`run`,
        `report`): the tracker adapter names people by those ids from then on (`Tracker.trust`)."""
        if self.settings.trusted_authors:
            self.tracker.trust(self.settings.trusted_authors)

    def has_metrics(self) -> bool:
        """Whether the metrics settings were loaded (`metrics="if-set"` and VERIFIER_PROMETHEUS_URL unset: not)."""
        return "metrics_settings" in self.__dict__

    def give(self, settings: BaseSettings) -> None:
        """Use `settings` instead of reading them from the environment."""
        name = {RunSettings: "settings", MetricsSettings: "metrics_settings"}.get(type(settings), "tracker_settings")
        self.__dict__[name] = settings  # where cached_property keeps its value
        logs.register_secrets(getattr(settings, "secrets", list)())

    def _load(self, cls: type[S]) -> S:
        settings = load(cls)
        secrets: Any = getattr(settings, "secrets", list)
        logs.register_secrets(secrets())
        return settings

    def _closing(self, adapter: A) -> A:
        close = getattr(adapter, "close", None)
        if callable(close):
            self._stack.callback(close)
        return adapter


@contextmanager
def app(
    *,
    run: bool = True,
    tracker: bool = True,
    metrics: bool | Literal["if-set"] = True,
    adapters: Adapters | None = None,
    given: Iterable[BaseSettings] = (),
) -> Iterator[App]:
    """The command's settings (`run`: RunSettings, `tracker`: the tracker's, `metrics`: the metrics backend's, or
    only when VERIFIER_PROMETHEUS_URL is set), checked at once; logging configured from RunSettings. Settings in
    `given` are used as they are instead of being read from the environment (the demo's)."""
    with ExitStack() as stack:
        context = App(adapters or Adapters(), stack)
        for settings in given:
            context.give(settings)
        problems: list[str] = []

        def check(read: Callable[[], object]) -> bool:
            try:
                read()
            except SettingsError as error:
                problems.extend(error.problems)
                return False
            return True

        if (run or tracker) and check(lambda: context.settings) and tracker:
            check(lambda: context.tracker_settings)
        if metrics is True or (metrics == "if-set" and os.environ.get("VERIFIER_PROMETHEUS_URL")):
            check(lambda: context.metrics_settings)
        if problems:
            raise SettingsError(problems)
        if "settings" in context.__dict__:
            settings = context.settings
            log_json = None if settings.log_format == "auto" else settings.log_format == "json"
            logs.configure(json=log_json, level=settings.log_level)
        yield context
