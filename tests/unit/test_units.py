import pytest

from verifier.domain.units import (
    BYTES,
    CONDITION_UNITS,
    MILLISECONDS,
    PERCENT,
    RATIO,
    SECONDS,
    convert,
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
