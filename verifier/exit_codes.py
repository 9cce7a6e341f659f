"""The process exit codes, for every command: one enum, so the CLI, the run, the README and the chart agree.

`RUN` is what each code means for `run` and whether the Job tries the run again in the same slot: only when the
whole run failed before writing anything. A retry starts with a fresh write budget (`VERIFIER_MAX_WRITES`), so a
run that wrote and then failed is not retried, and neither is one whose tickets partly ended in ERROR (recorded in
the summary, pushed, alerted on; the next scheduled run tries them again). The chart's `podFailurePolicy` fails the
Job at once for every code but the retried ones; tests/unit/test_exit_codes.py holds README's table, `run --help`,
this module and the chart together.
"""

from __future__ import annotations

from enum import IntEnum

from verifier.domain.outcomes import Outcome


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the run failed as a whole before writing (tracker unreachable): running again may help
    INVALID = 2  # bad settings, a bad file or config: running again will not help
    # `evaluate` answers one code per verdict: VERIFIED 0, FAILED 1, INVALID 2 and these three.
    INCONCLUSIVE = 3
    PENDING = 4
    BACKEND_ERROR = 5
    STOPPED_AFTER_WRITES = 74  # the run failed as a whole after writing: not retried (no second write budget)
    THROTTLED = 75  # EX_TEMPFAIL: the tracker's rate limit stopped the writing; the next run writes the rest
    # The run's deadline (VERIFIER_RUN_DEADLINE_SECONDS) passed with measurements still running: the verdicts ready
    # were written, the rest is judged by the next run (124, as timeout(1) exits).
    DEADLINE = 124
    INTERRUPTED = 143  # stopped by SIGTERM (128 + 15); the next run picks up where this one stopped


#: `run`'s exit codes: (code, retried by the Job in the same slot, meaning).
RUN: tuple[tuple[ExitCode, bool, str], ...] = (
    (
        ExitCode.OK,
        False,
        "every listed ticket handled; tickets that ended in ERROR are in the summary and the "
        "pushed metrics, and the next run tries them again",
    ),
    (
        ExitCode.FAILED,
        True,
        "the run failed as a whole before writing anything (the tracker unreachable, its listing failed)",
    ),
    (ExitCode.INVALID, False, "settings error"),
    (ExitCode.STOPPED_AFTER_WRITES, False, "the run failed as a whole after writing; the next run carries on"),
    (ExitCode.THROTTLED, False, "the tracker's rate limit stopped the writing; the next run writes the rest"),
    (
        ExitCode.DEADLINE,
        False,
        "the run's deadline (VERIFIER_RUN_DEADLINE_SECONDS) passed with measurements still running; the verdicts "
        "ready were written, the next run judges the rest",
    ),
    (ExitCode.INTERRUPTED, False, "stopped by SIGTERM; the next run picks up where this one stopped"),
)
#: The codes after which the Job runs `run` again in the same slot (podFailurePolicy: every other one fails it).
RETRIED = tuple(code for code, retried, _ in RUN if retried)


def run_help() -> str:
    """`run`'s exit codes, one sentence each, for `run --help`."""
    return " ".join(
        f"Exit {int(code)}: {meaning}{' (retried by the Job)' if retried else ''}." for code, retried, meaning in RUN
    )


def for_verdict(verdict: str) -> ExitCode:
    """`evaluate`'s exit code for a verdict (its name, as the JSON report carries it)."""
    return {
        Outcome.VERIFIED: ExitCode.OK,
        Outcome.FAILED: ExitCode.FAILED,
        Outcome.INVALID: ExitCode.INVALID,
        Outcome.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
        Outcome.PENDING: ExitCode.PENDING,
        Outcome.ERROR: ExitCode.BACKEND_ERROR,
    }[Outcome(verdict)]
