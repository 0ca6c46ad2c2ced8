"""HTTP endpoints of customers (customer-portal configuration)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

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

CustomerId = Annotated[uuid.UUID, Path(description="The customer's id.")]
CustomerUserId = Annotated[uuid.UUID, Path(description="The customer user's id.")]

# Everything here configures the customer portal: administrators holding `insight:manage` only (403
# for everyone else).


@router.get("", name="customers:list", responses=problem_responses(401, 403, 422))
async def list_customers(session: DbSession, admin: InsightAdmin, page: Pagination) -> Page[CustomerRead]:
    """Admins holding `insight:manage` only: every customer, newest first."""
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
    """Admins holding `insight:manage` only. The customer's sites, users and portal settings follow
    through their own routes; recorded in the customer's change log."""
    created = CustomerRead.model_validate(await service.create_customer(session, admin, body))
    response.headers["Location"] = location(request, "customers:read", customer_id=created.id)
    return created


@router.get("/{customer_id}", name="customers:read", responses=problem_responses(401, 403, 404, 422))
async def read_customer(session: DbSession, admin: InsightAdmin, customer_id: CustomerId) -> CustomerRead:
    """Admins holding `insight:manage` only."""
    return CustomerRead.model_validate(await service.get_customer(session, customer_id))


@router.patch("/{customer_id}", name="customers:update", responses=problem_responses(401, 403, 404, 422))
async def update_customer(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId, body: CustomerUpdate
) -> CustomerRead:
    """Admins holding `insight:manage` only; only the fields sent change. Recorded in the change log."""
    return CustomerRead.model_validate(await service.update_customer(session, admin, customer_id, body))


@router.delete(
    "/{customer_id}",
    name="customers:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_customer(session: DbSession, admin: InsightAdmin, customer_id: CustomerId) -> None:
    """Admins holding `insight:manage` only. Refused with 409 while sites or customer users still
    belong to the customer."""
    await service.delete_customer(session, admin, customer_id)


@router.get(
    "/{customer_id}/users", name="customers:list_users", responses=problem_responses(401, 403, 404, 422)
)
async def list_customer_users(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId, page: Pagination
) -> Page[CustomerUserRead]:
    """Admins holding `insight:manage` only: the customer's portal log-ins, newest first."""
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
    customer_id: CustomerId,
    body: CustomerUserCreate,
    request: Request,
    response: Response,
) -> CustomerUserRead:
    """Admins holding `insight:manage` only. Without `password`, the user is mailed a single-use link
    to set one (`POST /auth/password`). 409 when an account (employee or customer user) has the e-mail
    address. A new user sees no site until it is assigned some
    (`PUT /customer-users/{customer_user_id}/sites`)."""
    created = CustomerUserRead.model_validate(await users.create_user(ctx, session, admin, customer_id, body))
    response.headers["Location"] = location(request, "customer-users:read", customer_user_id=created.id)
    return created


@router.get(
    "/{customer_id}/ticket-settings",
    name="customers:read_ticket_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_ticket_settings(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId
) -> TicketSettingsRead:
    """Admins holding `insight:manage` only: which ticket types the customer's users may use, which
    types' attachments are site documents, which form templates are its inspection reports, and
    `warnings` about types no site of the customer can use."""
    return await portal.get_ticket_settings(session, customer_id)


@router.put(
    "/{customer_id}/ticket-settings",
    name="customers:update_ticket_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_ticket_settings(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId, body: TicketSettings
) -> TicketSettingsRead:
    """Admins holding `insight:manage` only. Replaces which ticket types the customer's users may use,
    which types' attachments are site documents and which form templates' completed submissions are
    its users' inspection reports; recorded in the change log.

    Absence types are refused (422), as are report templates the caller does not see (422: a template
    without a published version counts only for template managers). A type whose tenant owns none of
    the customer's sites is accepted and reported in `warnings`.
    """
    return await portal.put_ticket_settings(session, admin, customer_id, body)


@router.get(
    "/{customer_id}/evaluation-settings",
    name="customers:read_evaluation_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_evaluation_settings(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId
) -> EvaluationSettingsRead:
    """Admins holding `insight:manage` only: whether the customer's users see the ticket evaluation of
    their sites, and its bucket size."""
    return await portal.get_evaluation_settings(session, customer_id)


@router.put(
    "/{customer_id}/evaluation-settings",
    name="customers:update_evaluation_settings",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_evaluation_settings(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId, body: EvaluationSettings
) -> EvaluationSettingsRead:
    """Admins holding `insight:manage` only. Switches the ticket evaluation of the customer's sites on
    or off and sets its bucket size; recorded in the change log."""
    return await portal.put_evaluation_settings(session, admin, customer_id, body)


@router.get(
    "/{customer_id}/changes", name="customers:list_changes", responses=problem_responses(401, 403, 404, 422)
)
async def list_config_changes(
    session: DbSession, admin: InsightAdmin, customer_id: CustomerId, page: Pagination
) -> Page[ConfigChangeRead]:
    """Admins holding `insight:manage` only. Every change of the customer's portal configuration: who,
    when, before and after; newest first."""
    return await portal.list_changes(session, customer_id, page)


users_router = APIRouter(prefix="/customer-users", tags=["customer-users"])


@users_router.get(
    "/{customer_user_id}", name="customer-users:read", responses=problem_responses(401, 403, 404, 422)
)
async def read_customer_user(
    session: DbSession, admin: InsightAdmin, customer_user_id: CustomerUserId
) -> CustomerUserRead:
    """Admins holding `insight:manage` only."""
    return CustomerUserRead.model_validate(await users.get_user(session, customer_user_id))


@users_router.patch(
    "/{customer_user_id}", name="customer-users:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_customer_user(
    ctx: Ctx,
    session: DbSession,
    admin: InsightAdmin,
    customer_user_id: CustomerUserId,
    body: CustomerUserUpdate,
) -> CustomerUserRead:
    """Admins holding `insight:manage` only; only the fields sent change. A new password or
    deactivation ends every session of the user at once. 409 when another account has the e-mail
    address. Recorded in the change log."""
    return CustomerUserRead.model_validate(
        await users.update_user(ctx, session, admin, customer_user_id, body)
    )


@users_router.delete(
    "/{customer_user_id}",
    name="customer-users:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_customer_user(
    session: DbSession, admin: InsightAdmin, customer_user_id: CustomerUserId
) -> None:
    """Admins holding `insight:manage` only. Refused with 409 once the user has tickets or comments;
    deactivate instead (`is_active: false`)."""
    await users.delete_user(session, admin, customer_user_id)


@users_router.get(
    "/{customer_user_id}/sites",
    name="customer-users:read_sites",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_customer_user_sites(
    session: DbSession, admin: InsightAdmin, customer_user_id: CustomerUserId
) -> SiteAssignmentRead:
    """Admins holding `insight:manage` only: the sites the user sees in the portal."""
    return SiteAssignmentRead(site_ids=(await users.get_user(session, customer_user_id)).site_ids)


@users_router.put(
    "/{customer_user_id}/sites",
    name="customer-users:update_sites",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_customer_user_sites(
    session: DbSession, admin: InsightAdmin, customer_user_id: CustomerUserId, body: SiteAssignment
) -> SiteAssignmentRead:
    """Admins holding `insight:manage` only. Replaces the user's sites; only sites of the user's own
    customer (else 422). Recorded in the change log."""
    user = await users.assign_sites(session, admin, customer_user_id, body)
    return SiteAssignmentRead(site_ids=user.site_ids)
