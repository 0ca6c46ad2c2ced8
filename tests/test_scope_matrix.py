"""Every route of the app, called by everyone outside a victim's scope: refused, no leak, no change."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import text

from blink_api.app import api_routes
from blink_api.identity.scopes import SCOPES
from tests.factories import World, make_customer_user, make_group, make_ticket_type
from tests.kit import API

PDF = b"%PDF-1.4\n% VICTIM-DOC-BYTES-4f6a\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
ATTACHMENT_BYTES = b"VICTIM-ATTACHMENT-BYTES-77c1 Tresorcode 4711"

# What every caller outside the victim's scope is answered, exactly. SPEC (Errors): 401 without valid
# credentials, 403 for an action the caller may not take on a resource it can see, 404 for anything
# outside its scope. SPEC is silent on an action the caller's kind may never take at all (master data
# and permission groups for non-admins, portal configuration without admin and insight:manage, the
# outbox, template management, anything employees-only for customer users): decided, 403 before
# anything is looked up, so the answer is the same for every id and tells nothing about what exists
# (tests/test_portal_config.py holds that for unknown customers). A new route answers 403 here until
# it is placed in one of the sets below.

# Routes anyone may call, and what they answer here. They are still called (harmlessly) and scanned
# for leaks, except the log-in: failed log-ins against the victim's address would lock the victim
# out, which is the throttle's job.
PUBLIC = {
    "system:live": 200,
    "system:ready": 200,
    "system:metrics": 200,
    "system:docs": 200,
    "system:docs_asset": 200,
    # SPEC is silent on a set-password token that is not valid; decided: 422, it is invalid input.
    "auth:set_password": 422,
    # A form link that does not exist: 404, like any resource that does not exist.
    "public-forms:read": 404,
    "public-forms:submit": 404,
    "problems:list": 200,
    "problems:read": 200,
}
SKIPPED = {"auth:token"}
# Form templates belong to the whole company: every employee reads the published ones (customers none).
COMPANY_WIDE = {"form-templates:read"}
# Writes into the caller's own space only: an upload is visible to its uploader alone until it is used.
# Uploads are for forms, which employees fill in: customer users are refused.
OWN_SPACE = {"uploads:create"}
# Everyone makes API tokens for itself (and only for itself).
OWN_FOR_EVERYONE = {"api-tokens:create"}
# API tokens are managed with a password log-in only: every API token is refused (403).
PASSWORD_ONLY = {"api-tokens:create", "api-tokens:list", "api-tokens:read", "api-tokens:delete"}
# Callers whose name ends so use an API token of their own holding every scope they may hold: a token
# acts as its owner and never beyond, so it is answered exactly like its owner's log-in (except where
# tokens are refused altogether).
WITH_API_TOKEN = "_with_api_token"
# Lists, and the caller's own identity, answer 200 to whoever may list at all; nothing of the victim
# may be in them.
LISTS_FOR_EVERYONE = {"api-tokens:list", "me:read", "sites:list", "tickets:list"}
LISTS_FOR_EMPLOYEES = {
    "employees:list",
    "form-submissions:list",
    "form-templates:list",
    "tenants:list",
    "ticket-types:list",
}
# Routes about one resource that callers of this kind reach when it is in their scope: outside it,
# 404, exactly like a resource that does not exist.
SCOPED_FOR_EVERYONE = {
    "api-tokens:delete",
    "api-tokens:read",
    "attachments:content",
    "attachments:delete",
    "attachments:replace_content",
    "attachments:update",
    "documents:list",
    "evaluations:site",
    # Customer users read the PDFs of their reports only (employees: of what they see); else 404.
    "form-submissions:pdf",
    "reports:list",
    "sites:plan",
    "sites:read",
    "sites:ticket_types",
    "tickets:create",  # names a site outside the caller's scope
    "tickets:create_attachments",
    "tickets:create_comment",
    "tickets:delete_comment",
    "tickets:history",
    "tickets:list_attachments",
    "tickets:list_comments",
    "tickets:rate",
    # Following, and the followers (employees only, 403 for customer users on a ticket they see):
    # outside the scope, the ticket is not found.
    "tickets:list_followers",
    "tickets:read",
    "tickets:read_subscription",
    "tickets:read_comment",
    "tickets:update",
    "tickets:update_comment",
    "tickets:update_followers",
    "tickets:update_subscription",
}
# The caller's own settings: everyone reads and sets its own, and nobody else's.
OWN_SETTINGS = {"me:read_notification_settings", "me:update_notification_settings"}
SCOPED_FOR_EMPLOYEES = {
    "employees:read",
    "form-submissions:complete",
    "form-submissions:create",  # names a site outside the caller's tenants
    "form-submissions:read",
    "form-submissions:update",
    "tenants:read",
    "tenants:read_business_days",
    "tenants:read_business_hours",
    "ticket-types:read",
}
# Query parameters a route requires: without them every caller would be told 422, which proves nothing.
REQUIRED_QUERY = {"tenants:read_business_days": {"from": "2026-12-24", "to": "2027-01-06"}}


def expected_status(caller: str, name: str, query: dict[str, str] | None) -> int:
    """The exact status `caller` (a key of the callers in the test below) gets from route `name`."""
    if name in PUBLIC:
        return PUBLIC[name]
    if caller == "anonymous":
        return 401
    if caller.endswith(WITH_API_TOKEN):
        if name in PASSWORD_ONLY:
            return 403
        caller = caller.removesuffix(WITH_API_TOKEN)
    employee = caller.startswith("employee")
    if name == "evaluations:overall":
        return overall_evaluation_status(caller, query)
    if name in OWN_SPACE:
        return 201 if employee else 403
    if name in OWN_FOR_EVERYONE:
        return 201
    if name in OWN_SETTINGS:
        return 200
    if name in COMPANY_WIDE or name in LISTS_FOR_EMPLOYEES:
        return 200 if employee else 403
    if name in LISTS_FOR_EVERYONE:
        return 200
    if name in SCOPED_FOR_EVERYONE or (employee and name in SCOPED_FOR_EMPLOYEES):
        return 404
    return 403


def overall_evaluation_status(caller: str, query: dict[str, str] | None) -> int:
    """`GET /ticket-evaluation` (every site of one customer) is not in SPEC, which has only the
    evaluation per site; decided, as for that one: an evaluation the caller cannot have is 404.

    A customer user evaluates its own customer over the sites assigned to it: customer Y's user gets
    its own (200, counting nothing of the victim) unless it names customer X (404); X's user on site
    A2 gets X's over A2 (200, counting nothing); X's user with no site assigned has nothing to
    evaluate (404). An employee must name the customer (422 without `customer_id`); employee B sees
    no site of customer X (404).
    """
    if caller == "employee_b":
        return 404 if query else 422
    if caller == "customer_user_x2" or (caller == "customer_user_y" and query):
        return 404
    return 200


@dataclass
class Victim:
    """Customer X's data on site A1, and everything a leak would show."""

    params: dict[str, list[str]]
    ids: set[str]
    secrets: list[str]
    ticket_id: str
    cu_a2: Any = None


@dataclass(frozen=True)
class Call:
    json: Any = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None


def bodies(world: World, v: Victim) -> dict[str, list[Call]]:
    """A plausible body for every write route, aimed at the victim. A new write route must be added here."""
    a1, x, ta, type_a = (
        str(world.site_a1.id),
        str(world.customer_x.id),
        str(world.tenant_a.id),
        str(world.type_a.id),
    )
    upload = [("files", ("boese.txt", b"Eindringling war hier", "text/plain"))]
    return {
        "auth:set_password": [
            Call(json={"token": "kein-gueltiger-token-123", "password": "ein langes Passwort"})
        ],
        "tenants:create": [Call(json={"name": "Ost", "code": "OST"})],
        "tenants:update": [Call(json={"name": "Gekapert"})],
        "tenants:update_business_hours": [
            Call(json={"timezone": "Pacific/Kiritimati", "weekly": {"sun": [["03:00", "04:00"]]}})
        ],
        "sites:create": [Call(json={"tenant_id": ta, "customer_id": x, "name": "Untergeschoben"})],
        "sites:update": [Call(json={"name": "Gekapert"})],
        "ticket-types:create": [Call(json={"tenant_id": ta, "name": "Untergeschoben"})],
        "ticket-types:update": [Call(json={"name": "Gekapert"})],
        "customers:create": [Call(json={"name": "Untergeschoben"})],
        "customers:update": [Call(json={"name": "Gekapert"})],
        "customers:create_user": [
            Call(
                json={
                    "email": "eindringling@example.com",
                    "name": "Eindringling",
                    "password": "ein langes Passwort",
                }
            )
        ],
        "customers:update_ticket_settings": [
            Call(json={"enabled_ticket_type_ids": [], "document_sources": []})
        ],
        "customers:update_evaluation_settings": [
            Call(json={"ticket_evaluation_enabled": False, "group_days": 1})
        ],
        "customer-users:update": [Call(json={"name": "Gekapert"})],
        "customer-users:update_sites": [Call(json={"site_ids": [a1, str(world.site_a2.id)]})],
        "employees:create": [
            Call(
                json={
                    "email": "spion@example.com",
                    "name": "Spion",
                    "password": "ein langes Passwort",
                    "tenant_ids": [ta],
                }
            )
        ],
        "employees:update": [Call(json={"name": "Gekapert"})],
        "permission-groups:create": [
            Call(json={"name": "Untergeschoben", "permissions": ["insight:manage"]})
        ],
        "permission-groups:update": [Call(json={"name": "Gekapert"})],
        "tickets:create": [
            Call(json={"site_id": a1, "ticket_type_id": type_a, "title": "Untergeschoben"}),
            Call(data={"site_id": a1, "ticket_type_id": type_a, "title": "Untergeschoben"}, files=upload),
        ],
        "tickets:update": [Call(json={"title": "Gekapert"})],
        "tickets:create_comment": [Call(json={"body": "Eindringling war hier"})],
        "tickets:update_comment": [Call(json={"body": "Gekapert"})],
        "tickets:create_attachments": [Call(files=upload)],
        "tickets:rate": [Call(json={"score": 1, "comment": "Gefälscht"})],
        "attachments:update": [Call(json={"filename": "gekapert.txt"})],
        "attachments:replace_content": [
            Call(files=[("file", ("boese.txt", b"Eindringling war hier", "text/plain"))])
        ],
        "tickets:update_subscription": [Call(json={"subscribed": True})],
        "tickets:update_followers": [Call(json={"account_ids": [str(world.employee_a.id)]})],
        # The caller's own settings, as they are: a change would show in its account's `updated_at`,
        # which administrators read (its own, not the victim's).
        "me:update_notification_settings": [Call(json={"comment": True, "status": True, "locale": "de"})],
        "outbox:retry": [Call()],
        "uploads:create": [Call(files=upload)],
        "form-templates:create": [Call(json={"name": "Untergeschoben", "elements": []})],
        "form-templates:replace": [
            Call(
                json={
                    "name": "Gekapert",
                    "elements": [{"key": "befund", "type": "text", "label": "Gekapert"}],
                }
            )
        ],
        "form-templates:update": [Call(json={"name": "Gekapert"})],
        "form-templates:publish": [Call()],
        "form-submissions:create": [
            Call(
                json={
                    "template_id": v.params.get("template_id", [""])[0],
                    "site_id": a1,
                    "answers": {"befund": "Gefälscht"},
                }
            )
        ],
        "form-submissions:update": [Call(json={"answers": {"befund": "Gefälscht"}})],
        "form-submissions:complete": [Call()],
        "public-forms:submit": [Call(json={"answers": {}})],
        "api-tokens:create": [Call(json={"name": "Eindringling", "scopes": ["tickets:read"]})],
        "webhooks:create": [
            Call(json={"url": "https://93.184.216.34/abgezweigt", "events": ["ticket.created"]})
        ],
        "webhooks:update": [Call(json={"url": "https://93.184.216.34/umgeleitet"})],
        "webhooks:retry_delivery": [Call()],
        "sla-policies:create": [
            Call(json={"tenant_id": ta, "name": "Untergeschoben", "resolution_minutes": 1})
        ],
        "sla-policies:update": [Call(json={"name": "Gekapert", "resolution_minutes": 1})],
        "webhooks:ping": [Call()],
        "schedules:create": [
            Call(
                json={
                    "tenant_id": ta,
                    "name": "Untergeschoben",
                    "site_ids": [a1],
                    "ticket_type_id": type_a,
                    "title": "Untergeschoben",
                    "rrule": "FREQ=DAILY",
                    "timezone": "Europe/Berlin",
                    "starts_on": "2026-01-01",
                    "lead_days": 0,
                    "active": True,
                }
            )
        ],
        "schedules:update": [Call(json={"title": "Gekapert", "site_ids": [a1]})],
    }


async def build_victim(client: httpx.AsyncClient, world: World, session, ctx, database) -> Victim:
    admin, emp, cux = world.admin.headers, world.employee_a.headers, world.customer_user_x.headers
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    group = await make_group(session, ["insight:manage"], name="Portalverwaltung")
    # Same customer, another site: inside the customer, outside site A1.
    cu_a2 = await make_customer_user(
        session, ctx, customer=world.customer_x, sites=[world.site_a2], email="a2@hansa.test"
    )
    await session.commit()

    async def ok(r: httpx.Response) -> dict[str, Any]:
        # SPEC names no success codes; the service answers 200 to PUT, PATCH and publish, 201 to a create.
        changes = r.request.method in ("PUT", "PATCH") or r.request.url.path.endswith("/publish")
        assert r.status_code == (200 if changes else 201), r.text
        return r.json()

    # The company's ERP subscribes to ticket events (a public address literal; no worker runs here).
    # The contract with customer X promises answers within the hour (its tickets show the policy's id).
    policy = await ok(
        await client.post(
            f"{API}/sla-policies",
            headers=admin,
            json={
                "tenant_id": str(world.tenant_a.id),
                "name": "VICTIM-SLA-Hansa",
                "customer_id": str(world.customer_x.id),
                "first_response_minutes": 60,
                "resolution_minutes": 480,
            },
        )
    )
    webhook = await ok(
        await client.post(
            f"{API}/webhooks",
            headers=admin,
            json={
                "url": "https://93.184.216.34/VICTIM-HOOK-5a1e",
                "events": ["ticket.created", "ticket.comment_added"],
                "customer_ids": [str(world.customer_x.id)],
            },
        )
    )
    await ok(
        await client.put(
            f"{API}/customers/{world.customer_x.id}/ticket-settings",
            headers=admin,
            json={
                "enabled_ticket_type_ids": [str(world.type_a.id)],
                "document_sources": [{"ticket_type_id": str(doc_type.id), "content_types": None}],
            },
        )
    )
    await ok(
        await client.put(
            f"{API}/customers/{world.customer_x.id}/evaluation-settings",
            headers=admin,
            json={"ticket_evaluation_enabled": True, "group_days": 7},
        )
    )
    # The other customer uses the portal too, so its user has a ticket scope of its own.
    await ok(
        await client.put(
            f"{API}/customers/{world.customer_y.id}/ticket-settings",
            headers=admin,
            json={"enabled_ticket_type_ids": [str(world.type_b.id)]},
        )
    )
    await ok(
        await client.put(
            f"{API}/customers/{world.customer_y.id}/evaluation-settings",
            headers=admin,
            json={"ticket_evaluation_enabled": True, "group_days": 7},
        )
    )

    ticket = await ok(
        await client.post(
            f"{API}/tickets",
            headers=cux,
            json={
                "site_id": str(world.site_a1.id),
                "ticket_type_id": str(world.type_a.id),
                "title": "VICTIM-TITLE-7f3a Wasserschaden Tiefgarage",
                "description": "VICTIM-DESC-19c2",
            },
        )
    )
    tid = ticket["id"]
    await ok(
        await client.patch(
            f"{API}/tickets/{tid}",
            headers=emp,
            json={"assignee_id": str(world.employee_a.id), "due_date": "2031-05-06", "status": "in_progress"},
        )
    )
    public = await ok(
        await client.post(f"{API}/tickets/{tid}/comments", headers=emp, json={"body": "VICTIM-PUBLIC-5b1e"})
    )
    internal = await ok(
        await client.post(
            f"{API}/tickets/{tid}/comments",
            headers=emp,
            json={"body": "VICTIM-INTERNAL-a9d4 Kunde zahlt spät", "internal": True},
        )
    )
    own = await ok(
        await client.post(f"{API}/tickets/{tid}/comments", headers=cux, json={"body": "VICTIM-CUSTOMER-3e8f"})
    )
    attachment = (
        await ok(
            await client.post(
                f"{API}/tickets/{tid}/attachments",
                headers=cux,
                files=[("files", ("victim-tresor-plan.txt", ATTACHMENT_BYTES, "text/plain"))],
            )
        )
    )["items"][0]
    doc_ticket = await ok(
        await client.post(
            f"{API}/tickets",
            headers=emp,
            json={
                "site_id": str(world.site_a1.id),
                "ticket_type_id": str(doc_type.id),
                "title": "VICTIM-DOC-0d2b",
            },
        )
    )
    document = (
        await ok(
            await client.post(
                f"{API}/tickets/{doc_ticket['id']}/attachments",
                headers=emp,
                files=[("files", ("victim-zertifikat.pdf", PDF, "application/pdf"))],
            )
        )
    )["items"][0]
    closed = await ok(
        await client.post(
            f"{API}/tickets",
            headers=cux,
            json={
                "site_id": str(world.site_a1.id),
                "ticket_type_id": str(world.type_a.id),
                "title": "VICTIM-CLOSED-8e3c",
            },
        )
    )
    await ok(await client.patch(f"{API}/tickets/{closed['id']}", headers=emp, json={"status": "closed"}))
    # The victim can see and fetch everything it should; the matrix then proves nobody else can.
    assert (await client.get(f"{API}/attachments/{document['id']}/content", headers=cux)).content == PDF
    assert (await client.get(f"{API}/sites/{world.site_a1.id}/ticket-evaluation", headers=cux)).json()[
        "total"
    ] == 1

    # An inspection form filled in on site A1 by the tenant's employee (still a draft).
    template = await ok(
        await client.post(
            f"{API}/form-templates",
            headers=admin,
            json={"name": "Begehung", "elements": [{"key": "befund", "type": "text", "label": "Befund"}]},
        )
    )
    await ok(await client.post(f"{API}/form-templates/{template['id']}/publish", headers=admin))
    submission = await ok(
        await client.post(
            f"{API}/form-submissions",
            headers=emp,
            json={
                "template_id": template["id"],
                "site_id": str(world.site_a1.id),
                "answers": {"befund": "VICTIM-FORM-ANSWER-2c7d"},
            },
        )
    )

    # The same form, completed, is an inspection report of customer X: its user on site A1 reads it.
    report = await ok(
        await client.post(
            f"{API}/form-submissions",
            headers=emp,
            json={
                "template_id": template["id"],
                "site_id": str(world.site_a1.id),
                "answers": {"befund": "VICTIM-REPORT-ANSWER-6b3e"},
                "complete": True,
            },
        )
    )
    await ok(
        await client.put(
            f"{API}/customers/{world.customer_x.id}/ticket-settings",
            headers=admin,
            json={
                "enabled_ticket_type_ids": [str(world.type_a.id)],
                "document_sources": [{"ticket_type_id": str(doc_type.id), "content_types": None}],
                "report_template_ids": [template["id"]],
            },
        )
    )
    reports = await client.get(f"{API}/sites/{world.site_a1.id}/reports", headers=cux)
    assert [r["id"] for r in reports.json()["items"]] == [report["id"]]
    assert (await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=cux)).status_code == 200

    # Tenant A inspects site A1 every Monday (planned by the administrator).
    schedule = await ok(
        await client.post(
            f"{API}/schedules",
            headers=admin,
            json={
                "tenant_id": str(world.tenant_a.id),
                "name": "VICTIM-SCHEDULE-4d2a Tresorprüfung",
                "site_ids": [str(world.site_a1.id)],
                "ticket_type_id": str(world.type_a.id),
                "title": "VICTIM-SCHEDULE-TITLE-9b1c",
                "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "timezone": "Europe/Berlin",
                "starts_on": "2026-01-05",
                "lead_days": 2,
                "active": True,
            },
        )
    )

    # The customer's CAFM holds an API token of the victim's.
    api_token = await ok(
        await client.post(
            f"{API}/api-tokens",
            headers=cux,
            json={"name": "VICTIM-TOKEN-CAFM-61b0", "scopes": ["tickets:read", "tickets:write"]},
        )
    )

    async with database.sessionmaker() as s:
        message_id = str(
            (
                await s.execute(
                    text("SELECT id FROM outbox WHERE recipient = :r ORDER BY created_at LIMIT 1"),
                    {"r": world.customer_user_x.email},
                )
            ).scalar_one()
        )
        delivery_id = str(
            (
                await s.execute(text("SELECT id FROM webhook_deliveries ORDER BY created_at, id LIMIT 1"))
            ).scalar_one()
        )

    params = {
        "ticket_id": [tid, doc_ticket["id"], closed["id"]],
        "comment_id": [public["id"], internal["id"], own["id"]],
        "attachment_id": [attachment["id"], document["id"]],
        "site_id": [str(world.site_a1.id)],
        "customer_id": [str(world.customer_x.id)],
        "customer_user_id": [str(world.customer_user_x.id)],
        "tenant_id": [str(world.tenant_a.id)],
        "employee_id": [str(world.employee_a.id)],
        "permission_group_id": [str(group.id)],
        "ticket_type_id": [str(world.type_a.id), str(doc_type.id)],
        "message_id": [message_id],
        "template_id": [template["id"]],
        "submission_id": [submission["id"], report["id"]],
        "token_id": [api_token["id"]],
        "webhook_id": [webhook["id"]],
        "policy_id": [policy["id"]],
        "delivery_id": [delivery_id],
        "schedule_id": [schedule["id"]],
        # Public routes are called harmlessly: a documentation asset, a form link that does not exist,
        # a problem type's page.
        "filename": ["swagger-ui.css"],
        "token": ["kein-gueltiger-link-0000"],
        "slug": ["not-found"],
    }
    shared = {"filename", "token", "template_id", "slug"}
    victim_ids = {value for key, values in params.items() if key not in shared for value in values}
    victim_ids |= {str(world.admin.id), str(world.insight_no_admin.id)}
    secrets = [
        "VICTIM-",
        api_token["token"],
        api_token["prefix"],
        webhook["secret"],
        "victim-tresor-plan.txt",
        "victim-zertifikat.pdf",
        "Tresorcode",
        "Kunde zahlt spät",
        "Speicherstadt",
        "Hansa Immobilien",
        "2031-05-06",
        world.customer_user_x.email,
        world.employee_a.email,
        world.admin.email,
        world.admin_no_insight.email,
        world.insight_no_admin.email,
    ]
    return Victim(params=params, ids=victim_ids, secrets=secrets, ticket_id=tid, cu_a2=cu_a2)


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], path)


def combinations(names: list[str], params: dict[str, list[str]]) -> list[dict[str, str]]:
    combos: list[dict[str, str]] = [{}]
    for name in names:
        combos = [{**c, name: value} for c in combos for value in params[name]]
    return combos


def victim_query(world: World) -> dict[str, str]:
    """Filters naming the victim: a list must not widen the caller's scope because it was asked to."""
    return {
        "site_id": str(world.site_a1.id),
        "customer_id": str(world.customer_x.id),
        "tenant_id": str(world.tenant_a.id),
        "ticket_type_id": str(world.type_a.id),
        "q": "VICTIM",
        "account_id": str(world.customer_user_x.id),
    }


async def send(
    client: httpx.AsyncClient, method: str, url: str, headers: dict, call: Call | None, params=None
):
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if call is not None:
        if call.files is not None:
            kwargs["files"] = call.files
            if call.data is not None:
                kwargs["data"] = call.data
        elif call.json is not None:
            kwargs["json"] = call.json
    return await client.request(method, url, **kwargs)


@dataclass(frozen=True)
class Planned:
    name: str  # the route's name, e.g. tickets:read
    method: str
    path: str  # the route's template
    url: str  # the template filled with the victim's ids
    call: Call | None
    query: dict[str, str] | None = None


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def requests_of(app: Any, world: World, v: Victim) -> list[Planned]:
    """(route name, method, url, body, query) for every operation in the app's own route table."""
    write_bodies = bodies(world, v)
    unknown_params: dict[str, list[str]] = {}
    missing_bodies: list[str] = []
    plan = []
    for rc in api_routes(app):
        if rc.name in SKIPPED:
            continue
        names = path_params(rc.path)
        for name in names:
            if name not in v.params:
                unknown_params.setdefault(name, []).append(f"{sorted(rc.methods)} {rc.path}")
        for method in sorted(rc.methods - {"HEAD", "OPTIONS"}):
            calls: list[Call | None] = [None]
            if method in ("POST", "PUT", "PATCH"):
                if rc.name not in write_bodies:
                    missing_bodies.append(f"{method} {rc.path} ({rc.name})")
                    continue
                calls = list(write_bodies[rc.name])
            if any(n not in v.params for n in names):
                continue
            for values in combinations(names, v.params):
                url = fill(rc.path, values)
                for call in calls:
                    plan.append(Planned(rc.name, method, rc.path, url, call, REQUIRED_QUERY.get(rc.name)))
                    if method == "GET" and not names:
                        plan.append(Planned(rc.name, method, rc.path, url, call, victim_query(world)))
    # A new route is only safe once this test knows how to aim it at the victim.
    assert not unknown_params, f"teach test_scope_matrix these path parameters: {unknown_params}"
    assert not missing_bodies, f"teach test_scope_matrix a body for these write routes: {missing_bodies}"
    return plan


async def admin_snapshot(client: httpx.AsyncClient, app: Any, world: World, v: Victim) -> dict[str, Any]:
    """What a full admin reads through every GET route of the app, aimed at the victim."""
    snapshot: dict[str, Any] = {}
    for p in requests_of(app, world, v):
        if p.method != "GET" or p.name.startswith("system:"):
            continue
        params = dict(p.query or {})
        if p.name == "evaluations:overall":
            params["customer_id"] = str(world.customer_x.id)
        r = await client.get(p.url, headers=world.admin.headers, params=params)
        content: Any = r.content
        if (
            r.headers.get("content-type", "").startswith("application/pdf")
            and p.name != "attachments:content"
        ):
            # A rendered PDF carries its creation time; what it says is what must not change.
            content = [page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages]
        snapshot[f"{p.url}?{sorted(params.items())}"] = (r.status_code, content)
    return snapshot


async def test_nobody_outside_the_scope_reaches_the_victim(client, app, world, session, ctx, database):
    v = await build_victim(client, world, session, ctx, database)
    callers: dict[str, tuple[dict[str, str], set[str]]] = {
        # name: (headers, victim ids the caller legitimately knows from its own context)
        "anonymous": ({}, set()),
        "customer_user_y": (world.customer_user_y.headers, set()),
        "customer_user_x2": (world.customer_user_x2.headers, {str(world.customer_x.id)}),
        "customer_user_x_site_a2": (v.cu_a2.headers, {str(world.customer_x.id), str(world.tenant_a.id)}),
        "employee_b": (world.employee_b.headers, set()),
    }
    for name, scopes in (
        ("customer_user_y", ["tickets:read", "tickets:write"]),
        ("customer_user_x2", ["tickets:read", "tickets:write"]),
        ("employee_b", list(SCOPES)),
    ):
        headers, known = callers[name]
        r = await client.post(f"{API}/api-tokens", headers=headers, json={"name": "CAFM", "scopes": scopes})
        assert r.status_code == 201, r.text
        callers[name + WITH_API_TOKEN] = ({"Authorization": f"Bearer {r.json()['token']}"}, known)
    plan = requests_of(app, world, v)
    assert len({p.name for p in plan}) >= 60, "the route table looks truncated"
    before = await admin_snapshot(client, app, world, v)
    assert len(before) > 40

    violations: list[str] = []
    requests = 0
    for caller, (headers, known) in callers.items():
        for p in plan:
            name, method = p.name, p.method
            r = await send(client, method, p.url, headers, p.call, p.query)
            requests += 1
            query = f"?{p.query}" if p.query else ""
            where = f"{caller} {method} {p.url}{query} [{name}] -> {r.status_code}"
            public = name in PUBLIC
            if r.status_code >= 500:
                violations.append(f"{where}: server error {r.text[:200]}")
                continue
            expected = expected_status(caller, name, p.query)
            if r.status_code != expected:
                violations.append(f"{where}: expected {expected}, got {r.text[:300]}")
            if name == "evaluations:overall" and r.status_code == 200 and r.json()["total"] != 0:
                violations.append(f"{where}: counts tickets it cannot see: {r.text}")
            body = r.text
            for secret in v.secrets:
                if secret.lower() in body.lower():
                    violations.append(f"{where}: leaks {secret!r}")
            for marker in (ATTACHMENT_BYTES, b"VICTIM-DOC-BYTES"):
                if marker in r.content:
                    violations.append(f"{where}: leaks file content")
            if r.status_code < 300 or public:
                for leaked in (v.ids - known) & set(UUID.findall(body)):
                    violations.append(f"{where}: leaks the id {leaked}")
    assert not violations, f"{len(violations)} of {requests} requests misbehaved:\n" + "\n".join(violations)
    # Seconds, not minutes: the whole matrix is one data set.
    assert requests > 300

    after = await admin_snapshot(client, app, world, v)
    changed = [key for key in before if before[key] != after.get(key)]
    assert not changed, f"the victim's data changed: {changed}"
    # The victim itself is undisturbed and still sees everything it saw.
    r = await client.get(f"{API}/tickets/{v.ticket_id}/comments", headers=world.customer_user_x.headers)
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    r = await client.get(f"{API}/customers/{world.customer_x.id}/users", headers=world.admin.headers)
    assert {u["email"] for u in r.json()["items"]} == {"x@hansa.test", "x2@hansa.test", "a2@hansa.test"}


async def test_matrix_bodies_are_valid_for_the_full_admin(client, app, world, session, ctx, database):
    # The refusals above mean something only if the bodies themselves are acceptable: the full admin,
    # for whom nothing is out of scope, is never told they are invalid.
    v = await build_victim(client, world, session, ctx, database)
    invalid = []
    for p in requests_of(app, world, v):
        if p.method in ("GET", "DELETE") or p.name in PUBLIC:
            continue
        r = await send(client, p.method, p.url, world.admin.headers, p.call)
        if r.status_code == 422 or r.status_code >= 500:
            invalid.append(f"{p.method} {p.url} [{p.name}] -> {r.status_code}: {r.text[:300]}")
    assert not invalid, "\n".join(invalid)


async def test_unknown_route_parameter_fails_loudly(app, world):
    # The planner refuses routes it cannot aim at the victim, so a new route cannot slip through unseen.
    v = Victim(params={"ticket_id": [str(uuid.uuid4())]}, ids=set(), secrets=[], ticket_id="")
    try:
        requests_of(app, world, v)
    except AssertionError as exc:
        assert "site_id" in str(exc) and "teach test_scope_matrix" in str(exc)
    else:
        raise AssertionError("a route with an unknown path parameter went unnoticed")
