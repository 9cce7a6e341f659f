"""OpenTelemetry names as each exporter writes them (verifier/domain/otel.py): the unit words, the suffix rules,
and the escaping of every translation strategy.
"""

from __future__ import annotations

import pytest

from verifier.domain.otel import (
    Instrument,
    Strategy,
    escape_label,
    legacy_name,
    looks_like_otel_name,
    otlp_name,
    prometheus_name,
    python_exporter_name,
    sdk_remote_write_name,
    unit_suffix,
    unit_suffixes,
)


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("http.server.request.duration", "s", "http_server_request_duration_seconds"),
        ("http.server.request.duration", "ms", "http_server_request_duration_milliseconds"),
        ("system.memory.usage", "By", "system_memory_usage_bytes"),
        ("system.network.io", "By/s", "system_network_io_bytes_per_second"),
        ("http.server.active_requests", "{request}", "http_server_active_requests"),
        ("system.cpu.utilization", "1", "system_cpu_utilization_ratio"),
        ("queue.latency_seconds", "s", "queue_latency_seconds"),
        ("k8s.pod.cpu-time", None, "k8s_pod_cpu_time"),
    ],
)
def test_translation(name: str, unit: str | None, expected: str) -> None:
    assert prometheus_name(name, unit) == expected


def test_detection() -> None:
    assert looks_like_otel_name("http.server.request.duration")
    assert not looks_like_otel_name("http_server_request_duration_seconds")
    assert not looks_like_otel_name("sum(rate(x[5m])) / 1.5")


def test_a_dotted_name_ending_in_a_newline_is_no_otel_name() -> None:
    assert not looks_like_otel_name("a.b\n")


COUNTER, GAUGE, HISTOGRAM = Instrument.COUNTER, Instrument.GAUGE, Instrument.HISTOGRAM


@pytest.mark.parametrize(
    ("unit", "suffix"),
    [
        (None, ""),
        ("", ""),
        ("1", "ratio"),
        ("{request}", ""),
        ("{packet}1", "ratio"),
        (" s ", "seconds"),
        ("d", "days"),
        ("h", "hours"),
        ("min", "minutes"),
        ("us", "microseconds"),
        ("ns", "nanoseconds"),
        ("KiBy", "kibibytes"),
        ("MiBy", "mebibytes"),
        ("GiBy", "gibibytes"),
        ("TiBy", "tebibytes"),
        ("KBy", "kilobytes"),
        ("MBy", "megabytes"),
        ("GBy", "gigabytes"),
        ("TBy", "terabytes"),
        ("m", "meters"),
        ("V", "volts"),
        ("A", "amperes"),
        ("J", "joules"),
        ("W", "watts"),
        ("g", "grams"),
        ("Cel", "celsius"),
        ("Hz", "hertz"),
        ("%", "percent"),
        ("seconds", "seconds"),
        ("milliseconds", "milliseconds"),
        ("bytes", "bytes"),
        ("ratio", "ratio"),
        ("percent", "percent"),
        ("foo", "foo"),
        ("By/s", "bytes_per_second"),
        ("m/{x}", "meters"),
        ("/h", "per_hour"),
        ("ms/mo", "milliseconds_per_month"),
        ("KiBy/y", "kibibytes_per_year"),
        ("1/w", "1_per_week"),
        ("By/d", "bytes_per_day"),
        ("By/min", "bytes_per_minutes"),
        ("By/ms", "bytes_per_milliseconds"),
        ("x-y/z.w", "x_y_per_z_w"),
    ],
)
def test_unit_suffix_words(unit: str | None, suffix: str) -> None:
    assert unit_suffix(unit) == suffix


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("9lives", "s", "_9lives_seconds"),
        ("a.seconds", "s", "a_seconds"),
        ("secondsx", "s", "secondsx_seconds"),
        ("xseconds", "s", "xseconds_seconds"),
        ("a..b", None, "a_b"),
        ("_a_", None, "a"),
        ("a", "{x}", "a"),
        ("a:b", None, "a:b"),
    ],
)
def test_prometheus_name_edges(name: str, unit: str | None, expected: str) -> None:
    assert prometheus_name(name, unit) == expected


@pytest.mark.parametrize(
    ("unit", "pair"),
    [
        (None, ("", "")),
        ("1", ("", "")),
        ("{req}", ("", "")),
        ("s", ("seconds", "")),
        (" By / s ", ("bytes", "per_second")),
        ("TiBy", ("tibibytes", "")),
        ("ms/{x}", ("milliseconds", "")),
        ("{x}/s", ("", "per_second")),
        ("By/ms", ("bytes", "per_ms")),
        ("seconds", ("seconds", "")),
        ("milliseconds", ("milliseconds", "")),
        ("bytes", ("bytes", "")),
        ("foo/bar", ("foo", "per_bar")),
        ("/mo", ("", "per_month")),
    ],
)
def test_unit_suffixes_for_the_exporters(unit: str | None, pair: tuple[str, str]) -> None:
    assert unit_suffixes(unit) == pair


# name, unit, instrument -> with suffixes, without suffixes, UTF-8 with suffixes, no translation
OTLP = [
    (
        ("http.server.request.duration", "s", HISTOGRAM),
        (
            "http_server_request_duration_seconds",
            "http_server_request_duration",
            "http.server.request.duration_seconds",
        ),
    ),
    (
        ("http.server.requests", "{request}", COUNTER),
        ("http_server_requests_total", "http_server_requests", "http.server.requests_total"),
    ),
    (
        ("system.cpu.utilization", "1", GAUGE),
        ("system_cpu_utilization_ratio", "system_cpu_utilization", "system.cpu.utilization_ratio"),
    ),
    (
        ("system.network.io", "By/s", COUNTER),
        ("system_network_io_bytes_per_second_total", "system_network_io", "system.network.io_bytes_per_second_total"),
    ),
    (("requests_total", "", COUNTER), ("requests_total", "requests_total", "requests_total")),
    (("2xx.count", "1", COUNTER), ("_2xx_count_total", "_2xx_count", "2xx.count_total")),
    (("cpu_ratio", "1", GAUGE), ("cpu_ratio", "cpu_ratio", "cpu_ratio")),
    (("ratio.cpu", "1", GAUGE), ("cpu_ratio", "ratio_cpu", "ratio.cpu_ratio")),
    (("total.x", "", COUNTER), ("x_total", "total_x", "total.x_total")),
    (("rate.per", "/s", GAUGE), ("rate_per_per_second", "rate_per", "rate.per_per_second")),
    (("x.seconds", "s", GAUGE), ("x_seconds", "x_seconds", "x.seconds")),
    (("x.total", "By", COUNTER), ("x_bytes_total", "x_total", "x_bytes_total")),
    (("x.per_second", "/s", GAUGE), ("x_per_second_per_second", "x_per_second", "x_per_second")),
    (("memory", "TiBy", GAUGE), ("memory_tibibytes", "memory", "memory_tibibytes")),
    (("memory", "1", COUNTER), ("memory_total", "memory", "memory_total")),
    (("a__b..c", None, GAUGE), ("a_b_c", "a__b_c", "a__b..c")),
    (("a", "{x}/{y}", GAUGE), ("a", "a", "a")),
    (("a", "-/-", GAUGE), ("a", "a", "a_-_per_-")),
    (("ratio", "1", GAUGE), ("ratio", "ratio", "ratio_ratio")),
    (("total", None, COUNTER), ("total", "total", "total_total")),
    (("ax_total", None, COUNTER), ("ax_total", "ax_total", "ax_total")),
]


@pytest.mark.parametrize(("args", "names"), OTLP)
def test_prometheus_otlp_translation_per_strategy(args: tuple[str, str | None, Instrument], names: tuple) -> None:
    name, unit, instrument = args
    with_suffixes, without, utf8 = names
    assert otlp_name(name, unit, instrument, Strategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES) == with_suffixes
    assert otlp_name(name, unit, instrument, Strategy.UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES) == without
    assert otlp_name(name, unit, instrument, Strategy.NO_UTF8_ESCAPING_WITH_SUFFIXES) == utf8
    assert otlp_name(name, unit, instrument, Strategy.NO_TRANSLATION) == name


def test_strategy_values_are_prometheus_setting_names() -> None:
    assert [s.value for s in Strategy] == [
        "UnderscoreEscapingWithSuffixes",
        "UnderscoreEscapingWithoutSuffixes",
        "NoUTF8EscapingWithSuffixes",
        "NoTranslation",
    ]
    assert [i.value for i in Instrument] == ["counter", "gauge", "histogram"]


@pytest.mark.parametrize(
    ("name", "unit", "instrument", "expected"),
    [
        ("http.server.request.duration", "s", HISTOGRAM, "http_server_request_duration_seconds"),
        ("http.server.requests", "{request}", COUNTER, "http_server_requests_total"),
        ("system.cpu.utilization", "1", GAUGE, "system_cpu_utilization"),
        ("system.network.io", "By/s", COUNTER, "system_network_io_bytes_per_second_total"),
        ("requests_total", None, COUNTER, "requests_total"),
        ("2xx.count", "1", COUNTER, "_xx_count_total"),
        ("x.seconds", "s", GAUGE, "x_seconds"),
        ("xseconds", "s", GAUGE, "xseconds_seconds"),
        ("x.total", "By", COUNTER, "x_total_bytes_total"),
        ("a-.b", "/s", GAUGE, "a_b_per_second"),
        ("a", "{x}", GAUGE, "a"),
    ],
)
def test_python_exporter_names(name: str, unit: str | None, instrument: Instrument, expected: str) -> None:
    assert python_exporter_name(name, unit, instrument) == expected


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("http.server.request.duration", "s", "http_server_request_duration_s"),
        ("http.server.requests", "{request}", "http_server_requests__request_"),
        ("system.network.io", "By/s", "system_network_io_By_s"),
        ("2xx.count", "1", "_xx_count_1"),
        ("a:b", None, "a:b"),
        ("a", "", "a"),
        ("é", None, "_"),
        ("a9", None, "a9"),
    ],
)
def test_sdk_remote_write_names(name: str, unit: str | None, expected: str) -> None:
    assert sdk_remote_write_name(name, unit) == expected


def test_legacy_names_are_those_promql_writes_bare() -> None:
    assert legacy_name("a:b_c9")
    assert legacy_name("_x")
    assert legacy_name(":x")
    assert legacy_name("Ab")
    assert not legacy_name("a.b")
    assert not legacy_name("1a")
    assert not legacy_name("")
    assert not legacy_name("ab\n")


def test_escaped_labels() -> None:
    assert escape_label("service.name") == "service_name"
    assert escape_label("1a.b") == "_1a_b"
    assert escape_label("a-b") == "a_b"
    assert escape_label("Ab_9") == "Ab_9"
    assert escape_label("") == ""


def test_otel_name_detection_edges() -> None:
    assert looks_like_otel_name("a.b-c/d")
    assert looks_like_otel_name("A.B_9")
    assert not looks_like_otel_name("1.b")
    assert not looks_like_otel_name("a.b c")
    assert not looks_like_otel_name("ab")
    assert not looks_like_otel_name("a_b")


@pytest.mark.parametrize("unit", ["{req", "req}", "By/{x", "By/x}"])
def test_a_unit_with_half_an_annotation_adds_no_word_for_that_half(unit: str) -> None:
    main, per = unit_suffixes(unit)
    assert "req" not in main
    assert per == ""
    if unit.startswith("By"):
        assert main == "bytes"
    else:
        assert main == ""


def test_capital_letters_are_kept() -> None:
    assert prometheus_name("X.Y", None) == "X_Y"
    assert prometheus_name("a", "X") == "a_X"
    assert otlp_name("a", "X", GAUGE, Strategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES) == "a_X"
    assert otlp_name("a", "/X", GAUGE, Strategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES) == "a_per_X"
    assert python_exporter_name("Ab.Cd", "X", GAUGE) == "Ab_Cd_X"


def test_a_name_that_is_only_the_suffix_is_not_trimmed_to_nothing() -> None:
    assert otlp_name("xtotal", None, COUNTER, Strategy.NO_UTF8_ESCAPING_WITH_SUFFIXES) == "xtotal_total"
    assert otlp_name("_total", None, COUNTER, Strategy.NO_UTF8_ESCAPING_WITH_SUFFIXES) == "_total_total"
