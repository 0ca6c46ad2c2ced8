"""Customer rules: configured by admins holding `insight:manage` (checked by the route)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers import repository as repo
from blink_api.customers.audit import record_change
from blink_api.customers.models import Customer
from blink_api.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import apply_changes, delete_or_409, one_or_404


async def list_customers(session: AsyncSession, page: PageParams) -> Page[CustomerRead]:
    rows, cursor = await paginate(
        session, select(Customer), page, created_at=Customer.created_at, id_=Customer.id
    )
    return Page[CustomerRead](items=[CustomerRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_customer(session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False) -> Customer:
    """The customer, or 404; every part of this package loads a customer through here. `lock` holds
    its row until the transaction ends, which serialises concurrent changes of one customer's
    settings and their audit lines."""
    return await one_or_404(session, repo.customer_by_id(customer_id, lock=lock), "Customer")


async def create_customer(session: AsyncSession, admin: EmployeePrincipal, body: CustomerCreate) -> Customer:
    customer = Customer(name=body.name)
    session.add(customer)
    await session.flush()
    record_change(
        session,
        admin,
        customer_id=customer.id,
        entity="customer",
        entity_id=customer.id,
        action="create",
        before=None,
        after={"name": customer.name},
    )
    await session.flush()
    return customer


async def update_customer(
    session: AsyncSession, admin: EmployeePrincipal, customer_id: uuid.UUID, body: CustomerUpdate
) -> Customer:
    customer = await get_customer(session, customer_id)
    changes = apply_changes(customer, body)
    record_change(
        session,
        admin,
        customer_id=customer.id,
        entity="customer",
        entity_id=customer.id,
        action="update",
        before={f: old for f, (old, _) in changes.items()},
        after={f: new for f, (_, new) in changes.items()},
    )
    await session.flush()
    return customer


async def delete_customer(session: AsyncSession, admin: EmployeePrincipal, customer_id: uuid.UUID) -> None:
    customer = await get_customer(session, customer_id)
    before = {"name": customer.name}
    await delete_or_409(session, customer, "The customer")
    # Kept without the customer reference: the customer's own trail goes with it.
    record_change(
        session,
        admin,
        customer_id=None,
        entity="customer",
        entity_id=customer_id,
        action="delete",
        before=before,
        after=None,
    )
    await session.flush()
