"""Imports every table so that Alembic and the tests see the whole schema."""

from blink_api.customers.models import ConfigChange, Customer, DocumentSource, Site
from blink_api.files.models import Attachment
from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion
from blink_api.identity.models import (
    Account,
    AppSecret,
    CustomerUser,
    Employee,
    LoginThrottle,
    PasswordToken,
    PermissionGroup,
)
from blink_api.kit.db import Base
from blink_api.kit.idempotency import IdempotencyKey
from blink_api.kit.ratelimit import RateLimitState
from blink_api.notifications.models import OutboxMessage
from blink_api.schedules.models import Schedule
from blink_api.tenants.models import BusinessHours, Tenant
from blink_api.ticket_types.models import TicketType
from blink_api.tickets.models import Ticket, TicketComment, TicketEvent, TicketFollower, TicketRating
from blink_api.tickets.sla_models import SlaPolicy, SlaRecomputation
from blink_api.webhooks.models import Webhook, WebhookDelivery

__all__ = [
    "Account",
    "AppSecret",
    "Attachment",
    "Base",
    "BusinessHours",
    "ConfigChange",
    "Customer",
    "CustomerUser",
    "DocumentSource",
    "Employee",
    "FormSubmission",
    "FormTemplate",
    "FormTemplateVersion",
    "IdempotencyKey",
    "LoginThrottle",
    "OutboxMessage",
    "PasswordToken",
    "PermissionGroup",
    "RateLimitState",
    "Schedule",
    "Site",
    "SlaPolicy",
    "SlaRecomputation",
    "Tenant",
    "Ticket",
    "TicketComment",
    "TicketEvent",
    "TicketFollower",
    "TicketRating",
    "TicketType",
    "Webhook",
    "WebhookDelivery",
]
