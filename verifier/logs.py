"""structlog configuration: JSON lines for machines, readable lines on a terminal; logs go to stderr.

Secrets are kept out twice: settings hold them as `SecretStr` (which renders as stars), and a last processor
replaces any registered secret value that still reaches an event, wherever it hides in the event's strings.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

from verifier import redaction


def register_secrets(values: Iterable[str | None]) -> None:
    """Values that must never appear in a log line (tokens, passwords), however they got into an event."""
    redaction.register(values)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Secrets masked and control characters written out (`redaction.printable`): outside text in an event (a
    backend's error, a title) neither leaks a secret nor drives the terminal of whoever reads the log."""
    for key, value in list(event.items()):
        text = value if isinstance(value, str) else None
        if text is None and not isinstance(value, int | float | bool | type(None)):
            text = str(value)
        if text is not None:
            redacted = redaction.printable(redaction.redact(text))
            if redacted != text:
                event[key] = redacted
    return event


def configure(*, json: bool | None = None, level: str = "info", stream: TextIO | None = None) -> None:
    """JSON when not on a terminal (the CronJob), console lines when on one (on-call)."""
    out = stream or sys.stderr
    as_json = json if json is not None else not out.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
