"""Start-up data: the first administrator, and demo data for `make run`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer
from blink_api.identity.models import (
    PERMISSIONS,
    CustomerUser,
    Employee,
    PermissionGroup,
    customer_user_sites,
)
from blink_api.identity.security import Passwords
from blink_api.sites.models import Site
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType

log = logging.getLogger(__name__)

ADMIN_GROUP = "Administrators"
# Serialises start-up work of several processes starting at once.
_BOOTSTRAP_LOCK = 7_240_001


async def _lock(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BOOTSTRAP_LOCK})


async def _all_permissions_group(session: AsyncSession) -> PermissionGroup:
    group = await session.scalar(select(PermissionGroup).where(PermissionGroup.name == ADMIN_GROUP))
    if group is None:
        group = PermissionGroup(name=ADMIN_GROUP, permissions=sorted(PERMISSIONS))
        session.add(group)
        await session.flush()
    return group


async def create_admin(
    session: AsyncSession, passwords: Passwords, *, email: str, password: str, name: str = "Administrator"
) -> Employee:
    """An administrator holding every permission."""
    group = await _all_permissions_group(session)
    admin = Employee(
        email=email.strip().lower(),
        name=name,
        is_admin=True,
        password_hash=await passwords.hash(password),
        tenants=[],
        permission_groups=[group],
    )
    session.add(admin)
    await session.flush()
    return admin


async def bootstrap_admin(session: AsyncSession, passwords: Passwords, email: str, password: str) -> bool:
    """Create the configured administrator on a start with no employee yet."""
    await _lock(session)
    if await session.scalar(select(exists().where(Employee.id.is_not(None)))):
        return False
    await create_admin(session, passwords, email=email, password=password)
    log.info("bootstrap administrator created", extra={"email": email})
    return True


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


DEMO_PASSWORD = "blink-demo-2026"
DEMO_LOGINS = [
    DemoLogin("administrator (all permissions)", "admin@demo.blink.test", DEMO_PASSWORD),
    DemoLogin("employee, tenant NORD", "mia.mitarbeiter@demo.blink.test", DEMO_PASSWORD),
    DemoLogin("customer user, Hansa Immobilien (1 site)", "kunde@hansa.demo.blink.test", DEMO_PASSWORD),
]


async def demo_data(session: AsyncSession, passwords: Passwords) -> list[DemoLogin]:
    """A small tenant with sites, a customer and logins; created once, kept afterwards."""
    await _lock(session)
    if await session.scalar(select(exists().where(Tenant.code == "NORD"))):
        return DEMO_LOGINS
    group = await _all_permissions_group(session)
    nord = Tenant(name="Blink Gebäudeservice Nord", code="NORD")
    sued = Tenant(name="Blink Gebäudeservice Süd", code="SUED")
    hansa = Customer(name="Hansa Immobilien GmbH")
    session.add_all([nord, sued, hansa])
    await session.flush()
    sites = [
        Site(
            tenant_id=nord.id,
            customer_id=hansa.id,
            name="Bürohaus Speicherstadt",
            address="Am Sandtorkai 1, 20457 Hamburg",
        ),
        Site(
            tenant_id=nord.id,
            customer_id=hansa.id,
            name="Ärztehaus Altona",
            address="Große Bergstraße 12, 22767 Hamburg",
        ),
        Site(
            tenant_id=sued.id,
            customer_id=hansa.id,
            name="Filiale München",
            address="Leopoldstraße 5, 80802 München",
        ),
    ]
    session.add_all(sites)
    session.add_all(
        [
            TicketType(tenant_id=nord.id, name="Reklamation", category="standard"),
            TicketType(tenant_id=nord.id, name="Nachreinigung anfordern", category="standard"),
            TicketType(tenant_id=nord.id, name="Urlaub", category="absence"),
            TicketType(tenant_id=sued.id, name="Sonderauftrag", category="standard"),
        ]
    )
    hashed = await passwords.hash(DEMO_PASSWORD)
    admin_email, employee_email, customer_email = (login.email for login in DEMO_LOGINS)
    if not await session.scalar(select(exists().where(Employee.email == admin_email))):
        session.add(
            Employee(
                email=admin_email,
                name="Anna Admin",
                is_admin=True,
                password_hash=hashed,
                tenants=[nord, sued],
                permission_groups=[group],
            )
        )
    session.add(
        Employee(
            email=employee_email,
            name="Mia Mitarbeiter",
            password_hash=hashed,
            tenants=[nord],
            permission_groups=[],
            notify_unassigned=True,
        )
    )
    customer_user = CustomerUser(
        email=customer_email, name="Karl Kunde", customer_id=hansa.id, password_hash=hashed
    )
    session.add(customer_user)
    await session.flush()
    await session.execute(
        customer_user_sites.insert().values(customer_user_id=customer_user.id, site_id=sites[0].id)
    )
    log.info("demo data created")
    return DEMO_LOGINS
