"""The composition root: the only module that knows which adapter serves which port.

Every command opens `app(...)`: it loads the settings the command needs at once (every problem in one
`SettingsError`), sets up logging and the secrets the logs must never show, builds each adapter on first use, and
closes them all when the block ends. Tests pass `Adapters` of their own (fakes, or real adapters on the sandbox
servers). Tracker clients are imported lazily, so that commands which need none start fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Literal, Protocol, TypeVar, cast

from pydantic_settings import BaseSettings

from verifier import defaults, logs
from verifier.domain.actions import Labels
from verifier.domain.evidence import GraphLinks
from verifier.domain.identity import entry_names
from verifier.errors import SettingsError
from verifier.ports import Metrics, RunMetrics, Tracker
from verifier.services.run import RunOptions
from verifier.settings import MetricsSettings, RunSettings, TrackerSettings, load, tracker_settings

A = TypeVar("A")
S = TypeVar("S", bound=BaseSettings)


class Backend(Metrics, Protocol):
    """The metrics port, plus the reachability check `doctor` makes."""

    def ping(self) -> None: ...


def build_tracker(settings: TrackerSettings) -> Tracker:
    return settings.build()  # each tracker's settings know their adapter (`settings.TRACKERS`)


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


#: Which slot of `App` a given settings object fills (`App.give`).
_SLOTS: tuple[tuple[type[BaseSettings], str], ...] = (
    (RunSettings, "run"),
    (MetricsSettings, "metrics"),
    (TrackerSettings, "tracker"),
)


class App:
    """What a command needs. Settings are loaded, and adapters built, on first use; `app()` loads up front the
    ones the command names, so that a bad setting stops it before anything is read or written."""

    def __init__(self, adapters: Adapters, stack: ExitStack) -> None:
        self._adapters = adapters
        self._stack = stack
        self._made: dict[str, Any] = {}  # each settings and adapter, once made

    def _once(self, slot: str, make: Callable[[], A]) -> A:
        if slot not in self._made:
            self._made[slot] = make()
        return cast(A, self._made[slot])

    @property
    def settings(self) -> RunSettings:
        return self._once("run", lambda: self._load(RunSettings))

    @property
    def tracker_settings(self) -> TrackerSettings:
        def make() -> TrackerSettings:
            settings = tracker_settings(self.settings)
            logs.register_secrets(settings.secrets())
            return settings

        return self._once("tracker", make)

    @property
    def metrics_settings(self) -> MetricsSettings:
        return self._once("metrics", lambda: self._load(MetricsSettings))

    @property
    def tracker(self) -> Tracker:
        return self._once("tracker adapter", lambda: self._closing(self._adapters.tracker(self.tracker_settings)))

    @property
    def metrics(self) -> Backend:
        return self._once("metrics adapter", lambda: self._closing(self._adapters.metrics(self.metrics_settings)))

    @property
    def run_metrics(self) -> RunMetrics | None:
        return self._once("run metrics", lambda: self._closing(self._adapters.run_metrics(self.settings)))

    def run_options(
        self, *, dry_run: bool = False, early: bool = False, issues: tuple[str, ...] = (), rejudge: bool = False
    ) -> RunOptions:
        """The run's options: every RunSettings field with the name of a RunOptions field is copied as it is (so a
        new setting the run reads needs only the two fields), the others are derived here."""
        settings, tracker = self.settings, self.tracker_settings
        same = {f.name: getattr(settings, f.name) for f in fields(RunOptions) if f.name in RunSettings.model_fields}
        derived: dict[str, Any] = {
            # Trusted authors are written the way the adapter gives names (`TrackerSettings.fold_authors`);
            # `resolve_trust` has the adapter name people by the ids these names resolve to.
            "trusted_authors": entry_names(settings.trusted_authors, fold=tracker.fold_authors),
            "not_a_fix": tracker.not_a_fix(),
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
            "signing_key": self._signing_key(),
        }
        return RunOptions(**{**same, **derived})

    def filing_options(self, *, dry_run: bool = False) -> dict[str, Any]:
        """`file_items`' options from the settings: the tracker's (`TrackerSettings.filing`, which refuses settings
        that cannot file) and the run's."""
        settings, filing = self.settings, self.tracker_settings.filing()
        return {
            "dry_run": dry_run or settings.dry_run,
            "config_comment": filing.config_comment,
            "extra_labels": () if settings.label == defaults.LABEL else (settings.label,),
            "signing_key": self._signing_key(),
            "sla_days": settings.sla_days if filing.due_date else None,
            "field_names": filing.field_names,
        }

    def _signing_key(self) -> bytes | None:
        key = self.settings.signing_key
        return key.get_secret_value().encode() if key else None

    def resolve_trust(self) -> None:
        """Resolve the trusted authors to immutable ids, at the start of a command that judges by them (`run`,
        `report`): the tracker adapter names people by those ids from then on (`Tracker.trust`)."""
        if self.settings.trusted_authors:
            self.tracker.trust(self.settings.trusted_authors)

    def has_metrics(self) -> bool:
        """Whether the metrics settings were loaded (`metrics="if-set"` and no backend configured: not)."""
        return "metrics" in self._made

    def has_settings(self) -> bool:
        """Whether the run's settings were loaded (commands about the metrics backend alone do without)."""
        return "run" in self._made

    def give(self, settings: BaseSettings) -> None:
        """Use `settings` instead of reading them from the environment."""
        slot = next((slot for kind, slot in _SLOTS if isinstance(settings, kind)), None)
        if slot is None:
            raise TypeError(f"{type(settings).__name__} is not the settings of anything the app builds")
        self._made[slot] = settings
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
    only when one is configured: `MetricsSettings.configured`), checked at once; logging configured from RunSettings. Settings in
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
        if metrics is True or (metrics == "if-set" and MetricsSettings.configured()):
            check(lambda: context.metrics_settings)
        if problems:
            raise SettingsError(problems)
        if context.has_settings():
            settings = context.settings
            log_json = None if settings.log_format == "auto" else settings.log_format == "json"
            logs.configure(json=log_json, level=settings.log_level)
        yield context
