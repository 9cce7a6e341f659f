import pytest

from verifier.domain.otel import looks_like_otel_name, prometheus_name


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
