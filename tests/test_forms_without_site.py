"""Forms filled in about no site (training records, personnel questionnaires): no site, no tickets, and
seen only by their author and template managers."""

from __future__ import annotations

from typing import Any

from tests.factories import make_employee
from tests.forms_helpers import (
    create_template,
    make_filler,
    make_manager,
    pdf_text,
    published,
    submit,
    template_body,
    ticket_element,
)
from tests.kit import API, assert_problem

TRAINING = [
    {"key": "thema", "type": "text", "label": "Thema", "required": True},
    {"key": "verstanden", "type": "yes_no", "label": "Inhalt verstanden?", "required": True},
    {"key": "unterschrift", "type": "text", "label": "Name in Druckbuchstaben"},
]
ANSWERS: dict[str, Any] = {"thema": "Gefahrstoffe im Reinigungswagen", "verstanden": True}


def training(**overrides: Any) -> dict[str, Any]:
    return template_body(TRAINING, name="Unterweisung Gefahrstoffe", subject="none", **overrides)


async def _create(client, actor, template_id: str, **body: Any):
    return await client.post(
        f"{API}/form-submissions",
        headers=actor.headers,
        json={"template_id": template_id, "answers": ANSWERS, **body},
    )


async def test_a_template_about_no_site_holds_no_ticket_element(client, world, ctx):
    manager = await make_manager(ctx, world)
    body = template_body([*TRAINING, ticket_element(world.type_a.id)], subject="none")
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=body)
    assert_problem(r, 422, ["body", "elements", 3])

    # Made `none` later, or given a ticket element later: refused on save all the same.
    site_form = await create_template(client, manager, template_body([ticket_element(world.type_a.id)]))
    r = await client.patch(
        f"{API}/form-templates/{site_form['id']}", headers=manager.headers, json={"subject": "none"}
    )
    assert_problem(r, 422, ["body", "elements", 0])
    none_form = await create_template(client, manager, training())
    assert none_form["subject"] == "none"
    r = await client.put(
        f"{API}/form-templates/{none_form['id']}",
        headers=manager.headers,
        json={**training(), "elements": [ticket_element(world.type_a.id)]},
    )
    assert_problem(r, 422, ["body", "elements", 0])
    # Nothing of it was saved: the template still publishes as it was.
    r = await client.post(f"{API}/form-templates/{none_form['id']}/publish", headers=manager.headers)
    assert r.status_code == 200 and r.json()["elements"] == none_form["elements"]

    # What a published template is filled in about stays.
    r = await client.patch(
        f"{API}/form-templates/{none_form['id']}", headers=manager.headers, json={"subject": "site"}
    )
    assert_problem(r, 409)
    # The default is `site`.
    assert site_form["subject"] == "site"


async def test_a_submission_names_a_site_exactly_when_its_template_is_about_one(client, world, ctx):
    manager = await make_manager(ctx, world)
    none_form = await published(client, manager, training())
    site_form = await published(client, manager, template_body(TRAINING))

    assert_problem(
        await _create(client, manager, none_form["id"], site_id=str(world.site_a1.id)),
        422,
        ["body", "site_id"],
    )
    assert_problem(await _create(client, manager, site_form["id"]), 422, ["body", "site_id"])
    assert_problem(await _create(client, manager, site_form["id"], site_id=None), 422, ["body", "site_id"])

    r = await _create(client, manager, none_form["id"], site_id=None)
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["site_id"] is None
    r = await client.patch(
        f"{API}/form-submissions/{draft['id']}",
        headers=manager.headers,
        json={"site_id": str(world.site_a1.id)},
    )
    assert_problem(r, 422, ["body", "site_id"])
    r = await client.post(f"{API}/form-submissions/{draft['id']}/complete", headers=manager.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["site_id"] is None and r.json()["ticket_ids"] == []
    pdf = await client.get(f"{API}/form-submissions/{draft['id']}/pdf", headers=manager.headers)
    assert pdf.status_code == 200 and "Gefahrstoffe im Reinigungswagen" in pdf_text(pdf.content)


async def test_only_the_author_and_template_managers_see_a_submission_about_no_site(client, world, ctx):
    manager = await make_manager(ctx, world)
    author = await make_filler(ctx, world, name="Jonas Azubi")
    colleague = await make_filler(ctx, world, name="Kai Kollege")
    async with ctx.database.sessionmaker.begin() as s:
        plain_admin = await make_employee(s, ctx, is_admin=True, tenants=[world.tenant_a])
    none_form = await published(client, manager, training())
    r = await _create(client, author, none_form["id"], complete=True)
    assert r.status_code == 201, r.text
    mine = r.json()
    site_form = await published(client, manager, template_body(TRAINING))
    on_site = await submit(client, colleague, site_form["id"], world.site_a1.id, ANSWERS)
    assert on_site.status_code == 201

    for who in (author, manager, world.admin):  # world.admin manages templates
        assert (
            await client.get(f"{API}/form-submissions/{mine['id']}", headers=who.headers)
        ).status_code == 200
        listed = (await client.get(f"{API}/form-submissions", headers=who.headers)).json()["items"]
        assert mine["id"] in [i["id"] for i in listed]
    for who in (colleague, plain_admin, world.employee_a, world.employee_b):
        assert_problem(await client.get(f"{API}/form-submissions/{mine['id']}", headers=who.headers), 404)
        assert_problem(await client.get(f"{API}/form-submissions/{mine['id']}/pdf", headers=who.headers), 404)
        listed = (await client.get(f"{API}/form-submissions", headers=who.headers)).json()["items"]
        assert mine["id"] not in [i["id"] for i in listed]
    # The plain admin still sees every site's submissions; the colleague its own site's.
    listed = (await client.get(f"{API}/form-submissions", headers=plain_admin.headers)).json()["items"]
    assert on_site.json()["id"] in [i["id"] for i in listed]
    assert_problem(
        await client.get(f"{API}/form-submissions/{mine['id']}", headers=world.customer_user_x.headers), 403
    )
    assert_problem(
        await client.get(f"{API}/form-submissions/{mine['id']}/pdf", headers=world.customer_user_x.headers),
        404,
    )


async def test_a_public_form_about_no_site_is_seen_by_template_managers_only(client, world, ctx):
    manager = await make_manager(ctx, world)
    async with ctx.database.sessionmaker.begin() as s:
        plain_admin = await make_employee(s, ctx, is_admin=True)
    form = await published(client, manager, training(is_public=True))
    r = await client.post(f"{API}/public/forms/{form['public_token']}/submissions", json={"answers": ANSWERS})
    assert r.status_code == 201, r.text
    submission_id = r.json()["id"]
    got = await client.get(f"{API}/form-submissions/{submission_id}", headers=manager.headers)
    assert got.status_code == 200 and got.json()["site_id"] is None and got.json()["created_by"] is None
    assert_problem(
        await client.get(f"{API}/form-submissions/{submission_id}", headers=plain_admin.headers), 404
    )
