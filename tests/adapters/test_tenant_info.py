"""`doctor` reads a Jira Cloud site's public `/_edge/tenant_info` to check `VERIFIER_JIRA_CLOUD_ID`
(`verifier.adapters.access.tenant_info`): the site is a backend like any other, so the read follows no redirect,
trusts the tracker's CA bundle (or `verify=False`) and nothing else, and ends at the tracker's deadline and the
guarded transport's caps, each refusal one line naming the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from tests.tls import PrivateCA, private_ca
from verifier.adapters.access import tenant_info
from verifier.errors import TrackerError
from verifier_sandbox.http import Reply
from verifier_sandbox.jira import JiraSandbox

OTHER_CLOUD_ID = "0b7e6a52-1b2c-4d3e-8f90-123456789abc"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_site(ca: PrivateCA, monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraSandbox]:
    # Many images name the system's bundle here; requests lets it replace a session's own `verify`.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with JiraSandbox("cloud").use_tls(ca.server_context()) as site:
        yield site


def is_tenant_info(request: object) -> bool:
    return getattr(request, "path", None) == "/_edge/tenant_info"


def test_the_site_names_its_cloud_id(jira_cloud: JiraSandbox) -> None:
    assert tenant_info(jira_cloud.url, None, 5.0) == {"cloudId": jira_cloud.cloud_id}
    [asked] = jira_cloud.requests
    assert (asked.method, asked.path) == ("GET", "/_edge/tenant_info")


def test_a_redirect_is_not_followed(jira_cloud: JiraSandbox) -> None:
    """A site that sends the check elsewhere (another tenant's site) is not taken at its word: the redirect itself
    is the answer, and it names no cloud id."""
    with JiraSandbox("cloud", cloud_id=OTHER_CLOUD_ID) as elsewhere:
        moved = Reply.empty(302, [("Location", f"{elsewhere.url}/_edge/tenant_info")])
        jira_cloud.faults.inject(moved, match=is_tenant_info)
        with pytest.raises(TrackerError) as raised:
            tenant_info(jira_cloud.url, None, 5.0)
        assert elsewhere.requests == []
    assert str(raised.value).startswith(f"GET {jira_cloud.url}/_edge/tenant_info: JSONDecodeError: ")


def test_a_private_ca_is_trusted_only_from_the_bundle_given(tls_site: JiraSandbox, ca: PrivateCA) -> None:
    assert tenant_info(tls_site.url, str(ca.ca_bundle), 5.0) == {"cloudId": tls_site.cloud_id}
    with pytest.raises(TrackerError) as raised:
        tenant_info(tls_site.url, None, 5.0)  # no bundle: the system's CAs, which do not know this one
    assert str(raised.value).startswith(f"GET {tls_site.url}/_edge/tenant_info: SSLError: ")
    other = private_ca(Path(ca.ca_bundle).parent / "other")
    with pytest.raises(TrackerError, match=r"^GET https://[^ ]+/_edge/tenant_info: SSLError: "):
        tenant_info(tls_site.url, str(other.ca_bundle), 5.0)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_reads_the_site_whatever_its_certificate(tls_site: JiraSandbox) -> None:
    assert tenant_info(tls_site.url, False, 5.0) == {"cloudId": tls_site.cloud_id}


def test_a_slow_site_ends_at_the_deadline(jira_cloud: JiraSandbox) -> None:
    jira_cloud.set_latency(3.0)
    started = time.monotonic()
    with pytest.raises(TrackerError, match=r"^GET http://[^ ]+/_edge/tenant_info: ReadTimeout: .*read timeout=0.5"):
        tenant_info(jira_cloud.url, None, 0.5)
    assert time.monotonic() - started < 2.5


def test_an_answer_nested_past_the_cap_is_refused_naming_the_page(jira_cloud: JiraSandbox) -> None:
    nested: object = "x"
    for _ in range(100):
        nested = [nested]
    jira_cloud.faults.inject(Reply.json(200, {"cloudId": nested}), match=is_tenant_info)
    with pytest.raises(TrackerError) as raised:
        tenant_info(jira_cloud.url, None, 5.0)
    assert str(raised.value) == (
        f"GET {jira_cloud.url}/_edge/tenant_info: AnswerTooDeep: "
        "Jira's tenant_info nests JSON deeper than the cap of 64 levels"
    )
