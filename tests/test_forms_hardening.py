"""Forms from the hostile side: renders are bounded and done once, a completed submission stays as it
was, templates name only the manager's ticket types, and names never break a header."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select, update

from blink_api.files.downloads import content_disposition
from blink_api.forms.models import FormSubmission, FormTemplateVersion
from blink_api.kit.capacity import Gate
from tests.factories import make_employee
from tests.forms_helpers import (
    MANAGE,
    create_template,
    make_filler,
    make_manager,
    pdf_image_count,
    pdf_reader,
    pdf_text,
    photo_jpeg,
    published,
    signature_png,
    submit,
    template_body,
    ticket_element,
    upload_id,
)
from tests.kit import API, assert_problem

PHOTO_FORM = [
    {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit", "required": True},
    {"key": "foto", "type": "photo", "label": "Foto Eingangsbereich"},
    {"key": "unterschrift", "type": "signature", "label": "Unterschrift"},
]


@pytest.fixture
def tight_gate(ctx, monkeypatch) -> Gate:
    """One render at a time, a fifth of a second to wait for it."""
    gate = Gate(1, 0.2, what="render")
    monkeypatch.setattr(ctx, "renders", gate)
    return gate


async def photo_submission(client, world, ctx, *, complete: bool, elements=PHOTO_FORM):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(elements))
    photo = await upload_id(client, filler, photo_jpeg(1600, 1200), "IMG_3001.JPG")
    signature = await upload_id(client, filler, signature_png(), "unterschrift.png")
    answers = {"sauberkeit": 2, "foto": photo, "unterschrift": signature}
    if any(e["type"] == "ticket" for e in elements):
        answers["nachreinigung"] = {}
    r = await submit(client, filler, template["id"], world.site_a1.id, answers, complete=complete)
    assert r.status_code == 201, r.text
    return filler, r.json(), photo


async def stored_pdf_key(ctx, submission_id: str) -> str | None:
    async with ctx.database.sessionmaker() as s:
        return await s.scalar(
            select(FormSubmission.pdf_storage_key).where(FormSubmission.id == uuid.UUID(submission_id))
        )


async def read_object(ctx, key: str) -> bytes:
    return b"".join([chunk async for chunk in ctx.storage.read(key)])


# -- 4. a completed submission's PDF is rendered once and then served as stored -------------------


async def test_a_completed_pdf_is_served_from_storage_without_rendering(client, world, ctx, tight_gate):
    filler, sub, _ = await photo_submission(client, world, ctx, complete=True)
    key = await stored_pdf_key(ctx, sub["id"])
    assert key is not None
    stored = await read_object(ctx, key)
    url = f"{API}/form-submissions/{sub['id']}/pdf"
    # Every render slot taken: a download that had to render would wait and answer 503.
    async with tight_gate.turn("someone else"):
        r = await client.get(url, headers=filler.headers)
    assert r.status_code == 200, r.text
    assert r.content == stored and int(r.headers["content-length"]) == len(stored)
    assert r.headers["content-type"] == "application/pdf"
    assert "Sauberkeit" in pdf_text(r.content) and pdf_image_count(r.content) == 2
    # The pictures in it are small, whatever was uploaded.
    embedded = [image.image for page in pdf_reader(r.content).pages for image in page.images]
    assert embedded and all(max(picture.size) <= 1200 for picture in embedded)
    # The stored object is what is served: replaced behind the API's back, the download follows it.
    marker = stored.replace(b"%%EOF", b"%%EOF\n% stored object\n")

    async def chunks():
        yield marker

    await ctx.storage.put(key, chunks())
    r = await client.get(url, headers=filler.headers)
    assert r.status_code == 200 and r.content == marker


async def test_the_ticket_gets_the_same_pdf_that_is_kept(client, world, portal, ctx):
    elements = [*PHOTO_FORM, ticket_element(world.type_a.id)]
    filler, sub, _ = await photo_submission(client, world, ctx, complete=True, elements=elements)
    (ticket_id,) = sub["ticket_ids"]
    kept = await read_object(ctx, await stored_pdf_key(ctx, sub["id"]))
    attachments = (await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=filler.headers)).json()
    (attached,) = attachments["items"]
    r = await client.get(f"{API}/attachments/{attached['id']}/content", headers=filler.headers)
    assert r.content == kept
    # The document is what it was at completion: a later change of the ticket does not reach it.
    ticket = (await client.get(f"{API}/tickets/{ticket_id}", headers=filler.headers)).json()
    r = await client.patch(
        f"{API}/tickets/{ticket_id}", headers=filler.headers, json={"title": "Ganz anderer Titel"}
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/form-submissions/{sub['id']}/pdf", headers=filler.headers)
    assert r.content == kept
    assert ticket["title"] in pdf_text(r.content) and "Ganz anderer Titel" not in pdf_text(r.content)


async def test_completion_waits_for_no_render_slot_forever_and_changes_nothing(
    client, world, ctx, tight_gate
):
    filler, draft, _ = await photo_submission(client, world, ctx, complete=False)
    url = f"{API}/form-submissions/{draft['id']}"
    async with tight_gate.turn("someone else"):
        started = time.monotonic()
        r = await client.post(f"{url}/complete", headers=filler.headers)
        assert time.monotonic() - started < 2
    assert_problem(r, 503)
    assert r.headers["retry-after"] == "1"
    assert (await client.get(url, headers=filler.headers)).json()["status"] == "draft"
    assert await stored_pdf_key(ctx, draft["id"]) is None
    r = await client.post(f"{url}/complete", headers=filler.headers)
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert await stored_pdf_key(ctx, draft["id"]) is not None


async def test_a_public_submission_is_rendered_at_its_first_download_only(client, world, ctx, tight_gate):
    manager = await make_manager(ctx, world)
    elements = [{"key": "lob", "type": "text", "label": "Was war gut?"}]
    template = await published(client, manager, template_body(elements, is_public=True))
    r = await client.post(
        f"{API}/public/forms/{template['public_token']}/submissions",
        json={"answers": {"lob": "Sehr freundliches Team"}},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert await stored_pdf_key(ctx, sid) is None
    url = f"{API}/form-submissions/{sid}/pdf"
    first = await client.get(url, headers=manager.headers)
    assert first.status_code == 200, first.text
    assert "Sehr freundliches Team" in pdf_text(first.content)
    key = await stored_pdf_key(ctx, sid)
    assert key is not None and await read_object(ctx, key) == first.content
    async with tight_gate.turn("someone else"):
        again = await client.get(url, headers=manager.headers)
    assert again.status_code == 200 and again.content == first.content


# -- 4. drafts are rendered on demand, a bounded number at once --------------------------------------


async def test_draft_renders_beyond_the_bound_answer_503_at_once(client, world, ctx, tight_gate):
    filler, draft, _ = await photo_submission(client, world, ctx, complete=False)
    url = f"{API}/form-submissions/{draft['id']}/pdf"
    async with tight_gate.turn("someone else"):
        started = time.monotonic()
        r = await client.get(url, headers=filler.headers)
        assert time.monotonic() - started < 2
    body = assert_problem(r, 503)
    assert r.headers["retry-after"] == "1" and "render" in body["detail"]
    r = await client.get(url, headers=filler.headers)
    assert r.status_code == 200 and pdf_image_count(r.content) == 2


async def test_a_caller_whose_own_render_runs_gets_429(client, world, ctx, monkeypatch):
    gate = Gate(4, 0.2, what="render")
    monkeypatch.setattr(ctx, "renders", gate)
    filler, draft, _ = await photo_submission(client, world, ctx, complete=False)
    async with gate.turn(filler.id):
        r = await client.get(f"{API}/form-submissions/{draft['id']}/pdf", headers=filler.headers)
        body = assert_problem(r, 429)
        assert r.headers["retry-after"] == "1" and "still running" in body["detail"]
        # Free slots remain for everyone else.
        r = await client.get(f"{API}/form-submissions/{draft['id']}/pdf", headers=world.admin.headers)
        assert r.status_code == 200, r.text


async def test_parallel_draft_renders_never_exceed_the_bound(client, world, ctx, monkeypatch):
    gate = Gate(2, 0.05, what="render")
    monkeypatch.setattr(ctx, "renders", gate)
    _, draft, _ = await photo_submission(client, world, ctx, complete=False)
    async with ctx.database.sessionmaker.begin() as s:
        readers = [await make_employee(s, ctx, tenants=[world.tenant_a]) for _ in range(8)]
    peak = 0
    done = False

    async def watch() -> None:
        nonlocal peak
        while not done:
            peak = max(peak, gate.busy)
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    answers = await asyncio.gather(
        *(client.get(f"{API}/form-submissions/{draft['id']}/pdf", headers=r.headers) for r in readers)
    )
    elapsed = time.monotonic() - started
    done = True
    await watcher
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses and 1 <= peak <= 2, (statuses, peak)
    for r in answers:
        if r.status_code == 503:
            assert r.headers["retry-after"] == "1"
    assert elapsed < 10


# -- 11. ticket types outside the manager's tenants are "not found" ----------------------------------


async def test_another_tenants_ticket_type_is_refused_like_an_unknown_one(client, world, ctx):
    manager = await make_manager(ctx, world)  # tenant A only
    loc = ["body", "elements", 1, "ticket_type_id"]

    def body_with(type_id) -> dict:
        return template_body([{"key": "a", "type": "rating", "label": "Note"}, ticket_element(type_id)])

    foreign = await client.post(
        f"{API}/form-templates", headers=manager.headers, json=body_with(world.type_b.id)
    )
    unknown = await client.post(
        f"{API}/form-templates", headers=manager.headers, json=body_with(uuid.uuid4())
    )
    foreign_body, unknown_body = assert_problem(foreign, 422, loc), assert_problem(unknown, 422, loc)
    assert foreign_body == unknown_body
    # Changing a template to name it is refused the same way, on PUT and PATCH.
    template = await create_template(client, manager, body_with(world.type_a.id))
    url = f"{API}/form-templates/{template['id']}"
    for method in ("PUT", "PATCH"):
        answers = []
        for type_id in (world.type_b.id, uuid.uuid4()):
            r = await client.request(method, url, headers=manager.headers, json=body_with(type_id))
            answers.append(assert_problem(r, 422, loc))
        assert answers[0] == answers[1], method
    assert (await client.get(url, headers=manager.headers)).json()["elements"][1]["ticket_type_id"] == str(
        world.type_a.id
    )


async def test_a_manager_cannot_publish_a_template_naming_a_type_it_does_not_see(client, world, ctx):
    # Drafted by a manager of tenant B, published by a manager of tenant A only.
    async with ctx.database.sessionmaker.begin() as s:
        manager_b = await make_employee(s, ctx, tenants=[world.tenant_b], permissions=[MANAGE])
    manager_a = await make_manager(ctx, world)
    template = await create_template(
        client,
        manager_b,
        template_body([{"key": "a", "type": "rating", "label": "Note"}, ticket_element(world.type_b.id)]),
    )
    r = await client.post(f"{API}/form-templates/{template['id']}/publish", headers=manager_a.headers)
    assert_problem(r, 422, ["body", "elements", 1, "ticket_type_id"])
    r = await client.post(f"{API}/form-templates/{template['id']}/publish", headers=manager_b.headers)
    assert r.status_code == 200, r.text


async def test_admins_and_managers_of_both_tenants_may_name_either_tenants_types(client, world, ctx):
    async with ctx.database.sessionmaker.begin() as s:
        both = await make_employee(s, ctx, tenants=[world.tenant_a, world.tenant_b], permissions=[MANAGE])
    for actor in (world.admin, both):
        body = template_body(
            [ticket_element(world.type_a.id, key="a"), ticket_element(world.type_b.id, key="b")]
        )
        r = await client.post(f"{API}/form-templates", headers=actor.headers, json=body)
        assert r.status_code == 201, r.text


# -- 12. a completed submission's photos and signatures stay -----------------------------------------


async def test_deleting_a_completed_submissions_photo_is_409_and_the_photo_stays(client, world, ctx):
    filler, sub, photo = await photo_submission(client, world, ctx, complete=True)
    r = await client.delete(f"{API}/attachments/{photo}", headers=filler.headers)
    body = assert_problem(r, 409)
    assert "completed" in body["detail"]
    r = await client.delete(
        f"{API}/attachments/{sub['answers']['unterschrift']}", headers=world.admin.headers
    )
    assert_problem(r, 409)
    r = await client.get(f"{API}/attachments/{photo}/content", headers=filler.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    got = (await client.get(f"{API}/form-submissions/{sub['id']}", headers=filler.headers)).json()
    assert got["answers"]["foto"] == photo


async def test_a_drafts_photo_goes_only_by_its_filler_and_completion_then_notices(client, world, ctx):
    filler, draft, photo = await photo_submission(client, world, ctx, complete=False)
    colleague = await make_filler(ctx, world, name="Kollegin")
    # The colleague sees the draft and its photo, but may not change the draft.
    assert (
        await client.get(f"{API}/attachments/{photo}/content", headers=colleague.headers)
    ).status_code == 200
    assert_problem(await client.delete(f"{API}/attachments/{photo}", headers=colleague.headers), 403)
    r = await client.delete(f"{API}/attachments/{photo}", headers=filler.headers)
    assert r.status_code == 204, r.text
    # The answer now names a photo that is gone: completing refuses it rather than keep a hole.
    r = await client.post(f"{API}/form-submissions/{draft['id']}/complete", headers=filler.headers)
    assert_problem(r, 422, ["body", "answers", "foto"])


# -- 14. names reaching headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Begehung\r\nSet-Cookie: a=b", "Begehung\x00Halle", "Begehung\nHalle", "Zeile\u2028zwei"]
)
async def test_template_names_with_line_breaks_or_controls_are_refused_at_save(client, world, ctx, name):
    manager = await make_manager(ctx, world)
    r = await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body([], name=name))
    assert_problem(r, 422, ["body", "name"])
    template = await create_template(client, manager, template_body([]))
    r = await client.patch(
        f"{API}/form-templates/{template['id']}", headers=manager.headers, json={"name": name}
    )
    assert_problem(r, 422, ["body", "name"])


async def test_a_hostile_template_name_from_before_still_gives_a_one_line_header(client, world, ctx):
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit"},
        ticket_element(world.type_a.id),
    ]
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(elements))
    # A name stored before names were checked.
    hostile = 'Begehung\r\nSet-Cookie: session=evil\x07 "Halle" Größe\\..\\x'
    async with ctx.database.sessionmaker.begin() as s:
        await s.execute(
            update(FormTemplateVersion)
            .where(FormTemplateVersion.template_id == uuid.UUID(template["id"]))
            .values(name=hostile)
        )
    for complete in (False, True):
        r = await submit(
            client,
            filler,
            template["id"],
            world.site_a1.id,
            {"sauberkeit": 1, "nachreinigung": {}},
            complete=complete,
        )
        assert r.status_code == 201, r.text
        sub = r.json()
        r = await client.get(f"{API}/form-submissions/{sub['id']}/pdf", headers=filler.headers)
        assert r.status_code == 200, r.text
        header = r.headers["content-disposition"]
        assert not any(ch in header for ch in "\r\n\x00"), header
        assert "set-cookie" not in {k.lower() for k in r.headers}
        assert header.startswith('inline; filename="Begehung Set-Cookie session=evil Halle Gr__e-..-x.pdf";')
        assert header.endswith(
            "filename*=UTF-8''Begehung%20Set-Cookie%20session%3Devil%20Halle%20Gr%C3%B6%C3%9Fe-..-x.pdf"
        )
    # The ticket's copy of the PDF carries the cleaned name too.
    (ticket_id,) = sub["ticket_ids"]
    (attached,) = (await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=filler.headers)).json()[
        "items"
    ]
    assert (
        "\n" not in attached["filename"]
        and "\r" not in attached["filename"]
        and '"' not in attached["filename"]
    )
    r = await client.get(f"{API}/attachments/{attached['id']}/content", headers=filler.headers)
    assert r.status_code == 200 and "\n" not in r.headers["content-disposition"]


@pytest.mark.parametrize(
    ("name", "ascii_name", "encoded"),
    [
        ('a"b\\c.pdf', "ab-c.pdf", "ab-c.pdf"),
        ("x\r\ny\x00z.pdf", "x y z.pdf", "x%20y%20z.pdf"),
        ("Prüfbericht ÄÖÜ.pdf", "Pr_fbericht ___.pdf", "Pr%C3%BCfbericht%20%C3%84%C3%96%C3%9C.pdf"),
        ("\u202egpj.exe", "gpj.exe", "gpj.exe"),
        ("\r\n", "download", "download"),
        ("a;b=c, d.pdf", "a;b=c, d.pdf", "a%3Bb%3Dc%2C%20d.pdf"),
    ],
)
def test_content_disposition_is_one_safe_line_for_any_name(name, ascii_name, encoded):
    header = content_disposition(name, "application/pdf")
    assert header == f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
    assert header.isprintable() and header.isascii()


async def test_the_service_keeps_answering_while_a_draft_renders(client, world, ctx):
    elements = [*PHOTO_FORM, {"key": "bemerkung", "type": "textarea", "label": "Bemerkung"}]
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(elements))
    photo = await upload_id(client, filler, photo_jpeg(2048, 1536), "IMG_3002.JPG")
    remark = "Treppenhaus: Handläufe staubig, Glastüren mit Fingerabdrücken, Fußmatte verrutscht. " * 220
    r = await submit(
        client, filler, template["id"], world.site_a1.id, {"foto": photo, "bemerkung": remark[:19_000]}
    )
    assert r.status_code == 201, r.text
    render = asyncio.create_task(
        client.get(f"{API}/form-submissions/{r.json()['id']}/pdf", headers=filler.headers)
    )
    answered_during_render = 0
    async with asyncio.timeout(20):
        # The gate offers no event to wait for: poll until the render has its turn.
        while ctx.renders.busy == 0 and not render.done():  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        while not render.done():
            r = await client.get("/health/live")
            assert r.status_code == 200
            answered_during_render += 1 if not render.done() else 0
            await asyncio.sleep(0.01)
    assert (await render).status_code == 200
    assert answered_during_render >= 1


async def test_an_upload_name_with_controls_and_bidi_overrides_is_stored_and_sent_as_one_clean_line(
    client, world
):
    # Sent raw: a client library would escape these itself. A bell, and a right-to-left override that
    # shows "bild\u202egpj.png" as "bildgnp.jpg".
    name = "bild\x07\u202egpj.png"
    boundary = "grenze-7f3a"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + signature_png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = await client.post(
        f"{API}/uploads",
        headers={**world.employee_a.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body,
    )
    assert r.status_code == 201, r.text
    item = r.json()["items"][0]
    assert item["filename"] == "bild gpj.png"
    r = await client.get(f"{API}/attachments/{item['id']}/content", headers=world.employee_a.headers)
    assert (
        r.headers["content-disposition"]
        == "inline; filename=\"bild gpj.png\"; filename*=UTF-8''bild%20gpj.png"
    )
