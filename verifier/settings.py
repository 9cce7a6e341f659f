"""Settings from the environment (prefix `VERIFIER_`) and from a mounted secrets directory.

Each secret can also be a file named like its variable (`VERIFIER_JIRA_API_TOKEN`, any case) in the directory
`VERIFIER_SECRETS_DIR` names (default `/var/run/secrets/action-item-verifier`), as a Kubernetes secret volume
mounts them. A bad or missing setting raises `SettingsError` naming every field at fault, by its variable name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from verifier.adapters.prometheus import PrometheusConnection
from verifier.domain.report import DEFAULT_SLA_DAYS
from verifier.errors import SettingsError

DEFAULT_SECRETS_DIR = "/var/run/secrets/action-item-verifier"

S = TypeVar("S", bound=BaseSettings)


class MetricsSettings(PrometheusConnection, BaseSettings):
    """`VERIFIER_PROMETHEUS_*`: the Prometheus-compatible query API (fields as `PrometheusConnection`)."""

    model_config = SettingsConfigDict(
        env_prefix="VERIFIER_PROMETHEUS_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    accept_warnings: bool = False  # judge answers that carry warnings (Thanos partial responses) anyway

    def connection(self) -> PrometheusConnection:
        return PrometheusConnection(**self.model_dump(exclude={"accept_warnings"}))

    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor."""
        return [v.get_secret_value() for v in (self.bearer_token, self.password) if v is not None]


CommaList = Annotated[tuple[str, ...], NoDecode]


def _env(*names: str) -> Any:
    """Field(...) reading the first of these variables (or secret files) that is set."""
    return Field(default=None, validation_alias=AliasChoices(*names))


class RunSettings(BaseSettings):
    """`VERIFIER_*`: the tracker, what the run looks at, and how much it may write."""

    model_config = SettingsConfigDict(
        env_prefix="VERIFIER_", extra="ignore", frozen=True, hide_input_in_errors=True, populate_by_name=True
    )

    tracker: Literal["jira", "github"]
    # Jira: Cloud (email + API token) or Data Center (personal access token). The seed's names work too.
    jira_url: str | None = _env("VERIFIER_JIRA_URL", "JIRA_BASE_URL")
    jira_email: str | None = _env("VERIFIER_JIRA_EMAIL", "JIRA_EMAIL")
    jira_api_token: SecretStr | None = _env("VERIFIER_JIRA_API_TOKEN", "JIRA_API_TOKEN")
    jira_pat: SecretStr | None = None
    jira_project: str | None = None
    jira_extra_jql: str | None = None
    jira_not_fix_resolutions: CommaList = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined")
    jira_reopen_transition: str | None = None
    # Filing action items in Jira (`file`): the issue type, P0-P3 -> priority name or id, the seed's comment.
    jira_issue_type: str = Field(default="Bug", min_length=1)
    jira_priorities: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    jira_seed_comment: bool = True
    # GitHub: a token or a GitHub App; GitHub Enterprise Server through the API URL.
    github_repository: CommaList = ()
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_app_id: int | None = None
    github_app_private_key: SecretStr | None = None
    github_installation_id: int | None = None
    github_app_slug: str | None = None  # the App's comments come from `<slug>[bot]`: trusted as the tool's own
    # Both trackers.
    tracker_verify_tls: bool = True
    tracker_ca_bundle: str | None = None
    tracker_timeout_seconds: float = Field(default=30, gt=0)
    # The run.
    label: str = "post-incident"
    verified_label: str = "verified-by-otel"
    failed_label: str = "verification-failed"
    inconclusive_label: str = "needs-human"
    invalid_label: str = "verification-config-invalid"
    lookback_days: int = Field(default=90, ge=1, le=3650)
    concurrency: int = Field(default=8, ge=1, le=64)
    max_writes: int = Field(default=200, ge=0)
    dry_run: bool = False
    trusted_authors: CommaList = ()
    rejudge: bool = False  # judge tickets judged elsewhere (the article's script, a person) all the same
    run_interval_seconds: int = Field(default=21600, ge=60)  # the schedule's interval: the dry run's plan
    # Open action items: days each priority may stay open (`report`, reminders), and whether `run` reminds.
    sla_days: Annotated[dict[str, int], NoDecode] = Field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    overdue_reminders: bool = False
    pushgateway_url: str | None = None
    pushgateway_job: str = "action-item-verifier"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("jira_not_fix_resolutions", "github_repository", "trusted_authors", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("jira_priorities", mode="before")
    @classmethod
    def _priority_map(cls, value: Any) -> Any:
        """`P0=Highest,P1=High,P2=3`: a name, or an id when all digits."""
        if not isinstance(value, str):
            return value
        mapping: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, name = part.partition("=")
            if not sep or key.strip().upper() not in ("P0", "P1", "P2", "P3") or not name.strip():
                raise ValueError(f"'{part}' is not P0..P3=<priority name or id> (e.g. P0=Highest,P1=High)")
            mapping[key.strip().upper()] = name.strip()
        return mapping

    @field_validator("sla_days", mode="before")
    @classmethod
    def _sla_map(cls, value: Any) -> Any:
        """`P0=3,P1=7,P2=30,P3=90`; a priority left out keeps its default."""
        if not isinstance(value, str):
            return value
        mapping: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, days = part.partition("=")
            if not sep or not days.strip().isdigit():
                raise ValueError(f"'{part}' is not P0..P3=<days> (e.g. P0=3,P1=7,P2=30,P3=90)")
            mapping[key.strip().upper()] = days.strip()
        return mapping

    @field_validator("sla_days")
    @classmethod
    def _sla_known(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(DEFAULT_SLA_DAYS))
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r} (the priorities are {', '.join(DEFAULT_SLA_DAYS)})")
        short = [key for key, days in value.items() if days < 1]
        if short:
            raise ValueError(f"{short[0]} must have at least 1 day")
        return {**DEFAULT_SLA_DAYS, **value}

    @field_validator("github_repository")
    @classmethod
    def _owner_repo(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if v.count("/") != 1 or v.startswith("/") or v.endswith("/")]
        if bad:
            raise ValueError(f"expected owner/repo, got {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _tracker_complete(self) -> RunSettings:
        if self.tracker == "jira" and not self.jira_url:
            raise ValueError("VERIFIER_JIRA_URL (or JIRA_BASE_URL) is required when VERIFIER_TRACKER=jira")
        if self.tracker == "github" and not self.github_repository:
            raise ValueError("VERIFIER_GITHUB_REPOSITORY is required when VERIFIER_TRACKER=github")
        return self

    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor."""
        values = (self.jira_api_token, self.jira_pat, self.github_token, self.github_app_private_key)
        return [v.get_secret_value() for v in values if v is not None]


def load(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment and the secrets directory, or raise SettingsError naming each field."""
    secrets_dir = os.environ.get("VERIFIER_SECRETS_DIR", DEFAULT_SECRETS_DIR)
    kwargs: dict[str, Any] = dict(overrides)
    if Path(secrets_dir).is_dir():
        kwargs["_secrets_dir"] = secrets_dir
    try:
        return cls(**kwargs)
    except ValidationError as error:
        raise SettingsError([_problem(cls, e) for e in error.errors()]) from None


def _problem(cls: type[BaseSettings], error: Any) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    location = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not location:  # a check across fields: its message names them
        return message
    name = location[0] if location[0].isupper() else prefix + location[0]
    return f"{name.upper()}: {message}"
