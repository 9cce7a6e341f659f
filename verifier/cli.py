"""The command line: the parser, its argument types, and `main`, which runs one command (`commands.py`) with
secrets scrubbed from what it prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from verifier import __version__, commands
from verifier.errors import ConfigError, SettingsError
from verifier.exit_codes import ExitCode, run_help

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
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = subcommands.add_parser(
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
    check.set_defaults(handler=commands.check_config)

    evaluate = subcommands.add_parser(
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
    evaluate.set_defaults(handler=commands.evaluate)

    run = subcommands.add_parser(
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
    run.set_defaults(handler=commands.run)

    report = subcommands.add_parser(
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
    report.set_defaults(handler=commands.report)

    file = subcommands.add_parser(
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
    file.set_defaults(handler=commands.file)

    doctor = subcommands.add_parser(
        "doctor",
        help="check the credentials, permissions and reachability of the tracker and the metrics backend",
        description="Sign in to the tracker, check the permissions a run needs there (one line each) and ping the "
        "metrics backend with the run's settings; name what failed. Exit 0 when all hold, 1 when one does not "
        "(a missing permission included), 2 for a settings error.",
    )
    doctor.set_defaults(handler=commands.doctor)

    demo = subcommands.add_parser(
        "demo",
        help="run the real verification against in-process Jira and Prometheus servers with a seeded incident",
        description="Start in-process servers that answer as Jira Cloud and the Prometheus HTTP API, seed an "
        "incident with tickets that hold, regress, have no data, are pending or carry an invalid config, run the "
        "real `run` code path against them over HTTP, and print each outcome and the comments written.",
    )
    demo.set_defaults(handler=commands.demo)
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
