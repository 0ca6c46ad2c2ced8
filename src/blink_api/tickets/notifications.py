"""Who is mailed about what. Customers and employees get separate messages, one recipient each.

- The customer user who created a ticket: when someone else adds a public comment, and when
  the ticket is closed.
- Employees: the assignee, or without one the tenant's employees who opted in, when a customer
  user creates a ticket or comments.
Nobody is mailed about their own action. Customer users are mailed only about events their ticket
history shows them, and every ticket mail carries only ticket fields customer users see: both read the
one allow-list in `tickets.customer_view`, so internal notes and employees' addresses never reach a
customer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.identity.models import Account, CustomerUser, Employee, employee_tenants
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.kit.config import Settings
from blink_api.notifications import templates
from blink_api.notifications.service import enqueue
from blink_api.tickets import customer_view
from blink_api.tickets.models import Ticket
from blink_api.tickets.repository import ticket_scope


async def _facts(session: AsyncSession, settings: Settings, ticket: Ticket) -> templates.TicketFacts:
    """The ticket as mails show it, to whomever: fields customer users see only."""
    shown = customer_view.ticket_values(ticket, "id", "number", "title", "site_id")
    site_name = await session.scalar(select(Site.name).where(Site.id == shown["site_id"]))
    return templates.TicketFacts(
        number=shown["number"],
        title=shown["title"],
        site=site_name or "",
        link=f"{settings.portal_base_url.rstrip('/')}/tickets/{shown['id']}",
    )


async def _creator_if_customer(
    session: AsyncSession, ticket: Ticket, actor: Principal
) -> CustomerUser | None:
    if ticket.created_by_id == actor.id:
        return None
    account = await session.get(Account, ticket.created_by_id)
    if not isinstance(account, CustomerUser) or not account.is_active:
        return None
    # A creator who lost the ticket (site unassigned, type disabled) hears nothing more about it.
    creator = CustomerUserPrincipal(
        id=account.id, email=account.email, name=account.name, customer_id=account.customer_id
    )
    still_visible = await session.scalar(
        select(Ticket.id).where(Ticket.id == ticket.id, ticket_scope(creator))
    )
    return account if still_visible else None


async def _staff_to_tell(session: AsyncSession, ticket: Ticket) -> list[Employee]:
    stmt = select(Employee).where(Employee.is_active)
    if ticket.assignee_id is not None:
        stmt = stmt.where(Employee.id == ticket.assignee_id)
    else:
        stmt = stmt.where(
            Employee.notify_unassigned,
            Employee.id.in_(
                select(employee_tenants.c.employee_id).where(employee_tenants.c.tenant_id == ticket.tenant_id)
            ),
        )
    return list(await session.scalars(stmt.order_by(Employee.email)))


async def _tell_staff(
    session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal, kind: str, text: str | None
) -> None:
    facts = await _facts(session, settings, ticket)
    for employee in await _staff_to_tell(session, ticket):
        if employee.id == actor.id:
            continue
        mail = templates.ticket_mail(
            kind,
            locale=employee.locale,
            recipient_name=employee.name,
            facts=facts,
            author=actor.name,
            text=text,
        )
        await enqueue(session, kind, employee.email, mail)


async def ticket_created(session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal) -> None:
    if isinstance(actor, CustomerUserPrincipal):
        await _tell_staff(session, settings, ticket, actor, "employee_ticket", ticket.description)


async def _tell_creator(
    session: AsyncSession,
    settings: Settings,
    ticket: Ticket,
    actor: Principal,
    kind: str,
    text: str | None = None,
) -> None:
    creator = await _creator_if_customer(session, ticket, actor)
    if creator is None:
        return
    mail = templates.ticket_mail(
        kind,
        locale=creator.locale,
        recipient_name=creator.name,
        facts=await _facts(session, settings, ticket),
        author=actor.name,
        text=text,
    )
    await enqueue(session, kind, creator.email, mail)


async def comment_added(
    session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal, body: str, internal: bool
) -> None:
    if customer_view.shows_event("comment_added", "comment", public=not internal):
        await _tell_creator(session, settings, ticket, actor, "customer_comment", body)
    if isinstance(actor, CustomerUserPrincipal) and not internal:
        await _tell_staff(session, settings, ticket, actor, "employee_comment", body)


async def ticket_closed(session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal) -> None:
    if customer_view.shows_event("updated", "status", public=True):
        await _tell_creator(session, settings, ticket, actor, "customer_closed")
