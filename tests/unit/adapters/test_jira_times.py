"""Jira's times are read as strptime read them, only faster (#26: 8 times a ticket, 20 us each with strptime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.adapters.jira.reading import _parse_time


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.sampled_from(["%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"]),
    st.sampled_from(["%z", "colon", "Z"]),
    st.integers(min_value=0, max_value=6),
)
def test_a_jira_time_is_read_as_strptime_reads_it(
    moment: datetime, minutes: int, layout: str, zone: str, digits: int
) -> None:
    aware = moment.replace(tzinfo=UTC if zone == "Z" else timezone(timedelta(minutes=minutes)))
    text = aware.strftime(layout)
    if layout.endswith("%f"):
        text = text[: len(text) - 6 + digits] if digits else text[: len(text) - 7]
    offset = aware.strftime("%z")
    text += {"%z": offset, "colon": f"{offset[:3]}:{offset[3:]}", "Z": "Z"}[zone]
    expected = None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            expected = datetime.strptime(text.replace("Z", "+00:00"), pattern)
            break
        except ValueError:
            continue
    found = _parse_time(text)
    assert expected is not None and found == expected and found.utcoffset() == expected.utcoffset(), text


def test_what_the_fast_path_does_not_match_is_read_by_strptime_then_fromisoformat() -> None:
    assert _parse_time("2025-1-3T4:05:06.5+0000") == datetime(2025, 1, 3, 4, 5, 6, 500000, tzinfo=UTC)
    assert _parse_time("2025-1-3T4:05:06-0130") == datetime(
        2025, 1, 3, 4, 5, 6, tzinfo=timezone(-timedelta(minutes=90))
    )
    assert _parse_time("2025-01-13 10:22:33+02:00") == datetime(2025, 1, 13, 8, 22, 33, tzinfo=UTC)
    naive = _parse_time("2025-01-13T10:22:33")  # taken as UTC
    assert naive == datetime(2025, 1, 13, 10, 22, 33, tzinfo=UTC) and naive.tzinfo is UTC
    assert _parse_time("2025-01-13T10:22:33Z") == datetime(2025, 1, 13, 10, 22, 33, tzinfo=UTC)


def test_no_time_is_none_and_a_time_that_is_not_one_says_why() -> None:
    assert _parse_time(None) is None and _parse_time("") is None
    with pytest.raises(ValueError, match=r"^day is out of range for month$"):
        _parse_time("2025-02-30T10:00:00.000+0000")
    with pytest.raises(ValueError, match=r"^Invalid isoformat string: 'yesterday'$"):
        _parse_time("yesterday")
