"""The condition language: `[name] OP NUMBER[UNIT] [pNN]`, or relative to a baseline.

Examples: `< 100ms p99`, `error_rate < 0.1%`, `p95 <= 250ms`, `>= 99.9%`, `< 50% of baseline`,
`<= 0.5x baseline`. Parsed by a tokenizer and a fixed grammar; nothing is ever evaluated as code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from verifier.domain.units import CONDITION_UNITS, Unit
from verifier.errors import ConfigError

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTILE = r"p(\d{1,2}(?:\.\d+)?)"
_UNIT = "|".join(re.escape(u) for u in sorted(CONDITION_UNITS, key=len, reverse=True))
_ABSOLUTE = re.compile(
    rf"""^\s*
    (?:(?P<name>[A-Za-z_][A-Za-z0-9_.:]*)\s+)?      # optional name: error_rate, p99
    (?P<op><=|>=|==|!=|<|>)\s*
    (?P<number>{_NUMBER})\s*
    (?P<unit>{_UNIT})?
    (?:\s+(?P<quantile>{_QUANTILE}))?
    \s*$""",
    re.VERBOSE,
)
_RELATIVE = re.compile(
    rf"""^\s*
    (?:(?P<name>[A-Za-z_][A-Za-z0-9_.:]*)\s+)?
    (?P<op><=|>=|==|!=|<|>)\s*
    (?P<number>{_NUMBER})\s*
    (?P<kind>%\s*of|x)\s+baseline
    (?:\s+(?P<quantile>{_QUANTILE}))?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_QUANTILE_NAME = re.compile(rf"^{_QUANTILE}$")


@dataclass(frozen=True)
class Condition:
    """A parsed condition. `number` is as written; `unit` is the written unit (None when none was written).

    For a relative condition `factor` is set (0.5 for `< 50% of baseline`) and `number`/`unit` are unused.
    """

    text: str
    op: str
    number: float
    unit: Unit | None
    quantile: float | None
    name: str | None
    factor: float | None = None

    @property
    def relative(self) -> bool:
        return self.factor is not None

    def holds(self, value: float, threshold: float) -> bool:
        """Whether `value OP threshold` is true. NaN never holds (the caller treats it as no data)."""
        if math.isnan(value):
            return False
        return OPERATORS[self.op](value, threshold)


def parse_condition(text: str) -> Condition:
    """Parse a condition; raises ConfigError naming the field `condition` and what is wrong."""
    if not isinstance(text, str):
        raise ConfigError("condition", f"must be text like '< 100ms p99', not {type(text).__name__}")
    if len(text) > 200:
        raise ConfigError("condition", "is longer than 200 characters")
    relative = _RELATIVE.match(text)
    if relative:
        number = _finite(relative.group("number"))
        factor = number / 100 if relative.group("kind").startswith("%") else number
        name, quantile = _name_and_quantile(relative.group("name"), relative.group("quantile"))
        return Condition(text.strip(), relative.group("op"), number, None, quantile, name, factor=factor)
    absolute = _ABSOLUTE.match(text)
    if not absolute:
        raise ConfigError(
            "condition",
            f"cannot read '{text.strip()}': expected [name] OP NUMBER[UNIT] [pNN], "
            "e.g. '< 100ms p99' or 'error_rate < 0.1%'",
        )
    unit = CONDITION_UNITS[absolute.group("unit")] if absolute.group("unit") else None
    name, quantile = _name_and_quantile(absolute.group("name"), absolute.group("quantile"))
    number = _finite(absolute.group("number"))
    return Condition(text.strip(), absolute.group("op"), number, unit, quantile, name)


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ConfigError("condition", f"the number {number} is out of range")
    return value


def _name_and_quantile(name: str | None, quantile: str | None) -> tuple[str | None, float | None]:
    """A leading `p99` is the quantile, not a name; a quantile given twice is a contradiction."""
    if name and _QUANTILE_NAME.match(name):
        if quantile:
            raise ConfigError("condition", f"gives two quantiles ({name} and {quantile})")
        quantile, name = name, None
    if quantile is None:
        return name, None
    q = float(quantile.removeprefix("p")) / 100
    if not 0 < q < 1:
        raise ConfigError("condition", f"quantile {quantile} must be between p0 and p100, exclusive")
    return name, q
