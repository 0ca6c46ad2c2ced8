"""The condition that makes an attachment a document of a site for its customer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, or_, select

from blink_api.customers.models import DocumentSource, Site
from blink_api.customers.scope import assigned_sites
from blink_api.files.models import Attachment
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.tickets.models import Ticket


def _content_type_matches() -> ColumnElement[bool]:
    return or_(
        DocumentSource.content_types.is_(None),
        Attachment.content_type == func.any(DocumentSource.content_types),
        (func.split_part(Attachment.content_type, "/", 1) + literal("/*"))
        == func.any(DocumentSource.content_types),
    )


def is_document_of(customer_id: Any) -> ColumnElement[bool]:
    """The attachment's ticket has a type the customer chose as document source (and the type matches)."""
    return exists(
        select(DocumentSource.ticket_type_id).where(
            DocumentSource.customer_id == customer_id,
            DocumentSource.ticket_type_id == Ticket.ticket_type_id,
            _content_type_matches(),
        )
    )


def document_scope(principal: Principal) -> ColumnElement[bool]:
    """Documents a customer user may download: on its assigned sites of its own customer. Employees
    reach every attachment of their tenants through the ticket scope already."""
    if not isinstance(principal, CustomerUserPrincipal):
        return false()
    return and_(
        Attachment.ticket_id == Ticket.id,
        Ticket.site_id.in_(assigned_sites(principal.id, principal.customer_id)),
        is_document_of(principal.customer_id),
    )


def site_documents(site: Site) -> Select[Any]:
    return (
        select(Attachment)
        .join(Ticket, Ticket.id == Attachment.ticket_id)
        .where(Ticket.site_id == site.id, is_document_of(site.customer_id))
    )
