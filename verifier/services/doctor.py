"""`doctor`: sign in to the tracker and ping the metrics backend, naming what failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from verifier.errors import TrackerError, VerifierError
from verifier.ports import Tracker


class Pingable(Protocol):
    def ping(self) -> None: ...


def checks(
    tracker_name: str,
    tracker: Callable[[], Tracker],
    metrics: Callable[[], Pingable],
    metrics_url: str,
    trusted: tuple[str, ...] = (),
) -> list[tuple[str, Callable[[], str]]]:
    """Each check a name and a function that returns a detail or raises VerifierError. The adapters are built
    inside the checks, so a tracker that cannot even be set up is one failed check, not the end of the others."""

    def tracker_check() -> str:
        return f"signed in as {tracker().account()}"

    def metrics_check() -> str:
        metrics().ping()
        return f"{metrics_url} answered"

    def trust_check() -> str:
        """The trusted authors as the run compares them: by immutable id (`Tracker.trust`)."""
        mapping = tracker().trust(trusted).mapping()
        missing = [line for line in mapping if line.endswith("(not trusted)")]
        if missing:
            raise TrackerError(f"not every trusted author was found: {'; '.join(mapping)}")
        return "; ".join(mapping)

    found = [(f"tracker ({tracker_name})", tracker_check), ("metrics backend", metrics_check)]
    return found + ([("trusted authors (by id)", trust_check)] if trusted else [])


def run_checks(checks: list[tuple[str, Callable[[], str]]]) -> tuple[list[str], int]:
    """Each check's line (`ok    name: detail` or `FAIL  name: error`) and how many failed."""
    lines, failures = [], 0
    for name, check in checks:
        try:
            lines.append(f"ok    {name}: {check()}")
        except VerifierError as error:
            failures += 1
            lines.append(f"FAIL  {name}: {error}")
    return lines, failures
