"""Webhook subscriptions (administrators) and the deliveries events owe them.

Deliveries are written by a listener of `notifications.events`, in the session of the change: one row
per subscription that wants the event, its body the resource as `GET` shows it to an administrator,
fixed when the change happened. A change that rolls back leaves none behind.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer, Site
from blink_api.files.models import Attachment
from blink_api.files.schemas import AttachmentRead
from blink_api.forms import submissions
from blink_api.forms.models import FormSubmission
from blink_api.kit.config import Settings
from blink_api.kit.errors import Conflict, Invalid, NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.notifications import events
from blink_api.tenants.models import Tenant
from blink_api.tickets import comments
from blink_api.tickets import service as tickets
from blink_api.tickets.models import Ticket, TicketComment
from blink_api.webhooks import addresses, signing
from blink_api.webhooks.models import Webhook, WebhookDelivery
from blink_api.webhooks.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

PING = "webhook.ping"


def read(webhook: Webhook) -> WebhookRead:
    return WebhookRead.model_validate(webhook)


def read_delivery(delivery: WebhookDelivery) -> DeliveryRead:
    # A claimed row is still pending to the outside: its attempt has not ended yet.
    status = "pending" if delivery.status == "sending" else delivery.status
    return DeliveryRead(
        id=delivery.id,
        event_id=delivery.event_id,
        type=delivery.type,
        status=status,  # type: ignore[arg-type]
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at if status == "pending" else None,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )


async def _check_url(url: str, settings: Settings) -> None:
    try:
        await addresses.resolve(url, allow_private=settings.webhook_allow_private_networks)
    except addresses.RefusedAddress as exc:
        raise Invalid.at(["body", "url"], str(exc)) from exc


async def _check_ids(session: AsyncSession, field: str, model: Any, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    found = set(await session.scalars(select(model.id).where(model.id.in_(ids))))
    for index, wanted in enumerate(ids):
        if wanted not in found:
            raise Invalid.at(["body", field, index], f"No such {model.__tablename__[:-1]}: {wanted}.")


async def create_webhook(session: AsyncSession, settings: Settings, body: WebhookCreate) -> WebhookCreated:
    await _check_url(body.url, settings)
    await _check_ids(session, "tenant_ids", Tenant, body.tenant_ids)
    await _check_ids(session, "customer_ids", Customer, body.customer_ids)
    webhook = Webhook(
        url=body.url,
        events=list(dict.fromkeys(body.events)),
        description=body.description,
        tenant_ids=list(dict.fromkeys(body.tenant_ids)),
        customer_ids=list(dict.fromkeys(body.customer_ids)),
        secret=signing.new_secret(),
        active=True,
    )
    session.add(webhook)
    await session.flush()
    return WebhookCreated(**read(webhook).model_dump(), secret=webhook.secret)


async def get_webhook(session: AsyncSession, webhook_id: uuid.UUID, *, for_update: bool = False) -> Webhook:
    stmt = select(Webhook).where(Webhook.id == webhook_id)
    if for_update:
        stmt = stmt.with_for_update()
    webhook = await session.scalar(stmt)
    if webhook is None:
        raise NotFound("Webhook not found.")
    return webhook


async def list_webhooks(session: AsyncSession, page: PageParams) -> Page[WebhookRead]:
    rows, cursor = await paginate(
        session, select(Webhook), page, created_at=Webhook.created_at, id_=Webhook.id
    )
    return Page[WebhookRead](items=[read(w) for w in rows], next_cursor=cursor)


async def update_webhook(
    session: AsyncSession, settings: Settings, webhook_id: uuid.UUID, body: WebhookUpdate
) -> Webhook:
    webhook = await get_webhook(session, webhook_id, for_update=True)
    sent = body.model_dump(exclude_unset=True)
    for field in ("url", "events", "tenant_ids", "customer_ids", "active"):
        if field in sent and sent[field] is None:
            raise Invalid.at(["body", field], "This field cannot be null.")
    if "url" in sent:
        await _check_url(sent["url"], settings)
        webhook.url = sent["url"]
    if "events" in sent:
        webhook.events = list(dict.fromkeys(sent["events"]))
    if "description" in sent:
        webhook.description = sent["description"]
    if "tenant_ids" in sent:
        await _check_ids(session, "tenant_ids", Tenant, sent["tenant_ids"])
        webhook.tenant_ids = list(dict.fromkeys(sent["tenant_ids"]))
    if "customer_ids" in sent:
        await _check_ids(session, "customer_ids", Customer, sent["customer_ids"])
        webhook.customer_ids = list(dict.fromkeys(sent["customer_ids"]))
    if "active" in sent:
        webhook.active = sent["active"]
        if webhook.active:
            webhook.disabled_reason = None
        elif webhook.disabled_reason is None:
            webhook.disabled_reason = "Paused by an administrator."
    await session.flush()
    await session.refresh(webhook, ["updated_at"])
    return webhook


async def delete_webhook(session: AsyncSession, webhook_id: uuid.UUID) -> None:
    """The subscription and its delivery log; a delivery in flight finds nothing to record."""
    await session.delete(await get_webhook(session, webhook_id, for_update=True))
    await session.flush()


async def list_deliveries(
    session: AsyncSession, webhook_id: uuid.UUID, page: PageParams
) -> Page[DeliveryRead]:
    await get_webhook(session, webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    rows, cursor = await paginate(
        session, stmt, page, created_at=WebhookDelivery.created_at, id_=WebhookDelivery.id
    )
    return Page[DeliveryRead](items=[read_delivery(d) for d in rows], next_cursor=cursor)


async def retry_delivery(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery again, with a fresh set of attempts, due now (same `webhook-id`)."""
    webhook = await get_webhook(session, webhook_id)
    delivery = await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)
        .with_for_update()
    )
    if delivery is None:
        raise NotFound("Delivery not found.")
    if delivery.status in ("pending", "sending"):
        raise Conflict("This delivery is still pending; it is tried again by itself.")
    if not webhook.active:
        raise Conflict("The webhook is disabled; enable it (`active: true`) first.")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.last_error = None
    delivery.last_status_code = None
    delivery.delivered_at = None
    delivery.next_attempt_at = dt.datetime.now(dt.UTC)
    await session.flush()
    return delivery


async def ping(session: AsyncSession, webhook_id: uuid.UUID) -> WebhookDelivery:
    """A `webhook.ping` delivery, due now, whose data is the subscription (without its secret)."""
    webhook = await get_webhook(session, webhook_id)
    if not webhook.active:
        raise Conflict("The webhook is disabled; enable it (`active: true`) first.")
    event_id = uuid.uuid4()
    delivery = WebhookDelivery(
        webhook_id=webhook.id,
        event_id=event_id,
        type=PING,
        payload=_body(event_id, PING, read(webhook).model_dump(mode="json")),
    )
    session.add(delivery)
    await session.flush()
    await session.refresh(delivery)
    return delivery


# -- events ----------------------------------------------------------------------------------------


def _body(event_id: uuid.UUID, type_: str, data: dict[str, Any]) -> str:
    document = {
        "id": str(event_id),
        "type": type_,
        "created_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


async def _data(session: AsyncSession, subject: object) -> dict[str, Any]:
    """The resource as `GET` answers an administrator."""
    if isinstance(subject, Ticket):
        return tickets.read(subject).model_dump(mode="json")
    if isinstance(subject, TicketComment):
        return comments.read(subject).model_dump(mode="json")
    if isinstance(subject, Attachment):
        return AttachmentRead.model_validate(subject).model_dump(mode="json")
    if isinstance(subject, FormSubmission):
        return (await submissions.read_submission(session, subject)).model_dump(mode="json")
    raise TypeError(f"no webhook data for {type(subject).__name__}")


async def on_event(session: AsyncSession, event: events.Event) -> None:
    """Queue a delivery of `event` for each active subscription that wants it."""
    wanting = list(
        await session.scalars(
            select(Webhook).where(Webhook.active, literal(event.type) == any_(Webhook.events))
        )
    )
    if not wanting:
        return
    if event.site_id is None:
        # Of no tenant and no customer: only subscriptions that do not narrow to some want it.
        wanting = [w for w in wanting if not w.tenant_ids and not w.customer_ids]
    else:
        place = (
            await session.execute(select(Site.tenant_id, Site.customer_id).where(Site.id == event.site_id))
        ).one()
        wanting = [
            w
            for w in wanting
            if (not w.tenant_ids or place.tenant_id in w.tenant_ids)
            and (not w.customer_ids or place.customer_id in w.customer_ids)
        ]
    if not wanting:
        return
    event_id = uuid.uuid4()
    body = _body(event_id, event.type, await _data(session, event.subject))
    for webhook in wanting:
        session.add(WebhookDelivery(webhook_id=webhook.id, event_id=event_id, type=event.type, payload=body))
    await session.flush()


events.listen(on_event)
