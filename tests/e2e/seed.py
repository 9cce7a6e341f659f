"""What the end-to-end tests seed: the metrics history, the tickets, and what each ticket should end up as.

Times are real: the CLI judges with the real current time, so everything is placed relative to a quiet anchor
(a whole hour at least 4 h before now; the backfilled history ends there):

    anchor-4h   the history starts (one sample a minute)
    anchor-3h30 most tickets are resolved; delay = window = 3h, so the window is [anchor-3h30, anchor-30m]
    anchor-1h   the "pending" ticket is resolved with a 24 h delay: due long after now, judged early by --now
    anchor      the history ends (now is 4-5 h later)

`Desk` hides the tracker: Jira Cloud, Jira Data Center or GitHub, each a contract-validated sandbox.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.backends import History, quiet_anchor
from verifier.domain.action_items import ActionItem, IncidentContext, render_body
from verifier.domain.formats import find_config
from verifier.domain.render import parse_marker
from verifier.domain.tickets import Flavour
from verifier_sandbox.github import GitHubSandbox
from verifier_sandbox.http import RecordedRequest, SandboxServer
from verifier_sandbox.jira import JiraSandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
BOT = "verifier-bot"  # the sandboxes' signed-in account: the tool's own, so trusted
COMMENTER = "mallory"  # an untrusted commenter
REPORTER = "trent"  # an untrusted reporter; trusted only through VERIFIER_TRUSTED_AUTHORS
LABEL = "post-incident"
LATENCY = "http_server_request_duration_seconds"
ERRORS = "checkout_errors_total"
FAST = {0.03: 195, 0.09: 5}  # requests per minute by latency: p99 = 0.08 s
SLOW = {0.03: 190, 0.2: 10}  # p99 = 0.22 s
VERIFIED, FAILED, INCONCLUSIVE, INVALID = (
    "verified-by-otel",
    "verification-failed",
    "needs-human",
    "verification-config-invalid",
)
REOPEN_FAILED = "reopen-failed"
VERIFIER_LABELS = frozenset({VERIFIED, FAILED, INCONCLUSIVE, INVALID, REOPEN_FAILED})


@dataclass(frozen=True)
class Timeline:
    anchor: datetime

    @property
    def start(self) -> datetime:
        return self.anchor - timedelta(hours=4)

    @property
    def resolved(self) -> datetime:
        return self.anchor - timedelta(hours=3, minutes=30)

    @property
    def resolved_recently(self) -> datetime:
        return self.anchor - timedelta(hours=1)


def timeline() -> Timeline:
    return Timeline(quiet_anchor())


def history(t: Timeline) -> History:
    """Held and regressed, as a latency histogram and as an error counter; anything else has no data."""
    h = History(start=t.start, end=t.anchor)
    h.histogram(LATENCY, FAST, labels={"service": "checkout"})
    h.histogram(LATENCY, SLOW, labels={"service": "inventory"})
    h.counter(ERRORS, 0, {"service": "checkout"})
    h.counter(ERRORS, 5, {"service": "inventory"})  # 900 errors in the 3 h window
    return h


# ------------------------------------------------------------------------------------------------- tickets


@dataclass(frozen=True)
class Spec:
    """One seeded ticket: its config and how it is filed and closed."""

    metric: str = LATENCY
    condition: str = "< 100ms p99"
    labels: Mapping[str, str] = field(default_factory=dict)
    delay: str = "3h"
    resolved: str = "resolved"  # a Timeline attribute
    reporter: str = BOT
    body: str | None = None  # raw body instead of a rendered one; "{block}" is replaced by the config block
    comment: tuple[str, str] | None = None  # (author, text) added after filing
    resolution: str | None = None  # Jira resolution / GitHub state_reason (default: Done / completed)
    workflow: str = "default"  # Jira only: "none" has no transition back to open
    pull_request: bool = False  # GitHub only


@dataclass(frozen=True)
class Expect:
    """The end state a ticket must reach. `outcome` None: the run does not even list it."""

    outcome: str | None
    label: str | None = None
    reopened: bool = False
    reopen_failed: bool = False


def block(metric: str, condition: str, labels: Mapping[str, str] | None = None, delay: str = "3h") -> str:
    lines = ["# action-item-verifier: v1", f"metric: {json.dumps(metric)}", f"condition: {json.dumps(condition)}"]
    if labels:
        lines.append(f"labels: {json.dumps(dict(labels))}")
    lines.append(f"delay: {json.dumps(delay)}")
    return "```yaml\n" + "\n".join(lines) + "\n```"


def wiki(text: str) -> str:
    """A Markdown config block as Jira wiki markup."""
    return text.replace("```yaml\n", "{code:yaml}\n").replace("\n```", "\n{code}")


def held(**kw: Any) -> Spec:
    return Spec(labels={"service": "checkout"}, **kw)


def regressed(**kw: Any) -> Spec:
    return Spec(labels={"service": "inventory"}, **kw)


MALLORY_CONFIG = block(LATENCY, "< 100ms p99", {"service": "inventory"})  # would fail: must be ignored

SPECS: dict[str, Spec] = {
    "held": held(),
    "regressed": regressed(),
    "errors_held": Spec(metric=ERRORS, condition="< 10", labels={"service": "checkout"}),
    "errors_regressed": Spec(metric=ERRORS, condition="< 10", labels={"service": "inventory"}),
    "no_data": Spec(metric="order_worker_queue_depth", condition="< 100"),
    "invalid": Spec(body="Broken config.\n\n" + block("payment_webhook_payload_bytes", "< 250ms p99")),
    "locked": regressed(workflow="none"),
    "pending": held(delay="24h", resolved="resolved_recently"),
    "wont_do": held(resolution="Won't Do"),
    "not_planned": held(resolution="not_planned"),
    "duplicate": held(resolution="duplicate"),
    "pull_request": held(pull_request=True),
    "untrusted_comment": Spec(body="Tune the load balancer.", comment=(COMMENTER, MALLORY_CONFIG)),
    "untrusted_reporter": held(reporter=REPORTER),
    "untrusted_newer": held(comment=(COMMENTER, MALLORY_CONFIG)),
}

EXPECT: dict[str, Expect] = {
    "held": Expect("VERIFIED", VERIFIED),
    "regressed": Expect("FAILED", FAILED, reopened=True),
    "errors_held": Expect("VERIFIED", VERIFIED),
    "errors_regressed": Expect("FAILED", FAILED, reopened=True),
    "no_data": Expect("INCONCLUSIVE", INCONCLUSIVE),
    "invalid": Expect("INVALID", INVALID),
    "locked": Expect("FAILED", FAILED, reopen_failed=True),
    "pending": Expect("PENDING"),
    "wont_do": Expect(None),
    "not_planned": Expect(None),
    "duplicate": Expect(None),
    "pull_request": Expect(None),
    "untrusted_comment": Expect("SKIPPED"),
    "untrusted_reporter": Expect("SKIPPED"),
    "untrusted_newer": Expect("VERIFIED", VERIFIED),
}

JIRA_ONLY = frozenset({"locked", "wont_do"})
GITHUB_ONLY = frozenset({"not_planned", "duplicate", "pull_request"})
# The GitHub adapter spaces writes a second apart (GitHub's secondary limits): on GitHub each verdict is seeded
# once (VERIFIED by a histogram, FAILED by a counter) to keep the pass short.
GITHUB_SPARED = frozenset({"regressed", "errors_held", "untrusted_newer"})


def cases_for(desk: Desk, names: Iterable[str] | None = None) -> list[str]:
    """The case names that make sense on the desk's tracker (all of them when `names` is None)."""
    skip = GITHUB_ONLY if desk.is_jira else JIRA_ONLY | (GITHUB_SPARED if names is None else frozenset())
    return [n for n in (names if names is not None else SPECS) if n not in skip]


def incident(t: Timeline) -> IncidentContext:
    return IncidentContext(
        alert_name="CheckoutLatencyHigh",
        metric_name=LATENCY,
        threshold_value=0.5,
        actual_value=1.84,
        service_name="checkout",
        environment="production",
        triggered_at=t.start,
        sample_trace_ids=("4bf92f3577b34da6a3ce929d0e0e4736",),
        affected_components=("checkout-api",),
    )


def render(spec: Spec, name: str, t: Timeline, flavour: Flavour) -> str:
    if spec.body is not None:
        return wiki(spec.body) if flavour is Flavour.JIRA_WIKI else spec.body
    config = find_config(block(spec.metric, spec.condition, spec.labels, spec.delay))
    assert config is not None
    item = ActionItem(f"Action item {name}", f"Fix for {name}.", "P1", "alice", "INC-7", incident(t), config)
    return render_body(item, flavour)


# -------------------------------------------------------------------------------------------------- desks


@dataclass(frozen=True)
class State:
    """A ticket as the tracker holds it now."""

    labels: frozenset[str]
    open: bool
    bot_comments: tuple[str, ...]

    @property
    def results(self) -> list[str]:
        """The verdicts of the result comments the verifier wrote, oldest first."""
        return [m.verdict.value for body in self.bot_comments if (m := parse_marker(body)) is not None]

    @property
    def notes(self) -> list[str]:
        return [body for body in self.bot_comments if parse_marker(body) is None]


class Desk:
    """A sandbox tracker as the e2e tests need it: seed, CLI environment, live state."""

    name: str
    server: SandboxServer
    flavour: Flavour
    is_jira: bool

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def file(self, spec: Spec, name: str, t: Timeline) -> str:
        raise NotImplementedError

    def add_comment(self, key: str, text: str, author: str) -> None:
        raise NotImplementedError

    def state(self, key: str) -> State:
        raise NotImplementedError

    def identity(self, user: str) -> str:
        """How the tracker names `user` in VERIFIER_TRUSTED_AUTHORS."""
        return user

    def is_comment_post(self, request: RecordedRequest, key: str | None = None) -> bool:
        raise NotImplementedError

    def seed(self, t: Timeline, names: Iterable[str]) -> dict[str, str]:
        keys: dict[str, str] = {}
        for name in names:
            spec = SPECS[name]
            keys[name] = key = self.file(spec, name, t)
            if spec.comment is not None:
                self.add_comment(key, self._text(spec.comment[1]), spec.comment[0])
        return keys

    def _text(self, text: str) -> str:
        return wiki(text) if self.flavour is Flavour.JIRA_WIKI else text

    def writes(self) -> int:
        return len(self.server.writes())


class JiraDesk(Desk):
    flavour = Flavour.JIRA_WIKI
    is_jira = True

    def __init__(self, server: JiraSandbox) -> None:
        assert server.bot.name == BOT
        self.server = self.jira = server
        self.name = "jira-cloud" if server.cloud else "jira-dc"

    def env(self) -> dict[str, str]:
        auth = (
            {"VERIFIER_JIRA_EMAIL": self.jira.email, "VERIFIER_JIRA_API_TOKEN": self.jira.api_token}
            if self.jira.cloud
            else {"VERIFIER_JIRA_PAT": self.jira.pat}
        )
        return {"VERIFIER_TRACKER": "jira", "VERIFIER_JIRA_URL": self.jira.url, **auth}

    def file(self, spec: Spec, name: str, t: Timeline) -> str:
        return self.jira.add_issue(
            summary=f"[Post-Incident] {name}",
            description=render(spec, name, t, self.flavour),
            resolution=spec.resolution or "Done",
            resolved=getattr(t, spec.resolved),
            labels=[LABEL, "incident-INC-7"],
            reporter=spec.reporter,
            workflow=spec.workflow,
        )

    def add_comment(self, key: str, text: str, author: str) -> None:
        self.jira.add_comment(key, text, author=author)

    def state(self, key: str) -> State:
        issue = self.jira.issue(key)
        bot = tuple(c.body for c in issue.comments if c.author.name == BOT)
        return State(frozenset(issue.labels), issue.category != "done", bot)

    def identity(self, user: str) -> str:
        return self.jira.user(user).account_id if self.jira.cloud else user

    def is_comment_post(self, request: RecordedRequest, key: str | None = None) -> bool:
        """A comment added: POST …/comment, or an issue edit whose `update` adds one (with labels)."""
        if key is not None and not request.path.endswith((f"/issue/{key}/comment", f"/issue/{key}")):
            return False
        if request.method == "POST" and request.path.endswith("/comment"):
            return True
        return request.method == "PUT" and "comment" in ((request.json() or {}).get("update") or {})


class GitHubDesk(Desk):
    flavour = Flavour.MARKDOWN
    is_jira = False
    name = "github"
    repo = "acme/api"

    def __init__(self, server: GitHubSandbox) -> None:
        assert server.login == BOT
        self.server = self.gh = server
        server.add_repo(self.repo)

    def env(self) -> dict[str, str]:
        return {
            "VERIFIER_TRACKER": "github",
            "VERIFIER_GITHUB_REPOSITORY": self.repo,
            "VERIFIER_GITHUB_TOKEN": self.gh.token,
            "VERIFIER_GITHUB_API_URL": self.gh.url,
        }

    def file(self, spec: Spec, name: str, t: Timeline) -> str:
        number = self.gh.add_issue(
            self.repo,
            title=f"[Post-Incident] {name}",
            body=render(spec, name, t, self.flavour),
            user=spec.reporter,
            labels=[LABEL, "incident-INC-7"],
            state="closed",
            state_reason=spec.resolution,
            closed_at=getattr(t, spec.resolved).replace(microsecond=0),
            pull_request=spec.pull_request,
        )
        return f"{self.repo}#{number}"

    def _issue(self, key: str) -> Any:
        return self.gh.issue(self.repo, int(key.rsplit("#", 1)[1]))

    def add_comment(self, key: str, text: str, author: str) -> None:
        self.gh.add_comment(self.repo, int(key.rsplit("#", 1)[1]), text, user=author)

    def state(self, key: str) -> State:
        issue = self._issue(key)
        bot = tuple(c.body for c in issue.comments if c.user == BOT)
        return State(frozenset(issue.labels), issue.state == "open", bot)

    def is_comment_post(self, request: RecordedRequest, key: str | None = None) -> bool:
        number = key.rsplit("#", 1)[1] if key else r"\d+"
        return request.method == "POST" and re.search(rf"/issues/{number}/comments$", request.path) is not None


# ----------------------------------------------------------------------------------------------- checking


def requests_for(desk: Desk, label: str, *, reopen: bool = False) -> str:
    """How the summary lists a verdict's write requests: Jira adds the comment and the label in one issue edit,
    GitHub reopens and labels in one issue update."""
    if desk.is_jira:
        return f"comment + label {label}" + (", reopen" if reopen else "")
    return f"comment, reopen + label {label}" if reopen else f"comment, label {label}"


def check_end_state(desk: Desk, keys: Mapping[str, str], expect: Mapping[str, Expect] | None = None) -> None:
    """Every ticket in `keys` is as `expect` (default EXPECT) says: one result comment at most, its label, its
    status. Collects every mismatch before failing."""
    expect = expect or EXPECT
    problems = []
    for name, key in keys.items():
        want, got = expect[name], desk.state(key)
        results = [want.outcome] if want.label else []
        labels = {want.label} if want.label else set()
        if want.reopen_failed:
            labels.add(REOPEN_FAILED)
        notes = 1 if want.reopen_failed else 0
        actual = (got.results, got.labels & VERIFIER_LABELS, got.open, len(got.notes))
        wanted = (results, labels, want.reopened, notes)
        if actual != wanted:
            problems.append(f"{name} ({key}): got results/labels/open/notes {actual}, want {wanted}")
    assert not problems, "\n".join(problems)


def untouched(desk: Desk, keys: Mapping[str, str], names: Iterable[str]) -> None:
    for name in names:
        got = desk.state(keys[name])
        assert (got.bot_comments, got.labels & VERIFIER_LABELS) == ((), frozenset()), name


# ---------------------------------------------------------------------------------------------------- CLI


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def line(self, key: str) -> str:
        """The summary line of ticket `key`."""
        found = [line for line in self.out.splitlines() if line.startswith(key + " ")]
        assert len(found) == 1, (key, self.out)
        return found[0]


def base_env(metrics_url: str, **extra: str) -> dict[str, str]:
    """The process environment without any VERIFIER_/JIRA_ variable of ours, plus fast metrics settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERIFIER_", "JIRA_", "GITHUB_"))}
    env.update(
        {
            "VERIFIER_SECRETS_DIR": str(REPO_ROOT / "tests" / "e2e" / "no-secrets-here"),
            "VERIFIER_LOG_FORMAT": "json",
            "VERIFIER_LOG_LEVEL": "warning",
            "VERIFIER_CONCURRENCY": "4",
            "VERIFIER_PROMETHEUS_URL": metrics_url,
            "VERIFIER_PROMETHEUS_RETRIES": "1",
            "VERIFIER_PROMETHEUS_BACKOFF_SECONDS": "0.05",
            "VERIFIER_PROMETHEUS_TIMEOUT_SECONDS": "5",
            "VERIFIER_TRACKER_TIMEOUT_SECONDS": "10",
        }
    )
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "verifier", "run", *args]


def run_cli(env: Mapping[str, str], *args: str, timeout: float = 60) -> Done:
    done = subprocess.run(
        command(*args), env=dict(env), cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Done(done.returncode, done.stdout, done.stderr)


def on_request(desk: Desk, when: Callable[[Any], bool], action: Callable[[], None]) -> Callable[[], None]:
    """Run `action` once, in the sandbox thread, when the first request `when` accepts has been handled (its
    effect is stored) and before the reply goes back to the client."""
    fired = threading.Event()

    def hook(exchange: Any) -> None:
        if not fired.is_set() and when(exchange.request):
            fired.set()
            action()

    return desk.server.on_exchange(hook)
