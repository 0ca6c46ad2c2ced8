"""Business hours of tenants: the calendar service-level times are counted in.

Nothing is cached in the process: several API processes and workers share the database, and a
calendar saved through one must count in all of them at once. Reading one row by its key is cheap.
"""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.business_time import WEEKDAYS, Calendar
from blink_api.kit.errors import Invalid
from blink_api.tenants import repository as repo
from blink_api.tenants.models import BusinessHours
from blink_api.tenants.schemas import (
    MAX_BUSINESS_DAYS,
    BusinessDayRead,
    BusinessDays,
    BusinessHoursRead,
    BusinessHoursUpdate,
    WeeklyHoursRead,
)
from blink_api.tenants.service import get_tenant

DEFAULT_CALENDAR = Calendar(
    timezone="Europe/Berlin",
    weekly={day: [("08:00", "17:00")] for day in WEEKDAYS[:5]},
    holidays_region=None,
    closed_dates=frozenset(),
)

# Called, in the transaction of the change, after a tenant's calendar changed: `(session, tenant_id)`.
# Packages whose stored times derive from a calendar (service-level due times) register here and
# record the work to redo; they must not commit.
BusinessHoursListener = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
on_change: list[BusinessHoursListener] = []


def _calendar_of(row: BusinessHours) -> Calendar:
    return Calendar(
        timezone=row.timezone,
        weekly={day: [(start, end) for start, end in row.weekly.get(day, [])] for day in WEEKDAYS},
        holidays_region=row.holidays_region,
        closed_dates=frozenset(row.closed_dates),
    )


async def calendar_for(session: AsyncSession, tenant_id: uuid.UUID) -> Calendar:
    """The tenant's calendar: the saved one, else the default (Monday to Friday 08:00-17:00,
    Europe/Berlin, no public holidays). No permission check: for code acting on the tenant's behalf."""
    row = await repo.business_hours(session, tenant_id)
    return DEFAULT_CALENDAR if row is None else _calendar_of(row)


def _read(calendar: Calendar, updated_at: dt.datetime | None) -> BusinessHoursRead:
    return BusinessHoursRead(
        timezone=calendar.timezone,
        weekly=WeeklyHoursRead(**{day: [list(i) for i in calendar.weekly[day]] for day in WEEKDAYS}),
        holidays_region=calendar.holidays_region,
        closed_dates=sorted(calendar.closed_dates),
        updated_at=updated_at,
    )


async def read_business_hours(
    session: AsyncSession, principal: EmployeePrincipal, tenant_id: uuid.UUID
) -> BusinessHoursRead:
    await get_tenant(session, principal, tenant_id)
    row = await repo.business_hours(session, tenant_id)
    if row is None:
        return _read(DEFAULT_CALENDAR, None)
    return _read(_calendar_of(row), row.updated_at)


async def business_hours_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Tell every registered listener that the tenant's calendar changed (same transaction)."""
    for listener in on_change:
        await listener(session, tenant_id)


async def put_business_hours(
    session: AsyncSession, principal: EmployeePrincipal, tenant_id: uuid.UUID, body: BusinessHoursUpdate
) -> BusinessHoursRead:
    await get_tenant(session, principal, tenant_id)
    before = await calendar_for(session, tenant_id)
    weekly = {day: getattr(body.weekly, day) for day in WEEKDAYS}
    row = await repo.save_business_hours(
        session,
        tenant_id,
        timezone=body.timezone,
        weekly=weekly,
        holidays_region=body.holidays_region,
        closed_dates=sorted(set(body.closed_dates)),
    )
    after = _calendar_of(row)
    if after != before:
        await business_hours_changed(session, tenant_id)
    return _read(after, row.updated_at)


async def business_days(
    session: AsyncSession,
    principal: EmployeePrincipal,
    tenant_id: uuid.UUID,
    first: dt.date,
    last: dt.date,
) -> BusinessDays:
    await get_tenant(session, principal, tenant_id)
    if last < first:
        raise Invalid.at(["query", "to"], "`to` lies before `from`.")
    if (last - first).days + 1 > MAX_BUSINESS_DAYS:
        raise Invalid.at(["query", "to"], f"A range holds at most {MAX_BUSINESS_DAYS} days.")
    calendar = await calendar_for(session, tenant_id)
    return BusinessDays(
        items=[
            BusinessDayRead(date=day.date, hours=[list(i) for i in day.hours], holiday=day.holiday)
            for day in calendar.days(first, last)
        ]
    )
