"""HTTP endpoints of the mail outbox (administrators)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from blink_api.identity.dependencies import AdminEmployee
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.notifications import service
from blink_api.notifications.schemas import OUTBOX_STATES, OutboxMessageRead, OutboxState

router = APIRouter(prefix="/admin/outbox", tags=["outbox"])

MessageId = Annotated[uuid.UUID, Path(description="The outbox message's id.")]


@router.get("", name="outbox:list", responses=problem_responses(401, 403, 422))
async def list_outbox(
    session: DbSession,
    admin: AdminEmployee,
    page: Pagination,
    state: Annotated[
        OutboxState | None, Query(description="Only mails in this state. " + OUTBOX_STATES)
    ] = None,
) -> Page[OutboxMessageRead]:
    """Administrators only. Queued, sending, sent and dead mails, newest first (bodies are not shown)."""
    return await service.list_outbox(session, page, state)


@router.post("/{message_id}/retry", name="outbox:retry", responses=problem_responses(401, 403, 404, 409, 422))
async def retry_message(session: DbSession, admin: AdminEmployee, message_id: MessageId) -> OutboxMessageRead:
    """Administrators only. Send a dead mail again (a fresh set of attempts); 409 for a mail in any
    other state."""
    return OutboxMessageRead.model_validate(await service.retry(session, message_id))
