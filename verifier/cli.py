"""The command line: thin wrappers that read arguments, call a service, print, and return an exit code.

Heavy modules (tracker clients, the metrics client) are imported inside the commands that need them, so that
`--help` answers fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from verifier import __version__
from verifier.errors import ConfigError, SettingsError
from verifier.exit_codes import ExitCode, for_verdict, run_help

if TYPE_CHECKING:
    from verifier.bootstrap import Adapters


def main(argv: Sequence[str] | None = None, *, adapters: Adapters | None = None) -> int:
    """Run one command; `adapters` replaces how adapters are built (tests: fakes, sandbox servers)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return ExitCode.INVALID
    from verifier import redaction

    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = redaction.RedactingStream(out), redaction.RedactingStream(err)
    try:
        return int(args.handler(args, adapters))
    except SettingsError as error:  # from `bootstrap.app`: every command's settings are checked there
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.INVALID
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="action-item-verifier",
        description="Verify closed post-incident action items against the metrics that found the incident.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check-config",
        help="read a ticket body or comment and show the config, the PromQL and the threshold it means",
        description="Read a ticket body or comment (a file, or - for standard input) and print the "
        "verification config found in it, the PromQL the run would send, the threshold in the metric's "
        "unit and the window. Exit 0 when valid, 2 with a one-line reason when not.",
    )
    check.add_argument("file", nargs="?", default="-", help="file to read; - (default) reads standard input")
    check.add_argument("--json", action="store_true", help="print JSON instead of text")
    check.add_argument(
        "--resolve",
        action="store_true",
        help="also ask the metrics backend (VERIFIER_PROMETHEUS_* settings) which series the metric resolves to",
    )
    check.add_argument(
        "--resolved-at", type=_timestamp, metavar="ISO-8601", help="with --resolve: the window of this resolution"
    )
    check.set_defaults(handler=_check_config)

    evaluate = commands.add_parser(
        "evaluate",
        help="would this config pass right now? query the metrics backend and print the verdict",
        description="Evaluate one verification config against the metrics backend (VERIFIER_PROMETHEUS_* "
        "settings; no tracker needed) and print the verdict, the value, the threshold, the window and the "
        "PromQL that ran. Exit codes: 0 verified, 1 failed, 2 invalid, 3 inconclusive, 4 pending, 5 backend "
        "error.",
    )
    evaluate.add_argument(
        "--config", required=True, metavar="FILE", help="ticket body, comment or bare block; - for stdin"
    )
    evaluate.add_argument(
        "--resolved-at", required=True, type=_timestamp, metavar="ISO-8601", help="when the fix was resolved"
    )
    evaluate.add_argument("--now", type=_timestamp, metavar="ISO-8601", help="judge as of this time (default: now)")
    evaluate.add_argument("--early", action="store_true", help="judge the window so far instead of answering PENDING")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of text")
    evaluate.set_defaults(handler=_evaluate)

    run = commands.add_parser(
        "run",
        help="verify every done post-incident ticket that is due (the CronJob's job)",
        description="List done post-incident tickets, read each one's trusted verification config, evaluate the "
        "due ones against the metrics backend, and comment, label or reopen. Settings come from VERIFIER_* "
        "variables and the secrets directory (see README). " + run_help(),
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="read and evaluate, write nothing, print what would be written; push no metrics (a dry run set by "
        'VERIFIER_DRY_RUN pushes, marked dry_run="true")',
    )
    run.add_argument(
        "--issue", action="append", default=[], metavar="KEY", help="only this ticket (repeatable); push no metrics"
    )
    run.add_argument(
        "--now",
        action="store_true",
        help="ignore the delay: judge the window so far (the comment says so); push no metrics",
    )
    run.add_argument(
        "--rejudge",
        action="store_true",
        help="also judge tickets judged elsewhere (the article's script's result comment or a verified/failed "
        "label, and no result of this tool): they are skipped otherwise",
    )
    run.add_argument(
        "--summary-file",
        metavar="FILE",
        help="also write this run's summary as JSON to FILE (what --json prints; the weekly review is `report`)",
    )
    # The flag's old name, taken for the `report` command too often: still works, says so once (#23).
    run.add_argument("--report", metavar="FILE", dest="summary_file", action=_Renamed, help=argparse.SUPPRESS)
    run.add_argument("--json", action="store_true", help="print the run summary as JSON instead of a table")
    run.set_defaults(handler=_run)

    report = commands.add_parser(
        "report",
        help="the weekly review's figures: filed, completed, verified, regressed, overdue, fix-hold rate",
        description="Read the post-incident tickets (every open one, and the done ones updated in the period) and "
        "print what was filed, completed, verified, regressed and is overdue, and the fix-hold rate (held / held + "
        "regressed), by service, team or label, with the failed and overdue tickets listed. Reads only. Settings "
        "as for `run` (the tracker's, VERIFIER_LABEL, VERIFIER_TRUSTED_AUTHORS, VERIFIER_SLA_DAYS). Exit 0, 1 when "
        "the tracker failed, 2 for a settings error.",
    )
    report.add_argument(
        "--since",
        type=_since,
        default="7d",
        metavar="AGE|ISO",
        help="start of the period: an age such as 7d, 2w, 90d (default 7d) or an ISO-8601 date or time",
    )
    report.add_argument("--format", choices=("markdown", "json"), default="markdown", help="default: markdown")
    report.add_argument(
        "--group-by",
        choices=("service", "team", "label"),
        default="service",
        help="rows of the table (default: service)",
    )
    report.add_argument(
        "--trend-weeks",
        type=int,
        choices=range(0, 53),
        default=8,
        metavar="N",
        help="weeks of the fix-hold trend, from the tickets' own results (default 8; 0: none)",
    )
    report.set_defaults(handler=_report)

    file = commands.add_parser(
        "file",
        help="file a review's action items as tickets with the incident's context and a verification config",
        description="Read an action-items file (YAML: the incident, optionally its Alertmanager webhook payload, "
        "related queries and the items with their verification configs; see docs/filing.md), check every item, "
        "capture the incident's context from the metrics backend when VERIFIER_PROMETHEUS_URL is set, and create "
        "each ticket not filed yet. Filing the same file again creates nothing twice. Exit 0 when every item is "
        "filed, 1 when the tracker or the metrics backend failed (run it again), 2 for a bad file or settings.",
    )
    file.add_argument("action_items", metavar="ACTION_ITEMS.yaml", help="the action-items file; - for stdin")
    file.add_argument("--dry-run", action="store_true", help="check and look up everything, create nothing")
    file.add_argument("--json", action="store_true", help="print the filing report as JSON")
    file.set_defaults(handler=_file)

    doctor = commands.add_parser(
        "doctor",
        help="check the credentials, permissions and reachability of the tracker and the metrics backend",
        description="Sign in to the tracker, check the permissions a run needs there (one line each) and ping the "
        "metrics backend with the run's settings; name what failed. Exit 0 when all hold, 1 when one does not "
        "(a missing permission included), 2 for a settings error.",
    )
    doctor.set_defaults(handler=_doctor)

    demo = commands.add_parser(
        "demo",
        help="run the real verification against in-process Jira and Prometheus servers with a seeded incident",
        description="Start in-process servers that answer as Jira Cloud and the Prometheus HTTP API, seed an "
        "incident with tickets that hold, regress, have no data, are pending or carry an invalid config, run the "
        "real `run` code path against them over HTTP, and print each outcome and the comments written.",
    )
    demo.set_defaults(handler=_demo)
    return parser


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO-8601 time such as 2026-11-20T10:00:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no time zone; add Z or +00:00")
    return moment


def _since(text: str) -> datetime | timedelta:
    """An age (`7d`, `2w`, `36h`) or an ISO-8601 date or time (UTC unless it says otherwise)."""
    from verifier.domain.durations import parse_duration

    try:
        return parse_duration(text, "--since")
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is neither an age such as 7d (at most 366d) nor an ISO-8601 date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_config(args: argparse.Namespace, adapters: Adapters | None) -> int:
    from verifier.domain.explain import explain

    try:
        text = _read(args.file)
        explained = explain(text, now=datetime.now(UTC))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.INVALID
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return ExitCode.INVALID
    code = ExitCode.OK
    if args.resolve:
        resolution = _resolution(text, args.resolved_at, adapters)
        if resolution is None:
            return ExitCode.INVALID
        outcome = resolution.pop("outcome")
        code = ExitCode.OK if outcome == "OK" else for_verdict(outcome)
        explained = {**explained, **resolution}
    if args.json:
        _print_json(explained)
    else:
        for key, value in explained.items():
            print(f"{key + ':':<12} {value}")
    return code


def _resolution(text: str, resolved_at: datetime | None, adapters: Adapters | None) -> dict[str, str] | None:
    """`check-config --resolve`: the series the metric resolves to on the configured backend."""
    from verifier.bootstrap import app
    from verifier.services.resolve import resolution_report

    with app(run=False, tracker=False, adapters=adapters) as context:
        try:
            return resolution_report(text, context.metrics, now=datetime.now(UTC), resolved_at=resolved_at)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return None


def _evaluate(args: argparse.Namespace, adapters: Adapters | None) -> int:
    from verifier.bootstrap import app, graph_links
    from verifier.services.evaluate import evaluate_text

    try:
        text = _read(args.config)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.INVALID
    with app(run=False, tracker=False, adapters=adapters) as context:
        report = evaluate_text(
            text,
            context.metrics,
            resolved_at=args.resolved_at,
            now=args.now or datetime.now(UTC),
            early=args.early,
            accept_warnings=context.metrics_settings.accept_warnings,
            links=graph_links(context.metrics_settings),
        )
    if args.json:
        _print_json(report)
    else:
        for key, value in report.items():
            if key == "conditions":  # several: one line each, as the comment shows them
                for number, condition in enumerate(value, start=1):
                    print(f"{f'condition {number}:':<12} {condition['line']}")
            elif value is not None and value != []:
                print(f"{key + ':':<12} {value}")
    return for_verdict(report["verdict"])


class _Renamed(argparse.Action):
    """`run --report`, the old name of `--summary-file`: stores its value there and prints one deprecation line
    on stderr."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        print("warning: run --report is deprecated, use --summary-file (the same JSON)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _run(args: argparse.Namespace, adapters: Adapters | None) -> int:
    import signal
    import threading
    import time

    from verifier import redaction
    from verifier.bootstrap import app
    from verifier.services.push import push_metrics
    from verifier.services.run import run
    from verifier.services.summary import Streamed

    with app(adapters=adapters) as context, ExitStack() as files:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        options = context.run_options(
            dry_run=args.dry_run, early=args.now, issues=tuple(args.issue), rejudge=args.rejudge
        )
        context.resolve_trust()
        now = datetime.now(UTC)
        summary = files.enter_context(open(args.summary_file, "w", encoding="utf-8")) if args.summary_file else None
        # Each ticket's result is printed once final, and not kept: memory stays flat in the number of tickets.
        out = Streamed(
            now,
            options.dry_run,
            text=None if args.json else sys.stdout,
            json_out=sys.stdout if args.json else None,
            file=summary,
            redact=redaction.redact_data,
        )
        report = run(context.tracker, context.metrics, options, now, stop, sink=out)
        out.close(report)
        sink = context.run_metrics
        if sink is not None:
            push_metrics(sink, report, finished_at=time.time(), by_hand=bool(args.issue or args.now or args.dry_run))
    return report.exit_code


def _report(args: argparse.Namespace, adapters: Adapters | None) -> int:
    from verifier.bootstrap import app
    from verifier.domain.report import as_json, as_markdown
    from verifier.errors import TrackerError
    from verifier.services.report import make_report

    with app(metrics=False, adapters=adapters) as context:
        now = datetime.now(UTC)
        since = now - args.since if isinstance(args.since, timedelta) else args.since
        try:
            options = context.run_options()
            context.resolve_trust()
            report = make_report(
                context.tracker,
                options,
                since=since,
                now=now,
                group_by=args.group_by,
                trend_weeks=args.trend_weeks,
            )
        except TrackerError as error:
            print(f"error: {error}", file=sys.stderr)
            return ExitCode.FAILED
    if args.format == "json":
        _print_json(as_json(report))
    else:
        sys.stdout.write(as_markdown(report))
    return ExitCode.OK


def _file(args: argparse.Namespace, adapters: Adapters | None) -> int:
    from pathlib import Path

    from verifier.bootstrap import app
    from verifier.domain.filing import parse_filing
    from verifier.errors import MetricsError
    from verifier.services.filing import as_json, as_text, file_items

    folder = Path(args.action_items).parent if args.action_items != "-" else Path.cwd()

    def read(path: str) -> str:  # an `alertmanager:` payload, relative to the action-items file
        return (folder / path).read_text(encoding="utf-8")

    try:
        document = parse_filing(_read(args.action_items), read=read)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.INVALID
    except OSError as error:
        print(f"error: cannot read {args.action_items}: {error.strerror or error}", file=sys.stderr)
        return ExitCode.INVALID
    with app(metrics="if-set", adapters=adapters) as context:
        options = context.filing_options(dry_run=args.dry_run)
        metrics = context.metrics if context.has_metrics() else None
        try:
            report = file_items(document, context.tracker, metrics, **options)
        except ConfigError as error:
            print(f"error: {error}; nothing was filed", file=sys.stderr)
            return ExitCode.INVALID
        except MetricsError as error:
            print(f"error: the metrics backend failed: {error}; nothing was filed", file=sys.stderr)
            return ExitCode.FAILED
    if args.json:
        _print_json(as_json(report))
    else:
        print(as_text(report))
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
    return report.exit_code


def _doctor(args: argparse.Namespace, adapters: Adapters | None) -> int:
    from verifier.bootstrap import app
    from verifier.services.doctor import checks, run_checks

    with app(tracker=False, adapters=adapters) as context:
        settings = context.settings
        found = checks(
            settings.tracker,
            lambda: context.tracker,
            lambda: context.metrics,
            context.metrics_settings.url,
            settings.trusted_authors,
        )
        lines, failures = run_checks(found)
    print("\n".join(lines))
    return ExitCode.FAILED if failures else ExitCode.OK


def _demo(args: argparse.Namespace, adapters: Adapters | None) -> int:
    try:
        from verifier_sandbox.demo import run_demo
    except ImportError:  # the product alone (the image): the servers the demo runs against are not installed
        print("error: the demo needs the sandbox servers: pip install -e ./sandbox in the repository", file=sys.stderr)
        return ExitCode.INVALID
    return run_demo(sys.stdout)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _print_json(data: dict[str, Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout  # looked up at call time, so redirected output is honoured
    # In pieces of about 64 KB: json.dump writes every token alone (90,000 writes through the redacting stream
    # for 1,000 tickets), and one string of the whole report would hold 50,000 tickets' text at once (#26).
    pieces: list[str] = []
    size = 0
    for piece in json.JSONEncoder(indent=2, default=_json_default).iterencode(data):
        pieces.append(piece)
        size += len(piece)
        if size >= 65536:
            out.write("".join(pieces))
            pieces, size = [], 0
    out.write("".join(pieces) + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot encode {type(value).__name__}")
