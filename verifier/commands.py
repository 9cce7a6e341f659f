"""The commands behind the command line (`cli.py` parses): each reads its arguments, calls a service, prints,
and returns an exit code.

Heavy modules (tracker clients, the metrics client) are imported inside the commands that need them, so that
`--help` answers fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from verifier.errors import ConfigError
from verifier.exit_codes import ExitCode, for_verdict

if TYPE_CHECKING:
    from verifier.bootstrap import Adapters


def check_config(args: argparse.Namespace, adapters: Adapters | None) -> int:
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
        print_json(explained)
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


def evaluate(args: argparse.Namespace, adapters: Adapters | None) -> int:
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
        print_json(report)
    else:
        for key, value in report.items():
            if key == "conditions":  # several: one line each, as the comment shows them
                for number, condition in enumerate(value, start=1):
                    print(f"{f'condition {number}:':<12} {condition['line']}")
            elif value is not None and value != []:
                print(f"{key + ':':<12} {value}")
    return for_verdict(report["verdict"])


def run(args: argparse.Namespace, adapters: Adapters | None) -> int:
    import signal
    import threading
    import time

    from verifier import redaction
    from verifier.bootstrap import app
    from verifier.services.push import push_metrics
    from verifier.services.run import run as run_tickets
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
        report = run_tickets(context.tracker, context.metrics, options, now, stop, sink=out)
        out.close(report)
        sink = context.run_metrics
        if sink is not None:
            push_metrics(sink, report, finished_at=time.time(), by_hand=bool(args.issue or args.now or args.dry_run))
    return report.exit_code


def report(args: argparse.Namespace, adapters: Adapters | None) -> int:
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
        print_json(as_json(report))
    else:
        sys.stdout.write(as_markdown(report))
    return ExitCode.OK


def file(args: argparse.Namespace, adapters: Adapters | None) -> int:
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
        print_json(as_json(report))
    else:
        print(as_text(report))
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
    return report.exit_code


def doctor(args: argparse.Namespace, adapters: Adapters | None) -> int:
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


def demo(args: argparse.Namespace, adapters: Adapters | None) -> int:
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


def print_json(data: dict[str, Any], out: TextIO | None = None) -> None:
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
