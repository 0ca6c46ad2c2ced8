"""HTTP endpoints of webhook subscriptions and their delivery log (administrators)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.webhooks import service
from blink_api.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead, WebhookUpdate

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WebhookId = Annotated[uuid.UUID, Path(description="The webhook subscription's id.")]
DeliveryId = Annotated[
    uuid.UUID, Path(description="The delivery's id, from the subscription's delivery log.")
]


@router.post(
    "",
    name="webhooks:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new subscription (`GET /webhooks/{webhook_id}`), without its secret."),
        **problem_responses(401, 403, 422),
    },
)
async def create_webhook(
    ctx: Ctx,
    session: DbSession,
    admin: AdminEmployee,
    body: WebhookCreate,
    request: Request,
    response: Response,
) -> WebhookCreated:
    """Administrators only. Subscribe a URL to events; the answer carries the signing `secret`, shown
    this once. The URL must be `https` on a public address (422 naming why not).

    Each event is POSTed as `{id, type, created_at, data}`, `data` being the resource as an
    administrator's `GET` returns it, signed as in Standard Webhooks (`webhook-id`,
    `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). Any 2xx is success; timeouts,
    connection errors, 429 and 5xx are retried with exponential backoff for more than 24 hours; 410
    disables the subscription."""
    created = await service.create_webhook(session, ctx.settings, body)
    response.headers["Location"] = location(request, "webhooks:read", webhook_id=created.id)
    return created


@router.get("", name="webhooks:list", responses=problem_responses(401, 403, 422))
async def list_webhooks(session: DbSession, admin: AdminEmployee, page: Pagination) -> Page[WebhookRead]:
    """Administrators only: every subscription, newest first, never its secret."""
    return await service.list_webhooks(session, page)


@router.get("/{webhook_id}", name="webhooks:read", responses=problem_responses(401, 403, 404, 422))
async def read_webhook(session: DbSession, admin: AdminEmployee, webhook_id: WebhookId) -> WebhookRead:
    """Administrators only; never the secret."""
    return service.read(await service.get_webhook(session, webhook_id))


@router.patch("/{webhook_id}", name="webhooks:update", responses=problem_responses(401, 403, 404, 422))
async def update_webhook(
    ctx: Ctx, session: DbSession, admin: AdminEmployee, webhook_id: WebhookId, body: WebhookUpdate
) -> WebhookRead:
    """Administrators only; only the fields sent change. Change what is sent where; `active: false`
    pauses deliveries, `active: true` resumes them, also for a subscription a 410 disabled. A new URL
    is checked like a new subscription's."""
    return service.read(await service.update_webhook(session, ctx.settings, webhook_id, body))


@router.delete(
    "/{webhook_id}",
    name="webhooks:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_webhook(session: DbSession, admin: AdminEmployee, webhook_id: WebhookId) -> None:
    """Administrators only. Deletes the subscription and its delivery log; deliveries still pending are
    dropped."""
    await service.delete_webhook(session, webhook_id)


@router.get(
    "/{webhook_id}/deliveries", name="webhooks:deliveries", responses=problem_responses(401, 403, 404, 422)
)
async def list_deliveries(
    session: DbSession, admin: AdminEmployee, webhook_id: WebhookId, page: Pagination
) -> Page[DeliveryRead]:
    """Administrators only. Deliveries of the subscription and how their attempts went, newest first."""
    return await service.list_deliveries(session, webhook_id, page)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    name="webhooks:retry_delivery",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def retry_delivery(
    session: DbSession, admin: AdminEmployee, webhook_id: WebhookId, delivery_id: DeliveryId
) -> DeliveryRead:
    """Administrators only. Send a delivery that ended (failed, dead or delivered) again, with a fresh
    set of attempts and the same `webhook-id`; 409 while it is still pending or the subscription is
    disabled."""
    return service.read_delivery(await service.retry_delivery(session, webhook_id, delivery_id))


@router.post(
    "/{webhook_id}/ping",
    name="webhooks:ping",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def ping_webhook(session: DbSession, admin: AdminEmployee, webhook_id: WebhookId) -> DeliveryRead:
    """Administrators only. Queue a `webhook.ping` delivery, its data the subscription, to test the
    receiver; 409 while the subscription is disabled."""
    return service.read_delivery(await service.ping(session, webhook_id))
