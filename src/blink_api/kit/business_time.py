"""Business-time arithmetic over a weekly calendar with public holidays, in a tenant's time zone.

Business time is real elapsed time: an instant is business time when its local wall-clock time lies
in an open interval of its local date and that date is neither a public holiday of the calendar's
region nor one of its closed dates. Each open interval of a date is turned into instants exactly, so
on the nights the clocks change an hour of business time is still one real hour: a local time that
does not exist (spring forward) is no business time, and a local hour that happens twice (fall back)
counts both times, as it elapses.

The module is pure: no database, no clock. Everything a computation derives from a calendar (the
open instants of a date, a region's holidays of a year) depends only on the calendar's value, so it
is memoised per process without any need for invalidation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import holidays

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

# How far `add` looks for open time before it gives up. Ten years is far beyond any due time, and
# still ends quickly for a calendar whose only open hours fall on dates that never come.
SEARCH_HORIZON_DAYS = 3653

_UTC = dt.UTC
# No zone's offset reaches 16 hours, so every instant of a local date lies in this window around
# its local midnight read as UTC.
_WINDOW_BEFORE = dt.timedelta(hours=16)
_WINDOW_AFTER = dt.timedelta(hours=24 + 16)
# Offsets are sampled this far apart; real zones never change their offset twice within it.
_SAMPLE_STEP = dt.timedelta(hours=3)

Interval = tuple[str, str]
_Span = tuple[dt.datetime, dt.datetime]  # naive UTC instants, [start, end)


class NoBusinessTime(ValueError):
    """The calendar has no open time (within the search horizon) to reach the requested amount."""


@dataclass(frozen=True)
class BusinessDay:
    """One local date of a calendar: its open hours (empty when closed) and its public holiday."""

    date: dt.date
    hours: list[Interval]
    holiday: str | None


# --- parsing -------------------------------------------------------------------------------------


def parse_clock(value: str) -> int:
    """Minutes since midnight of an `HH:MM` time from 00:00 to 24:00; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f"{value!r} is not a time of the form HH:MM")
    hours, minutes = value[:2], value[3:]
    if not (hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit()):
        raise ValueError(f"{value!r} is not a time of the form HH:MM")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > MINUTES_PER_DAY:
        raise ValueError(f"{value!r} is not a time between 00:00 and 24:00")
    return total


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# Names the time-zone database holds that are no place's time: `localtime` is whatever the host is
# set to, `Factory` a placeholder for "not set yet".
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone name known here (e.g. `Europe/Berlin`)."""
    return isinstance(name, str) and name in _zone_names()


def _split_region(code: str) -> tuple[str, str | None]:
    country, _, subdivision = code.partition("-")
    return country, (subdivision or None)


_REGION_CODE = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")


@lru_cache(maxsize=1)
def _supported_regions() -> dict[str, list[str]]:
    return holidays.list_supported_countries()


def is_holiday_region(code: str) -> bool:
    """Whether `code` is an ISO 3166-2 country (`DE`) or country subdivision (`DE-BY`) whose public
    holidays are known."""
    if not isinstance(code, str) or not _REGION_CODE.fullmatch(code):
        return False
    country, subdivision = _split_region(code)
    supported = _supported_regions()
    if country not in supported:
        return False
    return subdivision is None or subdivision in supported[country]


# The two Christmas holidays as German calendars and the API's contract write them; the library
# spells the ordinals out.
_NAMES_AS_WRITTEN = {"Erster Weihnachtstag": "1. Weihnachtstag", "Zweiter Weihnachtstag": "2. Weihnachtstag"}


@lru_cache(maxsize=512)
def _holidays_of(region: str, year: int) -> Mapping[dt.date, str]:
    """The public holidays of a region in one year, named in German where the data has German names."""
    country, subdivision = _split_region(region)
    kind = holidays.country_holidays(country)
    language = "de" if "de" in getattr(kind, "supported_languages", ()) else None
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return {day: _NAMES_AS_WRITTEN.get(name, name) for day, name in found.items()}


def interval_minutes(intervals: Sequence[Sequence[str]]) -> tuple[tuple[int, int], ...]:
    """One day's `HH:MM` intervals as minutes; ValueError unless each starts before it ends and they
    are sorted without overlapping."""
    result: list[tuple[int, int]] = []
    for index, pair in enumerate(intervals):
        if len(pair) != 2:
            raise ValueError(f"interval {index} is not a pair of times")
        start, end = parse_clock(pair[0]), parse_clock(pair[1])
        if start >= end:
            raise ValueError(f"interval {index} does not start before it ends")
        if result and start < result[-1][1]:
            raise ValueError(f"interval {index} starts before the previous one ends")
        result.append((start, end))
    return tuple(result)


# --- the calendar --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Calendar:
    """A weekly schedule of open intervals in a time zone, closed on the public holidays of
    `holidays_region` and on `closed_dates`. Weekdays missing from `weekly` are closed.

    Raises ValueError for an unknown time zone or region, an unknown weekday key or a malformed
    interval. Equal calendars hash equally, so computations on them can be memoised.
    """

    timezone: str
    weekly: Mapping[str, Sequence[Interval]]
    holidays_region: str | None = None
    closed_dates: frozenset[dt.date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False)
    _minutes: tuple[tuple[tuple[int, int], ...], ...] = field(init=False, repr=False)
    _key: tuple[object, ...] = field(init=False, repr=False)
    _hash: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not is_time_zone(self.timezone):
            raise ValueError(f"{self.timezone!r} is not an IANA time zone name")
        if self.holidays_region is not None and not is_holiday_region(self.holidays_region):
            raise ValueError(f"{self.holidays_region!r} is not a known holiday region")
        unknown = set(self.weekly) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekdays: {', '.join(sorted(unknown))}")
        minutes = tuple(interval_minutes(self.weekly.get(day, ())) for day in WEEKDAYS)
        weekly = {
            day: [(format_clock(s), format_clock(e)) for s, e in spans]
            for day, spans in zip(WEEKDAYS, minutes, strict=True)
        }
        closed = frozenset(self.closed_dates)
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "closed_dates", closed)
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        object.__setattr__(self, "_minutes", minutes)
        key = (self.timezone, minutes, self.holidays_region, closed)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash(key))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    @property
    def has_open_time(self) -> bool:
        """Whether any weekday has an open interval (a calendar without one never reaches any
        business time)."""
        return any(self._minutes)

    # --- dates --------------------------------------------------------------------------------

    def holiday(self, day: dt.date) -> str | None:
        """The name of the public holiday on `day` in this calendar's region, if any."""
        if self.holidays_region is None:
            return None
        return _holidays_of(self.holidays_region, day.year).get(day)

    def is_closed(self, day: dt.date) -> bool:
        return day in self.closed_dates or self.holiday(day) is not None

    def days(self, first: dt.date, last: dt.date) -> list[BusinessDay]:
        """Each local date from `first` to `last` (both included) with its open hours; `hours` is
        empty on closed dates (holidays, closed dates, weekdays without intervals)."""
        result: list[BusinessDay] = []
        day = first
        while day <= last:
            holiday = self.holiday(day)
            closed = holiday is not None or day in self.closed_dates
            hours = [] if closed else list(self.weekly[WEEKDAYS[day.weekday()]])
            result.append(BusinessDay(date=day, hours=hours, holiday=holiday))
            if day == dt.date.max:
                break
            day += dt.timedelta(days=1)
        return result

    # --- instants -----------------------------------------------------------------------------

    def add(self, start: dt.datetime, business: dt.timedelta) -> dt.datetime:
        """The instant (UTC) at which `business` of business time has passed since `start`.

        A zero amount gives `start` itself; an amount that is used up exactly at the end of an open
        interval gives that end, not the next opening. Raises `NoBusinessTime` when the calendar has
        no open time at all, or none within `SEARCH_HORIZON_DAYS` of `start`; ValueError for a naive
        `start` or a negative amount.
        """
        origin = _naive_utc(start)
        if business < dt.timedelta(0):
            raise ValueError("the business time to add must not be negative")
        if business == dt.timedelta(0):
            return origin.replace(tzinfo=_UTC)
        if not self.has_open_time:
            raise NoBusinessTime("the calendar has no open hours on any weekday")
        remaining = business
        first = self._local_date(origin) - dt.timedelta(days=1)
        for span_start, span_end in self._spans_from(first, SEARCH_HORIZON_DAYS):
            if span_end <= origin:
                continue
            span_start = max(span_start, origin)
            length = span_end - span_start
            if remaining <= length:
                return (span_start + remaining).replace(tzinfo=_UTC)
            remaining -= length
        raise NoBusinessTime(
            f"the calendar has not enough open time within {SEARCH_HORIZON_DAYS} days of the start"
        )

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """The business time in [start, end); zero when `end` is not after `start`."""
        lower, upper = _naive_utc(start), _naive_utc(end)
        total = dt.timedelta(0)
        if upper <= lower or not self.has_open_time:
            return total
        day = self._local_date(lower) - dt.timedelta(days=1)
        last = self._local_date(upper) + dt.timedelta(days=1)
        while day <= last:
            for span_start, span_end in _open_spans(self, day):
                clipped = min(span_end, upper) - max(span_start, lower)
                if clipped > dt.timedelta(0):
                    total += clipped
            day += dt.timedelta(days=1)
        return total

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return instant.replace(tzinfo=_UTC).astimezone(self._zone).date()

    def _spans_from(self, first: dt.date, day_count: int) -> Iterator[_Span]:
        """Open spans of `day_count` local dates from `first`, in the order of time.

        Spans of adjacent dates can interleave where the clocks go back across midnight, so a span
        is only handed out once a later date has an open span after it; instants of a date are all
        later than those of the date before the previous one, which bounds what has to wait.
        """
        waiting: list[_Span] = []
        day = first
        for _ in range(day_count):
            spans = _open_spans(self, day)
            if spans:
                waiting.extend(spans)
                waiting.sort()
                earliest_new = spans[0][0]
                ready = [span for span in waiting if span[0] < earliest_new]
                waiting = [span for span in waiting if span[0] >= earliest_new]
                yield from ready
            if day >= dt.date.max - dt.timedelta(days=1):
                break
            day += dt.timedelta(days=1)
        yield from waiting


def _naive_utc(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("business-time arithmetic needs aware datetimes")
    return instant.astimezone(_UTC).replace(tzinfo=None)


def _offset(zone: ZoneInfo, instant: dt.datetime) -> dt.timedelta:
    offset = instant.replace(tzinfo=_UTC).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _offset_segments(
    zone: ZoneInfo, lower: dt.datetime, upper: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, dt.timedelta]]:
    """[lower, upper) of naive UTC instants cut where the zone's UTC offset changes: (from, to, offset)."""
    segments: list[tuple[dt.datetime, dt.datetime, dt.timedelta]] = []
    begin, offset = lower, _offset(zone, lower)
    probe = lower
    while probe < upper:
        following = min(probe + _SAMPLE_STEP, upper)
        next_offset = _offset(zone, following)
        if next_offset != offset:
            # The change lies in (probe, following]; offsets change on whole seconds, so search for
            # its first second.
            low, high = 0, int((following - probe).total_seconds())
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, probe + dt.timedelta(seconds=middle)) == offset:
                    low = middle
                else:
                    high = middle
            high = probe + dt.timedelta(seconds=high)
            segments.append((begin, high, offset))
            begin, offset = high, _offset(zone, high)
        probe = following
    segments.append((begin, upper, offset))
    return segments


@lru_cache(maxsize=65536)
def _open_spans(calendar: Calendar, day: dt.date) -> tuple[_Span, ...]:
    """The open instants of one local date as sorted, disjoint naive-UTC spans."""
    intervals = calendar._minutes[day.weekday()]
    if not intervals or calendar.is_closed(day):
        return ()
    midnight = dt.datetime.combine(day, dt.time())
    try:
        segments = _offset_segments(calendar._zone, midnight - _WINDOW_BEFORE, midnight + _WINDOW_AFTER)
    except OverflowError:
        return ()
    spans: list[_Span] = []
    for start, end in intervals:
        wall_start = midnight + dt.timedelta(minutes=start)
        wall_end = midnight + dt.timedelta(minutes=end)
        for segment_start, segment_end, offset in segments:
            lower = max(segment_start, wall_start - offset)
            upper = min(segment_end, wall_end - offset)
            if lower < upper:
                spans.append((lower, upper))
    spans.sort()
    merged: list[_Span] = []
    for lower, upper in spans:
        if merged and lower <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], upper))
        else:
            merged.append((lower, upper))
    return tuple(merged)
