"""What `doctor` learns about the permissions a run needs on a tracker: each one granted, missing or doubtful."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    """One line each: what is granted, what a run needs and lacks (doctor fails), and what to look at (warnings)."""

    granted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __add__(self, other: Access) -> Access:
        return Access(self.granted + other.granted, self.missing + other.missing, self.warnings + other.warnings)
