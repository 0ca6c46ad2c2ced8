"""Writing mails to the outbox, in the caller's transaction: a rolled-back change mails nobody."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.notifications import templates
from blink_api.notifications.models import OutboxMessage


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
