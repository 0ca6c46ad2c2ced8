"""Business-time arithmetic: properties against a minute-by-minute count, holidays, clock changes."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blink_api.kit.business_time import WEEKDAYS, Calendar, NoBusinessTime

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = dt.timedelta(minutes=1)
OFFICE = {day: [("08:00", "17:00")] for day in WEEKDAYS[:5]}
ALL_WEEK = {day: [("08:00", "17:00")] for day in WEEKDAYS}
AROUND_THE_CLOCK = {day: [("00:00", "24:00")] for day in WEEKDAYS}

PROPERTIES = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Instants the random intervals start near: the clock changes of 2026 in Berlin (29 March, 25 October)
# and New York (8 March, 1 November), Christmas, Epiphany, Reformation Day and an ordinary week.
ANCHORS = [
    dt.datetime(2026, 3, 28, 12, tzinfo=UTC),
    dt.datetime(2026, 10, 24, 12, tzinfo=UTC),
    dt.datetime(2026, 3, 7, 12, tzinfo=UTC),
    dt.datetime(2026, 10, 31, 12, tzinfo=UTC),
    dt.datetime(2026, 12, 24, 12, tzinfo=UTC),
    dt.datetime(2026, 1, 5, 12, tzinfo=UTC),
    dt.datetime(2026, 6, 10, 12, tzinfo=UTC),
]


def local(zone: str, *parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def berlin(*parts: int) -> dt.datetime:
    return local("Europe/Berlin", *parts)


# --- the reference: count minute by minute ---------------------------------------------------------


def _minutes(clock: str) -> int:
    return int(clock[:2]) * 60 + int(clock[3:])


@cache
def reference_holidays(region: str, year: int) -> holidays.HolidayBase:
    country, _, subdivision = region.partition("-")
    return holidays.country_holidays(country, subdiv=subdivision or None, years=year)


def reference_is_open(cal: Calendar, instant: dt.datetime) -> bool:
    """The definition, read literally: the instant's wall-clock time lies in an interval of its local
    date, and that date is neither a public holiday of the region nor a closed date."""
    wall = instant.astimezone(ZoneInfo(cal.timezone))
    day = wall.date()
    if day in cal.closed_dates:
        return False
    if cal.holidays_region is not None and day in reference_holidays(cal.holidays_region, day.year):
        return False
    minute = wall.hour * 60 + wall.minute
    return any(
        _minutes(start) <= minute < _minutes(end) for start, end in cal.weekly[WEEKDAYS[day.weekday()]]
    )


def reference_between(cal: Calendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    count, instant = 0, start
    while instant < end:
        count += reference_is_open(cal, instant)
        instant += MINUTE
    return count * MINUTE


# --- random calendars and intervals ---------------------------------------------------------------


@st.composite
def day_intervals(draw: st.DrawFn) -> list[tuple[str, str]]:
    # Half-hour boundaries meet the clock changes at 02:00/03:00 often; some days are closed.
    bounds = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    if len(bounds) % 2:
        bounds = bounds[:-1]
    clocks = [f"{b * 30 // 60:02d}:{b * 30 % 60:02d}" for b in bounds]
    return [(clocks[i], clocks[i + 1]) for i in range(0, len(clocks), 2)]


@st.composite
def calendars(draw: st.DrawFn, anchor: dt.datetime) -> Calendar:
    weekly = {day: draw(day_intervals()) for day in WEEKDAYS}
    closed = draw(st.sets(st.integers(-6, 6), max_size=3))
    return Calendar(
        timezone=draw(st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"])),
        weekly=weekly,
        holidays_region=draw(st.sampled_from([None, "DE-BY", "DE-NW"])),
        closed_dates=frozenset(anchor.date() + dt.timedelta(days=k) for k in closed),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Calendar, dt.datetime, dt.datetime]:
    anchor = draw(st.sampled_from(ANCHORS))
    start = anchor + draw(st.integers(-3 * 1440, 3 * 1440)) * MINUTE
    end = start + draw(st.integers(0, 3 * 1440)) * MINUTE
    return draw(calendars(anchor)), start, end


@PROPERTIES
@given(cases())
def test_between_counts_the_business_minutes_one_by_one(
    case: tuple[Calendar, dt.datetime, dt.datetime],
) -> None:
    cal, start, end = case
    assert cal.between(start, end) == reference_between(cal, start, end)


@PROPERTIES
@given(cases(), st.integers(1, 3 * 1440))
def test_add_reaches_exactly_the_amount_at_the_earliest_instant(
    case: tuple[Calendar, dt.datetime, dt.datetime], minutes: int
) -> None:
    cal, start, _ = case
    if not cal.has_open_time:
        with pytest.raises(NoBusinessTime):
            cal.add(start, minutes * MINUTE)
        return
    due = cal.add(start, minutes * MINUTE)
    assert due.tzinfo is not None and due.utcoffset() == dt.timedelta(0)
    assert cal.between(start, due) == minutes * MINUTE
    # Earliest: the minute just before the due time is business time, or the amount would be reached
    # earlier.
    assert reference_is_open(cal, due - MINUTE)


@PROPERTIES
@given(cases())
def test_add_undoes_between(case: tuple[Calendar, dt.datetime, dt.datetime]) -> None:
    cal, start, end = case
    business = cal.between(start, end)
    if not cal.has_open_time:
        assert business == dt.timedelta(0)
        return
    due = cal.add(start, business)
    assert due <= end
    assert cal.between(start, due) == business
    # Nothing of business time lies between the due time and the end.
    assert cal.between(due, end) == dt.timedelta(0)


# --- public holidays -------------------------------------------------------------------------------


def test_christmas_eve_is_open_christmas_days_are_public_holidays() -> None:
    cal = Calendar("Europe/Berlin", ALL_WEEK, "DE-BY", frozenset())
    eve, first, second = cal.days(dt.date(2026, 12, 24), dt.date(2026, 12, 26))
    assert (eve.hours, eve.holiday) == ([("08:00", "17:00")], None)
    assert (first.hours, first.holiday) == ([], "1. Weihnachtstag")
    assert (second.hours, second.holiday) == ([], "2. Weihnachtstag")
    # Thursday 24 December 16:00 to Monday 28 December 09:00: one hour on the 24th, none over the
    # holidays and the weekend (open every day here), one on the 28th.
    assert cal.between(berlin(2026, 12, 24, 16), berlin(2026, 12, 28, 9)) == dt.timedelta(hours=1 + 9 + 1)


def test_epiphany_is_closed_in_bavaria_and_open_in_north_rhine_westphalia() -> None:
    bavaria = Calendar("Europe/Berlin", OFFICE, "DE-BY", frozenset())
    nrw = Calendar("Europe/Berlin", OFFICE, "DE-NW", frozenset())
    epiphany = dt.date(2026, 1, 6)
    [by_day] = bavaria.days(epiphany, epiphany)
    [nw_day] = nrw.days(epiphany, epiphany)
    assert by_day.hours == [] and by_day.holiday == "Heilige Drei Könige"
    assert nw_day.hours == [("08:00", "17:00")] and nw_day.holiday is None
    monday_noon = berlin(2026, 1, 5, 12)
    assert bavaria.add(monday_noon, dt.timedelta(hours=6)) == berlin(2026, 1, 7, 9)
    assert nrw.add(monday_noon, dt.timedelta(hours=6)) == berlin(2026, 1, 6, 9)


def test_reformation_day_is_a_holiday_in_saxony_only() -> None:
    reformation = dt.date(2026, 10, 31)
    saxony = Calendar("Europe/Berlin", ALL_WEEK, "DE-SN", frozenset())
    bavaria = Calendar("Europe/Berlin", ALL_WEEK, "DE-BY", frozenset())
    assert saxony.days(reformation, reformation)[0].holiday == "Reformationstag"
    assert saxony.between(berlin(2026, 10, 31), berlin(2026, 11, 1)) == dt.timedelta(0)
    assert bavaria.days(reformation, reformation)[0].holiday is None
    assert bavaria.between(berlin(2026, 10, 31), berlin(2026, 11, 1)) == dt.timedelta(hours=9)


def test_a_whole_country_has_only_its_nationwide_holidays() -> None:
    germany = Calendar("Europe/Berlin", OFFICE, "DE", frozenset())
    assert germany.days(dt.date(2026, 1, 6), dt.date(2026, 1, 6))[0].holiday is None
    assert germany.days(dt.date(2026, 10, 3), dt.date(2026, 10, 3))[0].holiday == "Tag der Deutschen Einheit"


def test_closed_dates_close_without_a_holiday_name() -> None:
    cal = Calendar("Europe/Berlin", OFFICE, None, frozenset({dt.date(2026, 12, 31)}))
    [day] = cal.days(dt.date(2026, 12, 31), dt.date(2026, 12, 31))
    assert (day.hours, day.holiday) == ([], None)
    assert cal.between(berlin(2026, 12, 31), berlin(2027, 1, 1)) == dt.timedelta(0)


def test_a_pause_over_a_weekend_counts_only_the_business_hours_around_it() -> None:
    cal = Calendar("Europe/Berlin", OFFICE, None, frozenset())
    friday, monday = berlin(2026, 11, 27, 16), berlin(2026, 11, 30, 10)
    assert cal.between(friday, monday) == dt.timedelta(hours=3)
    assert cal.add(friday, dt.timedelta(hours=3)) == monday
    # Paused from Friday 16:00 to Monday 10:00: the clock resumes with what was left.
    assert cal.add(monday, dt.timedelta(hours=4)) == berlin(2026, 11, 30, 14)


# --- clock changes ---------------------------------------------------------------------------------


def test_the_day_the_clocks_go_forward_has_23_hours_and_skips_the_missing_hour() -> None:
    cal = Calendar("Europe/Berlin", AROUND_THE_CLOCK, None, frozenset())
    assert cal.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == dt.timedelta(hours=23)
    night = Calendar("Europe/Berlin", {"sun": [("01:00", "04:00")]}, None, frozenset())
    # 02:00-03:00 does not exist that night: 01:00-04:00 is two real hours.
    assert night.between(berlin(2026, 3, 28), berlin(2026, 3, 30)) == dt.timedelta(hours=2)
    assert night.add(berlin(2026, 3, 29, 1, 30), dt.timedelta(hours=1)) == berlin(2026, 3, 29, 3, 30)


def test_the_day_the_clocks_go_back_has_25_hours_and_counts_the_repeated_hour_twice() -> None:
    cal = Calendar("Europe/Berlin", AROUND_THE_CLOCK, None, frozenset())
    assert cal.between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == dt.timedelta(hours=25)
    night = Calendar("Europe/Berlin", {"sun": [("02:00", "03:00")]}, None, frozenset())
    assert night.between(berlin(2026, 10, 24), berlin(2026, 10, 26)) == dt.timedelta(hours=2)
    first_half_past_two = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert night.add(first_half_past_two, dt.timedelta(hours=1)) == dt.datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )  # 02:30 CET, the second time round


def test_new_york_changes_its_clocks_on_its_own_dates() -> None:
    cal = Calendar("America/New_York", AROUND_THE_CLOCK, None, frozenset())
    assert cal.between(local("America/New_York", 2026, 3, 8), local("America/New_York", 2026, 3, 9)) == (
        dt.timedelta(hours=23)
    )
    assert cal.between(local("America/New_York", 2026, 11, 1), local("America/New_York", 2026, 11, 2)) == (
        dt.timedelta(hours=25)
    )


# --- long spans and degenerate calendars ----------------------------------------------------------


def test_due_times_a_year_ahead_are_consistent() -> None:
    cal = Calendar("Europe/Berlin", OFFICE, "DE-BY", frozenset({dt.date(2027, 3, 1)}))
    start = berlin(2026, 11, 30, 9)
    due = cal.add(start, dt.timedelta(hours=2000))
    assert berlin(2027, 10, 1) < due < berlin(2028, 1, 1)
    assert cal.between(start, due) == dt.timedelta(hours=2000)


def test_a_calendar_without_open_hours_refuses_to_add_and_counts_nothing() -> None:
    closed = Calendar("Europe/Berlin", {day: [] for day in WEEKDAYS}, None, frozenset())
    assert not closed.has_open_time
    with pytest.raises(NoBusinessTime):
        closed.add(berlin(2026, 11, 30), dt.timedelta(minutes=1))
    assert closed.between(berlin(2026, 1, 1), berlin(2027, 1, 1)) == dt.timedelta(0)
    assert closed.add(berlin(2026, 11, 30), dt.timedelta(0)) == berlin(2026, 11, 30)


def test_a_calendar_whose_only_open_day_is_always_closed_gives_up_at_the_horizon() -> None:
    # Open on Mondays only; every Monday of the coming ten years is also a closed date.
    mondays = frozenset(dt.date(2026, 11, 30) + dt.timedelta(weeks=k) for k in range(600))
    cal = Calendar("Europe/Berlin", {"mon": [("08:00", "09:00")]}, None, mondays)
    with pytest.raises(NoBusinessTime):
        cal.add(berlin(2026, 11, 30), dt.timedelta(minutes=1))


def test_equal_calendars_are_interchangeable() -> None:
    one = Calendar("Europe/Berlin", OFFICE, "DE-BY", frozenset({dt.date(2026, 12, 31)}))
    other = Calendar("Europe/Berlin", {**OFFICE, "sat": []}, "DE-BY", frozenset({dt.date(2026, 12, 31)}))
    assert one == other and hash(one) == hash(other)
    assert one.weekly["sat"] == [] and one.weekly["mon"] == [("08:00", "17:00")]


@pytest.mark.parametrize(
    ("timezone", "weekly", "region"),
    [
        ("Mars/Olympus", OFFICE, None),
        ("../../etc/passwd", OFFICE, None),
        ("Europe/Berlin", OFFICE, "DE-XX"),
        ("Europe/Berlin", OFFICE, "XX"),
        ("Europe/Berlin", {"monday": [("08:00", "17:00")]}, None),
        ("Europe/Berlin", {"mon": [("08:00", "25:00")]}, None),
        ("Europe/Berlin", {"mon": [("17:00", "08:00")]}, None),
        ("Europe/Berlin", {"mon": [("08:00", "12:00"), ("11:00", "17:00")]}, None),
        ("Europe/Berlin", {"mon": [("8:00", "17:00")]}, None),
    ],
)
def test_invalid_calendars_are_refused(timezone: str, weekly: dict, region: str | None) -> None:
    with pytest.raises(ValueError):
        Calendar(timezone, weekly, region, frozenset())


def test_naive_datetimes_and_negative_amounts_are_refused() -> None:
    cal = Calendar("Europe/Berlin", OFFICE, None, frozenset())
    with pytest.raises(ValueError):
        cal.add(dt.datetime(2026, 11, 30, 9), dt.timedelta(hours=1))
    with pytest.raises(ValueError):
        cal.add(berlin(2026, 11, 30, 9), dt.timedelta(hours=-1))
