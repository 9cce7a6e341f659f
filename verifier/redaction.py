"""Secrets never leave the process: one registry of secret values, and the filters every output goes through.

Settings hold secrets as `SecretStr`, but a secret can still come back inside other text: a metrics backend or a
proxy whose error page repeats the request's headers, a tracker error that quotes the request. Whatever the
route, stdout, stderr, log lines, `--json`, `--report` and `doctor` pass through `redact`; the Prometheus adapter
scrubs its own error text before it becomes a verdict, so result comments never carry one either.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from typing import Any, TextIO

MASK = "**********"
MIN_LENGTH = 4  # shorter values would mask ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()
# What a terminal acts on: C0 controls but tab and newline, DEL, C1 (CSI is also \x9b), and a CR that does not end
# a line (it would let a line overwrite what came before it on screen).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def variants(value: str) -> list[str]:
    """The forms a secret takes on the wire: itself, and each line of a multi-line one (a PEM private key)."""
    lines = [line.strip() for line in value.splitlines() if len(line.strip()) >= 16 and "-----" not in line]
    return [value, *lines]


def basic_auth(username: str, password: str) -> str:
    """The value of a Basic Authorization header, as an echoed header shows it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def register(values: Iterable[str | None]) -> None:
    """Values that must never appear in any output (tokens, passwords, header values, keys)."""
    with _lock:
        for value in values:
            if value:
                _secrets.update(v for v in variants(value) if len(v) >= MIN_LENGTH)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every registered secret (or every one of `secrets`) replaced by stars, longest first."""
    known = sorted(_secrets if secrets is None else set(secrets), key=len, reverse=True)
    for secret in known:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def printable(text: str) -> str:
    """`text` with every control character a terminal would act on (ESC of OSC 52 / OSC 8 / CSI sequences, bare
    CR, ...) written out as `\\xNN` text: outside text (backend errors, titles) cannot drive the terminal."""
    return _CONTROL.sub(lambda m: "\\r" if m.group() == "\r" else f"\\x{ord(m.group()):02x}", text)


def redact_data(value: Any) -> Any:
    """A JSON-able structure with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


class RedactingStream:
    """A text stream that redacts whole lines before they reach `target` (a secret never spans a line), with their
    control characters made `printable`."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._pending = ""
        self._lock = threading.Lock()  # log lines come from worker threads too

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                complete, _, self._pending = self._pending.rpartition("\n")
                self.target.write(printable(redact(complete + "\n")))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.target.write(printable(redact(self._pending)))
                self._pending = ""
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno...: as the wrapped stream
        return getattr(self.target, name)
