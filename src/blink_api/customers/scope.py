"""What a customer user sees because of its customer's portal configuration: the building blocks
the visibility statements of sites, tickets, documents and evaluations are composed from. Each is
written here once; the blocks that depend only on who the caller is are in `identity.scope`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from blink_api.customers.models import (
    Site,
    customer_report_templates,
    customer_ticket_types,
    customer_user_sites,
)


def assigned_sites(customer_user_id: Any, customer_id: Any) -> Select[Any]:
    """The ids of the sites assigned to the customer user that belong to its own customer (an
    assignment that outlived a site's move to another customer shows nothing). Arguments are values
    or bound parameters."""
    return (
        select(customer_user_sites.c.site_id)
        .join(Site, Site.id == customer_user_sites.c.site_id)
        .where(customer_user_sites.c.customer_user_id == customer_user_id, Site.customer_id == customer_id)
        # Its own FROM, even inside a statement on sites: never correlated with an outer query.
        .correlate(None)
    )


def enabled_types(customer_id: Any) -> Select[Any]:
    """The ids of the ticket types enabled for the customer (a value or a bound parameter)."""
    return select(customer_ticket_types.c.ticket_type_id).where(
        customer_ticket_types.c.customer_id == customer_id
    )


def report_templates(customer_id: Any) -> Select[Any]:
    """The ids of the form templates whose completed submissions the customer's users read as reports
    on their sites (a value or a bound parameter)."""
    return select(customer_report_templates.c.template_id).where(
        customer_report_templates.c.customer_id == customer_id
    )
