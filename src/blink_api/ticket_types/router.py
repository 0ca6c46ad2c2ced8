"""HTTP endpoints of ticket types."""

import uuid

from fastapi import APIRouter, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee, CurrentEmployee
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.ticket_types import service
from blink_api.ticket_types.models import TicketCategory
from blink_api.ticket_types.schemas import TicketTypeCreate, TicketTypeRead, TicketTypeUpdate

router = APIRouter(prefix="/ticket-types", tags=["ticket-types"])


@router.get("", name="ticket-types:list", responses=problem_responses(401, 403, 422))
async def list_ticket_types(
    session: DbSession,
    employee: CurrentEmployee,
    page: Pagination,
    tenant_id: uuid.UUID | None = None,
    category: TicketCategory | None = None,
) -> Page[TicketTypeRead]:
    """Employees only; customer users ask `GET /sites/{site_id}/ticket-types` instead."""
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
    created = TicketTypeRead.model_validate(await service.create_ticket_type(session, body))
    response.headers["Location"] = location(request, "ticket-types:read", ticket_type_id=created.id)
    return created


@router.get("/{ticket_type_id}", name="ticket-types:read", responses=problem_responses(401, 403, 404, 422))
async def read_ticket_type(
    session: DbSession, employee: CurrentEmployee, ticket_type_id: uuid.UUID
) -> TicketTypeRead:
    return TicketTypeRead.model_validate(await service.get_ticket_type(session, employee, ticket_type_id))


@router.patch(
    "/{ticket_type_id}", name="ticket-types:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_ticket_type(
    session: DbSession, admin: AdminEmployee, ticket_type_id: uuid.UUID, body: TicketTypeUpdate
) -> TicketTypeRead:
    return TicketTypeRead.model_validate(
        await service.update_ticket_type(session, admin, ticket_type_id, body)
    )


@router.delete(
    "/{ticket_type_id}",
    name="ticket-types:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_ticket_type(session: DbSession, admin: AdminEmployee, ticket_type_id: uuid.UUID) -> None:
    """Refused with 409 while tickets or settings refer to the type."""
    await service.delete_ticket_type(session, admin, ticket_type_id)
