"""Every unit a condition or a config may name, held to its size in the base unit (seconds, bytes, ratio).

Each factor is checked against an independent statement of the unit's size and by a round trip through the
base unit, so a factor off by 60x or 1000x changes a verdict here before it changes one on a ticket.
"""

from __future__ import annotations

import pytest

from verifier.domain.units import (
    BYTES,
    CONDITION_UNITS,
    DECLARED_UNITS,
    MILLISECONDS,
    PERCENT,
    RATIO,
    SECONDS,
    Unit,
    convert,
    declared_unit,
    unit_of_metric_name,
)
from verifier.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("http_server_request_duration_seconds", SECONDS),
        ("http_server_request_duration_seconds_bucket", SECONDS),
        ("rpc_latency_milliseconds_sum", MILLISECONDS),
        ("process_resident_memory_bytes", BYTES),
        ("cache_hit_ratio", RATIO),
        ("cpu_percent", PERCENT),
        ("http_server_request_duration_seconds_count", None),
        ("http_requests_total", None),
        ("job:errors:ratio_rate5m", None),
    ],
)
def test_unit_from_name(name: str, unit: object) -> None:
    assert unit_of_metric_name(name) == unit


def test_conversions() -> None:
    assert convert(100, MILLISECONDS, SECONDS).value == pytest.approx(0.1)
    assert convert(0.1, PERCENT, RATIO).value == pytest.approx(0.001)
    assert convert(0.1, PERCENT, PERCENT).value == pytest.approx(0.1)
    assert convert(2, CONDITION_UNITS["GiB"], BYTES).value == 2 * 1024**3
    assert convert(1, CONDITION_UNITS["s"], MILLISECONDS).value == pytest.approx(1000)


def test_unknown_metric_unit_assumes_base_unit_and_says_so() -> None:
    t = convert(100, MILLISECONDS, None)
    assert t.value == pytest.approx(0.1) and t.unit == SECONDS and t.assumed
    assert "assumed" in t.describe()


def test_number_without_unit_is_taken_as_is() -> None:
    t = convert(5, None, SECONDS)
    assert (t.value, t.unit, t.assumed) == (5, SECONDS, False)


def test_time_on_bytes_metric_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="milliseconds cannot be compared with a metric in bytes"):
        convert(100, MILLISECONDS, BYTES)


@pytest.mark.parametrize(
    ("otel_unit", "dimension", "factor"),
    [
        ("By", "bytes", 1.0),
        ("KiBy", "bytes", 1024.0),
        ("MiBy", "bytes", 1024.0**2),
        ("GiBy", "bytes", 1024.0**3),
        ("TiBy", "bytes", 1024.0**4),
        ("KBy", "bytes", 1e3),
        ("MBy", "bytes", 1e6),
        ("GBy", "bytes", 1e9),
        ("TBy", "bytes", 1e12),
        ("s", "time", 1.0),
        ("ms", "time", 1e-3),
        ("us", "time", 1e-6),
        ("ns", "time", 1e-9),
        ("min", "time", 60.0),
        ("h", "time", 3600.0),
        ("d", "time", 86400.0),
        ("1", "fraction", 1.0),
        ("%", "fraction", 0.01),
        ("{request}", "count", 1.0),
        ("{order}", "count", 1.0),
    ],
)
def test_otel_units_and_their_factors(otel_unit: str, dimension: str, factor: float) -> None:
    unit = declared_unit(otel_unit)
    assert (unit.dimension, unit.factor) == (dimension, factor)


def test_a_condition_converts_into_the_metrics_otel_unit() -> None:
    assert convert(250, CONDITION_UNITS["ms"], declared_unit("us")).value == pytest.approx(250_000)
    assert convert(2, CONDITION_UNITS["m"], declared_unit("h")).value == pytest.approx(2 / 60)
    assert convert(1.5, CONDITION_UNITS["GiB"], declared_unit("MiBy")).value == pytest.approx(1536)
    assert convert(5, CONDITION_UNITS["%"], declared_unit("1")).value == pytest.approx(0.05)
    assert convert(5, None, declared_unit("{order}")).value == 5


def test_a_count_is_not_a_time_and_an_unknown_unit_is_named() -> None:
    with pytest.raises(ConfigError, match="a value in milliseconds cannot be compared with a metric in count"):
        convert(5, CONDITION_UNITS["ms"], declared_unit("{request}"))
    with pytest.raises(ConfigError, match=r"unknown unit 'furlong' \(known: .*or an annotation such as \{request\}\)"):
        declared_unit("furlong")


#: One of each unit, in its dimension's base unit, written out independently of verifier/domain/units.py.
SIZE_IN_BASE = {
    "ns": 0.000_000_001,
    "us": 0.000_001,
    "µs": 0.000_001,
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 60 * 60,
    "%": 0.01,
    "B": 1,
    "kB": 1000,
    "MB": 1000 * 1000,
    "GB": 1000 * 1000 * 1000,
    "KiB": 1024,
    "MiB": 1024 * 1024,
    "GiB": 1024 * 1024 * 1024,
}
BASE = {"time": SECONDS, "bytes": BYTES, "fraction": RATIO}


def test_every_condition_unit_is_listed_here() -> None:
    assert set(CONDITION_UNITS) == set(SIZE_IN_BASE)


@pytest.mark.parametrize("symbol", sorted(SIZE_IN_BASE))
def test_a_condition_unit_converts_to_its_size_in_the_base_unit_and_back(symbol: str) -> None:
    unit = CONDITION_UNITS[symbol]
    base = BASE[unit.dimension]
    in_base = convert(3, unit, base)
    assert in_base.value == pytest.approx(3 * SIZE_IN_BASE[symbol], rel=1e-12)
    assert (in_base.unit, in_base.assumed) == (base, False)
    assert convert(in_base.value, base, unit).value == pytest.approx(3, rel=1e-12)


@pytest.mark.parametrize("symbol", sorted(SIZE_IN_BASE))
def test_a_metric_of_unknown_unit_is_taken_in_the_base_unit(symbol: str) -> None:
    threshold = convert(2, CONDITION_UNITS[symbol], None)
    assert threshold.value == pytest.approx(2 * SIZE_IN_BASE[symbol], rel=1e-12)
    assert threshold.unit == BASE[CONDITION_UNITS[symbol].dimension] and threshold.assumed


@pytest.mark.parametrize(
    ("written", "metric_unit", "expected"),
    [
        ("h", "min", 60),
        ("m", "seconds", 60),
        ("s", "milliseconds", 1000),
        ("ms", "microseconds", 1000),
        ("us", "nanoseconds", 1000),
        ("h", "ns", 3.6e12),
        ("GiB", "MiBy", 1024),
        ("MiB", "KiBy", 1024),
        ("KiB", "By", 1024),
        ("GB", "MBy", 1000),
        ("MB", "KBy", 1000),
        ("kB", "bytes", 1000),
        ("GiB", "GBy", 1.073741824),
        ("%", "1", 0.01),
        ("%", "percent", 1),
        ("ms", "hours", 1 / 3_600_000),
    ],
)
def test_one_unit_in_a_metric_of_another_unit(written: str, metric_unit: str, expected: float) -> None:
    threshold = convert(1, CONDITION_UNITS[written], declared_unit(metric_unit))
    assert threshold.value == pytest.approx(expected, rel=1e-12)
    assert threshold.unit == declared_unit(metric_unit) and not threshold.assumed


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("seconds", "s"),
        ("s", "s"),
        ("milliseconds", "ms"),
        ("ms", "ms"),
        ("microseconds", "us"),
        ("us", "us"),
        ("nanoseconds", "ns"),
        ("minutes", "m"),
        ("min", "m"),
        ("hours", "h"),
        ("h", "h"),
        ("bytes", "B"),
        ("By", "B"),
        ("KiBy", "KiB"),
        ("MiBy", "MiB"),
        ("GiBy", "GiB"),
        ("KBy", "kB"),
        ("MBy", "MB"),
        ("GBy", "GB"),
        ("percent", "%"),
        ("%", "%"),
    ],
)
def test_a_declared_unit_name_means_the_same_size_as_its_symbol(name: str, symbol: str) -> None:
    unit = declared_unit(f"  {name} ")
    assert (unit.dimension, unit.factor) == (CONDITION_UNITS[symbol].dimension, CONDITION_UNITS[symbol].factor)
    assert unit.factor == pytest.approx(SIZE_IN_BASE[symbol], rel=1e-12)


@pytest.mark.parametrize("name", ["ratio", "1"])
def test_ratio_names_are_the_fraction_base_unit(name: str) -> None:
    assert declared_unit(name) == RATIO


def test_a_bare_m_is_not_a_declared_unit_minutes_are_spelled_out() -> None:
    """`m` is minutes in a condition, but in a config's `unit:` it could be read as metres: refused."""
    assert "m" not in DECLARED_UNITS
    with pytest.raises(ConfigError) as error:
        declared_unit("m")
    assert error.value.field == "unit"
    assert "unknown unit 'm'" in str(error.value) and "min" in str(error.value)


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("rpc_duration_seconds", SECONDS),
        ("rpc_duration_seconds_bucket", SECONDS),
        ("rpc_duration_seconds_sum", SECONDS),
        ("cpu_seconds_total", SECONDS),
        ("rpc_duration_milliseconds_bucket", CONDITION_UNITS["ms"]),
        ("gc_pause_microseconds", CONDITION_UNITS["us"]),
        ("gc_pause_nanoseconds_sum", CONDITION_UNITS["ns"]),
        ("heap_bytes", BYTES),
        ("sent_bytes_total", BYTES),
        ("error_ratio", RATIO),
        ("disk_used_percent", CONDITION_UNITS["%"]),
        ("rpc_duration_seconds_count", None),
        ("process_start_seconds_created", None),
        ("seconds_behind_primary", None),
        ("queue_depth", None),
        ("rpc_duration_seconds_total_bucket", None),
    ],
)
def test_a_metric_name_suffix_says_its_unit(name: str, unit: Unit | None) -> None:
    assert unit_of_metric_name(name) == unit
