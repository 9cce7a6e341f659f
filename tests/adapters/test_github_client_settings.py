"""The GitHub client's settings reaching the requests it sends, and who the tool is, in-process through the real
PyGithub client against the GitHub sandbox (#27: written from adapters.github's mutation pass): the configured CA
bundle is the one TLS trusts (the environment's `REQUESTS_CA_BUNDLE` does not replace it), `verify_tls=false`
reads a server whatever its certificate, REST listings ask for GitHub's largest page, and the tool's own login is
known in lower case whatever case GitHub shows it in. Every exchange is held to GitHub's API description.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from tests.adapters.contract import ContractValidator
from tests.adapters.test_github_adapter import LABEL, REPO, app_key, connect, tracker
from tests.tls import PrivateCA, private_ca
from verifier import defaults
from verifier.adapters.github import GitHubTracker
from verifier.errors import TrackerError
from verifier_sandbox.github import GitHubSandbox

__all__ = ["app_key"]  # the fixture, shared with test_github_adapter.py


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_github(
    ca: PrivateCA, monkeypatch: pytest.MonkeyPatch, github_contract: ContractValidator
) -> Iterator[GitHubSandbox]:
    """GitHub Enterprise Server behind a private CA, on a machine whose environment names the public bundle."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    server = GitHubSandbox().use_tls(ca.server_context())
    server.on_exchange(github_contract)
    with server:
        yield server
    assert not github_contract.violations, github_contract.violations


def test_the_configured_ca_bundle_is_the_one_tls_trusts(tls_github: GitHubSandbox, ca: PrivateCA) -> None:
    number = tls_github.add_issue(REPO, labels=[LABEL], state="closed")
    assert tls_github.url.startswith("https://")

    found = tracker(tls_github, ca_bundle=str(ca.ca_bundle)).resolved_tickets(LABEL, 7)
    assert [t.key for t in found] == [f"{REPO}#{number}"]

    with pytest.raises(TrackerError, match=r"SSLError|CERTIFICATE_VERIFY_FAILED"):
        tracker(tls_github).account()  # no bundle: the environment's public CAs, which refuse it
    other = private_ca(Path(ca.ca_bundle).parent / "other")
    with pytest.raises(TrackerError, match=r"SSLError|CERTIFICATE_VERIFY_FAILED"):
        tracker(tls_github, ca_bundle=str(other.ca_bundle)).account()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_tls_off_reads_the_server_whatever_its_certificate(tls_github: GitHubSandbox) -> None:
    assert tracker(tls_github, verify_tls=False).account() == tls_github.login


def test_rest_listings_ask_for_githubs_largest_page(github: GitHubSandbox) -> None:
    github.add_issue(REPO, title="x")
    tracker(github).find_filed("INC-1", "0" * 16)
    (listing,) = [r for r in github.requests if r.path == f"/repos/{REPO}/issues"]
    assert (listing.param("per_page"), listing.param("labels"), listing.param("state")) == (
        "100",
        "incident:INC-1",
        "all",
    )


def test_the_tools_own_login_is_known_in_lower_case(app_key: str) -> None:
    with GitHubSandbox(login="Verifier-Bot", app_slug="Verifier-App") as github:
        assert tracker(github).account() == "verifier-bot"
        app = {"token": None, "app_id": github.app_id, "app_private_key": app_key, "installation_id": 1}
        assert tracker(github, **app).account() == "verifier-app[bot]"  # learnt from GET /app
        assert tracker(github, **app, app_slug="Configured-App").account() == "configured-app[bot]"


def test_without_a_pacer_of_its_own_the_trackers_sleep_paces_its_writes(github: GitHubSandbox) -> None:
    """As the CLI builds it (no pacer given): two comments at once, the second waits the writes' interval, slept
    with the tracker's own `sleep`."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    naps: list[float] = []
    client = GitHubTracker(connect(github), sleep=naps.append)
    client.comment(f"{REPO}#{number}", "first")
    client.comment(f"{REPO}#{number}", "second")
    assert len(naps) == 1 and 0 < naps[0] <= defaults.GITHUB_WRITE_INTERVAL_SECONDS
    assert [c.body for c in github.issue(REPO, number).comments] == ["first", "second"]


def test_the_rate_limit_wait_and_the_backoff_reach_the_retry_rule(github: GitHubSandbox) -> None:
    """As the CLI builds it, a rate limit may ask for up to GitHub's own cap (300 s), not the trackers' minute;
    a tracker given a backoff waits it, doubling, after a 5xx."""
    number = github.add_issue(REPO, labels=[LABEL], state="closed")
    naps: list[float] = []
    client = GitHubTracker(connect(github), sleep=naps.append)
    github.throttle(times=1, status=429, retry_after=240)
    assert client.get_ticket(f"{REPO}#{number}").key == f"{REPO}#{number}"
    assert naps == [240.0]

    sleeps: list[float] = []
    github.fail(times=3, status=502)
    assert tracker(github, sleeps).get_ticket(f"{REPO}#{number}").key == f"{REPO}#{number}"  # backoff 0.01
    assert sleeps == [0.02, 0.04]
