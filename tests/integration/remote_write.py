"""Prometheus remote-write 1.0 requests built by hand: protobuf (prompb types.proto / remote.proto) and snappy.

For what no exporter in the test dependencies sends: native histograms into Prometheus 2.42, and series named as
the OpenTelemetry Collector's `prometheusremotewrite` exporter names them. Fields are encoded one by one, so the
tests need no generated code.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import requests
import snappy


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _double(number: int, value: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", value)


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def native_histogram(count: int, total: float, bucket: int, at_ms: int) -> bytes:
    """prompb.Histogram, schema 0 (bucket i holds (2^(i-1), 2^i]), every observation in `bucket`."""
    span = _int(1, _zigzag(bucket)) + _int(2, 1)  # BucketSpan{offset (sint32), length}
    return b"".join(
        [
            _int(1, count),  # count_int
            _double(3, total),  # sum
            _int(4, _zigzag(0)),  # schema (sint32)
            _double(5, 1e-128),  # zero_threshold
            _int(6, 0),  # zero_count_int
            _bytes(11, span),  # positive_spans
            _bytes(12, _varint(_zigzag(count))),  # positive_deltas: packed sint64, one bucket
            _int(15, at_ms),  # timestamp
        ]
    )


def series(
    labels: Mapping[str, str], samples: Sequence[tuple[float, int]] = (), histograms: Sequence[bytes] = ()
) -> bytes:
    """prompb.TimeSeries: labels sorted by name, float samples (value, ms) and encoded histograms."""
    parts = [_bytes(1, _bytes(1, k.encode()) + _bytes(2, v.encode())) for k, v in sorted(labels.items())]
    parts += [_bytes(2, _double(1, value) + _int(2, at_ms)) for value, at_ms in samples]
    parts += [_bytes(4, h) for h in histograms]
    return _bytes(1, b"".join(parts))  # WriteRequest.timeseries


def push(url: str, timeseries: Sequence[bytes]) -> None:
    """POST a WriteRequest to a remote-write receiver (`.../api/v1/write`)."""
    headers = {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    answer = requests.post(url, data=snappy.compress(b"".join(timeseries)), headers=headers, timeout=30)
    if answer.status_code not in (200, 204):
        raise RuntimeError(f"remote write refused: HTTP {answer.status_code} {answer.text[:500]}")
