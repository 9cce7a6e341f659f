"""The process exit codes, for every command: one enum, so the CLI, the run and the README agree."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # something failed (tracker, backend, a ticket's ERROR): running again may help
    INVALID = 2  # bad settings, a bad file or config: running again will not help
    # `evaluate` answers one code per verdict: VERIFIED 0, FAILED 1, INVALID 2 and these three.
    INCONCLUSIVE = 3
    PENDING = 4
    BACKEND_ERROR = 5
    THROTTLED = 75  # EX_TEMPFAIL: the tracker's rate limit stopped the writing; the next run writes the rest
    # The run's deadline (VERIFIER_RUN_DEADLINE_SECONDS) passed with measurements still running: the verdicts ready
    # were written, the rest is judged by the next run (124, as timeout(1) exits).
    DEADLINE = 124
    INTERRUPTED = 143  # stopped by SIGTERM (128 + 15); the next run picks up where this one stopped


def for_verdict(verdict: str) -> ExitCode:
    """`evaluate`'s exit code for a verdict name."""
    return {
        "VERIFIED": ExitCode.OK,
        "FAILED": ExitCode.FAILED,
        "INVALID": ExitCode.INVALID,
        "INCONCLUSIVE": ExitCode.INCONCLUSIVE,
        "PENDING": ExitCode.PENDING,
        "ERROR": ExitCode.BACKEND_ERROR,
    }[verdict]
