"""`Tracker.trust` on the tracker test servers (contract-validated): each adapter resolves the trusted authors to
immutable ids and names the people it reads by them."""

from __future__ import annotations

from typing import Any

from tests.adapters.test_filing import REPO, github_tracker, jira_tracker
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.jira import JiraSandbox


def test_jira_cloud_resolves_an_email_to_its_account_id_and_names_its_comments_by_the_entry(
    jira_cloud: JiraSandbox,
) -> None:
    trent, mallory = jira_cloud.user("trent"), jira_cloud.user("mallory")
    key = jira_cloud.add_issue(description="x", reporter="mallory")
    jira_cloud.add_comment(key, "mine", author="trent")
    jira_cloud.add_comment(key, "theirs", author="mallory")
    tracker = jira_tracker(jira_cloud)

    identities = tracker.trust([trent.email, mallory.account_id, "nobody@example.com"])

    assert dict(identities.ids) == {
        trent.email: trent.account_id,
        mallory.account_id: mallory.account_id,  # an accountId is its own id: not looked up
        "nobody@example.com": None,
    }
    ticket = tracker.get_ticket(key)
    assert [c.author for c in ticket.comments] == [trent.email, mallory.account_id]
    assert ticket.reporter == mallory.account_id


def test_the_tools_own_account_listed_as_trusted_stays_itself(jira_cloud: JiraSandbox) -> None:
    key = jira_cloud.add_issue(description="x")
    jira_cloud.add_comment(key, "a result", author=jira_cloud.bot.name)
    tracker = jira_tracker(jira_cloud)

    tracker.trust([jira_cloud.bot.email])  # as an operator might list the account the script wrote as

    assert [c.author for c in tracker.get_ticket(key).comments] == [tracker.account()]  # still the tool's own


def test_jira_data_center_resolves_a_user_name_to_its_key(jira_dc: JiraSandbox) -> None:
    jira_dc.user("trent")
    key = jira_dc.add_issue(description="x", reporter="trent")
    jira_dc.add_comment(key, "mine", author="trent")
    tracker = jira_tracker(jira_dc)

    identities = tracker.trust(["trent", "ghost", "trent2=JIRAUSER1"])

    assert identities.ids["trent"] is not None and identities.ids["trent"].startswith("JIRAUSER")
    assert identities.ids["ghost"] is None and identities.ids["trent2"] == "JIRAUSER1"
    assert [c.author for c in tracker.get_ticket(key).comments] == ["trent"]


def test_github_resolves_logins_in_any_case_and_a_login_with_no_account_trusts_nobody(github: GitHubSandbox) -> None:
    github.add_repo(REPO)
    number = github.add_issue(REPO, title="t", body="b", user="mallory")
    github.add_comment(REPO, number, "mine", user="trent")
    github.no_such_users.add("ghost")
    tracker = github_tracker(github)

    identities = tracker.trust(["Trent", "ghost", "pinned=42"])

    trent_id: Any = identities.ids["trent"]
    assert trent_id is not None and identities.ids == {"trent": trent_id, "ghost": None, "pinned": "42"}
    github.rename_user("trent", "trent-new")  # and someone else signs up as trent
    github.add_comment(REPO, number, "impostor", user="trent")
    ticket = tracker.get_ticket(f"{REPO}#{number}")
    new_id = github.payloads.user("trent")["id"]
    assert [c.author for c in ticket.comments] == ["trent", f"trent (id {new_id})"]  # by id, not by login
    assert ticket.reporter == "mallory"
