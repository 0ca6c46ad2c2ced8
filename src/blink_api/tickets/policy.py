"""What a caller may do to a ticket it can see: each rule answers None or the reason it refuses."""

from __future__ import annotations

from collections.abc import Iterable

from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.tickets.models import Ticket, TicketComment

# Fields customer users may never set; the seeds: "Der Kundenbenutzer kann nicht den Status eines
# Tickets oder den Bearbeiter ändern" (and type, site and due date are the service company's).
EMPLOYEE_ONLY_FIELDS = ("status", "assignee_id", "ticket_type_id", "site_id", "due_date")
# The priority is the customer's to choose when reporting (SPEC), the service company's afterwards.
FIXED_AFTER_CREATION_FOR_CUSTOMERS = ("priority",)


def why_not_set_fields(principal: Principal, fields: Iterable[str]) -> str | None:
    """On a new ticket."""
    if isinstance(principal, CustomerUserPrincipal):
        for field in fields:
            if field in EMPLOYEE_ONLY_FIELDS:
                return f"Customer users cannot set the field '{field}'."
    return None


def why_not_change_fields(principal: Principal, fields: Iterable[str]) -> str | None:
    """On an existing ticket."""
    if isinstance(principal, CustomerUserPrincipal):
        for field in fields:
            if field in EMPLOYEE_ONLY_FIELDS or field in FIXED_AFTER_CREATION_FOR_CUSTOMERS:
                return f"Customer users cannot change the field '{field}'."
    return None


def why_not_edit(principal: Principal, ticket: Ticket) -> str | None:
    if isinstance(principal, CustomerUserPrincipal) and ticket.created_by_id != principal.id:
        return "Customer users can edit only the tickets they created."
    return None


def why_not_write_internal(principal: Principal) -> str | None:
    if isinstance(principal, CustomerUserPrincipal):
        return "Customer users cannot write internal notes (field 'internal')."
    return None


def why_not_change_comment(principal: Principal, comment: TicketComment) -> str | None:
    if comment.author_id != principal.id:
        return "Only the author can change or delete a comment."
    return None


def why_not_rate(principal: Principal, ticket: Ticket) -> str | None:
    # Satisfaction is the customer's to give: employees never rate, not even tickets they reported.
    if not isinstance(principal, CustomerUserPrincipal) or ticket.created_by_id != principal.id:
        return "Only the customer user who reported the ticket can rate it."
    return None
