"""Schedules, their occurrences and a site's plan as the API shows them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import ConfigDict, Field

from blink_api.kit.schema import Day, Id, LongText, Name, RequestModel, ResponseModel, trimmed
from blink_api.schedules.models import MAX_LEAD_DAYS
from blink_api.tickets.schemas import PRIORITY_VALUES, Priority

PlanStatus = Literal["planned", "open", "done", "missed"]

MAX_SITES = 50
Title = trimmed(min_length=1, max_length=300)
Rule = trimmed(min_length=1, max_length=500)
Zone = trimmed(min_length=1, max_length=64)

_NAME = "What the planned work is called, e.g. `Objektbegehung wöchentlich`."
_SITES = f"The sites each occurrence raises a ticket on: 1 to {MAX_SITES} sites of the schedule's tenant."
_TYPE = "The type of the tickets: a ticket type of the tenant that is not an absence type."
_TITLE = "The title of each ticket, 1 to 300 characters."
_DESCRIPTION = "The description of each ticket."
_PRIORITY = f"The priority of each ticket; `null`: the tickets' default (`normal`). {PRIORITY_VALUES}"
_ASSIGNEE = "The employee each ticket is assigned to: an active employee serving the tenant; `null`: nobody."
_TEMPLATE = (
    "The inspection form filled in on each ticket: a published, non-public form template about a "
    "site (`subject` `site`). A submission started from the ticket (`POST /form-submissions` with "
    "`ticket_id`) attaches its PDF to the ticket and closes it when completed."
)
_RRULE = (
    "When the work recurs: an RFC 5545 recurrence rule without `DTSTART` (the schedule starts on "
    "`starts_on`), e.g. `FREQ=WEEKLY;BYDAY=MO` or `FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1`. "
    "Only dates count: `FREQ` is `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`, and `BYHOUR`, `BYMINUTE`, "
    "`BYSECOND` are refused. `COUNT` and `UNTIL` may end it besides `ends_on` (the earlier end holds)."
)
_TIMEZONE = (
    "The IANA time zone the schedule's dates are in, e.g. `Europe/Berlin`: it decides which date "
    "is today for the schedule."
)
_STARTS = "The first date the rule may fall on (the rule's start); from 2000-01-01 to 2199-12-31."
_ENDS = "The last date the rule may fall on; `null`: no end. Not before `starts_on`."
_LEAD = (
    f"How many days before its date each occurrence's ticket is raised, 0 to {MAX_LEAD_DAYS} "
    "(0: on the date itself)."
)
_ACTIVE = (
    "Only active schedules raise tickets. Switching a schedule on raises tickets from that day on, "
    "not for dates it missed while it was off."
)

_SCHEDULE_EXAMPLE = {
    "id": "7c2e9a41-5b3d-4f18-a6e2-0d9b8c7f3e15",
    "tenant_id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
    "name": "Objektbegehung wöchentlich",
    "site_ids": ["8b4d1e7a-2c9f-4a36-b5e8-1f7c0d3a9e42"],
    "ticket_type_id": "5e8a2c7d-1b4f-4d93-a6c0-9f2e7b1d4a58",
    "title": "Objektbegehung",
    "description": "Rundgang mit Checkliste, Mängel fotografieren.",
    "priority": "normal",
    "assignee_id": "1d7c4b9e-8a25-4f03-b6e1-3c9f5a2d8e74",
    "form_template_id": "4a9e6c2b-7d15-4f8a-b3e0-2c6d9f1a7e53",
    "rrule": "FREQ=WEEKLY;BYDAY=MO",
    "timezone": "Europe/Berlin",
    "starts_on": "2026-01-05",
    "ends_on": None,
    "lead_days": 3,
    "active": True,
    "created_at": "2026-01-02T09:00:00Z",
    "updated_at": "2026-01-02T09:00:00Z",
}
_CREATE_EXAMPLE = {
    key: value for key, value in _SCHEDULE_EXAMPLE.items() if key not in ("id", "created_at", "updated_at")
}


class ScheduleCreate(RequestModel):
    """A new schedule: recurring work on sites of one tenant."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    tenant_id: Id = Field(description="The tenant whose sites the work is done on.")
    name: Name = Field(description=_NAME)
    site_ids: list[Id] = Field(min_length=1, max_length=MAX_SITES, description=_SITES)
    ticket_type_id: Id = Field(description=_TYPE)
    title: Title = Field(description=_TITLE)
    description: LongText | None = Field(default=None, description=_DESCRIPTION)
    priority: Priority | None = Field(default=None, description=_PRIORITY)
    assignee_id: Id | None = Field(default=None, description=_ASSIGNEE)
    form_template_id: Id | None = Field(default=None, description=_TEMPLATE)
    rrule: Rule = Field(description=_RRULE)
    timezone: Zone = Field(description=_TIMEZONE)
    starts_on: Day = Field(description=_STARTS)
    ends_on: Day | None = Field(default=None, description=_ENDS)
    lead_days: int = Field(ge=0, le=MAX_LEAD_DAYS, description=_LEAD)
    active: bool = Field(default=True, description=_ACTIVE)


class ScheduleUpdate(RequestModel):
    """Changes to a schedule: only the fields sent change; the tenant stays. Tickets already raised
    stay as they are; changes apply to the occurrences not raised yet."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "lead_days": 2}, {"active": False}]
        }
    )

    name: Name = Field(default=None, description=_NAME)
    site_ids: list[Id] = Field(default=None, min_length=1, max_length=MAX_SITES, description=_SITES)
    ticket_type_id: Id = Field(default=None, description=_TYPE)
    title: Title = Field(default=None, description=_TITLE)
    description: LongText | None = Field(default=None, description=_DESCRIPTION)
    priority: Priority | None = Field(default=None, description=_PRIORITY)
    assignee_id: Id | None = Field(default=None, description=_ASSIGNEE)
    form_template_id: Id | None = Field(default=None, description=_TEMPLATE)
    rrule: Rule = Field(default=None, description=_RRULE)
    timezone: Zone = Field(default=None, description=_TIMEZONE)
    starts_on: Day = Field(default=None, description=_STARTS)
    ends_on: Day | None = Field(default=None, description=_ENDS)
    lead_days: int = Field(default=None, ge=0, le=MAX_LEAD_DAYS, description=_LEAD)
    active: bool = Field(default=None, description=_ACTIVE)


class ScheduleRead(ResponseModel):
    """A schedule."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SCHEDULE_EXAMPLE]})

    id: uuid.UUID = Field(description="The schedule's id.")
    tenant_id: uuid.UUID = Field(description="The tenant whose sites the work is done on.")
    name: str = Field(description=_NAME)
    site_ids: list[uuid.UUID] = Field(description=_SITES)
    ticket_type_id: uuid.UUID = Field(description=_TYPE)
    title: str = Field(description=_TITLE)
    description: str | None = Field(description=_DESCRIPTION)
    priority: Priority | None = Field(description=_PRIORITY)
    assignee_id: uuid.UUID | None = Field(description=_ASSIGNEE)
    form_template_id: uuid.UUID | None = Field(description=_TEMPLATE)
    rrule: str = Field(description=_RRULE)
    timezone: str = Field(description=_TIMEZONE)
    starts_on: dt.date = Field(description=_STARTS)
    ends_on: dt.date | None = Field(description=_ENDS)
    lead_days: int = Field(description=_LEAD)
    active: bool = Field(description=_ACTIVE)
    created_at: dt.datetime = Field(description="When the schedule was created.")
    updated_at: dt.datetime = Field(description="When the schedule last changed.")


class Occurrence(ResponseModel):
    """One date of a schedule on one of its sites."""

    date: dt.date = Field(description="The occurrence's date: the due date of its ticket.")
    site_id: uuid.UUID = Field(description="The site the occurrence's ticket is (or will be) on.")
    ticket_id: uuid.UUID | None = Field(description="The ticket raised for it; `null`: none yet.")


class OccurrenceList(ResponseModel):
    """A schedule's occurrences in a range of dates, by date and site; nothing is created."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "date": "2026-12-07",
                            "site_id": "8b4d1e7a-2c9f-4a36-b5e8-1f7c0d3a9e42",
                            "ticket_id": "2f6b9d3e-8a14-4c57-b0e9-7d1a5c3f8e26",
                        },
                        {
                            "date": "2026-12-14",
                            "site_id": "8b4d1e7a-2c9f-4a36-b5e8-1f7c0d3a9e42",
                            "ticket_id": None,
                        },
                    ]
                }
            ]
        }
    )

    items: list[Occurrence] = Field(description="The occurrences, by date, then by site.")


_STATUS = (
    "`planned`: no ticket yet and the date has not passed; `open`: the ticket exists, is not closed and "
    "the date has not passed; `done`: the ticket was closed on or before the date; `missed`: the date "
    "has passed and the ticket was not closed by then (none raised, still open, or closed late). "
    "Dates are the schedule's (in its time zone)."
)


class PlanItem(ResponseModel):
    """One planned date of a schedule on the site."""

    schedule_name: str = Field(description="The schedule's name.")
    date: dt.date = Field(description="The planned date: the due date of its ticket.")
    ticket_id: uuid.UUID | None = Field(description="The ticket raised for it; `null`: none yet.")
    status: PlanStatus = Field(description=_STATUS)


class Plan(ResponseModel):
    """The planned work on a site in a range of dates."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "schedule_name": "Objektbegehung wöchentlich",
                            "date": "2026-11-23",
                            "ticket_id": "2f6b9d3e-8a14-4c57-b0e9-7d1a5c3f8e26",
                            "status": "done",
                        },
                        {
                            "schedule_name": "Objektbegehung wöchentlich",
                            "date": "2026-12-07",
                            "ticket_id": None,
                            "status": "planned",
                        },
                    ]
                }
            ]
        }
    )

    items: list[PlanItem] = Field(description="The planned dates, by date, then by schedule name.")
