"""HTTP endpoints of customers (customer-portal configuration)."""

import uuid

from fastapi import APIRouter, Request, Response, status

from blink_api.customers import portal, service, users
from blink_api.customers.schemas import (
    ConfigChangeRead,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    CustomerUserCreate,
    CustomerUserRead,
    CustomerUserUpdate,
    EvaluationSettings,
    EvaluationSettingsRead,
    SiteAssignment,
    SiteAssignmentRead,
    TicketSettings,
    TicketSettingsRead,
)
from blink_api.identity.dependencies import InsightAdmin
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", name="customers:list", responses=problem_responses(401, 403, 422))
async def list_customers(session: DbSession, admin: InsightAdmin, page: Pagination) -> Page[CustomerRead]:
    """Admins holding `insight:manage` only."""
    return await service.list_customers(session, page)


@router.post(
    "",
    name="customers:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new customer (`GET /customers/{customer_id}`)."),
        **problem_responses(401, 403, 422),
    },
)
async def create_customer(
    session: DbSession, admin: InsightAdmin, body: CustomerCreate, request: Request, response: Response
) -> CustomerRead:
    created = CustomerRead.model_validate(await service.create_customer(session, admin, body))
    response.headers["Location"] = location(request, "customers:read", customer_id=created.id)
    return created


@router.get("/{customer_id}", name="customers:read", responses=problem_responses(401, 403, 404, 422))
async def read_customer(session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID) -> CustomerRead:
    return CustomerRead.model_validate(await service.get_customer(session, customer_id))


@router.patch("/{customer_id}", name="customers:update", responses=problem_responses(401, 403, 404, 422))
async def update_customer(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID, body: CustomerUpdate
) -> CustomerRead:
    return CustomerRead.model_validate(await service.update_customer(session, admin, customer_id, body))


@router.delete(
    "/{customer_id}",
    name="customers:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_customer(session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID) -> None:
    """Refused with 409 while sites or customer users still belong to the customer."""
    await service.delete_customer(session, admin, customer_id)


@router.get(
    "/{customer_id}/users", name="customers:list_users", responses=problem_responses(401, 403, 404, 422)
)
async def list_customer_users(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID, page: Pagination
) -> Page[CustomerUserRead]:
    return await users.list_users(session, customer_id, page)


@router.post(
    "/{customer_id}/users",
    name="customers:create_user",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new customer user (`GET /customer-users/{customer_user_id}`)."),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def create_customer_user(
    ctx: Ctx,
    session: DbSession,
    admin: InsightAdmin,
    customer_id: uuid.UUID,
    body: CustomerUserCreate,
    request: Request,
    response: Response,
) -> CustomerUserRead:
    """Without `password`, the user is mailed a single-use link to set one (`POST /auth/password`)."""
    created = CustomerUserRead.model_validate(await users.create_user(ctx, session, admin, customer_id, body))
    response.headers["Location"] = location(request, "customer-users:read", customer_user_id=created.id)
    return created


@router.get(
    "/{customer_id}/ticket-settings",
    name="customers:read_ticket_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_ticket_settings(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID
) -> TicketSettingsRead:
    return await portal.get_ticket_settings(session, customer_id)


@router.put(
    "/{customer_id}/ticket-settings",
    name="customers:update_ticket_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_ticket_settings(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID, body: TicketSettings
) -> TicketSettingsRead:
    """Which ticket types the customer's users may use, and which types' attachments are site documents.

    Absence types are refused (422). A type whose tenant owns none of the customer's sites is accepted
    and reported in `warnings`.
    """
    return await portal.put_ticket_settings(session, admin, customer_id, body)


@router.get(
    "/{customer_id}/evaluation-settings",
    name="customers:read_evaluation_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_evaluation_settings(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID
) -> EvaluationSettingsRead:
    return await portal.get_evaluation_settings(session, customer_id)


@router.put(
    "/{customer_id}/evaluation-settings",
    name="customers:update_evaluation_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_evaluation_settings(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID, body: EvaluationSettings
) -> EvaluationSettingsRead:
    return await portal.put_evaluation_settings(session, admin, customer_id, body)


@router.get(
    "/{customer_id}/changes", name="customers:list_changes", responses=problem_responses(401, 403, 404, 422)
)
async def list_config_changes(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID, page: Pagination
) -> Page[ConfigChangeRead]:
    """Every change of the customer's portal configuration: who, when, before and after; newest first."""
    return await portal.list_changes(session, customer_id, page)


users_router = APIRouter(prefix="/customer-users", tags=["customer-users"])


@users_router.get(
    "/{customer_user_id}", name="customer-users:read", responses=problem_responses(401, 403, 404, 422)
)
async def read_customer_user(
    session: DbSession, admin: InsightAdmin, customer_user_id: uuid.UUID
) -> CustomerUserRead:
    return CustomerUserRead.model_validate(await users.get_user(session, customer_user_id))


@users_router.patch(
    "/{customer_user_id}", name="customer-users:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_customer_user(
    ctx: Ctx, session: DbSession, admin: InsightAdmin, customer_user_id: uuid.UUID, body: CustomerUserUpdate
) -> CustomerUserRead:
    """A new password or deactivation ends every session of the user at once."""
    return CustomerUserRead.model_validate(
        await users.update_user(ctx, session, admin, customer_user_id, body)
    )


@users_router.delete(
    "/{customer_user_id}",
    name="customer-users:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_customer_user(session: DbSession, admin: InsightAdmin, customer_user_id: uuid.UUID) -> None:
    """Refused with 409 once the user has tickets or comments; deactivate instead (`is_active: false`)."""
    await users.delete_user(session, admin, customer_user_id)


@users_router.get(
    "/{customer_user_id}/sites",
    name="customer-users:read_sites",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_customer_user_sites(
    session: DbSession, admin: InsightAdmin, customer_user_id: uuid.UUID
) -> SiteAssignmentRead:
    return SiteAssignmentRead(site_ids=(await users.get_user(session, customer_user_id)).site_ids)


@users_router.put(
    "/{customer_user_id}/sites",
    name="customer-users:update_sites",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_customer_user_sites(
    session: DbSession, admin: InsightAdmin, customer_user_id: uuid.UUID, body: SiteAssignment
) -> SiteAssignmentRead:
    """Replaces the user's sites; only sites of the user's own customer (else 422)."""
    user = await users.assign_sites(session, admin, customer_user_id, body)
    return SiteAssignmentRead(site_ids=user.site_ids)
