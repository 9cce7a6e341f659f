"""The configured CA bundle is the one TLS verification uses (#27): each server has a certificate of a private CA
made in the test, which no public bundle trusts. Without the bundle the run cannot talk to it (and writes nothing);
with `VERIFIER_TRACKER_CA_BUNDLE` / `VERIFIER_PROMETHEUS_CA_BUNDLE` naming the CA it judges as usual.

The servers are real: Prometheus with its own TLS (`--web.config.file`), the contract-validated sandbox trackers
serving HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from tests.adapters.conftest import _validated
from tests.e2e.seed import Desk, GitHubDesk, JiraDesk, Timeline, base_env, history, run_cli
from tests.integration.backends import PrometheusServer
from tests.tls import PrivateCA, private_ca
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.jira import JiraSandbox

pytestmark = pytest.mark.integration

# Many images name the OS bundle in these (this machine's does): requests would let them replace the configured
# bundle (psf/requests#3829). The configured one must win; with none configured, the environment's applies.
_ENV_BUNDLES = {"REQUESTS_CA_BUNDLE": certifi.where(), "CURL_CA_BUNDLE": certifi.where()}


def env_for(metrics_url: str, desk: Desk, **extra: str) -> dict[str, str]:
    return {**base_env(metrics_url), **desk.env(), "VERIFIER_PROMETHEUS_RETRIES": "0", **_ENV_BUNDLES, **extra}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_prometheus(ca: PrivateCA, t: Timeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    workdir = tmp_path_factory.mktemp("tls-prometheus")
    web = workdir / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {ca.cert}\n  key_file: {ca.key}\n")
    server = PrometheusServer(workdir, extra_args=[f"--web.config.file={web}"])
    server.scheme, server.verify = "https", str(ca.ca_bundle)
    server.load(history(t))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_prometheus_ca_bundle_is_the_one_tls_verification_uses(
    jira_desk: Desk, tls_prometheus: PrometheusServer, ca: PrivateCA, t: Timeline
) -> None:
    assert tls_prometheus.url.startswith("https://")
    held = jira_desk.seed(t, ["held"])["held"]
    env = env_for(tls_prometheus.url, jira_desk)

    refused = run_cli(env)

    assert "VERIFIED" not in refused.line(held), refused.line(held)
    assert "certificate verify failed" in refused.line(held), refused.line(held)
    assert jira_desk.state(held).bot_comments == ()  # a backend that failed: nothing written

    trusted = run_cli({**env, "VERIFIER_PROMETHEUS_CA_BUNDLE": str(ca.ca_bundle)})

    assert trusted.code == 0, trusted
    assert " VERIFIED " in trusted.line(held) + " ", trusted.line(held)
    assert "verified-by-otel" in jira_desk.state(held).labels


@pytest.fixture(params=["jira", "github"])
def tls_desk(request: pytest.FixtureRequest, ca: PrivateCA) -> Iterator[Desk]:
    if request.param == "jira":
        jira = JiraSandbox("cloud").use_tls(ca.server_context())
        for _ in _validated(jira, request.getfixturevalue("jira_contract")):
            yield JiraDesk(jira)
    else:
        github = GitHubSandbox().use_tls(ca.server_context())
        for _ in _validated(github, request.getfixturevalue("github_contract")):
            yield GitHubDesk(github)


def test_the_tracker_ca_bundle_is_the_one_tls_verification_uses(
    tls_desk: Desk, live_prometheus: PrometheusServer, ca: PrivateCA, t: Timeline, tmp_path: Path
) -> None:
    assert tls_desk.server.root.startswith("https://")
    held = tls_desk.seed(t, ["held"])["held"]
    env = env_for(live_prometheus.url, tls_desk, VERIFIER_TRACKER_TIMEOUT_SECONDS="5")
    other = private_ca(tmp_path / "other")  # a bundle, but not the one that signed the server's certificate

    for bundle in (None, other.ca_bundle):
        refused = run_cli({**env, **({"VERIFIER_TRACKER_CA_BUNDLE": str(bundle)} if bundle else {})})
        assert refused.code != 0, refused
        assert "signing in to the tracker failed" in refused.out and "SSLError" in refused.out, refused
        assert tls_desk.writes() == 0 and tls_desk.state(held).bot_comments == ()

    trusted = run_cli({**env, "VERIFIER_TRACKER_CA_BUNDLE": str(ca.ca_bundle)})

    assert trusted.code == 0, trusted
    assert " VERIFIED " in trusted.line(held) + " ", trusted.line(held)
    assert "verified-by-otel" in tls_desk.state(held).labels
