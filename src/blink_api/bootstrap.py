"""Start-up data: the first administrator, and demo data for `make run`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import (
    Customer,
    DocumentSource,
    Site,
    customer_report_templates,
    customer_ticket_types,
    customer_user_sites,
)
from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion
from blink_api.identity.models import CustomerUser, Employee, PermissionGroup
from blink_api.identity.password_policy import why_not_password
from blink_api.identity.principals import PERMISSIONS
from blink_api.kit.passwords import Passwords
from blink_api.schedules.models import Schedule, schedule_sites
from blink_api.tenants.models import BusinessHours, Tenant
from blink_api.ticket_types.models import TicketType
from blink_api.tickets.models import Ticket, TicketComment, TicketFollower, TicketRating
from blink_api.tickets.repository import next_number, refresh_search
from blink_api.tickets.sla_models import SlaPolicy

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


class WeakPassword(ValueError):
    """A password for an administrator made outside the API breaks the rule the API enforces."""


async def create_admin(
    session: AsyncSession, passwords: Passwords, *, email: str, password: str, name: str = "Administrator"
) -> Employee:
    """An administrator holding every permission, with a password the API would accept too."""
    reason = why_not_password(password, (email, name))
    if reason is not None:
        raise WeakPassword(reason)
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
    """Create the configured administrator on a start with no employee yet.

    A password that the API would refuse stops the start, rather than leave an administrator with a
    password easy to guess: the operator sees why at once and chooses another.
    """
    await _lock(session)
    if await session.scalar(select(exists().where(Employee.id.is_not(None)))):
        return False
    try:
        await create_admin(session, passwords, email=email, password=password)
    except WeakPassword as exc:
        raise WeakPassword(f"BLINK_BOOTSTRAP_ADMIN_PASSWORD is refused: {exc}") from exc
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
    complaint = TicketType(tenant_id=nord.id, name="Reklamation", category="standard")
    recleaning = TicketType(tenant_id=nord.id, name="Nachreinigung anfordern", category="standard")
    proof = TicketType(tenant_id=nord.id, name="Leistungsnachweise", category="standard")
    session.add_all(
        [
            complaint,
            recleaning,
            proof,
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
    await _demo_portal_and_tickets(session, hansa, sites[0], customer_user, complaint, recleaning, proof)
    log.info("demo data created")
    return DEMO_LOGINS


async def _demo_portal_and_tickets(
    session: AsyncSession,
    hansa: Customer,
    site: Site,
    customer_user: CustomerUser,
    complaint: TicketType,
    recleaning: TicketType,
    proof: TicketType,
) -> None:
    """The portal switched on for Hansa, a few tickets to look at, and an inspection form."""
    await session.execute(
        customer_ticket_types.insert(),
        [{"customer_id": hansa.id, "ticket_type_id": t.id} for t in (complaint, recleaning)],
    )
    session.add(DocumentSource(customer_id=hansa.id, ticket_type_id=proof.id, content_types=None))
    hansa.ticket_evaluation_enabled = True
    hansa.evaluation_group_days = 2
    mia = await session.scalar(select(Employee).where(Employee.email == DEMO_LOGINS[1].email))
    assert mia is not None
    now = datetime.now(UTC)
    demo = [
        (
            customer_user,
            complaint,
            "Eingangstür verschmiert",
            "Fingerabdrücke auf der Glastür im Foyer.",
            "open",
            "high",
            None,
        ),
        (
            mia,
            recleaning,
            "Teeküche 3. OG nachreinigen",
            "Spülbecken und Arbeitsflächen.",
            "in_progress",
            "normal",
            None,
        ),
        (customer_user, complaint, "Papierhandtücher leer", "Damen-WC im Erdgeschoss.", "closed", "low", 1),
    ]
    for index, (author, ticket_type, title, description, status, priority, days) in enumerate(demo):
        created = now - timedelta(days=5 - index)
        ticket = Ticket(
            tenant_id=site.tenant_id,
            site_id=site.id,
            ticket_type_id=ticket_type.id,
            number=await next_number(session, site.tenant_id),
            title=title,
            description=description,
            status=status,
            priority=priority,
            created_by_id=author.id,
            assignee_id=mia.id if status != "open" else None,
            created_at=created,
            closed_at=created + timedelta(days=days, hours=3) if days is not None else None,
        )
        session.add(ticket)
        await session.flush()
        if index == 0:
            session.add(
                TicketComment(ticket_id=ticket.id, author_id=mia.id, body="Wird heute Abend erledigt.")
            )
            session.add(
                TicketComment(
                    ticket_id=ticket.id,
                    author_id=mia.id,
                    internal=True,
                    body="Reinigungskraft Frau K. informiert.",
                )
            )
            await session.flush()
        if ticket.closed_at is not None:
            # The reporter was satisfied, if not entirely: the portal shows a rated ticket.
            session.add(
                TicketRating(
                    ticket_id=ticket.id,
                    score=4,
                    comment="Schnell aufgefüllt, danke! Bitte künftig vor dem Wochenende prüfen.",
                    created_at=ticket.closed_at + timedelta(hours=2),
                )
            )
            await session.flush()
        if index == 1:
            # The customer user follows the re-cleaning Mia raised on its site: it hears of its comments
            # and of its closing like of its own tickets.
            session.add(TicketFollower(ticket_id=ticket.id, account_id=customer_user.id, following=True))
            await session.flush()
        await refresh_search(session, ticket.id)
    template = FormTemplate(created_by_id=mia.id, latest_version=1, published_version=1)
    session.add(template)
    await session.flush()
    session.add(
        FormTemplateVersion(
            template_id=template.id,
            version=1,
            name="Objektbegehung",
            is_public=False,
            published_at=now,
            description="Qualitätskontrolle bei der Begehung eines Objekts.",
            elements=[
                {"key": "eingang", "type": "heading", "label": "Eingangsbereich"},
                {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit der Böden", "required": True},
                {"key": "foto", "type": "photo", "label": "Foto"},
                {
                    "key": "nachreinigung",
                    "type": "ticket",
                    "label": "Nachreinigung veranlassen",
                    "help": "Bei schlechter Bewertung eine Nachreinigung anfordern.",
                    "visible_if": {"element": "sauberkeit", "op": "lte", "value": 2},
                    "ticket_type_id": str(recleaning.id),
                    "title": "Nachreinigung nach Objektbegehung",
                    "title_editable": True,
                    "description_editable": True,
                    "due_date_enabled": True,
                    "attach_pdf": True,
                },
            ],
        )
    )
    await session.flush()
    await _demo_reports_and_training(session, hansa, site, mia, template, now)
    await _demo_service_levels(session, site, complaint, recleaning, mia, template, now)


async def _demo_service_levels(
    session: AsyncSession,
    site: Site,
    complaint: TicketType,
    recleaning: TicketType,
    mia: Employee,
    inspection: FormTemplate,
    now: datetime,
) -> None:
    """Hamburg business hours with its public holidays, a contract's "complaints within 4 business
    hours", and the inspection every Monday, raised three days ahead (the worker raises the next one
    as soon as the server runs)."""
    session.add(
        BusinessHours(
            tenant_id=site.tenant_id,
            timezone="Europe/Berlin",
            weekly={
                **{day: [["07:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
                "sat": [["08:00", "12:00"]],
                "sun": [],
            },
            holidays_region="DE-HH",
            closed_dates=[date(now.year, 12, 24), date(now.year, 12, 31)],
        )
    )
    session.add(
        SlaPolicy(
            tenant_id=site.tenant_id,
            name="Reklamationen",
            ticket_type_id=complaint.id,
            first_response_minutes=4 * 60,
            resolution_minutes=2 * 11 * 60,
        )
    )
    today = now.astimezone(ZoneInfo("Europe/Berlin")).date()
    schedule = Schedule(
        tenant_id=site.tenant_id,
        name="Objektbegehung jeden Montag",
        ticket_type_id=recleaning.id,
        title="Objektbegehung",
        description='Begehung mit dem Formular "Objektbegehung"; das Protokoll schließt das Ticket.',
        assignee_id=mia.id,
        form_template_id=inspection.id,
        rrule="FREQ=WEEKLY;BYDAY=MO",
        timezone="Europe/Berlin",
        starts_on=today,
        lead_days=3,
        active=True,
        created_by_id=mia.id,
        catch_up_from=today,
    )
    session.add(schedule)
    await session.flush()
    await session.execute(schedule_sites.insert().values(schedule_id=schedule.id, site_id=site.id))


async def _demo_reports_and_training(
    session: AsyncSession, hansa: Customer, site: Site, mia: Employee, inspection: FormTemplate, now: datetime
) -> None:
    """A completed inspection that Hansa's user reads as a report on its site (its PDF is rendered at
    the first download), and a training record that belongs to no site."""
    await session.execute(
        customer_report_templates.insert().values(customer_id=hansa.id, template_id=inspection.id)
    )
    inspected = now - timedelta(days=1)
    version = await session.scalar(
        select(FormTemplateVersion).where(FormTemplateVersion.template_id == inspection.id)
    )
    assert version is not None
    session.add(
        FormSubmission(
            template_id=inspection.id,
            subject="site",
            template_version_id=version.id,
            site_id=site.id,
            created_by_id=mia.id,
            status="completed",
            answers={"sauberkeit": 4},
            completed_at=inspected,
        )
    )
    training = FormTemplate(created_by_id=mia.id, latest_version=1, published_version=1, subject="none")
    session.add(training)
    await session.flush()
    training_version = FormTemplateVersion(
        template_id=training.id,
        version=1,
        name="Unterweisung Gefahrstoffe",
        is_public=False,
        published_at=now,
        description="Jährliche Unterweisung zum Umgang mit Reinigungschemikalien.",
        elements=[
            {"key": "thema", "type": "text", "label": "Unterwiesenes Thema", "required": True},
            {"key": "verstanden", "type": "yes_no", "label": "Inhalt verstanden?", "required": True},
            {"key": "datum", "type": "date", "label": "Datum der Unterweisung", "required": True},
            {"key": "unterschrift", "type": "signature", "label": "Unterschrift"},
        ],
    )
    session.add(training_version)
    await session.flush()
    session.add(
        FormSubmission(
            template_id=training.id,
            subject="none",
            template_version_id=training_version.id,
            site_id=None,
            created_by_id=mia.id,
            status="completed",
            answers={
                "thema": "Sicherheitsdatenblätter und Hautschutz",
                "verstanden": True,
                "datum": inspected.date().isoformat(),
            },
            completed_at=inspected,
        )
    )
    await session.flush()
