"""The errors the verifier raises, and what each one means for a ticket.

    VerifierError                   anything this project raises on purpose
    ├── ConfigError                 a ticket's verification config is wrong      -> verdict INVALID
    ├── SettingsError               the environment / settings are wrong          -> exit 2
    ├── MetricsError                the metrics backend could not answer a query
    │   ├── QueryRejected           the backend refused the query (400/422)      -> verdict INVALID
    │   └── BackendUnavailable      timeouts, 5xx, refused connections            -> verdict ERROR
    │       └── AnswerTooLarge      an answer past the size cap  -> asked again by aggregation, else ERROR
    └── TrackerError                the tracker could not be read or written      -> ticket untouched
        └── TrackerThrottled        a rate limit longer than the run can wait     -> stop writing, exit 75

Every error renders as one line that names what is wrong and where (ticket, field, query), because that line
ends up in a ticket comment or a CronJob log that someone reads without the code at hand.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(VerifierError):
    """A verification config that cannot be used: names the field and the reason."""

    def __init__(self, field: str, reason: str, *, ticket: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.ticket = ticket
        super().__init__(str(self))

    def for_ticket(self, ticket: str) -> ConfigError:
        """The same error, now naming the ticket it came from."""
        return ConfigError(self.field, self.reason, ticket=ticket)

    def __str__(self) -> str:
        where = f"{self.ticket}: " if self.ticket else ""
        if self.field == "text":  # about the whole text, not one field: "no verification config found"
            return f"{where}{_one_line(self.reason)}"
        return f"{where}config field '{self.field}': {_one_line(self.reason)}"


class SettingsError(VerifierError):
    """Settings that cannot be used; lists every field at fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "invalid settings: " + "; ".join(_one_line(p) for p in self.problems)


class MetricsError(VerifierError):
    """The metrics backend did not give a usable answer for a query."""

    def __init__(self, reason: str, *, query: str | None = None) -> None:
        self.reason = reason
        self.query = query
        super().__init__(str(self))

    def __str__(self) -> str:
        suffix = f" (query: {_one_line(self.query)})" if self.query else ""
        return f"{_one_line(self.reason)}{suffix}"


class QueryRejected(MetricsError):
    """The backend understood the request and refused the query itself: the config is wrong."""


class BackendUnavailable(MetricsError):
    """The backend could not be reached or failed: nothing is known about the fix."""


class AnswerTooLarge(BackendUnavailable):
    """The answer passed the size cap (many series): a window-mode query is asked again by aggregation."""


class TrackerError(VerifierError):
    """The tracker could not be read or written."""

    def __init__(self, reason: str, *, ticket: str | None = None) -> None:
        self.reason = reason
        self.ticket = ticket
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.ticket}: " if self.ticket else ""
        return f"{where}{_one_line(self.reason)}"


class TrackerThrottled(TrackerError):
    """The tracker refuses requests for longer than the run can wait (a rate limit): writing more now only
    earns more refusals, so the run stops writing and leaves the rest to the next run."""


def _one_line(text: str) -> str:
    return " ".join(text.split())
