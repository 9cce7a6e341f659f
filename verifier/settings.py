"""Settings from the environment (prefix `VERIFIER_`) and from a mounted secrets directory.

One class per external system, built on that system's connection model (`verifier.connections`): the model
declares, defaults and checks each field once; the settings class adds only where the values come from. So adding a
field is one line in the right class (a connection field in the connection model); its variable name, its check,
its error message and, for a `SecretStr`, its redaction in the logs follow.

    RunSettings         VERIFIER_*             which tracker, what the run looks at and may write, logging
    JiraSettings        VERIFIER_JIRA_*        JiraConnection (+ VERIFIER_TRACKER_{VERIFY_TLS,CA_BUNDLE,TIMEOUT_SECONDS})
    GitHubSettings      VERIFIER_GITHUB_*      GitHubConnection (+ the same three)
    MetricsSettings     VERIFIER_PROMETHEUS_*  PrometheusConnection

Each secret can also be a file named like its variable (`VERIFIER_JIRA_API_TOKEN`, any case) in the directory
`VERIFIER_SECRETS_DIR` names (default `/var/run/secrets/action-item-verifier`), as a Kubernetes secret volume
mounts them. A bad or missing setting raises `SettingsError` naming every field at fault, by its variable name.
"""

from __future__ import annotations

import os
import re
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    AliasChoices,
    AliasGenerator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from verifier import defaults
from verifier.connections import CommaList, GitHubConnection, JiraConnection, PrometheusConnection, priority_map
from verifier.errors import SettingsError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from verifier.ports import Tracker

S = TypeVar("S", bound=BaseSettings)


class _Secrets:
    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor: each `SecretStr` field, whatever its name."""
        return [v.get_secret_value() for v in vars(self).values() if isinstance(v, SecretStr)]


class MetricsSettings(PrometheusConnection, BaseSettings, _Secrets):
    """`VERIFIER_PROMETHEUS_*`: the Prometheus-compatible query API (fields as `PrometheusConnection`)."""

    model_config = SettingsConfigDict(
        env_prefix="VERIFIER_PROMETHEUS_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    accept_warnings: bool = False  # judge answers that carry warnings (Thanos partial responses) anyway
    # Evidence links in result comments: a Prometheus-style graph UI (default: the query URL), or Grafana Explore.
    graph_url: str | None = Field(default=None, validation_alias=AliasChoices("VERIFIER_GRAPH_URL", "graph_url"))
    grafana_url: str | None = Field(default=None, validation_alias=AliasChoices("VERIFIER_GRAFANA_URL", "grafana_url"))
    grafana_datasource_uid: str | None = Field(
        default=None,
        validation_alias=AliasChoices("VERIFIER_GRAFANA_DATASOURCE_UID", "grafana_datasource_uid"),
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
    )
    sparkline: bool = Field(default=True, validation_alias=AliasChoices("VERIFIER_SPARKLINE", "sparkline"))

    @classmethod
    def configured(cls) -> bool:
        """Whether the environment names a backend (its URL variable is set): commands that can do without
        metrics (`file`) load these settings only then."""
        return bool(os.environ.get(cls.model_config["env_prefix"] + "URL"))

    @field_validator("graph_url", "grafana_url")
    @classmethod
    def _check_link_url(cls, url: str | None) -> str | None:
        """Links go into comments anyone can read: no credentials, nothing that could break out of the link."""
        if url is not None and not re.fullmatch(r"https?://[A-Za-z0-9.\-:]+(/[A-Za-z0-9._~%/\-]*)?", url):
            raise ValueError("must be http(s)://host[:port][/path], without credentials, query or fragment")
        return url.rstrip("/") if url else url


#: Connection fields both trackers read from `VERIFIER_TRACKER_*` rather than their own prefix.
_TRACKER_WIDE = frozenset({"verify_tls", "ca_bundle", "timeout_seconds"})


def _tracker_config(prefix: str, seed_names: dict[str, tuple[str, ...]], field_names: dict[str, str]) -> Any:
    """Settings config for a tracker: `<prefix><FIELD>` (or `VERIFIER_TRACKER_<FIELD>`), plus the seed's names.

    Variables only; a field's bare name is never read from the environment (a stray `URL` must not count).
    """

    def names(field: str) -> AliasChoices:
        own = prefix
        if field in _TRACKER_WIDE:
            own = "VERIFIER_TRACKER_"  # pragma: no mutate (variables are read ignoring case: lowercase is the same)
        return AliasChoices(own + field_names.get(field, field).upper(), *seed_names.get(field, ()))

    return SettingsConfigDict(
        extra="ignore",  # pragma: no mutate (an `extra` of None is pydantic's default, which is "ignore")
        frozen=True,
        hide_input_in_errors=True,  # inputs hold secrets
        alias_generator=AliasGenerator(validation_alias=names),
        populate_by_name=True,  # tests and code may pass fields by name
        enable_decoding=False,  # lists and maps are written `a,b` and `P0=x,P1=y`, parsed by the validators
    )


@dataclass(frozen=True)
class FilingOptions:
    """What a tracker's settings say about filing (`file`)."""

    config_comment: bool = False  # also write the seed's "Automated Verification Config" comment
    due_date: bool = False  # set each ticket's due date from its priority's SLA (`VERIFIER_SLA_DAYS`)
    field_names: frozenset[str] | None = None  # the custom fields an item may set; None: the tracker has none


class TrackerSettings(BaseSettings, _Secrets):
    """What every tracker's settings answer, so that the composition root and the CLI ask and never branch on
    which tracker it is. A tracker's settings class is built on its connection model and this; it is registered
    by one line in `TRACKERS` (docs/extending.md)."""

    #: The tracker's name in messages ("GitHub refuses labels over 50").
    display_name: ClassVar[str]
    #: How a problem across fields names the tracker's variables: `VERIFIER_JIRA_*`.
    family: ClassVar[str]
    #: Whether people's names compare without case (GitHub logins) or exactly (Jira account ids, user keys):
    #: the trusted authors are written the way the adapter gives names.
    fold_authors: ClassVar[bool]
    #: The longest label the tracker takes (None: no limit worth checking); longer run labels are refused at once.
    label_max: ClassVar[int | None] = None

    # Fields by name in code (`populate_by_name`), but only by their variables in the environment and the secrets
    # directory: pydantic-settings would otherwise read a bare `URL`, `TOKEN` or `PROJECT` as a field.
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Both keys: releases older than pydantic 2.11's `validate_by_name` read only `populate_by_name`; the locked
        # one reads `validate_by_name` first, so either alone is enough there and a slip in one is invisible.
        for source in (env_settings, dotenv_settings, file_secret_settings):
            source.config = {**source.config, "populate_by_name": False, "validate_by_name": False}  # pragma: no mutate
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    def for_run(self, run: RunSettings) -> Self:
        """These settings as the run needs them (GitHub: reading who added the verified and failed labels)."""
        return self

    @abstractmethod
    def not_a_fix(self) -> frozenset[str]:
        """The resolutions (Jira) or closing reasons (GitHub) that mean the ticket was closed without a fix."""

    @abstractmethod
    def filing(self) -> FilingOptions:
        """How `file` files with these settings; SettingsError when they cannot file at all."""

    @abstractmethod
    def build(self) -> Tracker:
        """The adapter these settings build (its client imported only now: commands that need none start fast)."""


class JiraSettings(JiraConnection, TrackerSettings):
    """`VERIFIER_JIRA_*`: Cloud (email + API token) or Data Center (personal access token). The seed's
    `JIRA_BASE_URL`, `JIRA_EMAIL` and `JIRA_API_TOKEN` work too."""

    display_name = "Jira"
    family = "VERIFIER_JIRA_*"
    fold_authors = False

    model_config = _tracker_config(
        "VERIFIER_JIRA_",
        {"url": ("JIRA_BASE_URL",), "email": ("JIRA_EMAIL",), "api_token": ("JIRA_API_TOKEN",)},
        {"custom_fields": "fields"},
    )

    seed_comment: bool = True  # filing: also write the seed's "Automated Verification Config" comment
    due_date: bool = True  # filing: set `duedate` from the priority's SLA (off where the screen lacks Due Date)

    def not_a_fix(self) -> frozenset[str]:
        return frozenset(self.not_fix_resolutions)

    def filing(self) -> FilingOptions:
        if not self.project:
            raise SettingsError(["VERIFIER_JIRA_PROJECT: the project to file the action items in is required"])
        return FilingOptions(
            config_comment=self.seed_comment, due_date=self.due_date, field_names=frozenset(self.custom_fields)
        )

    def build(self) -> Tracker:
        from verifier.adapters.jira import JiraTracker

        return JiraTracker(self)


class GitHubSettings(GitHubConnection, TrackerSettings):
    """`VERIFIER_GITHUB_*`: a token or a GitHub App; GitHub Enterprise Server through the API URL."""

    model_config = _tracker_config("VERIFIER_GITHUB_", {}, {"repositories": "repository"})

    display_name = "GitHub"
    family = "VERIFIER_GITHUB_*"
    fold_authors = True  # logins are case-insensitive: the adapter gives them in lower case
    label_max = defaults.GITHUB_LABEL_MAX

    def for_run(self, run: RunSettings) -> Self:
        return self.judging((run.verified_label, run.failed_label))

    def not_a_fix(self) -> frozenset[str]:
        return frozenset(defaults.GITHUB_NOT_A_FIX)

    def filing(self) -> FilingOptions:
        return FilingOptions(config_comment=False)  # the seed's GitHub filing writes no config comment

    def build(self) -> Tracker:
        from verifier.adapters.github import GitHubTracker

        return GitHubTracker(self)


#: Every tracker, by its `VERIFIER_TRACKER` name: one line each (docs/extending.md).
TRACKERS: dict[str, type[TrackerSettings]] = {"jira": JiraSettings, "github": GitHubSettings}


class RunSettings(BaseSettings, _Secrets):
    """`VERIFIER_*`: which tracker, what the run looks at, and how much it may write."""

    model_config = SettingsConfigDict(
        env_prefix="VERIFIER_", extra="ignore", frozen=True, hide_input_in_errors=True, populate_by_name=True
    )

    tracker: str  # a name in TRACKERS
    # The run.
    label: str = defaults.LABEL
    verified_label: str = defaults.VERIFIED_LABEL
    failed_label: str = defaults.FAILED_LABEL
    inconclusive_label: str = defaults.INCONCLUSIVE_LABEL
    invalid_label: str = defaults.INVALID_LABEL
    lookback_days: int = Field(default=defaults.LOOKBACK_DAYS, ge=1, le=3650)
    # Late OTLP batches and out-of-order samples: a window is judged once its end is this many seconds old.
    settle_seconds: int = Field(default=defaults.SETTLE_SECONDS, ge=0, le=86400)
    recheck_action: Literal["comment", "reopen"] = defaults.RECHECK_ACTION  # a re-check's regression (#24)
    concurrency: int = Field(default=defaults.CONCURRENCY, ge=1, le=defaults.MAX_CONCURRENCY)
    run_deadline_seconds: float = Field(default=defaults.RUN_DEADLINE_SECONDS, ge=0)  # 0: none
    max_writes: int = Field(default=defaults.MAX_WRITES, ge=0)
    dry_run: bool = False
    trusted_authors: Annotated[CommaList, NoDecode] = ()
    rejudge: bool = False  # judge tickets judged elsewhere (the article's script, a person) all the same
    run_interval_seconds: int = Field(default=defaults.RUN_INTERVAL_SECONDS, ge=60)  # the dry run's plan
    # Open action items: days each priority may stay open (`report`, reminders), and whether `run` reminds.
    sla_days: Annotated[dict[str, int], NoDecode] = Field(default_factory=lambda: dict(defaults.SLA_DAYS))
    overdue_reminders: bool = False
    pushgateway_url: str | None = None
    pushgateway_job: str = defaults.PUSHGATEWAY_JOB
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    # HMAC key for the tool's result markers (from the Secret); at least 32 characters.
    signing_key: SecretStr | None = Field(default=None, min_length=32)

    @field_validator("tracker")
    @classmethod
    def _known_tracker(cls, value: str) -> str:
        if value not in TRACKERS:
            raise ValueError("Input should be " + " or ".join(repr(name) for name in TRACKERS))
        return value

    @model_validator(mode="after")
    def _label_length(self) -> RunSettings:
        """A label longer than the tracker takes (GitHub: 50) would fail every write that adds it (422)."""
        tracker = TRACKERS[self.tracker]
        if tracker.label_max is not None:
            for name in ("label", "verified_label", "failed_label", "inconclusive_label", "invalid_label"):
                value = getattr(self, name)
                if len(value) > tracker.label_max:
                    raise ValueError(
                        f"VERIFIER_{name.upper()} has {len(value)} characters: {tracker.display_name} refuses "
                        f"labels over {tracker.label_max}"
                    )
        return self

    @field_validator("sla_days", mode="before")
    @classmethod
    def _sla_map(cls, value: Any) -> Any:
        """`P0=3,P1=7,P2=30,P3=90`; a priority left out keeps its default."""
        if not isinstance(value, str):
            return value
        return priority_map(value, "P0..P3=<days> (e.g. P0=3,P1=7,P2=30,P3=90)", lambda _, days: days.isdigit())

    @field_validator("sla_days")
    @classmethod
    def _sla_known(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(defaults.SLA_DAYS))
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r} (the priorities are {', '.join(defaults.SLA_DAYS)})")
        short = [key for key, days in value.items() if days < 1]
        if short:
            raise ValueError(f"{short[0]} must have at least 1 day")
        return {**defaults.SLA_DAYS, **value}


def tracker_settings(settings: RunSettings) -> TrackerSettings:
    """The configured tracker's settings, or SettingsError naming each variable at fault."""
    return load(TRACKERS[settings.tracker]).for_run(settings)


def load(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment and the secrets directory, or raise SettingsError naming each field."""
    secrets_dir = os.environ.get("VERIFIER_SECRETS_DIR", defaults.SECRETS_DIR)
    kwargs: dict[str, Any] = dict(overrides)
    try:
        if Path(secrets_dir).is_dir():  # raises when a directory above it may not be searched (not only read)
            kwargs["_secrets_dir"] = secrets_dir
        return cls(**kwargs)
    except ValidationError as error:
        raise SettingsError([_problem(cls, e) for e in error.errors()]) from None
    except (OSError, SourceError) as error:  # a secret volume the Pod's user may not read (fsGroup, modes)
        cause = error if isinstance(error, OSError) else error.__cause__
        if not isinstance(cause, OSError):
            raise
        where = cause.filename or secrets_dir
        raise SettingsError([f"VERIFIER_SECRETS_DIR: cannot read {where}: {cause.strerror or cause}"]) from None


def _problem(cls: type[BaseSettings], error: ErrorDetails) -> str:
    location = [str(part) for part in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    if not location:  # a check across fields (one sign-in method...): name the family of variables
        family = cls.family if issubclass(cls, TrackerSettings) else None
        return f"{family}: {message}" if family else message
    prefix = cls.model_config["env_prefix"]  # every settings class has one: BaseSettings' is ""
    name = location[0] if location[0].isupper() else prefix + location[0]
    return f"{name.upper()}: {message}"
