"""Form submissions: checked answers, drafts, uploads, scopes, and the one-time completion raising tickets."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import make_employee
from tests.forms_helpers import (
    MANAGE,
    make_filler,
    make_manager,
    photo_jpeg,
    published,
    signature_png,
    submit,
    template_body,
    ticket_element,
    upload,
    upload_id,
)
from tests.kit import API, assert_problem

CHECKED = [
    {"key": "pruefer", "type": "text", "label": "Prüfer", "required": True},
    {"key": "flaeche", "type": "number", "label": "Fläche m²", "min": 0, "max": 500},
    {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden"},
    {"key": "muell", "type": "yes_no", "label": "Mülleimer geleert?"},
    {"key": "zustand", "type": "choice", "label": "Zustand", "options": ["gut", "mittel", "schlecht"]},
    {"key": "maengel", "type": "multi_choice", "label": "Mängel", "options": ["Staub", "Flecken", "Glas"]},
    {"key": "datum", "type": "date", "label": "Datum"},
]
GOOD = {
    "pruefer": "Jürgen Groß",
    "flaeche": 120.5,
    "sauberkeit": 4,
    "muell": True,
    "zustand": "gut",
    "maengel": ["Staub", "Glas"],
    "datum": "2026-03-14",
}


async def tickets_of(client, actor) -> list[dict]:
    r = await client.get(f"{API}/tickets", headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_valid_answers_of_every_type_are_recorded(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(CHECKED)))["id"]
    r = await submit(client, filler, tid, world.site_a1.id, GOOD, complete=True)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "completed" and sub["completed_at"] and sub["ticket_ids"] == []
    assert sub["answers"] == GOOD and sub["site_id"] == str(world.site_a1.id)
    assert sub["created_by"] == str(filler.id) and sub["template_version"] == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("flaeche", -1),
        ("flaeche", 500.01),
        ("flaeche", "120"),
        ("sauberkeit", 0),
        ("sauberkeit", 6),
        ("sauberkeit", 2.5),
        ("sauberkeit", "3"),
        ("sauberkeit", True),
        ("muell", "ja"),
        ("zustand", "sehr gut"),
        ("maengel", ["Staub", "Schimmel"]),
        ("maengel", "Staub"),
        ("maengel", ["Staub", "Staub"]),
        ("datum", "14.03.2026"),
        ("datum", "2026-02-30"),
        ("pruefer", 42),
        ("unbekannt", "x"),
    ],
)
async def test_wrong_answers_are_refused_with_their_path(client, world, ctx, key, value):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(CHECKED)))["id"]
    r = await submit(client, filler, tid, world.site_a1.id, {**GOOD, key: value})
    assert_problem(r, 422, ["body", "answers", key])
    r = await client.get(f"{API}/form-submissions", headers=filler.headers)
    assert r.json()["items"] == []


async def test_required_elements_are_enforced_on_completion_only(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(CHECKED)))["id"]
    answers = {k: v for k, v in GOOD.items() if k != "pruefer"}
    assert_problem(
        await submit(client, filler, tid, world.site_a1.id, answers, complete=True),
        422,
        ["body", "answers", "pruefer"],
    )
    # Blank text is no answer either.
    r = await submit(client, filler, tid, world.site_a1.id, {**answers, "pruefer": ""}, complete=True)
    assert_problem(r, 422, ["body", "answers", "pruefer"])
    # A draft may be incomplete, but completing it later checks again.
    r = await submit(client, filler, tid, world.site_a1.id, answers)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["completed_at"] is None
    r = await client.post(f"{API}/form-submissions/{sid}/complete", headers=filler.headers)
    assert_problem(r, 422, ["body", "answers", "pruefer"])
    assert (await client.get(f"{API}/form-submissions/{sid}", headers=filler.headers)).json()[
        "status"
    ] == "draft"
    r = await client.patch(
        f"{API}/form-submissions/{sid}",
        headers=filler.headers,
        json={"answers": {**answers, "pruefer": "Ute"}},
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/form-submissions/{sid}/complete", headers=filler.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["answers"]["pruefer"] == "Ute"


async def test_false_and_zero_count_as_answers_of_required_elements(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [
        {"key": "muell", "type": "yes_no", "label": "Mülleimer geleert?", "required": True},
        {"key": "defekte", "type": "number", "label": "Defekte Lampen", "required": True, "min": 0},
    ]
    tid = (await published(client, manager, template_body(elements)))["id"]
    r = await submit(client, filler, tid, world.site_a1.id, {"muell": False, "defekte": 0}, complete=True)
    assert r.status_code == 201, r.text
    assert r.json()["answers"] == {"muell": False, "defekte": 0}


async def test_hidden_elements_are_neither_required_nor_checked_nor_recorded(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit", "required": True},
        {
            "key": "grund",
            "type": "textarea",
            "label": "Warum so schlecht?",
            "required": True,
            "visible_if": {"element": "sauberkeit", "op": "lte", "value": 2},
        },
        # Hidden whenever its own condition's element is hidden.
        {
            "key": "foto_noetig",
            "type": "yes_no",
            "label": "Foto nötig?",
            "visible_if": {"element": "grund", "op": "ne", "value": ""},
        },
        {
            "key": "bereich",
            "type": "choice",
            "label": "Bereich",
            "options": ["Flur", "Küche"],
            "visible_if": {"element": "sauberkeit", "op": "in", "value": [1, 2, 3]},
        },
    ]
    tid = (await published(client, manager, template_body(elements)))["id"]
    # Rating 5 hides the rest: the required reason is not asked, and answers to hidden elements
    # (even malformed ones) are dropped rather than stored.
    r = await submit(
        client,
        filler,
        tid,
        world.site_a1.id,
        {"sauberkeit": 5, "grund": "egal", "foto_noetig": "kaputt", "bereich": "Dach"},
        complete=True,
    )
    assert r.status_code == 201, r.text
    assert r.json()["answers"] == {"sauberkeit": 5}
    # Rating 1 shows them: the reason becomes required and answers are checked.
    r = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 1}, complete=True)
    assert_problem(r, 422, ["body", "answers", "grund"])
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "grund": "Staub", "bereich": "Dach"}
    )
    assert_problem(r, 422, ["body", "answers", "bereich"])
    r = await submit(
        client,
        filler,
        tid,
        world.site_a1.id,
        {"sauberkeit": 3, "grund": "Staub", "foto_noetig": True, "bereich": "Küche"},
        complete=True,
    )
    assert r.status_code == 201, r.text
    # Rating 3 hides "grund" and so also "foto_noetig" which depends on it.
    assert r.json()["answers"] == {"sauberkeit": 3, "bereich": "Küche"}


async def test_drafts_change_only_by_their_submitter_and_never_once_completed(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    colleague = await make_filler(ctx, world, name="Kollegin Schäfer")
    tid = (await published(client, manager, template_body(CHECKED)))["id"]
    r = await submit(client, filler, tid, world.site_a1.id, {"pruefer": "Jürgen"})
    sid = r.json()["id"]
    url = f"{API}/form-submissions/{sid}"
    r = await client.patch(
        url, headers=filler.headers, json={"answers": {"pruefer": "Jürgen", "sauberkeit": 2}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["answers"] == {"pruefer": "Jürgen", "sauberkeit": 2}
    r = await client.patch(url, headers=filler.headers, json={"site_id": str(world.site_a2.id)})
    assert r.status_code == 200 and r.json()["site_id"] == str(world.site_a2.id), r.text
    # A colleague of the same tenant sees the draft but may neither change nor complete it.
    assert (await client.get(url, headers=colleague.headers)).status_code == 200
    assert_problem(await client.patch(url, headers=colleague.headers, json={"answers": {}}), 403)
    assert_problem(await client.post(f"{url}/complete", headers=colleague.headers), 403)
    # PATCH answers are checked as well.
    assert_problem(
        await client.patch(url, headers=filler.headers, json={"answers": {"sauberkeit": 7}}),
        422,
        ["body", "answers", "sauberkeit"],
    )
    r = await client.post(f"{url}/complete", headers=filler.headers)
    assert r.status_code == 200, r.text
    assert_problem(await client.patch(url, headers=filler.headers, json={"answers": {"pruefer": "X"}}), 409)
    assert_problem(
        await client.patch(url, headers=colleague.headers, json={"answers": {"pruefer": "X"}}), 403
    )
    got = (await client.get(url, headers=filler.headers)).json()
    assert got["answers"] == {"pruefer": "Jürgen", "sauberkeit": 2} and got["status"] == "completed"


async def test_sites_outside_the_employees_tenants_answer_404(client, world, ctx):
    manager = await make_manager(ctx, world)
    tid = (await published(client, manager, template_body(CHECKED)))["id"]
    r = await submit(client, world.employee_a, tid, world.site_b1.id, GOOD)
    assert_problem(r, 404)
    r = await submit(client, world.employee_a, tid, world.site_a1.id, GOOD)
    sid = r.json()["id"]
    r = await client.patch(
        f"{API}/form-submissions/{sid}",
        headers=world.employee_a.headers,
        json={"site_id": str(world.site_b1.id)},
    )
    assert_problem(r, 404)
    # Tenant B's employee cannot see tenant A's submission at all.
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/complete"), ("GET", "/pdf")):
        kwargs = {"json": {"answers": {}}} if method == "PATCH" else {}
        r = await client.request(
            method, f"{API}/form-submissions/{sid}{path}", headers=world.employee_b.headers, **kwargs
        )
        assert_problem(r, 404)
    assert (await client.get(f"{API}/form-submissions", headers=world.employee_b.headers)).json()[
        "items"
    ] == []


async def test_customer_users_are_refused_on_every_submission_route(client, world, ctx):
    manager = await make_manager(ctx, world)
    tid = (await published(client, manager, template_body(CHECKED)))["id"]
    sid = (await submit(client, world.employee_a, tid, world.site_a1.id, GOOD)).json()["id"]
    h = world.customer_user_x.headers
    assert_problem(await client.get(f"{API}/form-submissions", headers=h), 403)
    body = {"template_id": tid, "site_id": str(world.site_a1.id), "answers": GOOD}
    assert_problem(await client.post(f"{API}/form-submissions", headers=h, json=body), 403)
    assert_problem(await client.get(f"{API}/form-submissions/{sid}", headers=h), 403)
    assert_problem(await client.patch(f"{API}/form-submissions/{sid}", headers=h, json={"answers": {}}), 403)
    assert_problem(await client.post(f"{API}/form-submissions/{sid}/complete", headers=h), 403)
    # The PDF is the one part customer users may read, of their reports only: anything else is 404.
    assert_problem(await client.get(f"{API}/form-submissions/{sid}/pdf", headers=h), 404)
    assert (await client.get(f"{API}/form-submissions/{sid}", headers=world.employee_a.headers)).json()[
        "status"
    ] == "draft"


# -- photos and signatures -----------------------------------------------------------------------

PHOTO_FORM = [
    {"key": "foto", "type": "photo", "label": "Foto Eingangsbereich", "required": True},
    {"key": "unterschrift", "type": "signature", "label": "Unterschrift"},
]


async def test_photos_and_signatures_reference_own_image_uploads(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(PHOTO_FORM)))["id"]
    # The type is sniffed from the bytes, whatever the name says.
    r = await upload(client, filler, photo_jpeg(), "IMG_2041.txt")
    assert r.status_code == 201, r.text
    photo = r.json()["items"][0]
    assert photo["content_type"] == "image/jpeg" and photo["ticket_id"] is None
    signature = await upload_id(client, filler, signature_png(), "unterschrift.png")
    r = await submit(
        client, filler, tid, world.site_a1.id, {"foto": photo["id"], "unterschrift": signature}, complete=True
    )
    assert r.status_code == 201, r.text
    assert r.json()["answers"] == {"foto": photo["id"], "unterschrift": signature}


async def test_someone_elses_upload_is_refused(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    colleague = await make_filler(ctx, world, name="Kollege")
    tid = (await published(client, manager, template_body(PHOTO_FORM)))["id"]
    foreign = await upload_id(client, colleague, photo_jpeg())
    r = await submit(client, filler, tid, world.site_a1.id, {"foto": foreign}, complete=True)
    assert_problem(r, 422, ["body", "answers", "foto"])
    own = await upload_id(client, filler, photo_jpeg(seed=3))
    r = await submit(client, filler, tid, world.site_a1.id, {"foto": own, "unterschrift": foreign})
    assert_problem(r, 422, ["body", "answers", "unterschrift"])
    # An id that is no upload at all.
    r = await submit(client, filler, tid, world.site_a1.id, {"foto": "00000000-0000-4000-8000-000000000000"})
    assert_problem(r, 422, ["body", "answers", "foto"])
    assert_problem(
        await submit(client, filler, tid, world.site_a1.id, {"foto": "foto.jpg"}),
        422,
        ["body", "answers", "foto"],
    )
    assert (await client.get(f"{API}/form-submissions", headers=filler.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"Protokoll der Begehung\nalles sauber\n", "foto.jpg"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "foto.pdf"),
    ],
    ids=["text", "pdf"],
)
async def test_a_non_image_upload_is_refused_as_photo_or_signature(client, world, ctx, data, name):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(PHOTO_FORM)))["id"]
    document = await upload_id(client, filler, data, name)
    r = await submit(client, filler, tid, world.site_a1.id, {"foto": document}, complete=True)
    assert_problem(r, 422, ["body", "answers", "foto"])
    photo = await upload_id(client, filler, photo_jpeg())
    r = await submit(client, filler, tid, world.site_a1.id, {"foto": photo, "unterschrift": document})
    assert_problem(r, 422, ["body", "answers", "unterschrift"])


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x7fELF\x02\x01\x01\x00" + bytes(200), "foto.jpg"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200), "unterschrift.png"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(100), "bilder.gz"),
    ],
    ids=["elf", "exe", "gzip"],
)
async def test_uploads_refuse_types_outside_the_allow_list(client, world, ctx, data, name):
    filler = await make_filler(ctx, world)
    assert_problem(await upload(client, filler, data, name), 415)


async def test_an_upload_needs_a_login(client, world):
    r = await client.post(f"{API}/uploads", files=[("files", ("foto.jpg", photo_jpeg(), "image/jpeg"))])
    assert_problem(r, 401)


# -- completion and tickets ----------------------------------------------------------------------


def inspection(type_id, **ticket_overrides) -> list[dict]:
    return [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden", "required": True},
        ticket_element(
            type_id, visible_if={"element": "sauberkeit", "op": "lte", "value": 2}, **ticket_overrides
        ),
    ]


async def test_completion_raises_a_ticket_that_follows_the_ticket_rules(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(inspection(world.type_a.id))))["id"]
    r = await submit(
        client, filler, tid, world.site_a2.id, {"sauberkeit": 2, "nachreinigung": {}}, complete=True
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "completed" and len(sub["ticket_ids"]) == 1
    ticket = (await client.get(f"{API}/tickets/{sub['ticket_ids'][0]}", headers=filler.headers)).json()
    # Presets, the template's type, the submission's site, the submitter as creator.
    assert ticket["title"] == "Nachreinigung Eingangsbereich"
    assert ticket["description"] == "Bitte Böden und Glasflächen nachreinigen."
    assert ticket["ticket_type_id"] == str(world.type_a.id)
    assert ticket["site_id"] == str(world.site_a2.id) and ticket["tenant_id"] == str(world.tenant_a.id)
    assert ticket["created_by"]["id"] == str(filler.id) and ticket["created_by"]["kind"] == "employee"
    assert ticket["status"] == "open" and ticket["due_date"] is None and ticket["number"]
    # It is an ordinary ticket: listed, with a created event in its history.
    assert [t["id"] for t in await tickets_of(client, world.employee_a)] == [ticket["id"]]
    history = (await client.get(f"{API}/tickets/{ticket['id']}/history", headers=filler.headers)).json()[
        "items"
    ]
    created = [e for e in history if e["event"] == "created"]
    assert len(created) == 1 and created[0]["actor"]["id"] == str(filler.id)
    attachments = (
        await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=filler.headers)
    ).json()
    assert [a["content_type"] for a in attachments["items"]] == ["application/pdf"]


async def test_no_ticket_when_the_ticket_element_is_hidden_or_left_empty(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(inspection(world.type_a.id))))["id"]
    # Rating 5 hides the ticket element: even an answer to it raises nothing.
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 5, "nachreinigung": {}}, complete=True
    )
    assert r.status_code == 201 and r.json()["ticket_ids"] == [], r.text
    # Visible but answered with null: no ticket either.
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "nachreinigung": None}, complete=True
    )
    assert r.status_code == 201 and r.json()["ticket_ids"] == [], r.text
    # A draft raises nothing until completed.
    r = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "nachreinigung": {}})
    assert r.status_code == 201 and r.json()["ticket_ids"] == [], r.text
    assert await tickets_of(client, world.employee_a) == []


async def test_editable_title_description_and_due_date_reach_the_ticket(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = inspection(
        world.type_a.id,
        title_editable=True,
        description_editable=True,
        due_date_enabled=True,
        attach_pdf=False,
    )
    tid = (await published(client, manager, template_body(elements)))["id"]
    answer = {
        "title": "Nachreinigung Küche 2. OG",
        "description": "Fettflecken am Herd",
        "due_date": "2026-07-01",
    }
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "nachreinigung": answer}, complete=True
    )
    assert r.status_code == 201, r.text
    ticket = (await client.get(f"{API}/tickets/{r.json()['ticket_ids'][0]}", headers=filler.headers)).json()
    assert (ticket["title"], ticket["description"], ticket["due_date"]) == (
        answer["title"],
        answer["description"],
        answer["due_date"],
    )
    # attach_pdf off: no PDF on the ticket.
    attachments = (
        await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=filler.headers)
    ).json()
    assert attachments["items"] == []


@pytest.mark.parametrize(
    ("editable", "answer"),
    [
        ({}, {"title": "Eigener Titel"}),
        ({"description_editable": True, "due_date_enabled": True}, {"title": "Eigener Titel"}),
        ({"title_editable": True}, {"description": "Eigene Beschreibung"}),
        ({"title_editable": True, "description_editable": True}, {"due_date": "2026-07-01"}),
        ({"title_editable": True}, {"ticket_type_id": "00000000-0000-4000-8000-000000000000"}),
        ({"title_editable": True}, {"site_id": "00000000-0000-4000-8000-000000000000"}),
        ({"title_editable": True}, {"title": ""}),
        ({"due_date_enabled": True}, {"due_date": "morgen"}),
        ({}, True),
        ({}, "ja"),
    ],
)
async def test_a_ticket_answer_carries_only_what_the_template_made_editable(
    client, world, ctx, editable, answer
):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(inspection(world.type_a.id, **editable))))["id"]
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "nachreinigung": answer}, complete=True
    )
    assert_problem(r, 422, ["body", "answers", "nachreinigung"])
    assert await tickets_of(client, world.employee_a) == []


async def test_completing_twice_gives_the_same_result_and_one_ticket(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    tid = (await published(client, manager, template_body(inspection(world.type_a.id))))["id"]
    r = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "nachreinigung": {}})
    sid = r.json()["id"]
    first = await client.post(f"{API}/form-submissions/{sid}/complete", headers=filler.headers)
    second = await client.post(f"{API}/form-submissions/{sid}/complete", headers=filler.headers)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json() == second.json()
    assert len(first.json()["ticket_ids"]) == 1
    assert len(await tickets_of(client, world.employee_a)) == 1


async def test_concurrent_completions_raise_the_tickets_once(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [
        *inspection(world.type_a.id),
        ticket_element(world.type_a.id, key="glas", title="Glasreinigung", attach_pdf=False),
    ]
    tid = (await published(client, manager, template_body(elements)))["id"]
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 2, "nachreinigung": {}, "glas": {}}
    )
    sid = r.json()["id"]
    url = f"{API}/form-submissions/{sid}/complete"
    first, second = await asyncio.gather(
        client.post(url, headers=filler.headers), client.post(url, headers=filler.headers)
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["ticket_ids"] == second.json()["ticket_ids"]
    assert len(first.json()["ticket_ids"]) == 2
    tickets = await tickets_of(client, world.employee_a)
    assert sorted(t["title"] for t in tickets) == ["Glasreinigung", "Nachreinigung Eingangsbereich"]
    # One PDF on the ticket that asks for it, not one per completion attempt.
    pdf_ticket = next(t for t in tickets if t["title"] != "Glasreinigung")
    attachments = (
        await client.get(f"{API}/tickets/{pdf_ticket['id']}/attachments", headers=filler.headers)
    ).json()
    assert len(attachments["items"]) == 1


async def test_a_ticket_type_of_another_tenant_fails_the_whole_completion(client, world, ctx):
    async with ctx.database.sessionmaker.begin() as s:
        # A manager of both tenants may name both tenants' types in one template.
        manager = await make_employee(s, ctx, tenants=[world.tenant_a, world.tenant_b], permissions=[MANAGE])
        # Works for both tenants, so the site is in scope and only the type is wrong.
        filler = await make_employee(s, ctx, tenants=[world.tenant_a, world.tenant_b], name="Pendler")
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit"},
        ticket_element(world.type_a.id, key="a_nachreinigung", title="Nachreinigung Nord"),
        ticket_element(world.type_b.id, key="b_sonderauftrag", title="Sonderauftrag Süd"),
    ]
    tid = (await published(client, manager, template_body(elements)))["id"]
    answers = {"sauberkeit": 1, "a_nachreinigung": {}, "b_sonderauftrag": {}}
    r = await submit(client, filler, tid, world.site_a1.id, answers)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = await client.post(f"{API}/form-submissions/{sid}/complete", headers=filler.headers)
    assert_problem(r, 422, ["body", "answers", "b_sonderauftrag"])
    # Nothing happened: no ticket (not even the valid one), still a draft.
    assert await tickets_of(client, world.admin) == []
    got = (await client.get(f"{API}/form-submissions/{sid}", headers=filler.headers)).json()
    assert got["status"] == "draft" and got["ticket_ids"] == [] and got["completed_at"] is None
    # Completing at creation fails the same way, leaving no submission behind.
    r = await submit(client, filler, tid, world.site_a1.id, answers, complete=True)
    assert_problem(r, 422, ["body", "answers", "b_sonderauftrag"])
    assert await tickets_of(client, world.admin) == []
    assert [
        s["id"] for s in (await client.get(f"{API}/form-submissions", headers=filler.headers)).json()["items"]
    ] == [sid]
    # Without the foreign ticket the same draft completes.
    r = await client.patch(
        f"{API}/form-submissions/{sid}",
        headers=filler.headers,
        json={"answers": {"sauberkeit": 1, "a_nachreinigung": {}, "b_sonderauftrag": None}},
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/form-submissions/{sid}/complete", headers=filler.headers)
    assert r.status_code == 200 and len(r.json()["ticket_ids"]) == 1, r.text


async def test_the_ticket_type_is_fixed_by_the_template_whoever_fills_in(client, world, ctx):
    # A template manager may fill in too; the type comes from the template, not from the caller.
    async with ctx.database.sessionmaker.begin() as s:
        manager = await make_employee(s, ctx, tenants=[world.tenant_b], permissions=[MANAGE])
    tid = (await published(client, manager, template_body(inspection(world.type_b.id))))["id"]
    r = await submit(
        client, manager, tid, world.site_b1.id, {"sauberkeit": 1, "nachreinigung": {}}, complete=True
    )
    assert r.status_code == 201, r.text
    ticket = (await client.get(f"{API}/tickets/{r.json()['ticket_ids'][0]}", headers=manager.headers)).json()
    assert ticket["ticket_type_id"] == str(world.type_b.id) and ticket["site_id"] == str(world.site_b1.id)


async def test_presets_are_used_when_the_editable_fields_are_left_out(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    # (5) the description preset is optional; (6) editable fields may still be left to the preset.
    elements = inspection(
        world.type_a.id, description=None, title_editable=True, description_editable=True, attach_pdf=False
    )
    tid = (await published(client, manager, template_body(elements)))["id"]
    r = await submit(
        client, filler, tid, world.site_a1.id, {"sauberkeit": 1, "nachreinigung": {}}, complete=True
    )
    assert r.status_code == 201, r.text
    ticket = (await client.get(f"{API}/tickets/{r.json()['ticket_ids'][0]}", headers=filler.headers)).json()
    assert ticket["title"] == "Nachreinigung Eingangsbereich" and ticket["description"] is None


async def test_a_draft_is_checked_and_completed_against_its_own_version(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    v1 = [{"key": "sauberkeit", "type": "rating", "label": "Sauberkeit", "required": True}]
    tid = (await published(client, manager, template_body(v1)))["id"]
    r = await submit(client, filler, tid, world.site_a1.id, {"sauberkeit": 4})
    sid = r.json()["id"]
    # Version 2 adds a required element and is published while the draft is open.
    v2 = [*v1, {"key": "fenster", "type": "yes_no", "label": "Fenster geputzt?", "required": True}]
    r = await client.put(f"{API}/form-templates/{tid}", headers=manager.headers, json=template_body(v2))
    assert r.status_code == 200, r.text
    await client.post(f"{API}/form-templates/{tid}/publish", headers=manager.headers)
    url = f"{API}/form-submissions/{sid}"
    r = await client.patch(url, headers=filler.headers, json={"answers": {"sauberkeit": 3, "fenster": True}})
    assert_problem(r, 422, ["body", "answers", "fenster"])
    r = await client.post(f"{url}/complete", headers=filler.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["template_version"] == 1
    assert r.json()["answers"] == {"sauberkeit": 4}
