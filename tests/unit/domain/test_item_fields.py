"""An item's tracker fields, its Jira due date and the incident's issue in the action-items file (#24): the parsers
are total (a value or a ConfigError naming the field), and the due date is the SLA rule `report` counts overdue
by, from the `now` given."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.services.test_remind import open_ticket
from verifier import defaults
from verifier.defaults import PRIORITIES
from verifier.domain.item_fields import MAX_FIELDS, MAX_VALUE, due_date, parse_fields, parse_issue, unmapped
from verifier.domain.sla import due_date as report_due_date
from verifier.errors import ConfigError

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
sla = st.fixed_dictionaries({p: st.integers(1, 3650) for p in PRIORITIES})


@given(priority=st.sampled_from(PRIORITIES), now=moments, days=sla)
def test_the_due_date_is_the_sla_of_the_priority_from_now(priority: str, now: datetime, days: dict[str, int]) -> None:
    assert due_date(priority, now, days) == (now + timedelta(days=days[priority])).date()


@given(priority=st.sampled_from(PRIORITIES), filed=moments, days=sla)
def test_the_due_date_is_the_day_report_counts_the_ticket_overdue_from(
    priority: str, filed: datetime, days: dict[str, int]
) -> None:
    """One rule: the day Jira shows as due is the day of `report`'s due moment for the ticket filed then."""
    ticket = open_ticket("OPS-1", created_days=0, priority=priority, created=filed)
    overdue_from = report_due_date(ticket, days)
    assert overdue_from is not None
    assert due_date(priority, filed, days) == overdue_from.date()


def test_the_default_slas_give_the_documented_dates() -> None:
    now = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert [due_date(p, now, defaults.SLA_DAYS) for p in PRIORITIES] == [
        date(2026, 11, 23),
        date(2026, 11, 27),
        date(2026, 12, 20),
        date(2027, 2, 18),
    ]


def test_a_due_date_is_a_utc_day() -> None:
    late_evening_in_new_york = datetime(2026, 11, 20, 23, 30, tzinfo=UTC) - timedelta(hours=5)  # 18:30 -05:00
    assert due_date("P1", late_evening_in_new_york.astimezone(UTC), {"P1": 1}) == date(2026, 11, 21)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@given(st.one_of(values, st.dictionaries(st.text(max_size=70), values, max_size=25)))
def test_parse_fields_is_total_and_keeps_only_bounded_strings_and_finite_numbers(raw: object) -> None:
    try:
        parsed = parse_fields(raw)
    except ConfigError as error:
        assert error.field == "fields" or error.field.startswith("fields.")
        return
    assert len(parsed) <= MAX_FIELDS
    for name, value in parsed:
        assert isinstance(name, str) and name.isascii() and name[0].isalpha()
        if isinstance(value, str):
            assert 0 < len(value) <= MAX_VALUE and not set(value) & {"\n", "\r", "\x00"}
        else:
            assert not isinstance(value, bool) and math.isfinite(value) and abs(value) < 2**53


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        ("Payments", "fields", "must be a mapping"),
        ({"Team": "x"}, "fields", "'Team' is not a field name"),
        ({"team": None}, "fields.team", "not NoneType"),
        ({"team": ""}, "fields.team", f"1 to {MAX_VALUE} characters"),
        ({"points": math.inf}, "fields.points", "finite"),
        ({f"f{i}": 1 for i in range(MAX_FIELDS + 1)}, "fields", f"at most {MAX_FIELDS}"),
    ],
)
def test_parse_fields_refuses_with_the_field_named(raw: object, field: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_fields(raw)
    assert refused.value.field == field and problem in refused.value.reason


def test_parse_fields_keeps_the_values() -> None:
    assert parse_fields({"team": "  Payments ", "points": 3, "ratio": 0.5}) == (
        ("team", "Payments"),
        ("points", 3),
        ("ratio", 0.5),
    )
    assert unmapped(parse_fields({"team": "x", "points": 1}), {"team": "customfield_1"}) == "points"
    assert unmapped(parse_fields({"team": "x"}), {"team": "customfield_1"}) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("acme/api#12", "acme/api#12"),
        (" acme/api.web#7 ", "acme/api.web#7"),
        ("https://github.com/acme/api/issues/12", "acme/api#12"),
        ("https://ghe.example.com/acme/api/issues/12/", "acme/api#12"),
    ],
)
def test_the_incident_issue_is_read_as_a_key(raw: str, key: str) -> None:
    assert parse_issue(raw) == key


@given(st.one_of(st.text(max_size=200), st.integers(), st.none()))
def test_parse_issue_is_total(raw: object) -> None:
    try:
        key = parse_issue(raw)
    except ConfigError as error:
        assert error.field == "incident.issue"
        return
    repo, _, number = key.partition("#")
    assert repo.count("/") == 1 and number.isdigit() and int(number) > 0
