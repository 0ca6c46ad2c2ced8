"""Schedule rules: who manages which schedule, what a schedule may name, its occurrences and the plan
of a site (see `worker` for how the tickets are raised)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.customers.scope import enabled_types
from blink_api.forms.models import FormTemplate, FormTemplateVersion
from blink_api.identity.principals import CustomerUserPrincipal, EmployeePrincipal, Principal, ensure
from blink_api.identity.scope import served_tenants
from blink_api.kit.errors import FieldError, Invalid
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import delete_or_409, one_or_404
from blink_api.schedules import policy, recurrence
from blink_api.schedules import repository as repo
from blink_api.schedules.models import Schedule
from blink_api.schedules.schemas import (
    Occurrence,
    OccurrenceList,
    Plan,
    PlanItem,
    ScheduleCreate,
    ScheduleRead,
    ScheduleUpdate,
)
from blink_api.sites.service import get_site
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketCategory, TicketType
from blink_api.tickets.repository import employee_serves_tenant

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
_NOT_NULL = (
    "name",
    "site_ids",
    "ticket_type_id",
    "title",
    "rrule",
    "timezone",
    "starts_on",
    "lead_days",
    "active",
)


def read(schedule: Schedule, site_ids: list[uuid.UUID]) -> ScheduleRead:
    return ScheduleRead.model_validate({**_columns(schedule), "site_ids": site_ids})


def _columns(schedule: Schedule) -> dict[str, Any]:
    return {name: getattr(schedule, name) for name in ScheduleRead.model_fields if name != "site_ids"}


async def read_one(session: AsyncSession, schedule: Schedule) -> ScheduleRead:
    return read(schedule, (await repo.site_ids(session, [schedule.id]))[schedule.id])


async def _check(session: AsyncSession, tenant_id: uuid.UUID, v: dict[str, Any], changed: set[str]) -> None:
    """Every field in `changed` of the schedule as it would be (`v`), with the fields it depends on;
    all problems at once, each at its field."""
    errors: list[FieldError] = []

    def refuse(loc: list[str | int], msg: str, type_: str = "value_error") -> None:
        errors.append(FieldError(loc=["body", *loc], msg=msg, type=type_))

    if "site_ids" in changed:
        wanted = v["site_ids"]
        found = set(
            await session.scalars(select(Site.id).where(Site.id.in_(wanted), Site.tenant_id == tenant_id))
        )
        for index, site_id in enumerate(wanted):
            if site_id not in found:
                refuse(["site_ids", index], "No site of the schedule's tenant has this id.", "not_found")
    if "ticket_type_id" in changed:
        ticket_type = await session.get(TicketType, v["ticket_type_id"])
        if ticket_type is None or ticket_type.tenant_id != tenant_id:
            refuse(["ticket_type_id"], "No ticket type of the schedule's tenant has this id.", "not_found")
        elif ticket_type.category == TicketCategory.absence:
            refuse(["ticket_type_id"], "Absence types cannot be planned.", "absence_type")
    if (
        "assignee_id" in changed
        and v["assignee_id"] is not None
        and not await employee_serves_tenant(session, v["assignee_id"], tenant_id)
    ):
        refuse(["assignee_id"], "The assignee must be an active employee of the schedule's tenant.")
    if (
        "form_template_id" in changed
        and v["form_template_id"] is not None
        and (reason := await _why_not_template(session, v["form_template_id"])) is not None
    ):
        refuse(["form_template_id"], reason)
    if "timezone" in changed:
        try:
            recurrence.zone(v["timezone"])
        except recurrence.RuleError as exc:
            refuse(["timezone"], str(exc))
    dates_ok = True
    for field in ("starts_on", "ends_on"):
        day = v[field]
        if field in changed and day is not None and not recurrence.FIRST_DATE <= day <= recurrence.LAST_DATE:
            refuse([field], f"Schedules lie from {recurrence.FIRST_DATE} to {recurrence.LAST_DATE}.")
            dates_ok = False
    if changed & {"starts_on", "ends_on"} and v["ends_on"] is not None and v["ends_on"] < v["starts_on"]:
        refuse(["ends_on"], "A schedule cannot end before it starts (`starts_on`).")
    if changed & {"rrule", "starts_on"} and dates_ok:
        try:
            recurrence.parse(v["rrule"], v["starts_on"])
        except recurrence.RuleError as exc:
            refuse(["rrule"], str(exc))
    if errors:
        raise Invalid(errors[0].msg, errors=errors)


async def _why_not_template(session: AsyncSession, template_id: uuid.UUID) -> str | None:
    template = await session.get(FormTemplate, template_id)
    if template is None or template.published_version is None:
        return "No published form template has this id."
    if template.subject != "site":
        return "The form template must be filled in about a site (`subject` `site`)."
    is_public = await session.scalar(
        select(FormTemplateVersion.is_public).where(
            FormTemplateVersion.template_id == template.id,
            FormTemplateVersion.version == template.published_version,
        )
    )
    if is_public:
        return "A public form template cannot be planned: its submissions belong to no ticket."
    return None


async def create_schedule(
    session: AsyncSession, principal: EmployeePrincipal, body: ScheduleCreate
) -> Schedule:
    ensure(policy.why_not_manage(principal))
    tenant = await one_or_404(
        session,
        select(Tenant).where(Tenant.id == body.tenant_id, served_tenants(principal, Tenant.id)),
        "Tenant",
    )
    values = body.model_dump()
    values["site_ids"] = list(dict.fromkeys(values["site_ids"]))
    await _check(session, tenant.id, values, set(values))
    site_ids = values.pop("site_ids")
    schedule = Schedule(
        **values,
        created_by_id=principal.id,
        catch_up_from=recurrence.today_in(body.timezone),
    )
    session.add(schedule)
    await session.flush()
    await repo.set_sites(session, schedule.id, site_ids)
    return schedule


async def get_schedule(
    session: AsyncSession, principal: Principal, schedule_id: uuid.UUID, *, lock: bool = False
) -> Schedule:
    ensure(policy.why_not_manage(principal))
    stmt = repo.managed_schedules(principal).where(Schedule.id == schedule_id)
    if lock:
        stmt = stmt.with_for_update()
    return await one_or_404(session, stmt, "Schedule")


async def list_schedules(session: AsyncSession, principal: Principal, page: PageParams) -> Page[ScheduleRead]:
    ensure(policy.why_not_manage(principal))
    rows, cursor = await paginate(
        session, repo.managed_schedules(principal), page, created_at=Schedule.created_at, id_=Schedule.id
    )
    schedules: list[Schedule] = list(rows)
    sites = await repo.site_ids(session, [s.id for s in schedules])
    return Page[ScheduleRead](items=[read(s, sites[s.id]) for s in schedules], next_cursor=cursor)


async def update_schedule(
    session: AsyncSession, principal: Principal, schedule_id: uuid.UUID, body: ScheduleUpdate
) -> Schedule:
    schedule = await get_schedule(session, principal, schedule_id, lock=True)
    sent = body.model_dump(exclude_unset=True)
    for field in _NOT_NULL:
        if field in sent and sent[field] is None:
            raise Invalid.at(["body", field], "This field cannot be null.")
    if "site_ids" in sent:
        sent["site_ids"] = list(dict.fromkeys(sent["site_ids"]))
    values = {**_columns(schedule), **sent}
    await _check(session, schedule.tenant_id, values, set(sent))
    switched_on = sent.get("active") is True and not schedule.active
    for field, value in sent.items():
        if field != "site_ids":
            setattr(schedule, field, value)
    if switched_on:
        # Switched on again: from today on, not the dates it was off for.
        schedule.catch_up_from = recurrence.today_in(schedule.timezone)
    if "site_ids" in sent:
        await repo.set_sites(session, schedule.id, sent["site_ids"])
    await session.flush()
    await session.refresh(schedule, ["updated_at"])
    return schedule


async def delete_schedule(session: AsyncSession, principal: Principal, schedule_id: uuid.UUID) -> None:
    schedule = await get_schedule(session, principal, schedule_id)
    await delete_or_409(session, schedule, "The schedule")


def _range(first: dt.date | None, last: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The range asked about: `from` defaults to today, `to` to 30 days after `from`; at most 366 days."""
    first = first or today
    last = last or first + dt.timedelta(days=DEFAULT_RANGE_DAYS)
    if last < first:
        raise Invalid.at(["query", "to"], "`to` cannot lie before `from`.")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise Invalid.at(["query", "to"], f"A range spans at most {MAX_RANGE_DAYS} days.")
    for name, day in (("from", first), ("to", last)):
        if not recurrence.FIRST_DATE <= day <= recurrence.LAST_DATE:
            raise Invalid.at(
                ["query", name], f"Schedules lie from {recurrence.FIRST_DATE} to {recurrence.LAST_DATE}."
            )
    return first, last


def _dates(schedule: Schedule, first: dt.date, last: dt.date) -> list[dt.date]:
    rule = recurrence.parse(schedule.rrule, schedule.starts_on)
    if schedule.ends_on is not None:
        last = min(last, schedule.ends_on)
    return recurrence.dates(rule, max(first, schedule.starts_on), last)


async def occurrences(
    session: AsyncSession,
    principal: Principal,
    schedule_id: uuid.UUID,
    first: dt.date | None,
    last: dt.date | None,
) -> OccurrenceList:
    """Every date of the rule in the range on each of the schedule's sites, with the ticket raised
    for it if one was; nothing is created."""
    schedule = await get_schedule(session, principal, schedule_id)
    first, last = _range(first, last, recurrence.today_in(schedule.timezone))
    sites = (await repo.site_ids(session, [schedule.id]))[schedule.id]
    raised = await repo.raised(session, [schedule.id], first, last)
    items = [
        Occurrence(
            date=day, site_id=site_id, ticket_id=raised.get((schedule.id, site_id, day), (None, None))[0]
        )
        for day in _dates(schedule, first, last)
        for site_id in sites
    ]
    return OccurrenceList(items=items)


def plan_status(day: dt.date, today: dt.date, ticket_id: uuid.UUID | None, closed_on: dt.date | None) -> str:
    """`done`: closed on or before its date; `missed`: the date passed without that; `open`: a ticket
    that is not closed, its date still to come (or today); `planned`: no ticket yet, date to come."""
    if closed_on is not None and closed_on <= day:
        return "done"
    if day < today:
        return "missed"
    return "open" if ticket_id is not None else "planned"


async def site_plan(
    session: AsyncSession,
    principal: Principal,
    site_id: uuid.UUID,
    first: dt.date | None,
    last: dt.date | None,
) -> Plan:
    """The dates of the site's schedules in the range: those a ticket was raised for, and those an
    active schedule plans from the day it was created or switched on. Customer users see only the
    schedules whose ticket type is enabled for their customer."""
    site = await get_site(session, principal, site_id)
    first, last = _range(first, last, dt.datetime.now(dt.UTC).date())
    stmt = repo.schedules_of_site(site.id)
    if isinstance(principal, CustomerUserPrincipal):
        stmt = stmt.where(Schedule.ticket_type_id.in_(enabled_types(principal.customer_id)))
    schedules: list[Schedule] = list(await session.scalars(stmt))
    raised = await repo.raised(session, [s.id for s in schedules], first, last)
    items = []
    for schedule in schedules:
        zone = recurrence.zone(schedule.timezone)
        today = dt.datetime.now(dt.UTC).astimezone(zone).date()
        for day in _dates(schedule, first, last):
            found = raised.get((schedule.id, site.id, day))
            if found is None and not (schedule.active and day >= schedule.catch_up_from):
                continue  # planned before the schedule existed, or while it was off: never to happen
            ticket_id, closed_at = found or (None, None)
            closed_on = closed_at.astimezone(zone).date() if closed_at is not None else None
            items.append(
                PlanItem(
                    schedule_name=schedule.name,
                    date=day,
                    ticket_id=ticket_id,
                    status=plan_status(day, today, ticket_id, closed_on),  # type: ignore[arg-type]
                )
            )
    items.sort(key=lambda i: (i.date, i.schedule_name))
    return Plan(items=items)
