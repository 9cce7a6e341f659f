"""The command line: thin wrappers that read arguments, call a service, print, and return an exit code.

Heavy modules (tracker clients, the metrics client) are imported inside the commands that need them, so that
`--help` answers fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from verifier import __version__
from verifier.errors import ConfigError, SettingsError

EXIT_OK = 0
EXIT_INVALID = 2
#: `evaluate` exit codes, one per verdict.
VERDICT_EXIT = {"VERIFIED": 0, "FAILED": 1, "INVALID": 2, "INCONCLUSIVE": 3, "PENDING": 4, "ERROR": 5}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INVALID
    result: int = args.handler(args)
    return result


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
    return parser


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO-8601 time such as 2026-11-20T10:00:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no time zone; add Z or +00:00")
    return moment


def _check_config(args: argparse.Namespace) -> int:
    from verifier.domain.explain import explain

    try:
        text = _read(args.file)
        explained = explain(text, now=datetime.now(UTC))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(explained)
    else:
        for key, value in explained.items():
            print(f"{key + ':':<12} {value}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from verifier.services.evaluate import evaluate_text
    from verifier.settings import MetricsSettings, load

    try:
        text = _read(args.config)
        settings = load(MetricsSettings)
    except (OSError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    from verifier import bootstrap

    with bootstrap.metrics(settings) as metrics:
        report = evaluate_text(
            text,
            metrics,
            resolved_at=args.resolved_at,
            now=args.now or datetime.now(UTC),
            early=args.early,
            accept_warnings=settings.accept_warnings,
        )
    if args.json:
        _print_json(report)
    else:
        for key, value in report.items():
            if value is not None and value != []:
                print(f"{key + ':':<12} {value}")
    return VERDICT_EXIT[report["verdict"]]


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _print_json(data: dict[str, Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout  # looked up at call time, so redirected output is honoured
    json.dump(data, out, indent=2, default=_json_default)
    out.write("\n")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot encode {type(value).__name__}")
