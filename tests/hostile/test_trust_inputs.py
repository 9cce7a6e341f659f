"""Issue #20, deliverables 1 and 3: every input of a verdict from a trusted hand, and no silent fallback.

One test per attack, through the CLI, on the tracker test servers (which model what the real APIs do: Jira Cloud's
inline changelog capped with `total` and the paged changelog endpoint, `creator`; GitHub's `labeled` events with
their actor). The attacker is `mallory`, an account that may edit tickets and comments but is not trusted. Each
attack, on the code before #20, ended with a regressed fix labelled verified or an untrusted config judged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import make_desk
from tests.e2e.seed import (
    COMMENTER,
    FAILED,
    INVALID,
    LATENCY,
    REPORTER,
    VERIFIED,
    Desk,
    Spec,
    Timeline,
    block,
    held,
    regressed,
    run_cli,
    wiki,
)
from tests.hostile.test_hostile import env_for, seed_one
from tests.integration.backends import PrometheusServer

pytestmark = pytest.mark.integration

MALLORY = COMMENTER


def _trusting(desk: Desk, url: str, *who: str) -> dict[str, str]:
    return env_for(desk, url, VERIFIER_TRUSTED_AUTHORS=",".join(desk.identity(w) for w in who))


# -- Jira history past the inline page ---------------------------------------------------------------------------


def test_an_untrusted_description_edit_pushed_off_the_inline_history_is_still_seen(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, regressed())  # filed by the tool: the inventory service, which regressed
    server = jira.server  # type: ignore[attr-defined]
    held_body = server.issue(key).description.replace('"inventory"', '"checkout"')
    server.edit_description(key, held_body, editor=MALLORY)  # points the config at a service that held
    for n in range(110):  # then enough label edits that the description edit falls off every inline page
        server.edit_labels(key, add=[f"triage-{n}"], remove=[f"triage-{n - 1}"], editor=MALLORY)

    run = run_cli(env_for(jira, live_prometheus.url))

    assert run.code == 0, run.err
    assert VERIFIED not in jira.state(key).labels
    assert jira.state(key).results == ["INVALID"] and INVALID in jira.state(key).labels
    assert f"the description was edited by {jira.identity(MALLORY)}" in run.line(key)
    assert any(r.path == f"/rest/api/2/issue/{key}/changelog" for r in server.requests)


# -- facts outside the config ------------------------------------------------------------------------------------


def test_a_baseline_edited_by_someone_untrusted_does_not_move_a_relative_threshold(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, held())  # filed by the tool; the incident's Actual Value is 1.84 s
    relative = wiki(block(LATENCY, "< 10% of baseline p99", {"service": "inventory"}))  # 0.22 s vs 0.184 s: fails
    jira.add_comment(key, relative, REPORTER)  # the trusted owner's newer config
    server = jira.server  # type: ignore[attr-defined]
    raised = server.issue(key).description.replace("1.84", "1000")
    assert raised != server.issue(key).description
    server.edit_description(key, raised, editor=MALLORY)  # threshold 0.184 s -> 100 s

    run = run_cli(_trusting(jira, live_prometheus.url, REPORTER))

    assert run.code == 0, run.err
    assert VERIFIED not in jira.state(key).labels
    assert jira.state(key).results == ["INVALID"]
    assert "the baseline (the incident's value and time) is refused" in run.line(key)
    assert "the baseline (the incident" in jira.state(key).bot_comments[-1]


def test_an_untouched_baseline_still_judges_a_relative_condition(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, held())
    jira.add_comment(key, wiki(block(LATENCY, "< 10% of baseline p99", {"service": "inventory"})), REPORTER)

    run = run_cli(_trusting(jira, live_prometheus.url, REPORTER))

    assert run.code == 0, run.err
    assert jira.state(key).results == ["FAILED"] and FAILED in jira.state(key).labels


# -- the reporter is an editable field ---------------------------------------------------------------------------


def test_a_ticket_filed_by_someone_untrusted_stays_theirs_when_the_reporter_is_set_to_a_trusted_person(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    server = jira.server  # type: ignore[attr-defined]
    key = server.add_issue(
        summary="[Post-Incident] looks legit",
        description=wiki(block(LATENCY, "< 100ms p99", {"service": "checkout"})),
        resolved=t.resolved,
        labels=["post-incident"],
        reporter=MALLORY,
    )
    server.set_reporter(key, REPORTER, editor=MALLORY)

    run = run_cli(_trusting(jira, live_prometheus.url, REPORTER))

    assert run.code == 0, run.err
    assert jira.state(key).results == [] and VERIFIED not in jira.state(key).labels
    assert f"ignored configs by untrusted {jira.identity(MALLORY)}" in run.line(key)


# -- labels as judgements ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tracker", ["jira-cloud", "github"])
def test_a_verified_label_added_by_someone_untrusted_does_not_spare_a_regressed_fix(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tracker: str
) -> None:
    desk = make_desk(request, tracker)
    key = seed_one(desk, t, regressed())
    if desk.is_jira:
        desk.server.edit_labels(key, add=[VERIFIED], editor=MALLORY)  # type: ignore[attr-defined]
    else:
        desk.server.edit_labels("acme/api", int(key.rsplit("#", 1)[1]), add=[VERIFIED], actor=MALLORY)  # type: ignore[attr-defined]

    run = run_cli(env_for(desk, live_prometheus.url))

    assert run.code == 0, run.err
    assert desk.state(key).results == ["FAILED"] and desk.state(key).open
    refused = f"{VERIFIED} (added by {desk.identity(MALLORY)})"
    assert refused in run.line(key) and refused in desk.state(key).bot_comments[-1]


@pytest.mark.parametrize("tracker", ["jira-cloud", "github"])
def test_a_verified_label_added_by_a_trusted_person_still_counts_as_judged_elsewhere(
    request: pytest.FixtureRequest, live_prometheus: PrometheusServer, t: Timeline, tracker: str
) -> None:
    desk = make_desk(request, tracker)
    key = seed_one(desk, t, regressed())
    if desk.is_jira:
        desk.server.edit_labels(key, add=[VERIFIED], editor=REPORTER)  # type: ignore[attr-defined]
    else:
        desk.server.edit_labels("acme/api", int(key.rsplit("#", 1)[1]), add=[VERIFIED], actor=REPORTER)  # type: ignore[attr-defined]

    run = run_cli(_trusting(desk, live_prometheus.url, REPORTER))

    assert run.code == 0, run.err
    assert desk.state(key).results == [] and not desk.state(key).open
    assert "judged elsewhere" in run.line(key)


# -- a tampered newest config ------------------------------------------------------------------------------------


def test_a_tampered_newer_config_on_github_is_invalid_not_replaced_by_the_older_looser_one(
    gh: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    loose = block(LATENCY, "< 300ms p99", {"service": "inventory"})  # 0.22 s: would verify
    key = seed_one(gh, t, Spec(body="Tune the pool.\n\n" + loose))  # filed by the tool
    strict = block(LATENCY, "< 100ms p99", {"service": "inventory"})  # the owner's newer config: fails
    number = int(key.rsplit("#", 1)[1])
    comment = gh.server.add_comment("acme/api", number, strict, user=REPORTER)  # type: ignore[attr-defined]
    later = datetime.now(UTC) + timedelta(minutes=1)
    gh.server.edit_comment("acme/api", number, comment, strict.replace("p99", "p50"), at=later)  # type: ignore[attr-defined]

    run = run_cli(_trusting(gh, live_prometheus.url, REPORTER))

    assert run.code == 0, run.err
    assert VERIFIED not in gh.state(key).labels
    assert gh.state(key).results == ["INVALID"]
    assert f"comment {comment} by {REPORTER} carries a config, but it was edited by someone" in run.line(key)


# -- quotes ------------------------------------------------------------------------------------------------------


def test_a_trusted_author_quoting_an_untrusted_config_in_jira_does_not_make_it_theirs(
    jira: Desk, live_prometheus: PrometheusServer, t: Timeline
) -> None:
    key = seed_one(jira, t, Spec(body="Tune the load balancer."))
    mallorys = wiki(block(LATENCY, "< 100ms p99", {"service": "checkout"}))
    jira.add_comment(key, mallorys, MALLORY)
    jira.add_comment(key, "{quote}\n" + mallorys + "\n{quote}\nIs this the right check?", REPORTER)

    run = run_cli(_trusting(jira, live_prometheus.url, REPORTER))

    assert run.code == 0, run.err
    assert jira.state(key).results == [] and VERIFIED not in jira.state(key).labels
    assert "no trusted config" in run.line(key) and jira.identity(MALLORY) in run.line(key)
