"""Who is mailed about what: the one place that decides it. Customers and employees get separate
messages, one recipient each, and each recipient at most one per event.

- Followers of a ticket (`tickets.following`: its creator and assignee unless they stopped, and
  whoever chose to follow it or was added) are mailed about
  - a public comment by someone else (`comment` setting);
  - a change of its status by someone else, closing and re-opening included (`status` setting); the
    closing mail to the customer user who created the ticket asks for its rating;
  - employees only: new attachments by someone else.
- A breached service-level target (`tickets.sla_worker`, once per breach) is mailed to the assignee,
  or without one to the tenant's employees who opted in (`notify_unassigned`); nobody acted.
- Employees besides: without an assignee, the tenant's employees who opted in (`notify_unassigned`)
  are mailed when a customer user creates a ticket or comments on one.
Nobody is mailed about their own action, nor about a ticket it no longer sees: every recipient is
checked against the same ticket scope as its own reads (`tickets.following.seeing`). Customer users
are mailed only about events their ticket history shows them, and every ticket mail carries only ticket
fields customer users see: both read the one allow-list in `tickets.customer_view`, so internal notes
(mailed to nobody) and employees' addresses never reach a customer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.identity.models import Account, Employee, employee_tenants
from blink_api.identity.principals import CustomerUserPrincipal, EmployeePrincipal, Principal
from blink_api.kit.config import Settings
from blink_api.notifications import templates
from blink_api.notifications.service import enqueue
from blink_api.tickets import customer_view, following
from blink_api.tickets.models import Ticket

Topic = Literal["comment", "status", "attachment", "ticket"]


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


@dataclass(frozen=True, slots=True)
class _Recipient:
    principal: Principal
    account: Account

    @property
    def is_customer(self) -> bool:
        return isinstance(self.principal, CustomerUserPrincipal)


def _wants(account: Account, topic: Topic) -> bool:
    """The account's notification settings: `comment` and `status` each stop their own mails only."""
    if topic == "comment":
        return account.notify_comments
    if topic == "status":
        return account.notify_status
    return True


async def _opted_in_staff(session: AsyncSession, ticket: Ticket) -> list[uuid.UUID]:
    """Without an assignee: the tenant's active employees who asked for mails about unassigned
    customer tickets."""
    if ticket.assignee_id is not None:
        return []
    found = await session.scalars(
        select(Employee.id)
        .where(
            Employee.is_active,
            Employee.notify_unassigned,
            Employee.id.in_(
                select(employee_tenants.c.employee_id).where(employee_tenants.c.tenant_id == ticket.tenant_id)
            ),
        )
        .order_by(Employee.email)
    )
    return list(found)


async def _recipients(
    session: AsyncSession,
    ticket: Ticket,
    actor: Principal,
    topic: Topic,
    *,
    customers: bool,
    employees: bool,
    opted_in_staff: bool = False,
) -> list[_Recipient]:
    """The followers (and with `opted_in_staff` the opted-in employees) to mail about `topic`: each
    once, never the actor, only those who see the ticket now and whose settings want it."""
    chosen: list[Principal] = list(await following.followers(session, ticket))
    if opted_in_staff:
        for employee_id in await _opted_in_staff(session, ticket):
            if any(p.id == employee_id for p in chosen):
                continue
            principal = await following.seeing(session, employee_id, ticket.id)
            if principal is not None:
                chosen.append(principal)
    chosen = [
        p
        for p in chosen
        if p.id != actor.id
        and (
            customers
            if isinstance(p, CustomerUserPrincipal)
            else employees and isinstance(p, EmployeePrincipal)
        )
    ]
    unique = list({p.id: p for p in chosen}.values())
    accounts = await _accounts(session, [p.id for p in unique])
    return [
        _Recipient(p, accounts[p.id])
        for p in unique
        if p.id in accounts and accounts[p.id].is_active and _wants(accounts[p.id], topic)
    ]


async def _accounts(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(list(ids))))}


async def _send(
    session: AsyncSession,
    settings: Settings,
    ticket: Ticket,
    actor: Principal,
    recipients: Iterable[_Recipient],
    kind_for: dict[bool, str],
    text: str | None = None,
    rating_for: uuid.UUID | None = None,
    status: str | None = None,
) -> None:
    """One mail to each recipient; `kind_for[is_customer]` names its text (`notifications.templates`)."""
    facts: templates.TicketFacts | None = None
    for recipient in recipients:
        facts = facts or await _facts(session, settings, ticket)
        kind = kind_for[recipient.is_customer]
        mail = templates.ticket_mail(
            kind,
            locale=recipient.account.locale,
            recipient_name=recipient.account.name,
            facts=facts,
            author=actor.name,
            text=text,
            status=status,
            ask_rating=recipient.is_customer and rating_for == recipient.account.id,
        )
        await enqueue(session, kind, recipient.account.email, mail)


async def ticket_created(session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal) -> None:
    if isinstance(actor, CustomerUserPrincipal):
        staff = await _recipients(
            session, ticket, actor, "ticket", customers=False, employees=True, opted_in_staff=True
        )
        await _send(session, settings, ticket, actor, staff, {False: "employee_ticket"}, ticket.description)


async def comment_added(
    session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal, body: str, internal: bool
) -> None:
    """A public comment reaches followers; a customer user's also the opted-in staff of an unassigned
    ticket. An internal note reaches nobody."""
    if internal:
        return
    by_customer = isinstance(actor, CustomerUserPrincipal)
    recipients = await _recipients(
        session,
        ticket,
        actor,
        "comment",
        customers=customer_view.shows_event("comment_added", "comment", public=True),
        employees=True,
        opted_in_staff=by_customer,
    )
    employee_kind = "employee_comment" if by_customer else "employee_staff_comment"
    await _send(
        session, settings, ticket, actor, recipients, {True: "customer_comment", False: employee_kind}, body
    )


async def status_changed(
    session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal, old: str, new: str
) -> None:
    """Every status change is announced to the followers (SPEC: "status changes, including
    closing"). The closing mail to the customer user who created the ticket asks it to rate it."""
    recipients = await _recipients(
        session,
        ticket,
        actor,
        "status",
        customers=customer_view.shows_event("updated", "status", public=True),
        employees=True,
    )
    if new == "closed":
        await _send(
            session,
            settings,
            ticket,
            actor,
            recipients,
            {True: "customer_closed", False: "employee_closed"},
            rating_for=ticket.created_by_id,
        )
    else:
        kinds = {True: "customer_status", False: "employee_status"}
        await _send(session, settings, ticket, actor, recipients, kinds, status=new)


async def attachments_added(
    session: AsyncSession, settings: Settings, ticket: Ticket, actor: Principal, filenames: Sequence[str]
) -> None:
    """Employees who follow the ticket hear of new files, one mail per upload."""
    recipients = await _recipients(session, ticket, actor, "attachment", customers=False, employees=True)
    await _send(
        session, settings, ticket, actor, recipients, {False: "employee_attachment"}, "\n".join(filenames)
    )


_TARGET_WORDS = {
    "de": {"first_response": "Erstreaktion", "resolution": "Lösung", "due": "fällig seit"},
    "en": {"first_response": "First response", "resolution": "Resolution", "due": "due since"},
}


async def sla_breached(
    session: AsyncSession, settings: Settings, ticket: Ticket, breaches: Sequence[tuple[str, dt.datetime]]
) -> None:
    """Each (target, due time) of `breaches` has just passed unmet: one mail to the assignee, or without
    one to the tenant's opted-in employees, each of whom must still see the ticket."""
    if ticket.assignee_id is not None:
        candidates = [ticket.assignee_id]
    else:
        candidates = await _opted_in_staff(session, ticket)
    seen = [p for p in [await following.seeing(session, c, ticket.id) for c in candidates] if p is not None]
    staff = [p for p in seen if isinstance(p, EmployeePrincipal)]
    accounts = await _accounts(session, [p.id for p in staff])
    facts: templates.TicketFacts | None = None
    for principal in staff:
        account = accounts.get(principal.id)
        if account is None or not account.is_active:
            continue
        facts = facts or await _facts(session, settings, ticket)
        words = _TARGET_WORDS.get(account.locale, _TARGET_WORDS["de"])
        lines = "\n".join(
            f"{words[target]}: {words['due']} {due.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
            for target, due in breaches
        )
        mail = templates.ticket_mail(
            "employee_sla_breached",
            locale=account.locale,
            recipient_name=account.name,
            facts=facts,
            text=lines,
        )
        await enqueue(session, "employee_sla_breached", account.email, mail)
