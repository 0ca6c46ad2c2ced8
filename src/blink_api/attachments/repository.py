"""SQL for attachments: visible when their ticket is, when they are a site document of the caller's
customer, when their form submission is, or to their uploader while on no ticket (`policy.uploaded_by`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.attachments.policy import uploaded_by
from blink_api.documents.repository import document_scope
from blink_api.files.models import Attachment
from blink_api.forms.models import FormSubmission
from blink_api.forms.repository import submission_scope
from blink_api.identity.principals import Principal
from blink_api.tickets.models import Ticket
from blink_api.tickets.repository import ticket_scope


def visible_attachments(principal: Principal) -> Select[Any]:
    return (
        select(Attachment)
        .outerjoin(Ticket, Ticket.id == Attachment.ticket_id)
        .where(
            or_(
                and_(Attachment.ticket_id.is_not(None), ticket_scope(principal)),
                and_(Attachment.ticket_id.is_not(None), document_scope(principal)),
                uploaded_by(principal),
                and_(
                    Attachment.form_submission_id.is_not(None),
                    Attachment.form_submission_id.in_(
                        select(FormSubmission.id).where(submission_scope(principal))
                    ),
                ),
            )
        )
    )


def attachment_by_id(principal: Principal, attachment_id: uuid.UUID) -> Select[Any]:
    return visible_attachments(principal).where(Attachment.id == attachment_id)


def of_ticket(principal: Principal, ticket_id: uuid.UUID) -> Select[Any]:
    """The attachments of one ticket, if the ticket is in `principal`'s scope (else none)."""
    return (
        select(Attachment)
        .join(Ticket, Ticket.id == Attachment.ticket_id)
        .where(Attachment.ticket_id == ticket_id, ticket_scope(principal))
    )


async def lock_submission_status(session: AsyncSession, submission_id: uuid.UUID) -> str | None:
    """The status of the form submission a photo belongs to, its row locked until the transaction ends."""
    return await session.scalar(
        select(FormSubmission.status).where(FormSubmission.id == submission_id).with_for_update()
    )
