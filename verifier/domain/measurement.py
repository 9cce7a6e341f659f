"""What a metrics backend answered, reduced to numbers: the input of `decide`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Series:
    """One time series of the answer. `points` are (unix seconds, value); an instant query gives one point."""

    labels: tuple[tuple[str, str], ...]
    points: tuple[tuple[float, float], ...]

    def describe(self) -> str:
        if not self.labels:
            return "{}"
        return "{" + ", ".join(f'{k}="{v}"' for k, v in self.labels) + "}"


@dataclass(frozen=True)
class Measurement:
    """The series a query returned, and any warnings the backend attached (Thanos partial responses, ...).
    `infos` (Prometheus 3 annotations) are notes only: they never make the answer unusable."""

    series: tuple[Series, ...]
    warnings: tuple[str, ...] = field(default=())
    infos: tuple[str, ...] = field(default=())
