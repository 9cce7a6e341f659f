"""`doctor`: sign in to the tracker, check the permissions a run needs there, and ping the metrics backend, naming
what failed: each missing permission is a line of its own, and makes doctor fail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from verifier.domain.access import Access
from verifier.errors import TrackerError, VerifierError
from verifier.ports import Tracker


class Pingable(Protocol):
    def ping(self) -> None: ...


@runtime_checkable
class Permissioned(Protocol):
    """A tracker that can say which of the permissions a run needs it holds (`verifier.adapters.access`)."""

    def access(self, now: datetime) -> Access: ...


def checks(
    tracker_name: str,
    tracker: Callable[[], Tracker],
    metrics: Callable[[], Pingable],
    metrics_url: str,
    trusted: tuple[str, ...] = (),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[tuple[str, Callable[[], str | Access]]]:
    """Each check a name and a function that returns a detail or raises VerifierError. The adapters are built
    inside the checks, so a tracker that cannot even be set up is one failed check, not the end of the others."""

    def tracker_check() -> str | Access:
        """Sign in, then (where the adapter can say) the permissions a run needs, one line each."""
        adapter = tracker()
        signed_in = f"signed in as {adapter.account()}"
        if not isinstance(adapter, Permissioned):
            return signed_in
        try:
            return Access((signed_in,)) + adapter.access(now())
        except VerifierError as error:
            return Access((signed_in,), (f"the permissions could not be read: {error}",))

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

    found: list[tuple[str, Callable[[], str | Access]]] = [
        (f"tracker ({tracker_name})", tracker_check),
        ("metrics backend", metrics_check),
    ]
    return found + ([("trusted authors (by id)", trust_check)] if trusted else [])


def run_checks(checks: list[tuple[str, Callable[[], str | Access]]]) -> tuple[list[str], int]:
    """Each check's line (`ok    name: detail` or `FAIL  name: error`) and how many failed; a permission check
    gives a line per permission (`ok`, `warn` or `FAIL`), each missing one a failure."""
    lines, failures = [], 0
    for name, check in checks:
        try:
            result = check()
        except VerifierError as error:
            failures += 1
            lines.append(f"FAIL  {name}: {error}")
            continue
        if not isinstance(result, Access):
            lines.append(f"ok    {name}: {result}")
            continue
        lines += [f"ok    {name}: {line}" for line in result.granted]
        lines += [f"warn  {name}: {line}" for line in result.warnings]
        lines += [f"FAIL  {name}: {line}" for line in result.missing]
        failures += len(result.missing)
    return lines, failures
