"""Where each external system is and how to sign in to it: one pydantic model per system, validated once.

The adapters take these; `settings.py` builds its settings classes on them (adding only where each value comes
from), so a field is declared, defaulted and checked in one place. No I/O here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from verifier import defaults
from verifier.defaults import PRIORITIES
from verifier.domain.item_fields import FIELD_NAME
from verifier.redaction import basic_auth

__all__ = ["GitHubConnection", "JiraConnection", "PrometheusConnection", "comma_list"]


def comma_list(value: Any) -> Any:
    """`a, b` (as a setting is written) as the tuple `("a", "b")`; anything else as it is."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


#: A tuple that may also be given as comma-separated text.
CommaList = Annotated[tuple[str, ...], BeforeValidator(comma_list)]


def priority_map(value: str, form: str, accept: Callable[[str, str], bool]) -> dict[str, str]:
    """`P0=a,P1=b` (as a setting is written: a priority's value for some priorities) as {"P0": "a", "P1": "b"},
    keys in upper case; a part without `=`, or one `accept(key, value)` refuses, is an error showing `form`."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        key, sep, text = part.partition("=")
        key, text = key.strip().upper(), text.strip()
        if not sep or not accept(key, text):
            raise ValueError(f"'{part}' is not {form}")
        mapping[key] = text
    return mapping


class PrometheusConnection(BaseModel):
    """Where and how to reach the query API. `url` may carry a path prefix (Mimir: `https://host/prometheus`)."""

    # hide_input_in_errors: a validation error would otherwise print the raw input, secrets included.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str
    bearer_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify_tls: bool = True
    timeout_seconds: float = Field(default=defaults.TIMEOUT_SECONDS, gt=0)
    query_timeout: str | None = None
    retries: int = Field(default=defaults.METRICS_RETRIES, ge=0)
    backoff_seconds: float = Field(default=defaults.METRICS_BACKOFF_SECONDS, ge=0)

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^/@?#\s]+(/[^?#\s]*)?", url):
            raise ValueError("must be http(s)://host[:port][/path prefix], without credentials, query or fragment")
        return url.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        if any(name.lower() == "authorization" for name in headers):
            raise ValueError("Authorization is set through bearer_token or username/password, not headers")
        return headers

    def secrets(self) -> list[str]:
        """What this connection sends that no output may show and no answer may repeat back into a comment or a
        report: the token or password, the Basic header they make, and every header value."""
        values = [v.get_secret_value() for v in (self.bearer_token, self.password) if v is not None]
        if self.username is not None and self.password is not None:
            values.append(basic_auth(self.username, self.password.get_secret_value()))
        return [*values, *self.headers.values()]

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if self.bearer_token is not None and (self.username is not None or self.password is not None):
            raise ValueError("bearer_token and username/password are mutually exclusive: set one or the other")
        if self.password is not None and self.username is None:
            raise ValueError("password is set but username is not")
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key is set but client_cert is not")
        return self


class JiraConnection(BaseModel):
    """Where the Jira is and how to sign in: email + API token (Cloud) or a personal access token (Data Center)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)  # inputs hold secrets

    url: str  # the site (`https://acme.atlassian.net`): links in comments, reports and filing output use it
    email: str | None = None
    api_token: SecretStr | None = None
    pat: SecretStr | None = None
    # Scoped API tokens (Cloud) work only through the API gateway: with a cloud id every API call goes to
    # `<api_gateway_url>/ex/jira/<cloud_id>/rest/api/...` (the id is at `<site>/_edge/tenant_info`).
    cloud_id: str | None = Field(
        default=None, pattern=r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )
    api_gateway_url: str = defaults.JIRA_API_GATEWAY_URL
    project: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]+$")
    extra_jql: str | None = None
    not_fix_resolutions: CommaList = defaults.JIRA_NOT_A_FIX
    reopen_transition: str | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=defaults.TIMEOUT_SECONDS, gt=0)
    # Filing action items.
    issue_type: str = Field(default=defaults.JIRA_ISSUE_TYPE, min_length=1)  # a name, or an id when all digits
    priorities: Mapping[str, str] = Field(
        default_factory=lambda: dict(defaults.JIRA_PRIORITIES)
    )  # P0..P3 -> name or id
    # The action-items file's `fields:` names -> Jira custom field ids (VERIFIER_JIRA_FIELDS).
    custom_fields: Mapping[str, str] = Field(default_factory=dict)

    @field_validator("url", "api_gateway_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")

    @property
    def api_url(self) -> str:
        """Where the REST API v2 is: the site, or the API gateway for the cloud id."""
        if self.cloud_id is not None:
            return f"{self.api_gateway_url}/ex/jira/{self.cloud_id}/rest/api/2/"
        return f"{self.url}/rest/api/2/"

    @field_validator("priorities", mode="before")
    @classmethod
    def _priority_text(cls, value: Any) -> Any:
        """`P0=Highest,P1=High,P2=3` (as a setting is written): a name, or an id when all digits."""
        if not isinstance(value, str):
            return value
        form = "P0..P3=<priority name or id> (e.g. P0=Highest,P1=High)"
        return priority_map(value, form, lambda key, name: key in PRIORITIES and bool(name))

    @field_validator("priorities")
    @classmethod
    def _priorities(cls, value: Mapping[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priority {unknown[0]!r} (the file's priorities are {', '.join(PRIORITIES)})")
        empty = [key for key, name in value.items() if not name.strip()]
        if empty:
            raise ValueError(f"{empty[0]} maps to an empty priority")
        return {**defaults.JIRA_PRIORITIES, **{key: name.strip() for key, name in value.items()}}

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _custom_field_text(cls, value: Any) -> Any:
        """A JSON object (`{"team": "customfield_10042"}`, as pydantic-settings reads a map) or, like the other
        maps here, `team=customfield_10042,story_points=customfield_10016`."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            try:
                return json.loads(value)
            except ValueError as error:
                raise ValueError(f"is not a JSON object: {error}") from None
        mapping: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, field_id = part.partition("=")
            if not sep:
                raise ValueError(f"'{part}' is not <name>=customfield_<id> (e.g. team=customfield_10042)")
            mapping[name.strip()] = field_id.strip()
        return mapping

    @field_validator("custom_fields")
    @classmethod
    def _custom_fields(cls, value: Mapping[str, str]) -> dict[str, str]:
        """Only custom fields: the fields `file` writes itself (summary, description, labels...) stay its own."""
        if len(value) > 100:
            raise ValueError(f"maps {len(value)} fields; at most 100")
        for name, field_id in value.items():
            if not FIELD_NAME.match(name):
                raise ValueError(f"'{name[:64]}' is not a field name (lower-case letters, digits and _)")
            if not re.fullmatch(r"customfield_\d{1,12}", field_id):
                raise ValueError(f"{name} maps to '{field_id[:64]}': only custom fields (customfield_<id>)")
        return dict(value)

    @field_validator("extra_jql")
    @classmethod
    def _no_order_by(cls, value: str | None) -> str | None:
        if value is not None and "order by" in " ".join(value.lower().split()):
            raise ValueError("must not contain ORDER BY (it is AND-ed into the search)")
        return value

    @model_validator(mode="after")
    def _one_auth_method(self) -> JiraConnection:
        basic = {"email": self.email, "api_token": self.api_token}
        if self.pat is not None and self.cloud_id is not None:
            raise ValueError("cloud_id is for Jira Cloud's scoped API tokens (email + api_token), not a pat")
        if self.pat is not None and any(v is not None for v in basic.values()):
            raise ValueError("set either email + api_token (Jira Cloud) or pat (Data Center), not both")
        if self.pat is None:
            missing = [name for name, value in basic.items() if value is None]
            if missing:
                raise ValueError(
                    f"missing {' and '.join(missing)}: Jira Cloud needs email + api_token, Data Center needs pat"
                )
        for name in ("api_token", "pat"):
            secret = getattr(self, name)
            if secret is not None and not secret.get_secret_value().strip():
                raise ValueError(f"{name} is empty")
        return self


class GitHubConnection(BaseModel):
    """Where the issues are and how to sign in: a token, or a GitHub App installation."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)  # inputs hold secrets

    api_url: str = defaults.GITHUB_API_URL
    repositories: CommaList = Field(min_length=1)
    token: SecretStr | None = None
    app_id: int | str | None = Field(default=None, union_mode="left_to_right")  # a number, or a client ID
    app_private_key: SecretStr | None = None
    installation_id: int | None = None
    app_slug: str | None = None  # the App's login is "<app_slug>[bot]"; read from GET /app when not set
    # The verified and failed labels (VERIFIER_VERIFIED_LABEL / VERIFIER_FAILED_LABEL, set by `judging`): an issue
    # carrying one has its `labeled` events read, to know who added it. Not a setting of its own.
    _judgement_labels: tuple[str, ...] = PrivateAttr(default=(defaults.VERIFIED_LABEL, defaults.FAILED_LABEL))
    verify_tls: bool = True
    ca_bundle: Path | None = None
    timeout_seconds: float = Field(default=defaults.TIMEOUT_SECONDS, gt=0)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")

    @property
    def judgement_labels(self) -> tuple[str, ...]:
        return self._judgement_labels

    def judging(self, labels: tuple[str, ...]) -> Self:
        """The same connection, reading who added `labels` (the verified and failed labels)."""
        copy = self.model_copy()
        copy._judgement_labels = labels
        return copy

    @field_validator("repositories")
    @classmethod
    def _owner_repo(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [r for r in value if not re.fullmatch(r"[\w.-]+/[\w.-]+", r)]
        if wrong:
            raise ValueError(f"expected owner/repo, got {', '.join(wrong)}")
        return value

    @model_validator(mode="after")
    def _one_auth_method(self) -> GitHubConnection:
        app = {"app_id": self.app_id, "app_private_key": self.app_private_key, "installation_id": self.installation_id}
        uses_app = any(v is not None for v in app.values())
        if self.token is not None and uses_app:
            raise ValueError("set either token or app_id + app_private_key + installation_id, not both")
        if self.token is None and not uses_app:
            raise ValueError("missing token (or app_id + app_private_key + installation_id for a GitHub App)")
        missing = [name for name, value in app.items() if value is None]
        if uses_app and missing:
            raise ValueError(
                f"missing {', '.join(missing)}: a GitHub App needs app_id, app_private_key, installation_id"
            )
        if self.app_private_key is not None:
            from cryptography.exceptions import UnsupportedAlgorithm  # only GitHub Apps pay for importing it
            from cryptography.hazmat.primitives import serialization

            try:
                serialization.load_pem_private_key(self.app_private_key.get_secret_value().encode(), password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                raise ValueError("app_private_key is not an unencrypted PEM private key") from None
        return self
