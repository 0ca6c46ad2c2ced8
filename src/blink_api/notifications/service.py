"""The outbox: mails written in the transaction of the change that causes them, and their administration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.kit.errors import Conflict
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import one_or_404
from blink_api.notifications import templates
from blink_api.notifications.models import OutboxMessage
from blink_api.notifications.schemas import OutboxMessageRead


async def enqueue(session: AsyncSession, kind: str, recipient: str, mail: templates.Mail) -> None:
    session.add(
        OutboxMessage(
            kind=kind, recipient=recipient, subject=mail.subject, body_text=mail.text, body_html=mail.html
        )
    )
    await session.flush()


async def enqueue_invitation(
    session: AsyncSession, *, recipient: str, name: str, locale: str, link: str, portal: bool
) -> None:
    await enqueue(
        session,
        "invitation",
        recipient,
        templates.invitation(name=name, link=link, locale=locale, portal=portal),
    )


async def list_outbox(session: AsyncSession, page: PageParams, state: str | None) -> Page[OutboxMessageRead]:
    stmt = select(OutboxMessage)
    if state is not None:
        stmt = stmt.where(OutboxMessage.state == state)
    rows, cursor = await paginate(
        session, stmt, page, created_at=OutboxMessage.created_at, id_=OutboxMessage.id
    )
    return Page[OutboxMessageRead](
        items=[OutboxMessageRead.model_validate(m) for m in rows], next_cursor=cursor
    )


async def retry(session: AsyncSession, message_id: uuid.UUID) -> OutboxMessage:
    """Give a dead mail a fresh set of attempts, due now."""
    message = await one_or_404(
        session,
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update(),
        "Outbox message",
    )
    if message.state != "dead":
        raise Conflict(f"Only dead messages can be retried; this one is {message.state}.")
    message.state = "pending"
    message.attempts = 0
    message.last_error = None
    message.next_attempt_at = datetime.now(UTC)
    await session.flush()
    return message
