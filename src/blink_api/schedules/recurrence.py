"""RFC 5545 recurrence rules of schedules, parsed and expanded by `python-dateutil`, as dates only."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from dateutil import rrule as rr

from blink_api.kit.business_time import is_time_zone

# The dates a schedule lives in: wide enough for any contract, narrow enough that expanding a rule
# from its start to any date asked about stays cheap.
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)

# A rule must fall on a date this soon after it starts: planned work recurs.
SPARSEST_YEARS = 5
MAX_INTERVAL = 1000

_DATE_FREQUENCIES = {rr.DAILY, rr.WEEKLY, rr.MONTHLY, rr.YEARLY}
# Rule parts that name times of day: a schedule's occurrences are dates.
_TIME_PARTS = re.compile(r"(^|;)\s*(BYHOUR|BYMINUTE|BYSECOND)\s*=", re.IGNORECASE)
_UNTIL_TIME = re.compile(r"UNTIL\s*=\s*\d{8}T", re.IGNORECASE)
_RULE_TEXT = re.compile(r"[A-Za-z0-9=;,+\-:]+")


class RuleError(ValueError):
    """Why a recurrence rule is refused, in words for the caller."""


# RFC 5545 §3.3.10: the parts a rule may have (BYHOUR, BYMINUTE, BYSECOND are refused earlier), the
# bounds of their numbers, and the frequencies some of them are not allowed with. dateutil is lenient
# where the RFC is not (`BYMONTHDAY=0` it reads as no restriction at all; `BYEASTER` is its own).
_WEEKDAY = re.compile(r"(?:([+-]?)(\d{1,2}))?(SU|MO|TU|WE|TH|FR|SA)")
_NUMBER = re.compile(r"[+-]?\d{1,3}")
_NUMBER_BOUNDS = {"BYMONTHDAY": 31, "BYYEARDAY": 366, "BYWEEKNO": 53, "BYSETPOS": 366}
_ONLY_WITH = {
    "BYWEEKNO": ({"YEARLY"}, "`BYWEEKNO` is allowed with `FREQ=YEARLY` only."),
    "BYYEARDAY": ({"YEARLY"}, "`BYYEARDAY` is allowed with `FREQ=YEARLY` only."),
    "BYMONTHDAY": ({"DAILY", "MONTHLY", "YEARLY"}, "`BYMONTHDAY` is not allowed with `FREQ=WEEKLY`."),
}
_PARTS = {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH"}
_PARTS |= {"BYSETPOS", "WKST"}


def _check_parts(parts: dict[str, str]) -> None:
    """The rule's parts as RFC 5545 allows them; RuleError naming the first that is not."""
    unknown = sorted(set(parts) - _PARTS)
    if unknown:
        raise RuleError(f"`{unknown[0]}` is not a part of an RFC 5545 recurrence rule a schedule takes.")
    freq = parts.get("FREQ", "").upper()
    if not freq:
        raise RuleError("A recurrence rule needs `FREQ`, e.g. `FREQ=WEEKLY;BYDAY=MO`.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("Give `COUNT` or `UNTIL`, not both.")
    for name, limit in _NUMBER_BOUNDS.items():
        for value in parts.get(name, "").split(",") if name in parts else []:
            if not _NUMBER.fullmatch(value) or not 1 <= abs(int(value)) <= limit:
                raise RuleError(f"`{name}` takes numbers from 1 to {limit} or -{limit} to -1.")
    for value in parts["BYMONTH"].split(",") if "BYMONTH" in parts else []:
        if not value.isdigit() or not 1 <= int(value) <= 12:
            raise RuleError("`BYMONTH` takes months from 1 to 12.")
    for name, (frequencies, why) in _ONLY_WITH.items():
        if name in parts and freq not in frequencies:
            raise RuleError(why)
    for value in parts["BYDAY"].split(",") if "BYDAY" in parts else []:
        day = _WEEKDAY.fullmatch(value.upper())
        if day is None:
            raise RuleError(
                "`BYDAY` takes weekdays `MO` to `SU`, with a number before them in monthly and yearly rules."
            )
        if day.group(2) is not None:
            if freq not in {"MONTHLY", "YEARLY"} or "BYWEEKNO" in parts:
                raise RuleError(
                    "A numbered `BYDAY` (e.g. `1MO`) is allowed in monthly and yearly rules only."
                )
            if not 1 <= int(day.group(2)) <= 53:
                raise RuleError("The number before a `BYDAY` weekday lies from 1 to 53 or -53 to -1.")
    if "BYSETPOS" in parts and not {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH"} & set(parts):
        raise RuleError("`BYSETPOS` needs another `BY…` part to choose from.")
    if "WKST" in parts and parts["WKST"].upper() not in {"SU", "MO", "TU", "WE", "TH", "FR", "SA"}:
        raise RuleError("`WKST` takes a weekday `MO` to `SU`.")


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name`; RuleError when there is none of that name."""
    if not is_time_zone(name):
        raise RuleError("Not a known IANA time zone, e.g. `Europe/Berlin`.")
    return zoneinfo.ZoneInfo(name)


def today_in(name: str, now: dt.datetime | None = None) -> dt.date:
    """The date it is in time zone `name` at `now` (default: the present)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone(name)).date()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def parse(rule: str, starts_on: dt.date) -> rr.rrule:
    """The rule `rule` starting on `starts_on`; RuleError naming what is wrong with it."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not _RULE_TEXT.fullmatch(text):
        raise RuleError("A recurrence rule is one line of `NAME=VALUE` parts, e.g. `FREQ=WEEKLY;BYDAY=MO`.")
    if "DTSTART" in text.upper():
        raise RuleError("Leave `DTSTART` out: the schedule starts on `starts_on`.")
    names = [part.split("=", 1)[0].strip().upper() for part in text.split(";")]
    if len(names) != len(set(names)):
        raise RuleError("Each part of a recurrence rule may be given once.")
    if not all("=" in part for part in text.split(";")):
        raise RuleError("A recurrence rule is one line of `NAME=VALUE` parts, e.g. `FREQ=WEEKLY;BYDAY=MO`.")
    if _UNTIL_TIME.search(text):
        raise RuleError("Give `UNTIL` as a date, e.g. `UNTIL=20261231`: a schedule recurs on dates.")
    if _TIME_PARTS.search(text):
        raise RuleError("A schedule recurs on dates: `BYHOUR`, `BYMINUTE` and `BYSECOND` are not allowed.")
    _check_parts(
        {name: part.split("=", 1)[1].strip() for name, part in zip(names, text.split(";"), strict=True)}
    )
    try:
        parsed = rr.rrulestr(text, dtstart=_midnight(starts_on), forceset=False, unfold=False)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RuleError(f"Not a valid RFC 5545 recurrence rule ({exc}).") from None
    if not isinstance(parsed, rr.rrule):
        raise RuleError("Give one recurrence rule.")
    if parsed._freq not in _DATE_FREQUENCIES:
        raise RuleError(
            "`FREQ` must be `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`: a schedule recurs on dates."
        )
    if not 1 <= parsed._interval <= MAX_INTERVAL:
        raise RuleError(f"`INTERVAL` must lie from 1 to {MAX_INTERVAL}.")
    horizon = starts_on + dt.timedelta(days=366 * SPARSEST_YEARS)
    try:
        found = dates(parsed, starts_on, horizon)
    except (ValueError, IndexError, OverflowError, TypeError):
        # dateutil accepts some parts it cannot walk, e.g. `BYDAY=+99MO`.
        raise RuleError("Not a valid RFC 5545 recurrence rule: its dates cannot be worked out.") from None
    if not found:
        raise RuleError(f"The rule falls on no date within {SPARSEST_YEARS} years of `starts_on`.")
    return parsed


class _TooSparse(Exception):
    """A walk used up the calendar years it was given."""


class _Walk(rr.rrule):
    """A rule that stops after a given number of calendar years.

    When a rule stops matching, dateutil walks on period after period until the year 9999
    (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30` takes it half a minute). It reads `_byweekno` when it enters
    a year (once, or a few times for a rule with BYWEEKNO), so counting those reads bounds the walk to
    the years asked about.
    """

    years_left = 10**9  # unbounded while dateutil builds the rule

    @property  # type: ignore[override]
    def _byweekno(self) -> object:
        self.years_left -= 1
        if self.years_left < 0:
            raise _TooSparse
        return self.__dict__["_byweekno_value"]

    @_byweekno.setter
    def _byweekno(self, value: object) -> None:
        self.__dict__["_byweekno_value"] = value


def dates(rule: rr.rrule, first: dt.date, last: dt.date) -> list[dt.date]:
    """The dates of `rule` from `first` to `last`, both included. The rule is walked from its start
    to `last` and no further, whether or not it still matches."""
    if last < first:
        return []
    walk = _Walk(
        freq=rule._freq,
        dtstart=rule._dtstart,
        interval=rule._interval,
        wkst=rule._wkst,
        count=rule._count,
        until=rule._until,
        **rule._original_rule,
    )
    # A year reads `_byweekno` once, or 3 to 5 times when the rule has BYWEEKNO: a budget of 5 reads a
    # year for those walks at least every year asked about (a little further does no harm).
    reads_a_year = 5 if rule._byweekno else 1
    walk.years_left = (last.year - rule._dtstart.year + 2) * reads_a_year
    found = []
    try:
        for when in walk:
            day = when.date()
            if day > last:
                break
            if day >= first:
                found.append(day)
    except _TooSparse:
        pass
    return found
