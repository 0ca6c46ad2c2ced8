"""Ticket, comment and history bodies."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from blink_api.kit.schema import Day, Id, LongText, RequestModel, ResponseModel, trimmed

Status = Literal["open", "in_progress", "waiting", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Title = trimmed(min_length=1, max_length=300)
Body = trimmed(min_length=1, max_length=20_000)

STATUS_VALUES = (
    "`open`: reported, nobody works on it yet; `in_progress`: being worked on; `waiting`: waiting on "
    "the customer (service-level clocks pause); `closed`: done (`closed_at` says when)."
)
PRIORITY_VALUES = (
    "`low`: when there is time; `normal`: the usual; `high`: before the usual work; `urgent`: at once."
)

# The ids and times the examples share, so that they tell one story.
_TICKET_ID = "3f2b8c1e-5d4a-4e7b-9c21-8a6f0d3e4b57"
_TENANT_ID = "0c9e6a52-1b7d-4f38-a2e4-5d81c3f90b16"
_SITE_ID = "7a1d4e93-2c58-4b06-8f3a-e1b9c72d5a40"
_TYPE_ID = "b54e2f17-9a3c-4d81-b6e0-2f7c8d1a9e35"
_EMPLOYEE_ID = "e2c71b94-6f3d-4a58-9b20-c4d8a1e57f63"
_CUSTOMER_USER_ID = "91f4d2a8-3e6b-4c17-a5d9-7b0e2c8f4a16"
_COMMENT_ID = "5c8e1a3f-7b2d-4e94-8a61-d3f0b9c2e748"


class Creator(ResponseModel):
    """Who did something: an employee of the service company or a customer's user."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "employee", "id": _EMPLOYEE_ID, "name": "Jonas Becker"}]}
    )

    kind: Literal["employee", "customer_user"] = Field(
        description="`employee`: a person of the service company; `customer_user`: a user of the "
        "customer's portal."
    )
    id: uuid.UUID = Field(description="The employee's or customer user's id.")
    name: str = Field(description="The person's name as shown in the portal.")


class TicketCreate(RequestModel):
    """A ticket to report at a site. Customer users may only send `site_id`, `ticket_type_id`,
    `title`, `description` and `priority`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site_id": _SITE_ID,
                    "ticket_type_id": _TYPE_ID,
                    "title": "Fenster im 3. OG verschmutzt",
                    "description": "Die Fenster im Treppenhaus, 3. OG Nordseite, sind seit dem Sturm stark "
                    "verschmutzt.",
                    "priority": "high",
                    "due_date": "2026-12-04",
                    "assignee_id": _EMPLOYEE_ID,
                    "status": "open",
                }
            ]
        }
    )

    site_id: Id = Field(description="The site the ticket is about; one the caller sees.")
    ticket_type_id: Id = Field(
        description="The kind of ticket (a ticket type of the site's tenant; for customer users one their "
        "customer enabled)."
    )
    title: Title = Field(description="A short summary, 1 to 300 characters (white space around it dropped).")
    description: LongText | None = Field(
        default=None, description="What happened, in as much detail as helps."
    )
    priority: Priority | None = Field(
        default=None,
        description="How urgent it is; `normal` when left out. Customer users choose it here and cannot "
        f"change it later. {PRIORITY_VALUES}",
    )
    due_date: Day | None = Field(default=None, description="When it must be done. Employees only.")
    assignee_id: Id | None = Field(
        default=None,
        description="The employee who works on it, one serving the site's tenant. Employees only.",
    )
    status: Status | None = Field(
        default=None, description=f"Employees only; `open` when left out. {STATUS_VALUES}"
    )


class TicketUpdate(RequestModel):
    """The fields to change; fields left out stay as they are, `null` clears an optional field.
    Customer users may change `title` and `description` of tickets they created, nothing else."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "in_progress",
                    "priority": "urgent",
                    "assignee_id": _EMPLOYEE_ID,
                    "due_date": "2026-12-04",
                },
                {"title": "Fenster im 3. OG und 4. OG verschmutzt"},
            ]
        }
    )

    title: Title = Field(default=None, description="A short summary, 1 to 300 characters.")
    description: LongText | None = Field(default=None, description="What happened; `null` clears it.")
    status: Status = Field(
        default=None,
        description=f"Employees only. Closing sets `closed_at`, reopening clears it. {STATUS_VALUES}",
    )
    priority: Priority = Field(
        default=None,
        description="Employees only (customer users choose it when they report the ticket). "
        + PRIORITY_VALUES,
    )
    assignee_id: Id | None = Field(
        default=None, description="Employees only; an employee serving the tenant, `null` for nobody."
    )
    due_date: Day | None = Field(default=None, description="Employees only; `null` clears it.")
    ticket_type_id: Id = Field(default=None, description="Employees only; a ticket type of the same tenant.")
    site_id: Id = Field(default=None, description="Employees only; a site of the same tenant.")


RATING_COMMENT_MAX = 2000


def _no_control_characters(value: str) -> str:
    """Line breaks and tabs are text; other control characters (escape sequences, bells) are not."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise PydanticCustomError(
            "text_control_character",
            "Text cannot contain control characters other than line breaks and tabs.",
        )
    return value


RatingComment = Annotated[trimmed(max_length=RATING_COMMENT_MAX), AfterValidator(_no_control_characters)]


class RatingCreate(RequestModel):
    """How satisfied the customer user who reported the ticket is with how it was resolved."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"score": 4, "comment": "Schnell erledigt, nur die Fensterbank wurde vergessen."},
                {"score": 5},
            ]
        }
    )

    score: int = Field(
        ge=1, le=5, description="From 1 (very unsatisfied) to 5 (very satisfied), a whole number."
    )
    comment: RatingComment | None = Field(
        default=None,
        description=f"Why, in the customer's words: up to {RATING_COMMENT_MAX:,} characters, line breaks "
        "allowed, no other control characters (white space around it dropped; blank is no comment).",
    )

    @field_validator("comment")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class RatingRead(ResponseModel):
    """The satisfaction rating of a closed ticket, given once by the customer user who reported it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "score": 4,
                    "comment": "Schnell erledigt, nur die Fensterbank wurde vergessen.",
                    "created_at": "2026-11-28T16:20:05.114000Z",
                }
            ]
        }
    )

    score: int = Field(description="From 1 (very unsatisfied) to 5 (very satisfied).")
    comment: str | None = Field(description="Why, in the customer's words; null when none was given.")
    created_at: dt.datetime = Field(description="When the ticket was rated.")


SLA_TARGET_STATES = (
    "`running`: the clock runs and the due time lies ahead; `paused`: the ticket is `waiting` on the "
    "customer, the resolution clock stands still (leaving `waiting` moves `due_at` by the paused business "
    "time); `met`: met by its due time; `breached`: met late, or its due time passed unmet."
)


class SlaTarget(ResponseModel):
    """One service-level target of a ticket: when it is due, when it was met, and where it stands now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"due_at": "2026-11-27T12:14:03.512000Z", "met_at": None, "state": "running"}]
        }
    )

    due_at: dt.datetime = Field(
        description="When the target is due: the policy's business minutes after the ticket was reported, "
        "moved by paused time and, after a re-opening, counted from it."
    )
    met_at: dt.datetime | None = Field(description="When it was met; null while it is not.")
    state: Literal["running", "paused", "met", "breached"] = Field(
        description=f"Where it stands now. {SLA_TARGET_STATES}"
    )


class TicketSla(ResponseModel):
    """The service level a ticket is held to (`/sla-policies`), with its two targets."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policy_id": "4d9a2c71-8e3b-4f60-a1d5-c7e02b9f3a18",
                    "first_response": {
                        "due_at": "2026-11-27T10:14:03.512000Z",
                        "met_at": "2026-11-27T09:41:25.300000Z",
                        "state": "met",
                    },
                    "resolution": {
                        "due_at": "2026-11-28T16:14:03.512000Z",
                        "met_at": None,
                        "state": "running",
                    },
                }
            ]
        }
    )

    policy_id: uuid.UUID | None = Field(
        description="The policy that applies (`GET /sla-policies/{policy_id}`, administrators); null when it "
        "was deleted after the ticket was closed."
    )
    first_response: SlaTarget | None = Field(
        description="Met by the first public comment of an employee (or by closing); null when the policy "
        "sets no first-response time."
    )
    resolution: SlaTarget | None = Field(
        description="Met by closing; null when the policy sets no resolution time."
    )


class TicketRead(ResponseModel):
    """A ticket as the caller may see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _TICKET_ID,
                    "number": "NORD-000042",
                    "tenant_id": _TENANT_ID,
                    "site_id": _SITE_ID,
                    "ticket_type_id": _TYPE_ID,
                    "title": "Fenster im 3. OG verschmutzt",
                    "description": "Die Fenster im Treppenhaus, 3. OG Nordseite, sind seit dem Sturm stark "
                    "verschmutzt.",
                    "status": "closed",
                    "priority": "high",
                    "assignee_id": _EMPLOYEE_ID,
                    "due_date": "2026-12-04",
                    "created_by": {"kind": "customer_user", "id": _CUSTOMER_USER_ID, "name": "Petra Lindner"},
                    "created_at": "2026-11-27T08:14:03.512000Z",
                    "updated_at": "2026-11-28T14:02:37.981000Z",
                    "closed_at": "2026-11-28T14:02:37.981000Z",
                    "rating": {
                        "score": 4,
                        "comment": "Schnell erledigt, nur die Fensterbank wurde vergessen.",
                        "created_at": "2026-11-28T16:20:05.114000Z",
                    },
                    "sla": {
                        "policy_id": "4d9a2c71-8e3b-4f60-a1d5-c7e02b9f3a18",
                        "first_response": {
                            "due_at": "2026-11-27T10:14:03.512000Z",
                            "met_at": "2026-11-27T09:41:25.300000Z",
                            "state": "met",
                        },
                        "resolution": {
                            "due_at": "2026-11-28T16:14:03.512000Z",
                            "met_at": "2026-11-28T14:02:37.981000Z",
                            "state": "met",
                        },
                    },
                    "schedule_id": None,
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The ticket's id.")
    number: str = Field(
        description="Number for people, unique within the tenant: the tenant's code and a running count."
    )
    tenant_id: uuid.UUID = Field(
        description="The service company's tenant the ticket belongs to (its site's)."
    )
    site_id: uuid.UUID = Field(description="The site the ticket is about.")
    ticket_type_id: uuid.UUID = Field(description="The kind of ticket.")
    title: str = Field(description="A short summary.")
    description: str | None = Field(description="What happened; null when none was given.")
    status: Status = Field(description=STATUS_VALUES)
    priority: Priority = Field(description=f"How urgent it is. {PRIORITY_VALUES}")
    assignee_id: uuid.UUID | None = Field(description="The employee working on it; null while nobody is.")
    due_date: dt.date | None = Field(
        description="When it must be done (YYYY-MM-DD); null without a due date."
    )
    created_by: Creator = Field(description="Who reported the ticket.")
    created_at: dt.datetime = Field(description="When the ticket was reported.")
    updated_at: dt.datetime = Field(description="When the ticket's fields last changed.")
    closed_at: dt.datetime | None = Field(description="When it was closed; null unless `status` is `closed`.")
    rating: RatingRead | None = Field(
        description="How satisfied the customer user who reported it is (`POST /tickets/{ticket_id}/rating`, "
        "once, after closing); null until rated. Reopening the ticket keeps the rating."
    )
    sla: TicketSla | None = Field(
        description="The service level the ticket is held to, the most specific policy of its tenant that "
        "matches its customer, type and priority; null when none matched (tickets reported before policies "
        "existed too). Worked out again when type, site or priority change."
    )
    schedule_id: uuid.UUID | None = Field(
        description="The schedule that raised the ticket for one of its dates "
        "(`GET /schedules/{schedule_id}`); null for a ticket raised otherwise."
    )


class CommentCreate(RequestModel):
    """A comment, or an internal note, to add to the ticket."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"body": "Reinigung ist für Donnerstag, 8 Uhr, eingeplant.", "internal": False},
                {"body": "Hubsteiger wird benötigt, beim Vermieter anfragen.", "internal": True},
            ]
        }
    )

    body: Body = Field(description="The text, 1 to 20,000 characters (white space around it dropped).")
    internal: bool = Field(
        default=False, description="An internal note, never shown to customer users (employees only)."
    )


class CommentUpdate(RequestModel):
    """The comment's new text (only its author may change it)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"body": "Reinigung ist für Freitag, 8 Uhr, eingeplant."}]}
    )

    body: Body = Field(description="The new text, 1 to 20,000 characters; the old one stays in the history.")


class CommentRead(ResponseModel):
    """A comment or internal note on a ticket."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _COMMENT_ID,
                    "ticket_id": _TICKET_ID,
                    "body": "Reinigung ist für Donnerstag, 8 Uhr, eingeplant.",
                    "internal": False,
                    "author": {"kind": "employee", "id": _EMPLOYEE_ID, "name": "Jonas Becker"},
                    "created_at": "2026-11-27T09:41:25.300000Z",
                    "updated_at": "2026-11-27T09:41:25.300000Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The comment's id.")
    ticket_id: uuid.UUID = Field(description="The ticket it is on.")
    body: str = Field(description="The text.")
    internal: bool = Field(description="An internal note, shown to employees only.")
    author: Creator = Field(description="Who wrote it.")
    created_at: dt.datetime = Field(description="When it was written.")
    updated_at: dt.datetime = Field(description="When its text last changed (`created_at` if never).")


class HistoryEntry(ResponseModel):
    """One change of a ticket: who did what, and when."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "d1a7e3c9-4b82-4f5e-9c06-2e8b7f1a3d54",
                    "ticket_id": _TICKET_ID,
                    "actor": {"kind": "employee", "id": _EMPLOYEE_ID, "name": "Jonas Becker"},
                    "event": "updated",
                    "field": "status",
                    "old_value": "open",
                    "new_value": "in_progress",
                    "created_at": "2026-11-27T09:40:11.078000Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The entry's id.")
    ticket_id: uuid.UUID = Field(description="The ticket changed.")
    actor: Creator | None = Field(
        description="Who made the change; null when no account is known for it any more."
    )
    event: str = Field(
        description="What happened: `created`: the ticket was reported; `updated`: a field changed "
        "(`field` names it); `comment_added`, `comment_edited`, `comment_deleted`: a comment or internal "
        "note; `attachment_added`, `attachment_deleted`: a file; `attachment_renamed`, "
        "`attachment_replaced`: a file renamed, or its content replaced, by its uploader (both values "
        "hold the file's `id` and what changed: `filename`; for a replacement also `content_type` and "
        "`size`); `rated`: the reporter rated the closed ticket (`new_value`: `{score, comment}`); "
        "employees only: `sla_applied`: a service-level policy applied at reporting, `sla_recomputed`: the "
        "policy or due times changed (type, site or priority changed, or in the background after a policy or "
        "the business hours changed; `new_value.reason` says which), `sla_breached`: a target's due time "
        "passed unmet (`new_value`: `{target, due_at}`). More kinds may come."
    )
    field: str | None = Field(
        description="The ticket field changed (`status`, `title`, …), `comment`, `attachment`, "
        "`rating` or `sla`; null for `created`."
    )
    old_value: Any = Field(description="The value before; null when there was none.")
    new_value: Any = Field(description="The value after; null when there is none (a deletion).")
    created_at: dt.datetime = Field(description="When it happened.")
