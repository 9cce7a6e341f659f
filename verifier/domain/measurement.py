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


@dataclass(frozen=True)
class Aggregated:
    """A window-mode answer asked by aggregation (`planning.Aggregates`): how many series there are, how many
    break the condition, how many are NaN or ±Inf, and the worst series alone. Counts are as the backend sent
    them (a count of nothing is 0); `decide_aggregated` refuses figures that do not add up."""

    total: float
    broken: float
    nan: float
    infinite: float
    worst: Series | None
    warnings: tuple[str, ...] = field(default=())
    infos: tuple[str, ...] = field(default=())
