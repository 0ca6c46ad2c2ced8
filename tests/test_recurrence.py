"""Recurrence rules of schedules on their own: what RFC 5545 allows is taken, and its dates are right."""

from __future__ import annotations

import datetime as dt

import pytest

from blink_api.schedules import recurrence

START = dt.date(2027, 1, 1)  # a Friday


def first_dates(rule: str, count: int = 4) -> list[dt.date]:
    parsed = recurrence.parse(rule, START)
    return recurrence.dates(parsed, START, START + dt.timedelta(days=800))[:count]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", ["2027-01-04", "2027-01-11", "2027-01-18", "2027-01-25"]),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO", ["2027-01-04", "2027-01-11", "2027-01-18", "2027-01-25"]),
        ("freq=weekly;byday=mo", ["2027-01-04", "2027-01-11", "2027-01-18", "2027-01-25"]),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU",
            # Every other week from the week of 1 January (Sunday 27 December to Saturday 2 January).
            ["2027-01-11", "2027-01-14", "2027-01-25", "2027-01-28"],
        ),
        ("FREQ=MONTHLY;BYDAY=1MO", ["2027-01-04", "2027-02-01", "2027-03-01", "2027-04-05"]),
        ("FREQ=MONTHLY;BYDAY=-1FR", ["2027-01-29", "2027-02-26", "2027-03-26", "2027-04-30"]),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            ["2027-01-29", "2027-02-26", "2027-03-31", "2027-04-30"],
        ),
        ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24", ["2027-12-24", "2028-12-24"]),
        ("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", ["2027-01-04", "2028-01-03", "2029-01-01"]),
        ("FREQ=YEARLY;BYYEARDAY=100", ["2027-04-10", "2028-04-09"]),
        ("FREQ=DAILY;COUNT=2", ["2027-01-01", "2027-01-02"]),
        ("FREQ=DAILY;UNTIL=20270102", ["2027-01-01", "2027-01-02"]),
    ],
)
def test_rules_the_rfc_allows_give_their_dates(rule: str, expected: list[str]) -> None:
    assert first_dates(rule) == [dt.date.fromisoformat(d) for d in expected]


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("FREQ=WEEKLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "FREQ=WEEKLY"),
        ("FREQ=WEEKLY;BYDAY=1MO", "monthly and yearly"),
        ("FREQ=WEEKLY;BYEASTER=0", "BYEASTER"),
        ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20301231", "COUNT"),
        ("BYDAY=MO", "FREQ"),
    ],
)
def test_what_the_rfc_does_not_allow_is_refused_saying_why(rule: str, says: str) -> None:
    with pytest.raises(recurrence.RuleError, match=says):
        recurrence.parse(rule, START)
