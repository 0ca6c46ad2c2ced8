"""Tenant bodies."""

import datetime as dt
import itertools
import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from blink_api.kit import business_time
from blink_api.kit.schema import Day, Name, RequestModel, ResponseModel


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Upper-cased before the pattern is checked, so "nord" is accepted as NORD.
TenantCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z0-9]{2,10}$")]


_NAME = "The company's name."
_CODE = (
    "2 to 10 letters or digits, unique; prefixes the tenant's ticket numbers (lower case is accepted "
    "and kept in upper case)."
)


class TenantCreate(RequestModel):
    """A new tenant (administrators)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Nordreinigung GmbH", "code": "NORD"}]}
    )

    name: Name = Field(description=_NAME)
    code: TenantCode = Field(description=_CODE)


class TenantUpdate(RequestModel):
    """Changes to a tenant: only the fields sent change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Nordreinigung Gebäudeservice GmbH"}]})

    name: Name = Field(default=None, description=_NAME)
    code: TenantCode = Field(
        default=None, description=_CODE + " Ticket numbers given already keep their prefix."
    )


class TenantRead(ResponseModel):
    """A tenant: a company or branch of the service group that owns sites and ticket types."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                    "name": "Nordreinigung GmbH",
                    "code": "NORD",
                    "created_at": "2026-01-05T09:00:00Z",
                    "updated_at": "2026-01-05T09:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The tenant's id.")
    name: str = Field(description=_NAME)
    code: str = Field(description="Prefixes the tenant's ticket numbers, e.g. `NORD-001042`.")
    created_at: datetime = Field(description="When the tenant was created.")
    updated_at: datetime = Field(description="When the tenant was last changed.")


# -- business hours --------------------------------------------------------------------------------

MAX_INTERVALS_PER_DAY = 10
MAX_CLOSED_DATES = 500
MAX_BUSINESS_DAYS = 366


def _time_zone(value: str) -> str:
    if not business_time.is_time_zone(value):
        raise PydanticCustomError(
            "time_zone", "Not an IANA time zone name (such as Europe/Berlin or America/New_York)."
        )
    return value


def _holiday_region(value: str) -> str:
    if not business_time.is_holiday_region(value):
        raise PydanticCustomError(
            "holiday_region",
            "Not a country or country subdivision (ISO 3166-2, such as DE or DE-BY) with known "
            "public holidays.",
        )
    return value


def _open_interval(value: list[str]) -> list[str]:
    if business_time.parse_clock(value[0]) >= business_time.parse_clock(value[1]):
        raise PydanticCustomError("interval_order", "An interval must start before it ends.")
    return value


def _day_intervals(value: list[list[str]]) -> list[list[str]]:
    for previous, current in itertools.pairwise(value):
        if business_time.parse_clock(current[0]) < business_time.parse_clock(previous[1]):
            raise PydanticCustomError(
                "interval_overlap", "Intervals must be sorted by time and must not overlap."
            )
    return value


def _clock(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise PydanticCustomError("clock_time", "Times are written HH:MM, from 00:00 to 24:00.")
    return value


_CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
ClockTime = Annotated[
    str,
    AfterValidator(_clock),
    WithJsonSchema(
        {"type": "string", "pattern": r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", "examples": ["08:00"]}
    ),
]
OpenInterval = Annotated[list[ClockTime], Field(min_length=2, max_length=2), AfterValidator(_open_interval)]
DayHours = Annotated[
    list[OpenInterval],
    Field(
        default_factory=list,
        max_length=MAX_INTERVALS_PER_DAY,
        description=(
            'Open intervals `["HH:MM", "HH:MM"]` in local time, sorted and not overlapping, at most '
            f"{MAX_INTERVALS_PER_DAY}; an interval may end at `24:00`. Empty or left out: closed."
        ),
    ),
    AfterValidator(_day_intervals),
]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)]
HolidayRegion = Annotated[
    str, BeforeValidator(_upper), StringConstraints(max_length=10), AfterValidator(_holiday_region)
]

_WEEKLY_EXAMPLE = {
    "mon": [["07:00", "18:00"]],
    "tue": [["07:00", "18:00"]],
    "wed": [["07:00", "18:00"]],
    "thu": [["07:00", "18:00"]],
    "fri": [["07:00", "12:00"], ["13:00", "16:00"]],
    "sat": [],
    "sun": [],
}
_TIMEZONE = "The IANA time zone the hours are local to, e.g. `Europe/Berlin`."
_REGION = (
    "A country or country subdivision (ISO 3166-2, e.g. `DE`, `DE-BY`, `DE-NW`) whose public holidays "
    "are closed; left out or `null`: no public holidays."
)
_CLOSED_DATES = (
    f"Further dates the tenant is closed (at most {MAX_CLOSED_DATES}; listed once each, in order); "
    "left out: none."
)


class WeeklyHours(RequestModel):
    """The open intervals of each weekday in local time; a weekday left out is closed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WEEKLY_EXAMPLE]})

    mon: DayHours
    tue: DayHours
    wed: DayHours
    thu: DayHours
    fri: DayHours
    sat: DayHours
    sun: DayHours

    @model_validator(mode="after")
    def _some_open_time(self) -> "WeeklyHours":
        if not any(getattr(self, day) for day in business_time.WEEKDAYS):
            raise PydanticCustomError(
                "no_open_hours", "At least one weekday needs open hours: business time could never pass."
            )
        return self


class BusinessHoursUpdate(RequestModel):
    """A tenant's business-hours calendar, replaced as a whole. Service-level times count business
    time of this calendar only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Berlin",
                    "weekly": _WEEKLY_EXAMPLE,
                    "holidays_region": "DE-BY",
                    "closed_dates": ["2026-12-24", "2026-12-31"],
                }
            ]
        }
    )

    timezone: TimeZoneName = Field(description=_TIMEZONE)
    weekly: WeeklyHours = Field(
        description="Open intervals per weekday (`mon` to `sun`); at least one weekday must have some."
    )
    holidays_region: HolidayRegion | None = Field(default=None, description=_REGION)
    closed_dates: list[Day] = Field(
        default_factory=list, max_length=MAX_CLOSED_DATES, description=_CLOSED_DATES
    )


class WeeklyHoursRead(ResponseModel):
    """The open intervals of each weekday in local time (empty: closed)."""

    mon: list[list[str]] = Field(description="Monday's open intervals.")
    tue: list[list[str]] = Field(description="Tuesday's open intervals.")
    wed: list[list[str]] = Field(description="Wednesday's open intervals.")
    thu: list[list[str]] = Field(description="Thursday's open intervals.")
    fri: list[list[str]] = Field(description="Friday's open intervals.")
    sat: list[list[str]] = Field(description="Saturday's open intervals.")
    sun: list[list[str]] = Field(description="Sunday's open intervals.")


class BusinessHoursRead(ResponseModel):
    """A tenant's business-hours calendar: the default (Monday to Friday 08:00-17:00, `Europe/Berlin`,
    no public holidays) until an administrator sets one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Berlin",
                    "weekly": _WEEKLY_EXAMPLE,
                    "holidays_region": "DE-BY",
                    "closed_dates": ["2026-12-24", "2026-12-31"],
                    "updated_at": "2026-11-30T07:00:00Z",
                }
            ]
        }
    )

    timezone: str = Field(description=_TIMEZONE)
    weekly: WeeklyHoursRead = Field(description="Open intervals per weekday, every weekday listed.")
    holidays_region: str | None = Field(description=_REGION)
    closed_dates: list[dt.date] = Field(description="Further dates the tenant is closed, in order.")
    updated_at: datetime | None = Field(
        description="When the calendar was last set; `null` while the tenant has the default calendar."
    )


class BusinessDayRead(ResponseModel):
    """One local date of a tenant's calendar."""

    date: dt.date = Field(description="The local date.")
    hours: list[list[str]] = Field(
        description='Open intervals `["HH:MM", "HH:MM"]` in local time; empty on a closed date.'
    )
    holiday: str | None = Field(
        description="The public holiday's name (in German where known, e.g. `1. Weihnachtstag`); "
        "`null` on other dates, closed dates included."
    )


class BusinessDays(ResponseModel):
    """Each date of the range asked for, in order. Not paged: a range holds at most
    366 dates."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"date": "2026-12-24", "hours": [["08:00", "17:00"]], "holiday": None},
                        {"date": "2026-12-25", "hours": [], "holiday": "1. Weihnachtstag"},
                    ]
                }
            ]
        }
    )

    items: list[BusinessDayRead] = Field(description="One item per date from `from` to `to`.")
