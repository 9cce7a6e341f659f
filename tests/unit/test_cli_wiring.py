"""Each command-line flag and run setting reaches what the command does, in this process (#27).

The end-to-end tests run the CLI as a subprocess against the sandbox servers; mutation testing (which maps tests
to the functions they run in its own process) found these wires held by nothing in-process: `run`'s flags and
`--report` file, the labels, re-judging, signing and links `App.run_options` derives from the settings, the
`evaluate`, `report` and `file` commands, `--since` and the ISO-8601 arguments, and where a run's figures are
pushed. Fakes stand for the servers here (tests/unit/fakes.py); tests/e2e holds the same paths over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests.unit.fakes import FakeCatalog, FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.services.test_run import BLOCK, QUERY, ticket
from verifier import bootstrap, defaults
from verifier.bootstrap import Adapters, app
from verifier.cli import main
from verifier.domain.action_items import ActionItem
from verifier.domain.tickets import Ticket
from verifier.errors import MetricsError, TrackerError
from verifier.exit_codes import ExitCode

TOKEN = "ghp_wiring_secret_123456"
KEY = "32-characters-of-signing-key-xyz"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("VERIFIER_", "JIRA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("VERIFIER_TRACKER", "github")
    monkeypatch.setenv("VERIFIER_GITHUB_REPOSITORY", "acme/api")
    monkeypatch.setenv("VERIFIER_GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("VERIFIER_PROMETHEUS_URL", "http://prometheus.invalid:9090")
    yield
    # A command configures logging to the stream it printed to (here pytest's capture, closed after the test).
    structlog.reset_defaults()


@dataclass
class Pushed:
    runs: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)

    def push_run(self, **figures: Any) -> None:
        self.runs.append(figures)

    def push_services(self, **figures: Any) -> None:
        self.services.append(figures)


@dataclass
class World:
    tracker: FakeTracker = field(default_factory=FakeTracker)
    metrics: FakeMetrics = field(default_factory=lambda: FakeMetrics({QUERY: instant(0.05)}))
    pushed: Pushed = field(default_factory=Pushed)
    trusted: list[list[str]] = field(default_factory=list)

    def adapters(self) -> Adapters:
        original = self.tracker.trust

        def trust(entries: Any) -> Any:
            self.trusted.append(list(entries))
            return original(entries)

        self.tracker.trust = trust  # type: ignore[method-assign]
        return Adapters(
            tracker=lambda _: self.tracker,  # type: ignore[arg-type,return-value]
            metrics=lambda _: self.metrics,  # type: ignore[arg-type,return-value]
            run_metrics=lambda _: self.pushed,  # type: ignore[arg-type,return-value]
        )

    def add(self, key: str, days_ago: float = 3, **kw: Any) -> None:
        self.tracker.add(ticket(key, resolved_at=datetime.now(UTC) - timedelta(days=days_ago), **kw))

    def written(self) -> list[tuple[str, str]]:
        return [(key, kind) for key, kind, _ in self.tracker.writes]

    def comments(self) -> list[str]:
        return [body for _, kind, body in self.tracker.writes if kind == "comment"]


def run(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args), adapters=world.adapters())
    out, err = capsys.readouterr()
    return code, out, err


# `run`'s flags.


def test_run_dry_run_flag_writes_nothing_and_pushes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    world.add("acme/api#1")
    code, out, _ = run(world, capsys, "run", "--dry-run", "--json")
    assert code == ExitCode.OK
    report = json.loads(out)
    assert report["dry_run"] is True and report["counts"] == {"VERIFIED": 1}
    assert world.tracker.writes == [] and world.pushed.runs == []


def test_run_without_flags_writes_and_pushes_the_figures_of_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    world.add("acme/api#1")
    before = datetime.now(UTC).timestamp()
    code, out, _ = run(world, capsys, "run")
    assert code == ExitCode.OK
    assert world.written() == [("acme/api#1", "comment"), ("acme/api#1", "label")]
    assert "acme/api#1" in out and "VERIFIED" in out  # the table, not JSON
    assert out.startswith("acme/api#1") and '"tickets"' not in out and "{" not in out
    [figures] = world.pushed.runs
    assert figures["dry_run"] is False and figures["writes"] == 2 and figures["succeeded"] is True
    assert before <= figures["finished_at"] <= datetime.now(UTC).timestamp()
    assert len(world.pushed.services) == 1


def test_run_issue_flag_judges_only_that_ticket_and_pushes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    world.add("acme/api#1")
    world.add("acme/api#2")
    code, out, _ = run(world, capsys, "run", "--issue", "acme/api#2", "--json")
    assert code == ExitCode.OK
    assert [t["key"] for t in json.loads(out)["tickets"]] == ["acme/api#2"]
    assert {key for key, _ in world.written()} == {"acme/api#2"}
    assert world.pushed.runs == []


def test_run_now_flag_judges_a_ticket_before_its_delay(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    world.add("acme/api#1", days_ago=0.5)  # the delay (48h) has not passed
    _, out, _ = run(world, capsys, "run", "--json")
    assert json.loads(out)["counts"] == {"PENDING": 1} and world.tracker.writes == []
    asked = len(world.metrics.asked)
    _, out, _ = run(world, capsys, "run", "--now", "--json")
    assert json.loads(out)["counts"] == {"INCONCLUSIVE": 1}  # the window so far: the fake answers only 48h
    assert len(world.metrics.asked) > asked
    assert world.written() == [("acme/api#1", "comment"), ("acme/api#1", "label")]
    assert len(world.pushed.runs) == 1  # only the run without --now pushed


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_rejudge_judges_a_ticket_judged_elsewhere(
    how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Labelled verified by a trusted person (a GitHub login, given with capitals: compared folded).
    monkeypatch.setenv("VERIFIER_TRUSTED_AUTHORS", "Alice")
    world = World()
    labels = frozenset({defaults.LABEL, defaults.VERIFIED_LABEL})
    world.add("acme/api#1", labels=labels, labelled_by=((defaults.VERIFIED_LABEL, "alice"),))
    _, out, _ = run(world, capsys, "run", "--json")
    assert world.tracker.writes == [] and json.loads(out)["counts"] == {"ELSEWHERE": 1}
    assert world.trusted == [["Alice"]]
    if how == "setting":
        monkeypatch.setenv("VERIFIER_REJUDGE", "true")
    _, out, _ = run(world, capsys, "run", "--json", *(["--rejudge"] if how == "flag" else []))
    assert json.loads(out)["counts"] == {"VERIFIED": 1}
    assert ("acme/api#1", "comment") in world.written()


def test_run_report_file_is_the_json_report_redacted_and_indented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World()
    world.add("acme/api#1", title=f"Fix the leak of {TOKEN}")
    # A config that quotes the token: the ticket's reason carries it, and no earlier layer scrubs it.
    world.add(
        "acme/api#2", body=f"```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: {TOKEN}\n```"
    )
    path = tmp_path / "report.json"
    _, out, _ = run(world, capsys, "run", "--json", "--summary-file", str(path))
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text and TOKEN not in out
    written = json.loads(text)
    assert written == json.loads(out)
    assert written["counts"] == {"INVALID": 1, "VERIFIED": 1}
    assert "**********" in next(t["reason"] for t in written["tickets"] if t["key"] == "acme/api#2")
    assert text == json.dumps(written, indent=2)


# What App.run_options derives from the settings.


def test_the_inconclusive_and_invalid_labels_come_from_their_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_INCONCLUSIVE_LABEL", "ask-a-human")
    monkeypatch.setenv("VERIFIER_INVALID_LABEL", "fix-the-config")
    world = World(metrics=FakeMetrics({}))  # no data: INCONCLUSIVE
    world.add("acme/api#1")
    world.add("acme/api#2", body="```yaml\n# action-item-verifier: v1\nmetric: latency_seconds\ncondition: maybe\n```")
    run(world, capsys, "run")
    labels = {key: body for key, kind, body in world.tracker.writes if kind == "label"}
    assert labels == {"acme/api#1": "ask-a-human", "acme/api#2": "fix-the-config"}


def test_the_verified_label_comes_from_its_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_VERIFIED_LABEL", "otel-ok")
    world = World()
    world.add("acme/api#1")
    run(world, capsys, "run")
    assert [(key, body) for key, kind, body in world.tracker.writes if kind == "label"] == [("acme/api#1", "otel-ok")]


def test_the_signing_key_setting_signs_results_and_refuses_unsigned_configs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unsigned = World()
    unsigned.add("acme/api#1")
    run(unsigned, capsys, "run")
    assert "; sig=" not in unsigned.comments()[0] and "verdict=VERIFIED" in unsigned.comments()[0]
    monkeypatch.setenv("VERIFIER_SIGNING_KEY", KEY)
    signed = World()
    signed.add("acme/api#1")
    run(signed, capsys, "run")
    [comment] = signed.comments()
    assert "verdict=INVALID" in comment  # with a key, a config needs a signature
    assert re.search(r"; sig=[0-9a-f]{32}</sub>$", comment)


def test_the_graph_url_and_sparkline_settings_reach_the_comment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_GRAPH_URL", "https://graphs.acme.test/prom")
    world = World()
    world.add("acme/api#1")
    run(world, capsys, "run")
    [comment] = world.comments()
    assert "https://graphs.acme.test/prom/graph?" in comment
    ranges = len(world.metrics.asked)
    monkeypatch.setenv("VERIFIER_SPARKLINE", "false")
    quiet = World()
    quiet.add("acme/api#1")
    run(quiet, capsys, "run")
    assert len(quiet.metrics.asked) < ranges  # no range query for a sparkline


def test_trusted_authors_are_resolved_by_the_tracker_before_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_TRUSTED_AUTHORS", "Alice,bob")
    world = World()
    world.add("acme/api#1")
    run(world, capsys, "run")
    assert world.trusted == [["Alice", "bob"]]
    with app(metrics=False, adapters=world.adapters()) as context:
        assert context.run_options().trusted_authors == frozenset({"alice", "bob"})  # GitHub logins: folded


def test_run_options_defaults_are_off(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    with app(adapters=world.adapters()) as context:
        options = context.run_options()
    assert (options.dry_run, options.early, options.rejudge, options.issues) == (False, False, False, ())
    assert options.signing_key is None
    assert options.links is not None and options.links.sparkline is True


# `evaluate`, and the ISO-8601 arguments.


def test_evaluate_prints_the_verdict_and_exits_by_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.md"
    config.write_text(BLOCK)
    world = World()
    resolved = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = run(world, capsys, "evaluate", "--config", str(config), "--resolved-at", resolved, "--json")
    assert code == ExitCode.OK
    report = json.loads(out)
    assert report["verdict"] == "VERIFIED" and report["query"] == QUERY and report["value"] == 0.05
    code, out, _ = run(world, capsys, "evaluate", "--config", str(config), "--resolved-at", resolved)
    assert code == ExitCode.OK
    assert "verdict:     VERIFIED\n" in out and f"query:       {QUERY}\n" in out
    assert "notes:" not in out  # empty values are left out of the text


def test_evaluate_prints_one_line_per_condition_of_several(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`conditions:` (#24): each condition on a line of its own, numbered from 1, as the result comment shows it;
    the list itself is not printed."""
    config = tmp_path / "config.md"
    config.write_text(
        "```yaml\n# action-item-verifier: v1\nconditions:\n  - metric: latency_seconds\n    condition: < 100ms p99\n"
        "  - metric: latency_seconds\n    condition: < 300ms p50\n```"
    )
    resolved = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = run(World(), capsys, "evaluate", "--config", str(config), "--resolved-at", resolved)
    assert code == ExitCode.INCONCLUSIVE  # the p50 query has no data here
    data = "data: {} of 1 step with data; 10,000 requests in the window (needs 100)"
    assert [line for line in out.splitlines() if line.startswith("condition")] == [
        "condition 1: VERIFIED: latency_seconds < 100ms p99: measured 0.05 seconds against < 0.1 seconds; "
        "the condition held; " + data.format(1),
        "condition 2: INCONCLUSIVE: latency_seconds < 300ms p50; no data: the query returned no samples; "
        + data.format(0),
    ]


@pytest.mark.parametrize(("accept", "verdict"), [(None, "INCONCLUSIVE"), ("true", "VERIFIED")])
def test_evaluate_judges_an_answer_with_warnings_only_when_the_setting_accepts_them(
    accept: str | None,
    verdict: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`VERIFIER_PROMETHEUS_ACCEPT_WARNINGS` (a Thanos partial response): inconclusive by default, judged when set."""
    if accept is not None:
        monkeypatch.setenv("VERIFIER_PROMETHEUS_ACCEPT_WARNINGS", accept)
    config = tmp_path / "config.md"
    config.write_text(BLOCK)
    warned = replace(instant(0.05), warnings=("partial response: store b unreachable",))
    world = World(metrics=FakeMetrics({QUERY: warned}))
    resolved = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = run(world, capsys, "evaluate", "--config", str(config), "--resolved-at", resolved, "--json")
    report = json.loads(out)
    assert (report["verdict"], code) == (verdict, ExitCode.OK if accept else ExitCode.INCONCLUSIVE)
    if not accept:
        assert report["reason"] == "the backend warned: partial response: store b unreachable"


def test_evaluate_now_and_early(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.md"
    config.write_text(BLOCK)
    world = World()
    args = ["evaluate", "--config", str(config), "--resolved-at", "2026-11-01T12:00:00+00:00", "--json"]
    code, out, _ = run(world, capsys, *args, "--now", "2026-11-02T12:00:00Z")
    assert (code, json.loads(out)["verdict"]) == (ExitCode.PENDING, "PENDING")
    code, out, _ = run(world, capsys, *args, "--now", "2026-11-02T12:00:00Z", "--early")
    assert (code, json.loads(out)["verdict"]) == (ExitCode.INCONCLUSIVE, "INCONCLUSIVE")  # judged: no data yet
    assert world.metrics.asked[-1][1] <= datetime(2026, 11, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-01T12:00:00", "'2026-11-01T12:00:00' has no time zone; add Z or +00:00"),
        ("yesterday", "'yesterday' is not an ISO-8601 time such as 2026-11-20T10:00:00Z"),
    ],
)
def test_a_bad_time_argument_is_named(
    value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--config", str(tmp_path / "c"), "--resolved-at", value])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_evaluate_names_a_config_file_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        World(), capsys, "evaluate", "--config", str(tmp_path / "none"), "--resolved-at", "2026-11-01T00:00:00Z"
    )
    assert code == ExitCode.INVALID and out == ""
    assert err.startswith("error: ") and "none" in err


# `report` and `--since`.


def report_since(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, _ = run(world, capsys, "report", "--format", "json", *args)
    assert code == ExitCode.OK
    return json.loads(out)


def test_report_period_from_an_age_a_date_or_the_default_week(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    now = datetime.now(UTC)
    default = report_since(world, capsys)
    assert abs(datetime.fromisoformat(default["since"]) - (now - timedelta(days=7))) < timedelta(minutes=5)
    fortnight = report_since(world, capsys, "--since", "2w")
    assert abs(datetime.fromisoformat(fortnight["since"]) - (now - timedelta(days=14))) < timedelta(minutes=5)
    dated = report_since(world, capsys, "--since", "2026-11-01")
    assert datetime.fromisoformat(dated["since"]) == datetime(2026, 11, 1, tzinfo=UTC)
    zoned = report_since(world, capsys, "--since", "2026-11-01T10:00:00Z")
    assert datetime.fromisoformat(zoned["since"]) == datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_report_refuses_a_since_that_is_neither_an_age_nor_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--since", "last week"])
    assert "'last week' is neither an age such as 7d (at most 366d) nor an ISO-8601 date" in capsys.readouterr().err


def test_report_markdown_groups_and_trend_weeks(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    world.add("acme/api#1")
    code, out, _ = run(world, capsys, "report", "--group-by", "team", "--trend-weeks", "0")
    assert code == ExitCode.OK and out.startswith("#")
    report = report_since(world, capsys, "--group-by", "label", "--trend-weeks", "3")
    assert report["group_by"] == "label"
    assert len(report["trend"]["weeks"]) == 3


# `file`.


def test_file_creates_each_item_once_and_dry_run_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VERIFIER_PROMETHEUS_URL")
    examples = Path(__file__).resolve().parents[2] / "examples" / "action-items.yaml"
    world = World()
    code, out, _ = run(world, capsys, "file", str(examples), "--dry-run", "--json")
    assert code == ExitCode.OK and world.tracker.writes == []
    items = json.loads(out)
    code, out, _ = run(world, capsys, "file", str(examples))
    assert code == ExitCode.OK
    created = [title for _, kind, title in world.tracker.writes if kind == "create"]
    assert len(created) >= 2 and len(created) == len(set(created))
    assert items != {}
    code, out, _ = run(world, capsys, "file", str(examples), "--json")
    assert [kind for _, kind, _ in world.tracker.writes].count("create") == len(created)  # nothing twice


# Where a run's figures go.


def test_the_pushgateway_setting_builds_the_sink_with_its_job(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bootstrap.build_run_metrics(bootstrap.load(bootstrap.RunSettings)) is None
    monkeypatch.setenv("VERIFIER_PUSHGATEWAY_URL", "http://pushgateway.invalid:9091")
    monkeypatch.setenv("VERIFIER_PUSHGATEWAY_JOB", "verifier-nightly")
    sink = bootstrap.build_run_metrics(bootstrap.load(bootstrap.RunSettings))
    assert sink is not None
    assert vars(sink).get("url", getattr(sink, "_url", None)) is not None
    assert "verifier-nightly" in repr(vars(sink))
    assert "pushgateway.invalid:9091" in repr(vars(sink))


# `check-config`: the resolution on the backend, a file it cannot read or decode.


class FailingCatalog(FakeCatalog):
    """A backend that lists metric names, and fails when asked which."""

    def metric_names(self, selector: str, start: datetime, end: datetime) -> frozenset[str] | None:
        raise MetricsError("HTTP 503 from the backend", query=selector)


def test_check_config_resolve_exits_by_a_resolution_the_backend_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.md"
    config.write_text(BLOCK)
    code, out, _ = run(World(metrics=FailingCatalog()), capsys, "check-config", "--resolve", "--json", str(config))
    assert code == ExitCode.BACKEND_ERROR
    assert json.loads(out)["resolved"].startswith("the metrics backend failed: ")


def test_check_config_resolve_adds_the_resolution_to_the_explanation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.md"
    config.write_text(BLOCK)
    world = World()
    code, out, _ = run(world, capsys, "check-config", "--resolve", str(config))
    assert code == ExitCode.OK
    assert "format:      block\n" in out
    assert "candidates:  latency_seconds\n" in out
    assert "resolved:    the backend lists no metric names: queried as planned\n" in out
    code, out, _ = run(
        world, capsys, "check-config", "--resolve", "--resolved-at", "2026-11-01T00:00:00Z", "--json", str(config)
    )
    explained = json.loads(out)
    assert code == ExitCode.OK and "outcome" not in explained
    assert explained["window"] == "2026-11-01T00:00:00+00:00 to 2026-11-03T00:00:00+00:00"
    assert explained["resolved"] == "the backend lists no metric names: queried as planned"
    assert out == json.dumps(explained, indent=2) + "\n"
    code, out, _ = run(world, capsys, "check-config", "--json", str(config))
    assert "resolved" not in json.loads(out)


def test_check_config_names_why_a_file_cannot_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.md"
    code, out, err = run(World(), capsys, "check-config", str(missing))
    assert (code, out) == (ExitCode.INVALID, "")
    assert err == f"error: cannot read {missing}: No such file or directory\n"


def test_a_config_file_that_is_not_utf8_is_read_with_the_bad_bytes_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.md"
    config.write_bytes(b"Notes \xff\xfe from a Windows editor\n\n" + BLOCK.encode())
    code, out, _ = run(World(), capsys, "check-config", "--json", str(config))
    assert code == ExitCode.OK and json.loads(out)["condition"] == "< 100ms p99"


# `demo`: the sandbox servers in this process, the demo's own settings given to the app.


def test_demo_runs_against_the_sandbox_servers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("verifier_sandbox")
    without_tracker(monkeypatch)  # the demo gives the app its own settings
    monkeypatch.delenv("VERIFIER_PROMETHEUS_URL")
    assert main(["demo"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "action-item-verifier result v1; verdict=FAILED" in out
    assert "tracker writes in the second run: 0" in out
    assert TOKEN not in out


def test_the_demo_without_the_sandbox_says_what_to_install_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """tests/unit/test_packaging.py runs this in a child process, where mutmut cannot see it."""
    monkeypatch.setitem(sys.modules, "verifier_sandbox.demo", None)  # an import of it raises ImportError
    assert main(["demo"]) == ExitCode.INVALID
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        "error: the demo needs the sandbox servers: pip install -e ./sandbox in the repository\n",
    )


def test_report_defaults_and_the_bounds_of_trend_weeks(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    world.add("acme/api#1")
    report = report_since(world, capsys)
    assert report["group_by"] == "service" and len(report["trend"]["weeks"]) == 8
    code, out, _ = run(world, capsys, "report")
    assert code == ExitCode.OK and out.startswith("#")  # markdown unless asked
    assert len(report_since(world, capsys, "--trend-weeks", "52")["trend"]["weeks"]) == 52
    for bad in ("53", "-1"):
        with pytest.raises(SystemExit):
            main(["report", "--trend-weeks", bad])
        assert "--trend-weeks: invalid choice" in capsys.readouterr().err


def test_version_names_the_program_and_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    from verifier import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"action-item-verifier {__version__}\n"


def test_sigterm_during_a_run_stops_it_marked_interrupted(capsys: pytest.CaptureFixture[str]) -> None:
    # Kubernetes stops a Job's Pod with SIGTERM: the run stops taking tickets and says it was interrupted.
    previous = signal.getsignal(signal.SIGTERM)

    def answer(at: datetime) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs in the main thread
        return instant(0.05)

    world = World(metrics=FakeMetrics({QUERY: answer}))
    for n in range(1, 6):
        world.add(f"acme/api#{n}")
    try:
        _, out, _ = run(world, capsys, "run", "--json")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert json.loads(out)["interrupted"] is True


# Each command asks only for the settings it needs.


def without_tracker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VERIFIER_TRACKER", "VERIFIER_GITHUB_REPOSITORY", "VERIFIER_GITHUB_TOKEN"):
        monkeypatch.delenv(name)


def test_evaluate_and_check_config_resolve_need_no_tracker_and_link_to_the_graph_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without_tracker(monkeypatch)
    monkeypatch.setenv("VERIFIER_GRAPH_URL", "https://graphs.acme.test")
    config = tmp_path / "config.md"
    config.write_text(BLOCK)
    world = World()
    resolved = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, err = run(world, capsys, "evaluate", "--config", str(config), "--resolved-at", resolved, "--json")
    assert (code, err) == (ExitCode.OK, "")
    assert json.loads(out)["graph"].startswith("https://graphs.acme.test/graph?")
    code, out, err = run(world, capsys, "check-config", "--resolve", "--json", str(config))
    assert (code, err) == (ExitCode.OK, "") and "resolved" in json.loads(out)


def test_report_needs_no_metrics_backend(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("VERIFIER_PROMETHEUS_URL")
    world = World()
    world.add("acme/api#1")
    assert report_since(world, capsys)["group_by"] == "service"


def test_report_names_a_tracker_failure_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World()

    def down(label: str, since: datetime) -> Any:
        raise TrackerError("listing failed with HTTP 503")

    monkeypatch.setattr(world.tracker, "post_incident_tickets", down)
    code, out, err = run(world, capsys, "report")
    assert (code, out) == (ExitCode.FAILED, "")
    assert err == "error: listing failed with HTTP 503\n"


def test_since_keeps_the_time_zone_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    dated = report_since(World(), capsys, "--since", "2026-11-01T10:00:00+02:00")
    assert datetime.fromisoformat(dated["since"]) == datetime(2026, 11, 1, 8, tzinfo=UTC)


# `file`: what it says when it cannot, the text report, the metrics backend and the run's label.

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "action-items.yaml"


def test_file_names_a_bad_or_missing_file_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "items.yaml"
    bad.write_text("incident: [unclosed\n")
    code, out, err = run(World(), capsys, "file", str(bad))
    assert (code, out) == (ExitCode.INVALID, "")
    assert err.startswith("error: ") and err.count("\n") == 1
    missing = tmp_path / "none.yaml"
    code, out, err = run(World(), capsys, "file", str(missing))
    assert (code, err) == (ExitCode.INVALID, f"error: cannot read {missing}: No such file or directory\n")


ITEMS = """incident:
  id: INC-7
  alert_name: ErrorsHigh
  metric_name: errors_total
  service_name: checkout
  environment: production
  threshold_value: 5
  triggered_at: 2026-11-20T10:00:00Z
  query: sum(rate(errors_total[5m]))
items:
  - title: Fix the errors
    priority: P2
    {fields}
    verification: {{metric: errors_total, condition: "< 5", delay: 24h}}
"""
INCIDENT_QUERY = "sum(rate(errors_total[5m]))"


def test_file_says_on_one_line_why_nothing_was_filed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An item wrong for the tracker (`fields:` on GitHub) and a backend that fails while the incident is measured:
    one line on stderr each, nothing created, and the exit codes for a bad input and a failure."""
    items = tmp_path / "items.yaml"
    items.write_text(ITEMS.format(fields="fields: {team: Payments}"))
    world = World()
    code, out, err = run(world, capsys, "file", str(items))
    assert (code, out, world.tracker.writes) == (ExitCode.INVALID, "", [])
    assert err == (
        "error: item 1 (\"Fix the errors\"): config field 'fields.team': this tracker has no custom fields (on Jira,"
        " VERIFIER_JIRA_FIELDS maps them); nothing was filed\n"
    )
    items.write_text(ITEMS.format(fields=""))
    world.metrics.answers[INCIDENT_QUERY] = MetricsError("HTTP 503 from the backend", query=INCIDENT_QUERY)
    code, out, err = run(world, capsys, "file", str(items))
    assert (code, out, world.tracker.writes) == (ExitCode.FAILED, "", [])
    assert err == (
        "error: the metrics backend failed: HTTP 503 from the backend (query: sum(rate(errors_total[5m]))); nothing"
        " was filed\n"
    )


def test_file_reports_a_tracker_that_fails_while_filing_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = tmp_path / "items.yaml"
    items.write_text(ITEMS.format(fields=""))
    world = World()
    world.metrics.answers[INCIDENT_QUERY] = instant(12.0)
    world.tracker.fail_on = {"create"}
    code, out, err = run(world, capsys, "file", str(items))
    assert code == ExitCode.FAILED and "NOT FILED" in out
    assert err == 'error: item 1 ("Fix the errors"): Fix the errors: create failed with HTTP 500\n'


@dataclass
class Filing(FakeTracker):
    """Keeps the due date of each item it files."""

    due: dict[str, date | None] = field(default_factory=dict)

    def create(self, item: ActionItem, *, config_comment: bool = False) -> Ticket:
        self.due[item.title] = item.due
        return super().create(item, config_comment=config_comment)


def jira_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://acme.atlassian.net")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "jira-pat-123456")
    monkeypatch.setenv("VERIFIER_JIRA_PROJECT", "OPS")


@pytest.mark.parametrize(
    ("tracker", "due_setting", "dated"), [("jira", None, True), ("jira", "false", False), ("github", None, False)]
)
def test_file_sets_due_dates_from_the_sla_where_the_tracker_settings_say_so(
    tracker: str,
    due_setting: str | None,
    dated: bool,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`VERIFIER_JIRA_DUE_DATE` (default true): each item due its priority's SLA (`VERIFIER_SLA_DAYS`) from the
    filing day; GitHub issues have no due date."""
    if tracker == "jira":
        jira_env(monkeypatch)
    if due_setting is not None:
        monkeypatch.setenv("VERIFIER_JIRA_DUE_DATE", due_setting)
    monkeypatch.setenv("VERIFIER_SLA_DAYS", "P2=12")
    items = tmp_path / "items.yaml"
    items.write_text(ITEMS.format(fields=""))
    world = World(tracker=Filing())
    world.metrics.answers[INCIDENT_QUERY] = instant(12.0)
    code, _, _ = run(world, capsys, "file", str(items))
    assert code == ExitCode.OK
    assert world.tracker.due == {  # type: ignore[attr-defined]
        "Fix the errors": (datetime.now(UTC) + timedelta(days=12)).date() if dated else None
    }


def test_file_on_jira_needs_the_project(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    monkeypatch.setenv("VERIFIER_JIRA_URL", "https://acme.atlassian.net")
    monkeypatch.setenv("VERIFIER_JIRA_PAT", "jira-pat-123456")
    world = World()
    code, out, err = run(world, capsys, "file", str(EXAMPLES))
    assert (code, out) == (ExitCode.INVALID, "")
    assert (
        err == "error: invalid settings: VERIFIER_JIRA_PROJECT: the project to file the action items in is required\n"
    )
    assert world.tracker.writes == []


def test_file_prints_its_report_measures_with_the_backend_and_adds_the_runs_label(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_LABEL", "postmortem")
    world = World()
    code, out, _ = run(world, capsys, "file", str(EXAMPLES))
    assert code == ExitCode.OK
    created = [key for key, kind, _ in world.tracker.writes if kind == "create"]
    assert created and all(key in out for key in created)  # the text report names each ticket
    assert world.metrics.asked  # VERIFIER_PROMETHEUS_URL is set: the related queries were measured
    assert all("postmortem" in world.tracker.tickets[key].labels for key in created)
    code, out, _ = run(world, capsys, "file", str(EXAMPLES), "--json")
    assert isinstance(json.loads(out), dict)


# `doctor`.


@dataclass
class Answering(FakeMetrics):
    """A backend that answers `doctor`'s ping."""

    pinged: int = 0

    def ping(self) -> None:
        self.pinged += 1


def test_doctor_checks_the_tracker_the_backend_at_its_url_and_the_trusted_authors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_TRUSTED_AUTHORS", "alice")
    world = World(metrics=Answering())
    code, out, _ = run(world, capsys, "doctor")
    assert (code, world.metrics.pinged, world.trusted) == (ExitCode.OK, 1, [["alice"]])  # type: ignore[attr-defined]
    assert out == (
        "ok    tracker (github): signed in as verifier-bot\n"
        "ok    metrics backend: http://prometheus.invalid:9090 answered\n"
        "ok    trusted authors (by id): alice -> alice\n"
    )


def test_doctor_reports_bad_tracker_settings_as_a_failed_check_and_runs_the_others(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tracker's settings are not loaded up front: a tracker that cannot even be set up is one failed check."""
    monkeypatch.setenv("VERIFIER_TRACKER", "jira")
    world = World(metrics=Answering())
    code, out, err = run(world, capsys, "doctor")
    assert (code, err) == (ExitCode.FAILED, "")
    lines = out.splitlines()
    assert lines[0].startswith("FAIL  tracker (jira): invalid settings: ") and "VERIFIER_JIRA_URL" in lines[0]
    assert lines[1:] == ["ok    metrics backend: http://prometheus.invalid:9090 answered"]
