"""Settings from the environment (prefix `VERIFIER_`) and from a mounted secrets directory.

Each secret can also be a file named like its variable (`VERIFIER_JIRA_API_TOKEN`, any case) in the directory
`VERIFIER_SECRETS_DIR` names (default `/var/run/secrets/action-item-verifier`), as a Kubernetes secret volume
mounts them. A bad or missing setting raises `SettingsError` naming every field at fault, by its variable name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from verifier.adapters.prometheus import PrometheusConnection
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
    name = (prefix + location[0]).upper() if location else prefix.rstrip("_")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{name}: {message}"
