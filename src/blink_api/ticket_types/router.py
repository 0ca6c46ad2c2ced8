"""HTTP endpoints of ticket types."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee, CurrentEmployee
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.ticket_types import service
from blink_api.ticket_types.models import TicketCategory
from blink_api.ticket_types.schemas import TicketTypeCreate, TicketTypeRead, TicketTypeUpdate

router = APIRouter(prefix="/ticket-types", tags=["ticket-types"])

TicketTypeId = Annotated[uuid.UUID, Path(description="The ticket type's id.")]


@router.get("", name="ticket-types:list", responses=problem_responses(401, 403, 422))
async def list_ticket_types(
    session: DbSession,
    employee: CurrentEmployee,
    page: Pagination,
    tenant_id: Annotated[uuid.UUID | None, Query(description="Only the types of this tenant.")] = None,
    category: Annotated[
        TicketCategory | None,
        Query(
            description="Only types of this category. `standard`: work on sites; "
            "`absence`: leave and sick notes."
        ),
    ] = None,
) -> Page[TicketTypeRead]:
    """Employees only, newest first: admins see every type, other employees the types of their
    tenants. Customer users ask `GET /sites/{site_id}/ticket-types` instead."""
    return await service.list_ticket_types(session, employee, page, tenant_id, category)


@router.post(
    "",
    name="ticket-types:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new ticket type (`GET /ticket-types/{ticket_type_id}`)."),
        **problem_responses(401, 403, 409, 422),
    },
)
async def create_ticket_type(
    session: DbSession, admin: AdminEmployee, body: TicketTypeCreate, request: Request, response: Response
) -> TicketTypeRead:
    """Administrators only. 409 when the tenant has a type of that name already; 422 for a tenant that
    does not exist."""
    created = TicketTypeRead.model_validate(await service.create_ticket_type(session, body))
    response.headers["Location"] = location(request, "ticket-types:read", ticket_type_id=created.id)
    return created


@router.get("/{ticket_type_id}", name="ticket-types:read", responses=problem_responses(401, 403, 404, 422))
async def read_ticket_type(
    session: DbSession, employee: CurrentEmployee, ticket_type_id: TicketTypeId
) -> TicketTypeRead:
    """Employees only: admins read every type, other employees the types of their tenants (404 for the
    rest)."""
    return TicketTypeRead.model_validate(await service.get_ticket_type(session, employee, ticket_type_id))


@router.patch(
    "/{ticket_type_id}", name="ticket-types:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_ticket_type(
    session: DbSession, admin: AdminEmployee, ticket_type_id: TicketTypeId, body: TicketTypeUpdate
) -> TicketTypeRead:
    """Administrators only: a new name (tenant and category stay). 409 when the tenant has a type of
    that name already."""
    return TicketTypeRead.model_validate(
        await service.update_ticket_type(session, admin, ticket_type_id, body)
    )


@router.delete(
    "/{ticket_type_id}",
    name="ticket-types:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_ticket_type(session: DbSession, admin: AdminEmployee, ticket_type_id: TicketTypeId) -> None:
    """Administrators only. Refused with 409 while tickets or settings refer to the type."""
    await service.delete_ticket_type(session, admin, ticket_type_id)
