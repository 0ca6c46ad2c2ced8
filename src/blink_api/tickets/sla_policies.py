"""Service-level policy rules: administrators manage them; a change reaches open tickets in the background."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer
from blink_api.kit.errors import Invalid
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import flush_unique, one_or_404, require_exists
from blink_api.tenants import business_hours
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType
from blink_api.tickets.sla_models import SlaPolicy, SlaRecomputation
from blink_api.tickets.sla_schemas import SlaPolicyCreate, SlaPolicyRead, SlaPolicyUpdate


def _duplicate(name: str) -> str:
    return f"The tenant has a service-level policy named '{name}' already."


async def list_policies(
    session: AsyncSession, page: PageParams, tenant_id: uuid.UUID | None
) -> Page[SlaPolicyRead]:
    stmt = select(SlaPolicy)
    if tenant_id is not None:
        stmt = stmt.where(SlaPolicy.tenant_id == tenant_id)
    rows, cursor = await paginate(session, stmt, page, created_at=SlaPolicy.created_at, id_=SlaPolicy.id)
    return Page[SlaPolicyRead](items=[SlaPolicyRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_policy(session: AsyncSession, policy_id: uuid.UUID) -> SlaPolicy:
    return await one_or_404(
        session, select(SlaPolicy).where(SlaPolicy.id == policy_id), "Service-level policy"
    )


async def _check_criteria(session: AsyncSession, policy: SlaPolicy) -> None:
    if policy.customer_id is not None:
        await require_exists(session, Customer, policy.customer_id, ["body", "customer_id"], "customer")
    if policy.ticket_type_id is not None:
        tenant_id = await session.scalar(
            select(TicketType.tenant_id).where(TicketType.id == policy.ticket_type_id)
        )
        if tenant_id != policy.tenant_id:
            raise Invalid.at(
                ["body", "ticket_type_id"], "The ticket type must be one of the policy's tenant."
            )
    if policy.first_response_minutes is None and policy.resolution_minutes is None:
        raise Invalid.at(
            ["body", "resolution_minutes"],
            "A policy needs a target: first_response_minutes, resolution_minutes or both.",
        )


def request_recomputation(
    session: AsyncSession, tenant_id: uuid.UUID, reason: str, policy_id: uuid.UUID | None
) -> None:
    """Open tickets of the tenant get their policy and due times again, by the worker."""
    session.add(SlaRecomputation(tenant_id=tenant_id, reason=reason, policy_id=policy_id))


async def business_hours_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    request_recomputation(session, tenant_id, "business_hours", None)


business_hours.on_change.append(business_hours_changed)


async def create_policy(session: AsyncSession, body: SlaPolicyCreate) -> SlaPolicy:
    await require_exists(session, Tenant, body.tenant_id, ["body", "tenant_id"], "tenant")
    policy = SlaPolicy(**body.model_dump())
    await _check_criteria(session, policy)
    session.add(policy)
    await flush_unique(session, _duplicate(body.name))
    request_recomputation(session, policy.tenant_id, "policy_created", policy.id)
    await session.flush()
    return policy


async def update_policy(session: AsyncSession, policy_id: uuid.UUID, body: SlaPolicyUpdate) -> SlaPolicy:
    policy = await get_policy(session, policy_id)
    sent = body.model_dump(exclude_unset=True)
    if "name" in sent and sent["name"] is None:
        raise Invalid.at(["body", "name"], "This field cannot be null.")
    changed = False
    for field, value in sent.items():
        if getattr(policy, field) != value:
            setattr(policy, field, value)
            changed = True
    if not changed:
        return policy
    await _check_criteria(session, policy)
    await flush_unique(session, _duplicate(policy.name))
    request_recomputation(session, policy.tenant_id, "policy_updated", policy.id)
    await session.flush()
    await session.refresh(policy, ["updated_at"])
    return policy


async def delete_policy(session: AsyncSession, policy_id: uuid.UUID) -> None:
    policy = await get_policy(session, policy_id)
    request_recomputation(session, policy.tenant_id, "policy_deleted", policy.id)
    await session.delete(policy)
    await session.flush()
