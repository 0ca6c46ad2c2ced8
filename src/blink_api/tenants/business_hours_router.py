"""HTTP endpoints of tenants' business hours."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from blink_api.identity.dependencies import AdminEmployee, CurrentEmployee
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.schema import Day
from blink_api.tenants import business_hours as service
from blink_api.tenants.schemas import (
    MAX_BUSINESS_DAYS,
    BusinessDays,
    BusinessHoursRead,
    BusinessHoursUpdate,
)

router = APIRouter(prefix="/tenants", tags=["tenants"])

TenantId = Annotated[uuid.UUID, Path(description="The tenant's id.")]
From = Annotated[Day, Query(alias="from", description="The first date listed (YYYY-MM-DD).")]
To = Annotated[
    Day,
    Query(
        alias="to",
        description=f"The last date listed (YYYY-MM-DD): not before `from`, at most {MAX_BUSINESS_DAYS} "
        "dates from `from` on, `from` included (else 422).",
    ),
]


@router.get(
    "/{tenant_id}/business-hours",
    name="tenants:read_business_hours",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_business_hours(
    session: DbSession, employee: CurrentEmployee, tenant_id: TenantId
) -> BusinessHoursRead:
    """Employees only: administrators of every tenant, other employees of the tenants they belong to
    (404 for the rest). The default calendar until one is set: Monday to Friday 08:00-17:00,
    `Europe/Berlin`, no public holidays."""
    return await service.read_business_hours(session, employee, tenant_id)


@router.put(
    "/{tenant_id}/business-hours",
    name="tenants:update_business_hours",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_business_hours(
    session: DbSession, admin: AdminEmployee, tenant_id: TenantId, body: BusinessHoursUpdate
) -> BusinessHoursRead:
    """Administrators only; replaces the whole calendar (weekdays left out are closed). 422 for a
    time zone that is no IANA name, an unknown holiday region, times outside 00:00-24:00, intervals
    that do not start before they end, overlap or are out of order, more than 10 intervals a day,
    more than 500 closed dates, or a week without any open hours. Service-level due times of open
    tickets of the tenant are recomputed after a change."""
    return await service.put_business_hours(session, admin, tenant_id, body)


@router.get(
    "/{tenant_id}/business-days",
    name="tenants:read_business_days",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_business_days(
    session: DbSession, employee: CurrentEmployee, tenant_id: TenantId, first: From, last: To
) -> BusinessDays:
    """Employees only, like the business hours: each date from `from` to `to` with its open hours in
    the tenant's time zone and its public holiday. `hours` is empty on closed dates (public holidays,
    closed dates, weekdays without hours). Both dates are required; the range holds at most 366
    dates, so the list is answered whole, not paged."""
    return await service.business_days(session, employee, tenant_id, first, last)
