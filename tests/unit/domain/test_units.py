import pytest

from verifier.domain.units import (
    BYTES,
    CONDITION_UNITS,
    MILLISECONDS,
    PERCENT,
    RATIO,
    SECONDS,
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
