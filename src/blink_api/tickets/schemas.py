"""Ticket, comment and history bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field

from blink_api.kit.schema import Day, Id, LongText, RequestModel, ResponseModel, trimmed

Status = Literal["open", "in_progress", "closed"]
Title = trimmed(min_length=1, max_length=300)
Body = trimmed(min_length=1, max_length=20_000)


class Creator(ResponseModel):
    kind: Literal["employee", "customer_user"]
    id: uuid.UUID
    name: str


class TicketCreate(RequestModel):
    site_id: Id
    ticket_type_id: Id
    title: Title
    description: LongText | None = None
    due_date: Day | None = Field(default=None, description="Employees only.")
    assignee_id: Id | None = Field(default=None, description="Employees only.")
    status: Status | None = Field(default=None, description="Employees only; `open` when left out.")


class TicketUpdate(RequestModel):
    title: Title = Field(default=None)
    description: LongText | None = None
    status: Status = Field(
        default=None, description="Employees only. Closing sets `closed_at`, reopening clears it."
    )
    assignee_id: Id | None = Field(default=None, description="Employees only.")
    due_date: Day | None = Field(default=None, description="Employees only.")
    ticket_type_id: Id = Field(default=None, description="Employees only.")
    site_id: Id = Field(default=None, description="Employees only; a site of the same tenant.")


class TicketRead(ResponseModel):
    id: uuid.UUID
    number: str
    tenant_id: uuid.UUID
    site_id: uuid.UUID
    ticket_type_id: uuid.UUID
    title: str
    description: str | None
    status: Status
    assignee_id: uuid.UUID | None
    due_date: dt.date | None
    created_by: Creator
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class CommentCreate(RequestModel):
    body: Body
    internal: bool = Field(
        default=False, description="An internal note, never shown to customer users (employees only)."
    )


class CommentUpdate(RequestModel):
    body: Body


class CommentRead(ResponseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    body: str
    internal: bool
    author: Creator
    created_at: dt.datetime
    updated_at: dt.datetime


class HistoryEntry(ResponseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    actor: Creator | None
    event: str = Field(description="created, updated, comment_added, comment_edited, comment_deleted, …")
    field: str | None
    old_value: Any
    new_value: Any
    created_at: dt.datetime
