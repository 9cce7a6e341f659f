"""Safety defaults no other test held (#27): each of these was changed once and every test still passed.

Each test names the slip it catches; each was checked by making that slip."""

from __future__ import annotations

import base64
import os
import secrets

import pytest

from verifier import redaction
from verifier.bootstrap import app
from verifier.domain.actions import Labels
from verifier.redaction import MASK, redact
from verifier.services.run import RunOptions, policy_for


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path))


def _nested() -> list[str]:
    """Secrets each of which contains the one before (a token and the same token with a suffix, a password and
    the Basic header that embeds it...), unique to this test run."""
    core = secrets.token_hex(4)
    return [core, core + "-sfx1", core + "-sfx1-sfx2", core + "-sfx1-sfx2-sfx3", core + "-sfx1-sfx2-sfx3-end"]


def test_a_secret_containing_a_shorter_one_is_masked_whole_not_leaving_its_tail() -> None:
    """Slip: shortest first (or unsorted). The short secret would be masked inside the long one, and the long
    one's tail (`-sfx1-…-end`) would reach the output."""
    nested = _nested()
    text = f"a={nested[-1]} b={nested[2]} c={nested[0]}."
    assert redact(text, nested) == f"a={MASK} b={MASK} c={MASK}."
    assert redact(text, reversed(nested)) == f"a={MASK} b={MASK} c={MASK}."
    # The same through the registry every output uses.
    redaction.register(nested)
    assert redact(text) == f"a={MASK} b={MASK} c={MASK}."
    assert redaction.redact_data({"k": [text]}) == {"k": [f"a={MASK} b={MASK} c={MASK}."]}


def test_the_prometheus_basic_auth_header_from_the_environment_is_masked_in_every_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slip: `MetricsSettings.secrets()` without the Basic header. A backend or proxy that echoes the request's
    headers would print `Basic dXNlcjpwYXNz…` into logs and reports: the password is not in it literally."""
    user, password = "grafana-cloud-123", "glc_" + secrets.token_hex(12)
    header = base64.b64encode(f"{user}:{password}".encode()).decode()  # computed here, not by the code under test
    assert password not in header
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "https://prometheus.example")
    monkeypatch.setenv("VERIFIER_PROMETHEUS_USERNAME", user)
    monkeypatch.setenv("VERIFIER_PROMETHEUS_PASSWORD", password)
    echoed = f"401 Unauthorized: request had Authorization: Basic {header}"
    assert redact(echoed) == echoed  # not known before the settings are loaded
    with app(run=False, tracker=False, metrics=True) as context:
        assert context.metrics_settings.username == user
    assert redact(echoed) == f"401 Unauthorized: request had Authorization: Basic {MASK}"
    assert redact(f"pw {password}") == f"pw {MASK}"


def test_the_failed_label_counts_as_judged_elsewhere_not_only_the_verified_one() -> None:
    """Slip: `judged = {verified}`. A ticket labelled `verification-failed` by the article's script or a person
    would be judged again, and a second result posted."""
    own = frozenset({"bot"})
    assert policy_for(RunOptions(), own).judged_labels == {"verified-by-otel", "verification-failed"}
    labels = Labels(verified="otel-ok", failed="otel-bad", inconclusive="otel-unsure", invalid="otel-invalid")
    assert policy_for(RunOptions(labels=labels), own).judged_labels == {"otel-ok", "otel-bad"}


def test_a_prometheus_username_without_a_password_adds_no_basic_header() -> None:
    from verifier.settings import MetricsSettings

    settings = MetricsSettings(url="https://prometheus.example", username="only-a-user")
    assert settings.secrets() == []
