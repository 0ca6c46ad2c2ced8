"""RFC 5545 recurrence rules of schedules, parsed and expanded by `python-dateutil`, as dates only."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

from dateutil import rrule as rr

# The dates a schedule lives in: wide enough for any contract, narrow enough that expanding a rule
# from its start to any date asked about stays cheap.
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)

_DATE_FREQUENCIES = {rr.DAILY, rr.WEEKLY, rr.MONTHLY, rr.YEARLY}
# Rule parts that name times of day: a schedule's occurrences are dates.
_TIME_PARTS = re.compile(r"(^|;)\s*(BYHOUR|BYMINUTE|BYSECOND)\s*=", re.IGNORECASE)
_RULE_TEXT = re.compile(r"[A-Za-z0-9=;,+\-:]+")


class RuleError(ValueError):
    """Why a recurrence rule is refused, in words for the caller."""


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name`; RuleError when there is none of that name."""
    if name not in _zones():
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
    if _TIME_PARTS.search(text):
        raise RuleError("A schedule recurs on dates: `BYHOUR`, `BYMINUTE` and `BYSECOND` are not allowed.")
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
    return parsed


def dates(rule: rr.rrule, first: dt.date, last: dt.date) -> list[dt.date]:
    """The dates of `rule` from `first` to `last`, both included."""
    if last < first:
        return []
    return [d.date() for d in rule.between(_midnight(first), _midnight(last), inc=True)]
