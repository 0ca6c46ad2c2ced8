"""HTTP endpoints of customers (customer-portal configuration)."""

import uuid

from fastapi import APIRouter, status

from blink_api.customers import service
from blink_api.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from blink_api.db import DbSession
from blink_api.errors import problem_responses
from blink_api.identity.dependencies import InsightAdmin
from blink_api.pagination import Page, Pagination

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", name="customers:list", responses=problem_responses(401, 403, 422))
async def list_customers(session: DbSession, admin: InsightAdmin, page: Pagination) -> Page[CustomerRead]:
    """Admins holding `insight:manage` only."""
    return await service.list_customers(session, page)


@router.post(
    "",
    name="customers:create",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
)
async def create_customer(session: DbSession, admin: InsightAdmin, body: CustomerCreate) -> CustomerRead:
    return CustomerRead.model_validate(await service.create_customer(session, body))


@router.get("/{customer_id}", name="customers:read", responses=problem_responses(401, 403, 404, 422))
async def read_customer(session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID) -> CustomerRead:
    return CustomerRead.model_validate(await service.get_customer(session, customer_id))


@router.patch("/{customer_id}", name="customers:update", responses=problem_responses(401, 403, 404, 422))
async def update_customer(
    session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID, body: CustomerUpdate
) -> CustomerRead:
    return CustomerRead.model_validate(await service.update_customer(session, customer_id, body))


@router.delete(
    "/{customer_id}",
    name="customers:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_customer(session: DbSession, admin: InsightAdmin, customer_id: uuid.UUID) -> None:
    """Refused with 409 while sites or customer users still belong to the customer."""
    await service.delete_customer(session, customer_id)
