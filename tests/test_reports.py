"""Inspection reports for customers: completed submissions of the templates a customer chose, on its
users' sites, listed and downloadable as PDF; nothing else of form submissions reaches customer users."""

from __future__ import annotations

from typing import Any

import httpx

from blink_api.app import create_app
from blink_api.bootstrap import DEMO_LOGINS, DEMO_PASSWORD
from tests.conftest import make_settings
from tests.factories import Actor, World, make_employee, make_ticket_type
from tests.forms_helpers import make_manager, pdf_text, published, submit, template_body, ticket_element
from tests.kit import API, assert_problem

FINDINGS = [
    {"key": "befund", "type": "textarea", "label": "Befund"},
    {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit"},
]


async def _settings(client: httpx.AsyncClient, world: World, **body: Any) -> httpx.Response:
    body.setdefault("enabled_ticket_type_ids", [str(world.type_a.id)])
    return await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=world.admin.headers, json=body
    )


async def _completed(
    client: httpx.AsyncClient, actor: Actor, template_id: str, site_id: Any, answers: dict[str, Any]
) -> dict[str, Any]:
    r = await submit(client, actor, template_id, site_id, answers, complete=True)
    assert r.status_code == 201, r.text
    return r.json()


async def _reports(client: httpx.AsyncClient, actor: Actor, site_id: Any, **params: Any) -> httpx.Response:
    return await client.get(f"{API}/sites/{site_id}/reports", headers=actor.headers, params=params)


async def test_a_customer_user_reads_only_completed_reports_of_chosen_templates_on_its_sites(
    client, world, ctx
):
    manager = await make_manager(ctx, world, name="Paula Prüferin")
    async with ctx.database.sessionmaker.begin() as s:
        hidden_type = await make_ticket_type(s, tenant=world.tenant_a, name="Interne Nacharbeit")
    inspection = await published(
        client,
        manager,
        template_body(
            [
                *FINDINGS,
                ticket_element(world.type_a.id, key="reklamation"),
                ticket_element(hidden_type.id, key="intern", attach_pdf=False),
            ],
            name="Qualitätskontrolle Treppenhaus",
        ),
    )
    other = await published(client, manager, template_body(FINDINGS, name="Interne Arbeitsprüfung"))
    assert (await _settings(client, world, report_template_ids=[inspection["id"]])).status_code == 200

    answers = {"befund": "Handlauf staubig", "sauberkeit": 2, "reklamation": {}, "intern": {}}
    report = await _completed(client, manager, inspection["id"], world.site_a1.id, answers)
    assert len(report["ticket_ids"]) == 2
    newer = await _completed(client, manager, inspection["id"], world.site_a1.id, {"befund": "In Ordnung"})
    not_chosen = await _completed(client, manager, other["id"], world.site_a1.id, {"befund": "Werkzeug"})
    elsewhere = await _completed(client, manager, inspection["id"], world.site_a2.id, {"befund": "Altona"})
    draft = await submit(client, manager, inspection["id"], world.site_a1.id, {"befund": "halb"})
    assert draft.status_code == 201

    cux = world.customer_user_x
    r = await _reports(client, cux, world.site_a1.id)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [newer["id"], report["id"]]  # newest completion first
    first = items[1]
    assert first["template_name"] == "Qualitätskontrolle Treppenhaus"
    assert first["completed_by"] == {"name": "Paula Prüferin"}
    assert first["completed_at"] == report["completed_at"]
    # Only the raised ticket the customer user sees: its type is enabled for the customer, the other not.
    visible = (await client.get(f"{API}/tickets", headers=cux.headers)).json()["items"]
    assert first["ticket_ids"] == [t["id"] for t in visible if t["id"] in report["ticket_ids"]]
    assert len(first["ticket_ids"]) == 1
    # The tenant's employee sees both tickets.
    r = await _reports(client, manager, world.site_a1.id)
    assert [i["ticket_ids"] for i in r.json()["items"]][1] == report["ticket_ids"]

    # Paginated like every list: each item once.
    page = (await _reports(client, cux, world.site_a1.id, limit=1)).json()
    assert [i["id"] for i in page["items"]] == [newer["id"]] and page["next_cursor"]
    rest = (await _reports(client, cux, world.site_a1.id, limit=1, cursor=page["next_cursor"])).json()
    assert [i["id"] for i in rest["items"]] == [report["id"]] and rest["next_cursor"] is None

    pdf = await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=cux.headers)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert "Handlauf staubig" in pdf_text(pdf.content)

    # The refused side: another template, another site, a draft, the submission itself.
    for refused in (not_chosen["id"], elsewhere["id"], draft.json()["id"]):
        assert_problem(await client.get(f"{API}/form-submissions/{refused}/pdf", headers=cux.headers), 404)
    assert_problem(await client.get(f"{API}/form-submissions/{report['id']}", headers=cux.headers), 403)
    assert_problem(await client.get(f"{API}/form-submissions", headers=cux.headers), 403)
    assert_problem(await _reports(client, cux, world.site_a2.id), 404)
    assert_problem(await _reports(client, world.customer_user_x2, world.site_a1.id), 404)
    assert_problem(
        await client.get(
            f"{API}/form-submissions/{report['id']}/pdf", headers=world.customer_user_x2.headers
        ),
        404,
    )
    assert_problem(await _reports(client, world.customer_user_y, world.site_a1.id), 404)
    assert_problem(
        await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=world.customer_user_y.headers),
        404,
    )
    assert_problem(await _reports(client, world.employee_b, world.site_a1.id), 404)

    # Once the template is no report any more, its submissions are gone for the customer.
    assert (await _settings(client, world, report_template_ids=[])).status_code == 200
    assert (await _reports(client, cux, world.site_a1.id)).json()["items"] == []
    assert_problem(await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=cux.headers), 404)


async def test_report_templates_are_checked_kept_and_logged(client, world, ctx):
    manager = await make_manager(ctx, world)
    template = await published(client, manager, template_body(FINDINGS))
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(FINDINGS))
    unpublished = r.json()
    missing = "00000000-0000-4000-8000-000000000001"

    assert_problem(
        await _settings(client, world, report_template_ids=[template["id"], missing]),
        422,
        ["body", "report_template_ids", 1],
    )
    assert_problem(
        await _settings(client, world, report_template_ids=[template["id"]] * 201),
        422,
        ["body", "report_template_ids"],
    )
    # An admin who does not manage templates sees only published ones: a draft is unknown to it.
    async with ctx.database.sessionmaker.begin() as s:
        portal_admin = await make_employee(s, ctx, is_admin=True, permissions=["insight:manage"])
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=portal_admin.headers,
        json={"enabled_ticket_type_ids": [], "report_template_ids": [unpublished["id"]]},
    )
    assert_problem(r, 422, ["body", "report_template_ids", 0])
    # The template manager among the admins may name the draft.
    assert (await _settings(client, world, report_template_ids=[unpublished["id"]])).status_code == 200

    r = await _settings(client, world, report_template_ids=[template["id"], template["id"]])
    assert r.status_code == 200 and r.json()["report_template_ids"] == [template["id"]]
    got = await client.get(
        f"{API}/customers/{world.customer_x.id}/ticket-settings", headers=world.admin.headers
    )
    assert got.json()["report_template_ids"] == [template["id"]]
    changes = await client.get(f"{API}/customers/{world.customer_x.id}/changes", headers=world.admin.headers)
    latest = changes.json()["items"][0]
    assert latest["entity"] == "ticket_settings"
    assert latest["before"]["report_template_ids"] == [unpublished["id"]]
    assert latest["after"]["report_template_ids"] == [template["id"]]
    # PUT replaces the settings as a whole: left out, no report templates remain.
    r = await _settings(client, world)
    assert r.status_code == 200 and r.json()["report_template_ids"] == []


async def test_a_customer_users_token_reads_reports_and_their_pdf_with_tickets_read(client, world, ctx):
    manager = await make_manager(ctx, world)
    template = await published(client, manager, template_body(FINDINGS, name="Unterhaltsreinigung"))
    await _settings(client, world, report_template_ids=[template["id"]])
    report = await _completed(client, manager, template["id"], world.site_a1.id, {"befund": "sauber"})

    async def token(actor: Actor, scopes: list[str]) -> dict[str, str]:
        r = await client.post(
            f"{API}/api-tokens", headers=actor.headers, json={"name": "CAFM", "scopes": scopes}
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    customer = await token(world.customer_user_x, ["tickets:read"])
    r = await client.get(f"{API}/sites/{world.site_a1.id}/reports", headers=customer)
    assert [i["id"] for i in r.json()["items"]] == [report["id"]]
    r = await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=customer)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    # Employees read forms with `forms:read`: a tickets-only token of theirs does not reach the PDF.
    employee = await token(manager, ["tickets:read"])
    assert (await client.get(f"{API}/sites/{world.site_a1.id}/reports", headers=employee)).status_code == 200
    assert_problem(await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=employee), 403)
    employee_forms = await token(manager, ["forms:read"])
    assert (
        await client.get(f"{API}/form-submissions/{report['id']}/pdf", headers=employee_forms)
    ).status_code == 200


async def test_the_demo_customer_user_reads_a_report_and_the_demo_has_a_training_record(
    tmp_path, database_url, database
):
    app = create_app(make_settings(tmp_path, database_url, demo_data=True), database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:

            async def headers(email: str) -> dict[str, str]:
                r = await c.post(f"{API}/auth/token", data={"username": email, "password": DEMO_PASSWORD})
                assert r.status_code == 200, r.text
                return {"Authorization": f"Bearer {r.json()['access_token']}"}

            admin, employee, customer = [await headers(login.email) for login in DEMO_LOGINS]
            (site,) = (await c.get(f"{API}/sites", headers=customer)).json()["items"]
            (report,) = (await c.get(f"{API}/sites/{site['id']}/reports", headers=customer)).json()["items"]
            assert report["template_name"] == "Objektbegehung"
            assert report["completed_by"] == {"name": "Mia Mitarbeiter"}
            pdf = await c.get(f"{API}/form-submissions/{report['id']}/pdf", headers=customer)
            assert pdf.status_code == 200 and "Objektbegehung" in pdf_text(pdf.content)

            templates = (await c.get(f"{API}/form-templates", headers=admin)).json()["items"]
            training = next(t for t in templates if t["subject"] == "none")
            assert training["name"] == "Unterweisung Gefahrstoffe"
            # The author sees its training record; it names no site.
            own = (await c.get(f"{API}/form-submissions", headers=employee)).json()["items"]
            (record,) = [s for s in own if s["template_id"] == training["id"]]
            assert record["site_id"] is None and record["status"] == "completed"
