"""HTTP endpoints of webhook subscriptions and their delivery log (administrators)."""

import uuid

from fastapi import APIRouter, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.webhooks import service
from blink_api.webhooks.schemas import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead, WebhookUpdate

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


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
    """Subscribe a URL to events; the answer carries the signing `secret`, shown this once. The URL must
    be `https` on a public address (422 naming why not)."""
    created = await service.create_webhook(session, ctx.settings, body)
    response.headers["Location"] = location(request, "webhooks:read", webhook_id=created.id)
    return created


@router.get("", name="webhooks:list", responses=problem_responses(401, 403, 422))
async def list_webhooks(session: DbSession, admin: AdminEmployee, page: Pagination) -> Page[WebhookRead]:
    return await service.list_webhooks(session, page)


@router.get("/{webhook_id}", name="webhooks:read", responses=problem_responses(401, 403, 404, 422))
async def read_webhook(session: DbSession, admin: AdminEmployee, webhook_id: uuid.UUID) -> WebhookRead:
    return service.read(await service.get_webhook(session, webhook_id))


@router.patch("/{webhook_id}", name="webhooks:update", responses=problem_responses(401, 403, 404, 422))
async def update_webhook(
    ctx: Ctx, session: DbSession, admin: AdminEmployee, webhook_id: uuid.UUID, body: WebhookUpdate
) -> WebhookRead:
    """Change what is sent where; `active: true` resumes a subscription a 410 disabled."""
    return service.read(await service.update_webhook(session, ctx.settings, webhook_id, body))


@router.delete(
    "/{webhook_id}",
    name="webhooks:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_webhook(session: DbSession, admin: AdminEmployee, webhook_id: uuid.UUID) -> None:
    """The subscription and its delivery log."""
    await service.delete_webhook(session, webhook_id)


@router.get(
    "/{webhook_id}/deliveries", name="webhooks:deliveries", responses=problem_responses(401, 403, 404, 422)
)
async def list_deliveries(
    session: DbSession, admin: AdminEmployee, webhook_id: uuid.UUID, page: Pagination
) -> Page[DeliveryRead]:
    """Deliveries of the subscription and how their attempts went, newest first."""
    return await service.list_deliveries(session, webhook_id, page)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    name="webhooks:retry_delivery",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def retry_delivery(
    session: DbSession, admin: AdminEmployee, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    """Send a delivery that ended (failed, dead or delivered) again, with a fresh set of attempts and the
    same `webhook-id`; 409 while it is still pending or the subscription is disabled."""
    return service.read_delivery(await service.retry_delivery(session, webhook_id, delivery_id))


@router.post(
    "/{webhook_id}/ping",
    name="webhooks:ping",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def ping_webhook(session: DbSession, admin: AdminEmployee, webhook_id: uuid.UUID) -> DeliveryRead:
    """Queue a `webhook.ping` delivery, its data the subscription, to test the receiver; 409 while the
    subscription is disabled."""
    return service.read_delivery(await service.ping(session, webhook_id))
