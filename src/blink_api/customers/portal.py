"""Customer-portal settings: enabled ticket types, document sources, evaluation; every change audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers import repository as repo
from blink_api.customers.audit import record_change
from blink_api.customers.models import ConfigChange, Customer
from blink_api.customers.schemas import (
    ConfigChangeRead,
    DocumentSourceItem,
    EvaluationSettings,
    EvaluationSettingsRead,
    TicketSettings,
    TicketSettingsRead,
)
from blink_api.customers.service import get_customer
from blink_api.identity.principals import CHECK_TEMPLATES_MANAGE, EmployeePrincipal
from blink_api.kit.errors import FieldError, Invalid
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.ticket_types.models import TicketCategory


async def _ticket_settings(session: AsyncSession, customer_id: uuid.UUID) -> TicketSettingsRead:
    enabled = await repo.enabled_type_ids(session, customer_id)
    sources = [
        DocumentSourceItem(ticket_type_id=s.ticket_type_id, content_types=s.content_types)
        for s in await repo.document_sources(session, customer_id)
    ]
    warnings = await _warnings(session, customer_id, enabled + [s.ticket_type_id for s in sources])
    return TicketSettingsRead(
        enabled_ticket_type_ids=enabled,
        document_sources=sources,
        report_template_ids=await repo.report_template_ids(session, customer_id),
        warnings=warnings,
    )


async def _warnings(session: AsyncSession, customer_id: uuid.UUID, type_ids: list[uuid.UUID]) -> list[str]:
    """The seeds: choose the types of the tenants that own the customer's sites."""
    types = await repo.types_with_tenants(session, list(dict.fromkeys(type_ids)))
    served = await repo.tenants_of_customer_sites(session, customer_id)
    return [
        f"Ticket type '{ticket_type.name}' ({type_id}) belongs to tenant '{tenant.name}', "
        "which has none of this customer's sites: customer users will never meet it."
        for type_id in dict.fromkeys(type_ids)
        if (found := types.get(type_id))
        and (ticket_type := found[0])
        and (tenant := found[1])
        and ticket_type.tenant_id not in served
    ]


async def get_ticket_settings(session: AsyncSession, customer_id: uuid.UUID) -> TicketSettingsRead:
    await get_customer(session, customer_id)
    return await _ticket_settings(session, customer_id)


async def put_ticket_settings(
    session: AsyncSession, admin: EmployeePrincipal, customer_id: uuid.UUID, body: TicketSettings
) -> TicketSettingsRead:
    await get_customer(session, customer_id, lock=True)
    enabled = list(dict.fromkeys(body.enabled_ticket_type_ids))
    sources: dict[uuid.UUID, list[str] | None] = {}
    for item in body.document_sources:
        sources[item.ticket_type_id] = (
            sorted(set(item.content_types)) if item.content_types is not None else None
        )
    types = await repo.types_with_tenants(session, enabled + list(sources))
    errors: list[FieldError] = []
    for field, ids in (("enabled_ticket_type_ids", enabled), ("document_sources", list(sources))):
        for index, type_id in enumerate(ids):
            loc: list[str | int] = ["body", field, index] + (
                ["ticket_type_id"] if field == "document_sources" else []
            )
            if type_id not in types:
                errors.append(
                    FieldError(loc=loc, msg="No ticket type with this id exists.", type="not_found")
                )
            elif types[type_id][0].category == TicketCategory.absence:
                errors.append(
                    FieldError(
                        loc=loc,
                        type="absence_type",
                        msg="Absence types (leave, sick notes) can never be offered to customers.",
                    )
                )
    reports = list(dict.fromkeys(body.report_template_ids))
    # The admin names only templates it sees itself: template managers every one, others the published.
    known = await repo.existing_templates(
        session, reports, drafts=CHECK_TEMPLATES_MANAGE in admin.permissions
    )
    errors.extend(
        FieldError(
            loc=["body", "report_template_ids", index],
            msg="No form template with this id was found.",
            type="not_found",
        )
        for index, template_id in enumerate(body.report_template_ids)
        if template_id not in known
    )
    if errors:
        raise Invalid(errors[0].msg, errors=errors)
    before = _settings_json(await _ticket_settings(session, customer_id))
    await repo.replace_ticket_settings(session, customer_id, enabled, list(sources.items()), reports)
    await session.flush()
    after = await _ticket_settings(session, customer_id)
    record_change(
        session,
        admin,
        customer_id=customer_id,
        entity="ticket_settings",
        entity_id=customer_id,
        action="update",
        before=before,
        after=_settings_json(after),
    )
    await session.flush()
    return after


def _settings_json(settings: TicketSettingsRead) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude={"warnings"})


def _evaluation(customer: Customer) -> EvaluationSettingsRead:
    return EvaluationSettingsRead(
        ticket_evaluation_enabled=customer.ticket_evaluation_enabled,
        group_days=customer.evaluation_group_days,
    )


async def get_evaluation_settings(session: AsyncSession, customer_id: uuid.UUID) -> EvaluationSettingsRead:
    return _evaluation(await get_customer(session, customer_id))


async def put_evaluation_settings(
    session: AsyncSession, admin: EmployeePrincipal, customer_id: uuid.UUID, body: EvaluationSettings
) -> EvaluationSettingsRead:
    customer = await get_customer(session, customer_id, lock=True)
    before = _evaluation(customer).model_dump()
    customer.ticket_evaluation_enabled = body.ticket_evaluation_enabled
    customer.evaluation_group_days = body.group_days
    record_change(
        session,
        admin,
        customer_id=customer_id,
        entity="evaluation_settings",
        entity_id=customer_id,
        action="update",
        before=before,
        after=_evaluation(customer).model_dump(),
    )
    await session.flush()
    return _evaluation(customer)


async def list_changes(
    session: AsyncSession, customer_id: uuid.UUID, page: PageParams
) -> Page[ConfigChangeRead]:
    await get_customer(session, customer_id)
    rows, cursor = await paginate(
        session, repo.changes(customer_id), page, created_at=ConfigChange.created_at, id_=ConfigChange.id
    )
    return Page[ConfigChangeRead](
        items=[ConfigChangeRead.model_validate(r) for r in rows], next_cursor=cursor
    )
