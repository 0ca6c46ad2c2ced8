"""HTTP endpoints of schedules (planners) and of a site's plan (everyone who sees the site)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from blink_api.identity.dependencies import CurrentEmployee, CurrentPrincipal
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.kit.schema import Day
from blink_api.schedules import service
from blink_api.schedules.schemas import OccurrenceList, Plan, ScheduleCreate, ScheduleRead, ScheduleUpdate

router = APIRouter(prefix="/schedules", tags=["schedules"])
plan_router = APIRouter(tags=["sites"])

ScheduleId = Annotated[uuid.UUID, Path(description="The schedule's id.")]
SiteId = Annotated[uuid.UUID, Path(description="The site's id; one the caller sees.")]
From = Annotated[
    Day | None, Query(alias="from", description="The first date of the range; today when left out.")
]
To = Annotated[
    Day | None,
    Query(
        description="The last date of the range: not before `from`, at most 365 days after it; "
        "30 days after `from` when left out."
    ),
]


@router.post(
    "",
    name="schedules:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new schedule (`GET /schedules/{schedule_id}`)."),
        **problem_responses(401, 403, 404, 422),
    },
)
async def create_schedule(
    session: DbSession, employee: CurrentEmployee, body: ScheduleCreate, request: Request, response: Response
) -> ScheduleRead:
    """Plan recurring work. Administrators, and employees holding `schedules:manage` for their
    own tenants. Each date of `rrule` raises, `lead_days` before it, one
    ticket on each site with that date as its due date, from the day the schedule is created (or
    switched on) on, never for dates before. A tenant the caller does not serve answers 404."""
    schedule = await service.create_schedule(session, employee, body)
    response.headers["Location"] = location(request, "schedules:read", schedule_id=schedule.id)
    return await service.read_one(session, schedule)


@router.get("", name="schedules:list", responses=problem_responses(401, 403, 422))
async def list_schedules(
    session: DbSession, principal: CurrentPrincipal, page: Pagination
) -> Page[ScheduleRead]:
    """The schedules the caller manages, newest first: administrators every one, employees
    holding `schedules:manage` those of their own tenants."""
    return await service.list_schedules(session, principal, page)


@router.get("/{schedule_id}", name="schedules:read", responses=problem_responses(401, 403, 404, 422))
async def read_schedule(
    session: DbSession, principal: CurrentPrincipal, schedule_id: ScheduleId
) -> ScheduleRead:
    """A schedule. Administrators, and employees holding `schedules:manage` for their own
    tenants' schedules; another tenant's schedule answers 404."""
    return await service.read_one(session, await service.get_schedule(session, principal, schedule_id))


@router.patch("/{schedule_id}", name="schedules:update", responses=problem_responses(401, 403, 404, 422))
async def update_schedule(
    session: DbSession, principal: CurrentPrincipal, schedule_id: ScheduleId, body: ScheduleUpdate
) -> ScheduleRead:
    """Only the fields sent change; tickets already raised stay as they are. Administrators, and
    employees holding `schedules:manage` for their own tenants' schedules."""
    schedule = await service.update_schedule(session, principal, schedule_id, body)
    return await service.read_one(session, schedule)


@router.delete(
    "/{schedule_id}",
    name="schedules:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_schedule(session: DbSession, principal: CurrentPrincipal, schedule_id: ScheduleId) -> None:
    """Deletes the schedule; the tickets it raised stay (their `schedule_id` becomes null).
    Administrators, and employees holding `schedules:manage` for their own tenants' schedules."""
    await service.delete_schedule(session, principal, schedule_id)


@router.get(
    "/{schedule_id}/occurrences",
    name="schedules:occurrences",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_occurrences(
    session: DbSession,
    principal: CurrentPrincipal,
    schedule_id: ScheduleId,
    from_: From = None,
    to: To = None,
) -> OccurrenceList:
    """Every date of the schedule's rule in the range (at most 366 days, else 422), on each of its
    sites, with the ticket raised for it so far; a preview that creates nothing. Administrators, and
    employees holding `schedules:manage` for their own tenants' schedules."""
    return await service.occurrences(session, principal, schedule_id, from_, to)


@plan_router.get("/sites/{site_id}/plan", name="sites:plan", responses=problem_responses(401, 404, 422))
async def site_plan(
    session: DbSession, principal: CurrentPrincipal, site_id: SiteId, from_: From = None, to: To = None
) -> Plan:
    """The planned work on the site in the range (at most 366 days, else 422): each date of its
    schedules and how it went. Employees of the site's tenant and the customer users the site is
    assigned to (only schedules whose ticket type is enabled for their customer); anyone else 404.
    Dates before a schedule was created or switched on are left out unless they have a ticket."""
    return await service.site_plan(session, principal, site_id, from_, to)
