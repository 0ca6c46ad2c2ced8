"""Form templates: who may manage them, element rules, the seed's ticket element, versions, public links."""

from __future__ import annotations

import uuid

import pytest

from blink_api.forms.models import FormTemplate, FormTemplateVersion
from tests.forms_helpers import (
    create_template,
    make_filler,
    make_manager,
    publish,
    published,
    submit,
    template_body,
    ticket_element,
)
from tests.kit import API, assert_problem

EVERY_TYPE = [
    {"key": "kopf", "type": "heading", "label": "Eingangsbereich"},
    {"key": "pruefer", "type": "text", "label": "Name des Prüfers", "required": True},
    {"key": "bemerkung", "type": "textarea", "label": "Bemerkung", "help": "Was ist aufgefallen?"},
    {"key": "temperatur", "type": "number", "label": "Raumtemperatur", "min": 10, "max": 30},
    {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden", "required": True},
    {"key": "muell", "type": "yes_no", "label": "Mülleimer geleert?"},
    {"key": "zustand", "type": "choice", "label": "Zustand", "options": ["gut", "mittel", "schlecht"]},
    {"key": "maengel", "type": "multi_choice", "label": "Mängel", "options": ["Staub", "Flecken", "Glas"]},
    {"key": "datum", "type": "date", "label": "Datum der Begehung"},
    {"key": "foto", "type": "photo", "label": "Foto"},
    {"key": "unterschrift", "type": "signature", "label": "Unterschrift Kunde"},
]


async def test_only_template_managers_may_create_or_change_templates(client, world, ctx):
    manager = await make_manager(ctx, world)
    template = await create_template(client, manager, template_body(EVERY_TYPE[:2]))
    tid = template["id"]
    body = template_body(EVERY_TYPE[:2])
    # employee_a has no permission; insight_no_admin holds a different permission.
    for actor in (world.employee_a, world.insight_no_admin, world.admin_no_insight):
        h = actor.headers
        assert_problem(await client.post(f"{API}/form-templates", headers=h, json=body), 403)
        assert_problem(await client.patch(f"{API}/form-templates/{tid}", headers=h, json={"name": "X"}), 403)
        assert_problem(await client.put(f"{API}/form-templates/{tid}", headers=h, json=body), 403)
        assert_problem(await client.post(f"{API}/form-templates/{tid}/publish", headers=h), 403)
        assert_problem(await client.delete(f"{API}/form-templates/{tid}", headers=h), 403)
    assert_problem(await client.post(f"{API}/form-templates", json=body), 401)
    # Nothing of the refused attempts got through.
    r = await client.get(f"{API}/form-templates/{tid}", headers=manager.headers)
    assert r.json()["name"] == template["name"] and r.json()["status"] == "draft"
    r = await client.get(f"{API}/form-templates", headers=manager.headers)
    assert [t["id"] for t in r.json()["items"]] == [tid]


async def test_customer_users_are_refused_on_every_template_route(client, world, ctx):
    manager = await make_manager(ctx, world)
    tid = (await published(client, manager, template_body(EVERY_TYPE[:2])))["id"]
    h = world.customer_user_x.headers
    assert_problem(await client.get(f"{API}/form-templates", headers=h), 403)
    assert_problem(await client.get(f"{API}/form-templates/{tid}", headers=h), 403)
    assert_problem(await client.post(f"{API}/form-templates", headers=h, json=template_body([])), 403)
    assert_problem(await client.patch(f"{API}/form-templates/{tid}", headers=h, json={"name": "X"}), 403)
    assert_problem(await client.post(f"{API}/form-templates/{tid}/publish", headers=h), 403)


async def test_every_element_type_is_kept_as_sent(client, world, ctx):
    manager = await make_manager(ctx, world)
    elements = [*EVERY_TYPE, ticket_element(world.type_a.id)]
    created = await create_template(client, manager, template_body(elements))
    assert created["status"] == "draft" and created["version"] == 1
    assert created["published_version"] is None and created["public_token"] is None
    got = (await client.get(f"{API}/form-templates/{created['id']}", headers=manager.headers)).json()
    assert [e["key"] for e in got["elements"]] == [e["key"] for e in elements]
    assert [e["type"] for e in got["elements"]] == [e["type"] for e in elements]
    by_key = {e["key"]: e for e in got["elements"]}
    assert by_key["temperatur"]["min"] == 10 and by_key["temperatur"]["max"] == 30
    assert by_key["maengel"]["options"] == ["Staub", "Flecken", "Glas"]
    assert by_key["bemerkung"]["help"] == "Was ist aufgefallen?"
    assert by_key["pruefer"]["required"] is True


async def test_the_ticket_element_keeps_the_eight_settings_of_the_seed(client, world, ctx):
    manager = await make_manager(ctx, world)
    element = ticket_element(
        world.type_a.id,
        label="Nachreinigung nötig?",  # (1)
        help="Bei Bewertung 1 oder 2 bitte ausfüllen.",  # (2)
        title="Nachreinigung Treppenhaus",  # (4)
        description="Stufen und Handläufe reinigen.",  # (5)
        title_editable=True,  # (6)
        description_editable=False,  # (6)
        due_date_enabled=True,  # (7)
        attach_pdf=False,  # (8)
    )
    created = await create_template(client, manager, template_body([element]))
    got = (await client.get(f"{API}/form-templates/{created['id']}", headers=manager.headers)).json()
    stored = got["elements"][0]
    for field in (
        "label",
        "help",
        "ticket_type_id",  # (3)
        "title",
        "description",
        "title_editable",
        "description_editable",
        "due_date_enabled",
        "attach_pdf",
    ):
        assert stored[field] == element[field], field


@pytest.mark.parametrize("category", ["absence", "unknown"])
async def test_ticket_element_refuses_absence_and_unknown_ticket_types(client, world, ctx, category):
    manager = await make_manager(ctx, world)
    type_id = world.absence_a.id if category == "absence" else uuid.uuid4()
    elements = [{"key": "note", "type": "text", "label": "Notiz"}, ticket_element(type_id)]
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(elements))
    assert_problem(r, 422, ["body", "elements", 1, "ticket_type_id"])
    # Also when an existing template is changed to use it.
    tid = (await create_template(client, manager, template_body(elements[:1])))["id"]
    r = await client.patch(
        f"{API}/form-templates/{tid}", headers=manager.headers, json={"elements": elements}
    )
    assert_problem(r, 422, ["body", "elements", 1, "ticket_type_id"])
    items = (await client.get(f"{API}/form-templates", headers=manager.headers)).json()["items"]
    assert [e["key"] for e in items[0]["elements"]] == ["note"]


async def test_element_keys_must_be_unique(client, world, ctx):
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden"},
        {"key": "sauberkeit", "type": "text", "label": "Sauberkeit Fenster"},
    ]
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(elements))
    assert_problem(r, 422, ["body", "elements", 1, "key"])


@pytest.mark.parametrize(
    ("elements", "bad_index"),
    [
        # Unknown key.
        (
            [
                {"key": "a", "type": "rating", "label": "A"},
                {"key": "b", "type": "text", "label": "B"},
                {"key": "c", "type": "text", "label": "C"},
                {
                    "key": "d",
                    "type": "text",
                    "label": "D",
                    "visible_if": {"element": "zz", "op": "eq", "value": 1},
                },
            ],
            3,
        ),
        # A cycle: a depends on b and b on a.
        (
            [
                {
                    "key": "a",
                    "type": "yes_no",
                    "label": "A",
                    "visible_if": {"element": "b", "op": "eq", "value": True},
                },
                {
                    "key": "b",
                    "type": "yes_no",
                    "label": "B",
                    "visible_if": {"element": "a", "op": "eq", "value": True},
                },
            ],
            0,
        ),
        # Depends on itself.
        (
            [
                {"key": "a", "type": "rating", "label": "A"},
                {
                    "key": "b",
                    "type": "rating",
                    "label": "B",
                    "visible_if": {"element": "b", "op": "lte", "value": 2},
                },
            ],
            1,
        ),
        # Refers to a later element.
        (
            [
                {
                    "key": "a",
                    "type": "text",
                    "label": "A",
                    "visible_if": {"element": "b", "op": "eq", "value": 3},
                },
                {"key": "b", "type": "rating", "label": "B"},
            ],
            0,
        ),
    ],
    ids=["unknown-key", "cycle", "self", "forward"],
)
async def test_visible_if_must_point_to_an_earlier_element(client, world, ctx, elements, bad_index):
    manager = await make_manager(ctx, world)
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(elements))
    assert_problem(r, 422, ["body", "elements", bad_index, "visible_if", "element"])
    assert (await client.get(f"{API}/form-templates", headers=manager.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("target", "op", "value"),
    [
        ({"type": "rating"}, "lte", "2"),
        ({"type": "rating"}, "eq", 6),
        ({"type": "number"}, "eq", {"x": 1}),
        ({"type": "number"}, "gt", True),
        ({"type": "date"}, "gte", 5),
        ({"type": "date"}, "lt", "2027-02-30"),
        ({"type": "yes_no"}, "eq", "ja"),
        ({"type": "text"}, "eq", 3),
        ({"type": "choice", "options": ["gut", "schlecht"]}, "eq", "mittel"),
        ({"type": "choice", "options": ["gut", "schlecht"]}, "in", ["gut", 1]),
        ({"type": "multi_choice", "options": ["Boden", "Glas"]}, "in", ["Decke"]),
        ({"type": "multi_choice", "options": ["Boden", "Glas"]}, "eq", "Boden"),
    ],
)
async def test_a_condition_no_answer_could_meet_is_refused(client, world, ctx, target, op, value):
    """Such a condition would hide its element for good: a required one would never be asked for."""
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "a", "label": "A", **target},
        {
            "key": "b",
            "type": "text",
            "label": "B",
            "required": True,
            "visible_if": {"element": "a", "op": op, "value": value},
        },
    ]
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(elements))
    assert_problem(r, 422, ["body", "elements", 1, "visible_if", "value"])


@pytest.mark.parametrize(
    ("target", "op", "value"),
    [
        ({"type": "rating"}, "lte", 2),
        ({"type": "number", "min": 1}, "lt", 0.5),  # a bound of the answer is no bound of a comparison
        ({"type": "date"}, "gte", "2027-01-01"),
        ({"type": "yes_no"}, "eq", False),
        ({"type": "choice", "options": ["gut", "schlecht"]}, "in", ["schlecht"]),
        ({"type": "multi_choice", "options": ["Boden", "Glas"]}, "in", ["Glas"]),
        ({"type": "multi_choice", "options": ["Boden", "Glas"]}, "eq", ["Boden", "Glas"]),
    ],
)
async def test_a_condition_an_answer_can_meet_is_taken(client, world, ctx, target, op, value):
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "a", "label": "A", **target},
        {"key": "b", "type": "text", "label": "B", "visible_if": {"element": "a", "op": op, "value": value}},
    ]
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(elements))
    assert r.status_code == 201, r.text


async def test_visible_if_refuses_an_unknown_operator(client, world, ctx):
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "a", "type": "rating", "label": "A"},
        {"key": "b", "type": "text", "label": "B", "visible_if": {"element": "a", "op": "like", "value": 2}},
    ]
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(elements))
    body = assert_problem(r, 422)
    # The path names the element and the operator (a discriminator tag in between is tolerated).
    locs = [e["loc"] for e in body["errors"]]
    assert any(loc[:3] == ["body", "elements", 1] and loc[-2:] == ["visible_if", "op"] for loc in locs), locs


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "lte", "gt", "gte", "in"])
async def test_visible_if_accepts_every_listed_operator(client, world, ctx, op):
    manager = await make_manager(ctx, world)
    value = [1, 2] if op == "in" else 2
    elements = [
        {"key": "a", "type": "rating", "label": "A"},
        {"key": "b", "type": "text", "label": "B", "visible_if": {"element": "a", "op": op, "value": value}},
    ]
    created = await create_template(client, manager, template_body(elements))
    assert created["elements"][1]["visible_if"] == {"element": "a", "op": op, "value": value}


@pytest.mark.parametrize(
    "element",
    [
        {"key": "n", "type": "number", "label": "Fläche", "min": 10, "max": 5},
        {"key": "c", "type": "choice", "label": "Zustand", "options": []},
        {"key": "m", "type": "multi_choice", "label": "Mängel"},
        {"key": "x", "type": "checkbox", "label": "Unbekannt"},
        {"key": "r", "type": "rating", "label": ""},
    ],
    ids=["min-above-max", "no-options", "options-missing", "unknown-type", "empty-label"],
)
async def test_malformed_elements_are_refused(client, world, ctx, element):
    manager = await make_manager(ctx, world)
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body([element]))
    body = assert_problem(r, 422)
    assert all(e["loc"][:3] == ["body", "elements", 0] for e in body["errors"]), body


async def test_a_public_template_with_a_ticket_element_is_refused_on_save(client, world, ctx):
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit"},
        ticket_element(world.type_a.id, key="nachreinigung"),
    ]
    r = await client.post(
        f"{API}/form-templates", headers=manager.headers, json=template_body(elements, is_public=True)
    )
    body = assert_problem(r, 422, ["body", "elements", 1])
    assert "nachreinigung" in body["detail"]
    # Made public afterwards (PATCH), or replaced as a public one (PUT): refused the same way.
    tid = (await create_template(client, manager, template_body(elements)))["id"]
    r = await client.patch(f"{API}/form-templates/{tid}", headers=manager.headers, json={"is_public": True})
    assert "nachreinigung" in assert_problem(r, 422, ["body", "elements", 1])["detail"]
    r = await client.put(
        f"{API}/form-templates/{tid}", headers=manager.headers, json=template_body(elements, is_public=True)
    )
    assert "nachreinigung" in assert_problem(r, 422, ["body", "elements", 1])["detail"]
    # A public template that gains a ticket element is refused too.
    pid = (await create_template(client, manager, template_body(elements[:1], is_public=True)))["id"]
    r = await client.patch(
        f"{API}/form-templates/{pid}", headers=manager.headers, json={"elements": elements}
    )
    assert "nachreinigung" in assert_problem(r, 422, ["body", "elements", 1])["detail"]
    got = (await client.get(f"{API}/form-templates/{tid}", headers=manager.headers)).json()
    assert got["is_public"] is False


async def test_a_public_template_with_a_ticket_element_is_refused_on_publish(client, world, ctx):
    manager = await make_manager(ctx, world)
    # A draft the API would never have let through (e.g. written before the rule existed):
    # publishing must check again rather than trust what is stored.
    async with ctx.database.sessionmaker.begin() as s:
        template = FormTemplate(created_by_id=manager.id, latest_version=1)
        s.add(template)
        await s.flush()
        s.add(
            FormTemplateVersion(
                template_id=template.id,
                version=1,
                name="Altbestand",
                is_public=True,
                elements=[
                    {"key": "hinweis", "type": "text", "label": "Hinweis"},
                    ticket_element(world.type_a.id, key="reinigung_ticket"),
                ],
            )
        )
        tid = template.id
    r = await client.post(f"{API}/form-templates/{tid}/publish", headers=manager.headers)
    body = assert_problem(r, 422)
    assert "reinigung_ticket" in body["detail"]
    got = (await client.get(f"{API}/form-templates/{tid}", headers=manager.headers)).json()
    assert got["status"] == "draft" and got["published_version"] is None and got["public_token"] is None


async def test_publishing_freezes_a_version_and_editing_makes_the_next_one(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    v1_elements = [{"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden"}]
    tid = (await create_template(client, manager, template_body(v1_elements)))["id"]
    # Drafts are not fillable and invisible to plain employees.
    assert (await client.get(f"{API}/form-templates/{tid}", headers=filler.headers)).status_code == 404
    r = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 3})
    # SPEC names no code for submitting a draft: the service answers 422 (the template is invalid input).
    assert r.status_code == 422, r.text
    v1 = await publish(client, manager, tid)
    assert v1["status"] == "published" and v1["version"] == 1 and v1["published_version"] == 1
    first = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 3})
    assert first.status_code == 201, first.text
    assert first.json()["template_version"] == 1

    # PATCH on the published version: version 2, a draft; version 1 stays what employees fill.
    r = await client.patch(
        f"{API}/form-templates/{tid}",
        headers=manager.headers,
        json={"elements": [*v1_elements, {"key": "fenster", "type": "yes_no", "label": "Fenster geputzt?"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["status"] == "draft" and r.json()["published_version"] == 1
    seen = (await client.get(f"{API}/form-templates/{tid}", headers=filler.headers)).json()
    assert seen["version"] == 1 and [e["key"] for e in seen["elements"]] == ["sauberkeit"]
    r = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 3, "fenster": True})
    assert_problem(r, 422, ["body", "answers", "fenster"])

    await publish(client, manager, tid)
    second = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 4, "fenster": True})
    assert second.status_code == 201, second.text
    assert second.json()["template_version"] == 2
    # The earlier submission still points at the version it was filled against.
    old = (await client.get(f"{API}/form-submissions/{first.json()['id']}", headers=filler.headers)).json()
    assert old["template_version"] == 1

    # PUT on the published version 2 makes version 3.
    r = await client.put(
        f"{API}/form-templates/{tid}", headers=manager.headers, json=template_body(v1_elements, name="Neu")
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3 and r.json()["name"] == "Neu" and r.json()["published_version"] == 2
    seen = (await client.get(f"{API}/form-templates/{tid}", headers=filler.headers)).json()
    assert seen["version"] == 2 and seen["name"] == "Objektbegehung Qualität"


async def test_editing_a_draft_changes_it_in_place(client, world, ctx):
    manager = await make_manager(ctx, world)
    tid = (await create_template(client, manager, template_body([])))["id"]
    r = await client.patch(
        f"{API}/form-templates/{tid}", headers=manager.headers, json={"name": "Begehung Süd"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["name"] == "Begehung Süd"


async def test_a_published_public_form_works_through_its_link_without_login(client, world, ctx):
    manager = await make_manager(ctx, world)
    elements = [
        {"key": "name", "type": "text", "label": "Ihr Name", "required": True},
        {"key": "zufrieden", "type": "rating", "label": "Zufriedenheit mit der Reinigung", "required": True},
        {
            "key": "warum",
            "type": "textarea",
            "label": "Was können wir besser machen?",
            "visible_if": {"element": "zufrieden", "op": "lte", "value": 2},
        },
    ]
    draft = await create_template(
        client, manager, template_body(elements, is_public=True, name="Kundenumfrage")
    )
    assert draft["public_token"] is None
    template = await publish(client, manager, draft["id"])
    token = template["public_token"]
    assert token

    r = await client.get(f"{API}/public/forms/{token}")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Kundenumfrage" and [e["key"] for e in r.json()["elements"]] == [
        "name",
        "zufrieden",
        "warum",
    ]
    url = f"{API}/public/forms/{token}/submissions"
    r = await client.post(url, json={"answers": {"name": "Frau Weiß", "zufrieden": 1, "warum": "Flur"}})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "completed"
    # Answers are checked like any other submission.
    assert_problem(
        await client.post(url, json={"answers": {"zufrieden": 9, "name": "A"}}),
        422,
        ["body", "answers", "zufrieden"],
    )
    assert_problem(
        await client.post(url, json={"answers": {"zufrieden": 4}}), 422, ["body", "answers", "name"]
    )
    # Never a ticket.
    tickets = (await client.get(f"{API}/tickets", headers=world.admin.headers)).json()["items"]
    assert tickets == []
    # The submission is there for the template manager, unattached to a site.
    subs = (await client.get(f"{API}/form-submissions", headers=manager.headers)).json()["items"]
    assert len(subs) == 1 and subs[0]["site_id"] is None and subs[0]["status"] == "completed"
    assert subs[0]["answers"] == {"name": "Frau Weiß", "zufrieden": 1, "warum": "Flur"}


async def test_unknown_unpublished_and_no_longer_public_tokens_answer_404(client, world, ctx):
    manager = await make_manager(ctx, world)
    assert_problem(await client.get(f"{API}/public/forms/not-a-token"), 404)
    assert_problem(
        await client.post(f"{API}/public/forms/not-a-token/submissions", json={"answers": {}}), 404
    )
    elements = [{"key": "name", "type": "text", "label": "Name"}]
    # A non-public published template has no link.
    private = await published(client, manager, template_body(elements))
    assert private["public_token"] is None
    # A public one loses its link when it is republished as non-public.
    public = await published(client, manager, template_body(elements, is_public=True))
    token = public["public_token"]
    assert (await client.get(f"{API}/public/forms/{token}")).status_code == 200
    r = await client.patch(
        f"{API}/form-templates/{public['id']}", headers=manager.headers, json={"is_public": False}
    )
    assert r.status_code == 200, r.text
    # The change is only a draft so far: the published public version still answers.
    assert (await client.get(f"{API}/public/forms/{token}")).status_code == 200
    await publish(client, manager, public["id"])
    assert_problem(await client.get(f"{API}/public/forms/{token}"), 404)
    assert_problem(await client.post(f"{API}/public/forms/{token}/submissions", json={"answers": {}}), 404)


async def test_a_public_token_of_a_template_whose_published_version_is_not_public_answers_404(
    client, world, ctx
):
    manager = await make_manager(ctx, world)
    elements = [{"key": "name", "type": "text", "label": "Name"}]
    public = await published(client, manager, template_body(elements, is_public=True))
    # Even if the token were still stored, a published version that is not public must not answer.
    async with ctx.database.sessionmaker.begin() as s:
        template = await s.get(FormTemplate, uuid.UUID(public["id"]))
        s.add(
            FormTemplateVersion(
                template_id=template.id,
                version=2,
                name="Intern",
                is_public=False,
                elements=elements,
                published_at=template.created_at,
            )
        )
        template.latest_version = 2
        template.published_version = 2
    assert_problem(await client.get(f"{API}/public/forms/{public['public_token']}"), 404)
