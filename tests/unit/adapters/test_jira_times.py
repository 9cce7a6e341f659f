"""Jira's times are read as strptime read them, only faster (#26: 8 times a ticket, 20 us each with strptime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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
