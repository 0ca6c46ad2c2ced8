"""Test data that reads like the domain: `make_site(tenant=..., customer=...)`, and callers of every kind."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer, Site, customer_user_sites
from blink_api.identity.models import CustomerUser, Employee, PermissionGroup
from blink_api.kit.context import AppContext
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@dataclass
class Actor:
    id: uuid.UUID
    email: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(s: AsyncSession, name: str | None = None, code: str | None = None) -> Tenant:
    n = next(_seq)
    tenant = Tenant(name=name or f"Tenant {n}", code=code or f"T{n:04d}")
    s.add(tenant)
    await s.flush()
    return tenant


async def make_customer(s: AsyncSession, name: str | None = None) -> Customer:
    customer = Customer(name=name or f"Customer {next(_seq)}")
    s.add(customer)
    await s.flush()
    return customer


async def make_site(s: AsyncSession, *, tenant: Tenant, customer: Customer, name: str | None = None) -> Site:
    site = Site(
        tenant_id=tenant.id,
        customer_id=customer.id,
        name=name or f"Site {next(_seq)}",
        address="Hafenstraße 1",
    )
    s.add(site)
    await s.flush()
    return site


async def make_ticket_type(
    s: AsyncSession, *, tenant: Tenant, name: str | None = None, category: str = "standard"
) -> TicketType:
    ticket_type = TicketType(tenant_id=tenant.id, name=name or f"Type {next(_seq)}", category=category)
    s.add(ticket_type)
    await s.flush()
    return ticket_type


async def make_group(s: AsyncSession, permissions: list[str], name: str | None = None) -> PermissionGroup:
    group = PermissionGroup(name=name or f"Group {next(_seq)}", permissions=permissions)
    s.add(group)
    await s.flush()
    return group


async def make_employee(
    s: AsyncSession,
    ctx: AppContext,
    *,
    tenants: list[Tenant] | None = None,
    is_admin: bool = False,
    permissions: list[str] | None = None,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    is_active: bool = True,
) -> Actor:
    groups = [await make_group(s, permissions)] if permissions else []
    employee = Employee(
        email=email or f"employee{next(_seq)}@example.test",
        name=name or "Erika Employee",
        is_admin=is_admin,
        is_active=is_active,
        password_hash=await ctx.passwords.hash(password),
        tenants=list(tenants or []),
        permission_groups=groups,
    )
    s.add(employee)
    await s.flush()
    return Actor(employee.id, employee.email, ctx.tokens.issue(employee.id, 0), password)


async def make_customer_user(
    s: AsyncSession,
    ctx: AppContext,
    *,
    customer: Customer,
    sites: list[Site] | None = None,
    email: str | None = None,
    password: str = PASSWORD,
) -> Actor:
    user = CustomerUser(
        email=email or f"customer{next(_seq)}@example.test",
        name="Kim Customer",
        customer_id=customer.id,
        password_hash=await ctx.passwords.hash(password),
    )
    s.add(user)
    await s.flush()
    for site in sites or []:
        await s.execute(customer_user_sites.insert().values(customer_user_id=user.id, site_id=site.id))
    return Actor(user.id, user.email, ctx.tokens.issue(user.id, 0), password)


@dataclass
class World:
    """Tenants A and B; customers X (sites A1, A2 of tenant A) and Y (site B1 of tenant B)."""

    tenant_a: Tenant
    tenant_b: Tenant
    customer_x: Customer
    customer_y: Customer
    site_a1: Site
    site_a2: Site
    site_b1: Site
    type_a: TicketType
    absence_a: TicketType
    type_b: TicketType
    admin: Actor  # is_admin with every permission
    admin_no_insight: Actor  # is_admin without insight:manage
    insight_no_admin: Actor  # insight:manage but not is_admin
    employee_a: Actor
    employee_b: Actor
    customer_user_x: Actor  # customer X's user, assigned site A1
    customer_user_x2: Actor  # customer X's user with no site assigned
    customer_user_y: Actor  # customer Y's user, assigned site B1


async def build_world(s: AsyncSession, ctx: AppContext) -> World:
    tenant_a = await make_tenant(s, "Nord", "AAA")
    tenant_b = await make_tenant(s, "Süd", "BBB")
    customer_x = await make_customer(s, "Hansa Immobilien")
    customer_y = await make_customer(s, "Isar Wohnbau")
    site_a1 = await make_site(s, tenant=tenant_a, customer=customer_x, name="Speicherstadt")
    site_a2 = await make_site(s, tenant=tenant_a, customer=customer_x, name="Altona")
    site_b1 = await make_site(s, tenant=tenant_b, customer=customer_y, name="Schwabing")
    all_permissions = ["check:templates:manage", "insight:manage", "schedules:manage"]
    return World(
        tenant_a=tenant_a,
        tenant_b=tenant_b,
        customer_x=customer_x,
        customer_y=customer_y,
        site_a1=site_a1,
        site_a2=site_a2,
        site_b1=site_b1,
        type_a=await make_ticket_type(s, tenant=tenant_a, name="Reklamation"),
        absence_a=await make_ticket_type(s, tenant=tenant_a, name="Urlaub", category="absence"),
        type_b=await make_ticket_type(s, tenant=tenant_b, name="Sonderauftrag"),
        admin=await make_employee(
            s, ctx, is_admin=True, permissions=all_permissions, email="admin@example.test"
        ),
        admin_no_insight=await make_employee(s, ctx, is_admin=True, email="plainadmin@example.test"),
        insight_no_admin=await make_employee(
            s, ctx, tenants=[tenant_a], permissions=["insight:manage"], email="insight@example.test"
        ),
        employee_a=await make_employee(s, ctx, tenants=[tenant_a], email="anna@example.test"),
        employee_b=await make_employee(s, ctx, tenants=[tenant_b], email="bernd@example.test"),
        customer_user_x=await make_customer_user(
            s, ctx, customer=customer_x, sites=[site_a1], email="x@hansa.test"
        ),
        customer_user_x2=await make_customer_user(s, ctx, customer=customer_x, email="x2@hansa.test"),
        customer_user_y=await make_customer_user(
            s, ctx, customer=customer_y, sites=[site_b1], email="y@isar.test"
        ),
    )
