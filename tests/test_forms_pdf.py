"""The filled form as PDF, read back with pypdf: contents, umlauts, escaping, embedded images, tickets."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf.generic import ContentStream

from blink_api.forms import pdf as pdf_module
from tests.factories import make_ticket_type
from tests.forms_helpers import (
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

INSPECTION = [
    {"key": "bereich", "type": "heading", "label": "Eingangsbereich"},
    {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden", "required": True},
    {"key": "muell", "type": "yes_no", "label": "Mülleimer geleert?"},
    {"key": "zustand", "type": "choice", "label": "Zustand Türen", "options": ["gut", "mäßig", "schlecht"]},
    {"key": "maengel", "type": "multi_choice", "label": "Mängel", "options": ["Staub", "Flecken", "Glas"]},
    {"key": "flaeche", "type": "number", "label": "Fläche in m²", "min": 0},
    {"key": "datum", "type": "date", "label": "Datum der Begehung"},
    {"key": "bemerkung", "type": "textarea", "label": "Bemerkung"},
    {
        "key": "lob",
        "type": "text",
        "label": "Lob an das Team",
        "visible_if": {"element": "sauberkeit", "op": "gte", "value": 4},
    },
    {"key": "foto", "type": "photo", "label": "Foto Boden"},
    {"key": "unterschrift", "type": "signature", "label": "Unterschrift Objektleitung"},
]


def squeeze(value: str) -> str:
    """Text without whitespace: table cells wrap long answers onto several lines."""
    return "".join(value.split())


def _times(m: list[float], n: list[float]) -> list[float]:
    """The PDF matrix product m times n of [a b c d e f] matrices."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return [a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u]


def drawn_images(data: bytes) -> list[tuple[float, float, float, float, float, float]]:
    """(x, y, width, height, page width, page height) of every image drawn, in page coordinates."""
    reader = pdf_reader(data)
    placed = []
    for page in reader.pages:
        xobjects = page["/Resources"].get_object().get("/XObject")
        names = {
            n
            for n, ref in (xobjects.get_object().items() if xobjects else [])
            if ref.get_object()["/Subtype"] == "/Image"
        }
        # Follow the transformation matrix through q/Q nesting: tables translate their cells.
        ctm, stack = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0], []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"q":
                stack.append(ctm)
            elif operator == b"Q":
                ctm = stack.pop()
            elif operator == b"cm":
                ctm = _times([float(x) for x in operands], ctm)
            elif operator == b"Do" and operands[0] in names:
                a, _, _, d, e, f = ctm
                x0, x1, y0, y1 = min(e, e + a), max(e, e + a), min(f, f + d), max(f, f + d)
                box = page.mediabox
                placed.append((x0, y0, x1 - x0, y1 - y0, float(box.width), float(box.height)))
    return placed


async def fill_inspection(client, world, ctx, answers_extra=None, *, elements=INSPECTION):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world, name="Jürgen Groß")
    template = await published(client, manager, template_body(elements))
    answers = {
        "sauberkeit": 2,
        "muell": False,
        "zustand": "mäßig",
        "maengel": ["Staub", "Flecken"],
        "flaeche": 120.5,
        "datum": "2026-03-14",
        "bemerkung": "Außentreppe: Straße vor dem Eingang nicht gefegt",
        "lob": "Sieht man nicht, weil versteckt",
        **(answers_extra or {}),
    }
    r = await submit(client, filler, template["id"], world.site_a1.id, answers, complete=True)
    assert r.status_code == 201, r.text
    return filler, r.json()


async def get_pdf(client, actor, submission_id) -> bytes:
    r = await client.get(f"{API}/form-submissions/{submission_id}/pdf", headers=actor.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/pdf")
    return r.content


async def test_the_pdf_shows_header_every_visible_answer_and_no_hidden_one(client, world, ctx):
    filler, sub = await fill_inspection(client, world, ctx)
    data = await get_pdf(client, filler, sub["id"])
    assert len(pdf_reader(data).pages) >= 1
    text = pdf_text(data)
    flat = squeeze(text)
    # Header: template name and version, site, submitter, completion time.
    assert "Objektbegehung Qualität" in text
    assert re.search(r"(Version|Vers\.|v)\s*1\b", text), text
    assert "Speicherstadt" in text and "Jürgen Groß" in text
    completed = dt.datetime.fromisoformat(sub["completed_at"])
    stamps = [completed.astimezone(dt.UTC), completed.astimezone(ZoneInfo("Europe/Berlin"))]
    assert any(
        (f"{t:%d.%m.%Y}" in text or t.date().isoformat() in text) and f"{t:%H:%M}" in text for t in stamps
    ), text
    # Every visible element with its answer.
    for label in (
        "Eingangsbereich",
        "Sauberkeit Böden",
        "Mülleimer geleert?",
        "Zustand Türen",
        "Mängel",
        "Fläche in m²",
        "Datum der Begehung",
        "Bemerkung",
    ):
        assert squeeze(label) in flat, label
    assert "2 / 5" in text
    assert "mäßig" in text and "Staub" in text and "Flecken" in text
    assert "Nein" in text or "No" in text
    assert "120.5" in text or "120,5" in text
    assert "2026-03-14" in text or "14.03.2026" in text
    assert squeeze("Außentreppe: Straße vor dem Eingang nicht gefegt") in flat
    # "lob" is hidden for rating 2: neither its label nor the answer sent for it.
    assert "Lob an das Team" not in text and "versteckt" not in text


async def test_german_umlauts_and_sharp_s_come_out_as_text(client, world, ctx):
    filler, sub = await fill_inspection(client, world, ctx)
    text = pdf_text(await get_pdf(client, filler, sub["id"]))
    for word in ("Böden", "Qualität", "ß", "Mülleimer", "Türen", "Groß"):
        assert word in text, word


async def test_user_text_is_escaped_and_cannot_pull_in_files(client, world, ctx, tmp_path):
    # A real image on the server's disk: unescaped markup would embed it.
    bait = tmp_path / "bait.png"
    Image.new("RGB", (80, 80), (255, 0, 0)).save(bait)
    elements = [
        {"key": "a", "type": "text", "label": "Feld A"},
        {"key": "b", "type": "text", "label": "Feld B"},
        {"key": "c", "type": "textarea", "label": "Feld C"},
        {"key": "d", "type": "text", "label": "Feld D"},
    ]
    answers = {
        "a": '<font color="red">x</font>',
        "b": '<img src="/etc/passwd"/>',
        "c": f'<img src="{bait}" width="80" height="80"/>',
        "d": "Tom & Jerry <b>fett</b> &amp; <br/> Ende",
    }
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(elements))
    r = await submit(client, filler, template["id"], world.site_a1.id, answers, complete=True)
    assert r.status_code == 201, r.text
    data = await get_pdf(client, filler, r.json()["id"])
    flat = squeeze(pdf_text(data))
    for value in answers.values():
        assert squeeze(value) in flat, value
    assert pdf_image_count(data) == 0


async def test_photo_and_signature_are_embedded_and_fit_the_page(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(INSPECTION))
    # A 12-megapixel camera photo must still land scaled onto the page.
    photo = await upload_id(client, filler, photo_jpeg(4000, 3000), "IMG_1024.JPG")
    signature = await upload_id(client, filler, signature_png(), "unterschrift.png")
    r = await submit(
        client,
        filler,
        template["id"],
        world.site_a1.id,
        {"sauberkeit": 3, "foto": photo, "unterschrift": signature},
        complete=True,
    )
    assert r.status_code == 201, r.text
    data = await get_pdf(client, filler, r.json()["id"])
    reader = pdf_reader(data)
    assert sum(len(page.images) for page in reader.pages) == 2
    assert pdf_image_count(data) == 2
    placed = drawn_images(data)
    assert len(placed) == 2
    # Wholly on the page, inside the 2 cm side margins a printed form has (not cut off at the edge).
    margin = 2 * 72 / 2.54 - 1
    for x, y, width, height, page_width, page_height in placed:
        assert width > 0 and height > 0, placed
        assert x >= 0 and x + width <= page_width, f"cut off at the page edge: {placed}"
        assert x >= margin and x + width <= page_width - margin, f"runs into the margin: {placed}"
        assert y >= 0 and y + height <= page_height, placed
    # The photo keeps its 4:3 proportions, the signature its 3:1.
    ratios = sorted(round(w / h, 1) for _, _, w, h, _, _ in placed)
    assert ratios == [1.3, 3.0], ratios
    text = pdf_text(data)
    assert "Foto Boden" in text and "Unterschrift Objektleitung" in text


async def test_the_pdf_shows_the_version_filled_against(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(INSPECTION[:2], name="Begehung Altbau"))
    r = await submit(client, filler, template["id"], world.site_a1.id, {"sauberkeit": 4}, complete=True)
    first = r.json()["id"]
    changed = [INSPECTION[0], {**INSPECTION[1], "label": "Sauberkeit Fußböden"}]
    r = await client.put(
        f"{API}/form-templates/{template['id']}",
        headers=manager.headers,
        json=template_body(changed, name="Begehung Neubau"),
    )
    assert r.status_code == 200, r.text
    await client.post(f"{API}/form-templates/{template['id']}/publish", headers=manager.headers)
    r = await submit(client, filler, template["id"], world.site_a1.id, {"sauberkeit": 4}, complete=True)
    second = r.json()["id"]
    old, new = pdf_text(await get_pdf(client, filler, first)), pdf_text(await get_pdf(client, filler, second))
    assert "Begehung Altbau" in old and "Sauberkeit Böden" in old and "Fußböden" not in old
    assert "Begehung Neubau" in new and "Sauberkeit Fußböden" in new
    assert re.search(r"(Version|Vers\.|v)\s*2\b", new), new


async def test_the_pdf_is_served_only_within_scope(client, world, ctx):
    _, sub = await fill_inspection(client, world, ctx)
    url = f"{API}/form-submissions/{sub['id']}/pdf"
    assert_problem(await client.get(url, headers=world.employee_b.headers), 404)
    # Customer users read only their reports' PDFs (tests/test_reports.py): this is none of them.
    assert_problem(await client.get(url, headers=world.customer_user_x.headers), 404)
    assert_problem(await client.get(url), 401)
    # A colleague of the same tenant may read it.
    assert (await client.get(url, headers=world.employee_a.headers)).status_code == 200


async def test_a_long_remark_spreads_over_several_pages(client, world, ctx):
    # A detailed remark is allowed up to 20 000 characters; the PDF must still be made, not fail.
    sentence = "Im Treppenhaus liegt Staub auf den Handläufen und die Glastüren haben Fingerabdrücke. "
    remark = (sentence * 60).strip()  # about 5 200 characters
    filler, sub = await fill_inspection(client, world, ctx, {"bemerkung": remark})
    data = await get_pdf(client, filler, sub["id"])
    assert len(pdf_reader(data).pages) >= 2
    assert squeeze(remark) in squeeze(pdf_text(data))


async def test_a_long_remark_does_not_break_completion_with_a_pdf_for_the_ticket(client, world, ctx):
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden", "required": True},
        {"key": "bemerkung", "type": "textarea", "label": "Bemerkung"},
        ticket_element(world.type_a.id, visible_if={"element": "sauberkeit", "op": "lte", "value": 2}),
    ]
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    template = await published(client, manager, template_body(elements))
    remark = "Fensterbänke im 3. OG verschmutzt, Heizkörper staubig. " * 90  # about 5 000 characters
    r = await submit(
        client,
        filler,
        template["id"],
        world.site_a1.id,
        {"sauberkeit": 1, "bemerkung": remark, "nachreinigung": {}},
        complete=True,
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["ticket_ids"]) == 1


async def test_inspection_example_end_to_end(client, world, portal, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden", "required": True},
        {"key": "bemerkung", "type": "textarea", "label": "Bemerkung"},
        {"key": "foto", "type": "photo", "label": "Foto"},
        ticket_element(
            world.type_a.id,
            label="Nachreinigung veranlassen",
            visible_if={"element": "sauberkeit", "op": "lte", "value": 2},
            title_editable=True,
            due_date_enabled=True,
        ),
    ]
    template = await published(client, manager, template_body(elements))
    photo = await upload_id(client, filler, photo_jpeg())
    r = await submit(
        client,
        filler,
        template["id"],
        world.site_a1.id,
        {
            "sauberkeit": 1,
            "bemerkung": "Eingangshalle stark verschmutzt",
            "foto": photo,
            "nachreinigung": {"title": "Nachreinigung Eingangshalle", "due_date": "2026-04-02"},
        },
        complete=True,
    )
    assert r.status_code == 201, r.text
    (ticket_id,) = r.json()["ticket_ids"]
    ticket = (await client.get(f"{API}/tickets/{ticket_id}", headers=filler.headers)).json()
    assert ticket["title"] == "Nachreinigung Eingangshalle" and ticket["due_date"] == "2026-04-02"
    attachments = (await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=filler.headers)).json()[
        "items"
    ]
    assert len(attachments) == 1 and attachments[0]["content_type"] == "application/pdf"
    assert attachments[0]["filename"].endswith(".pdf")
    r = await client.get(f"{API}/attachments/{attachments[0]['id']}/content", headers=filler.headers)
    assert r.status_code == 200
    data = r.content
    text = pdf_text(data)
    for expected in (
        "Sauberkeit Böden",
        "1 / 5",
        "Bemerkung",
        "Eingangshalle stark verschmutzt",
        "Foto",
        "Nachreinigung veranlassen",
        ticket["number"],
        "Nachreinigung Eingangshalle",
    ):
        assert expected in text, expected
    assert pdf_image_count(data) == 1

    # A good rating: the ticket element is hidden, so no ticket at all.
    r = await submit(
        client,
        filler,
        template["id"],
        world.site_a1.id,
        {"sauberkeit": 5, "nachreinigung": {"title": "Unnötig"}},
        complete=True,
    )
    assert r.status_code == 201 and r.json()["ticket_ids"] == [], r.text
    tickets = (await client.get(f"{API}/tickets", headers=filler.headers)).json()["items"]
    assert [t["id"] for t in tickets] == [ticket_id]
    # The on-demand PDF of the good inspection lists no ticket and no hidden element.
    text = pdf_text(await get_pdf(client, filler, r.json()["id"]))
    assert "5 / 5" in text and "Nachreinigung veranlassen" not in text and ticket["number"] not in text


async def test_the_on_demand_pdf_lists_the_raised_tickets(client, world, portal, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [
        {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit"},
        ticket_element(world.type_a.id, key="boden", title="Boden nachreinigen", attach_pdf=False),
        ticket_element(world.type_a.id, key="glas", title="Glas nachreinigen", attach_pdf=False),
    ]
    template = await published(client, manager, template_body(elements))
    r = await submit(
        client,
        filler,
        template["id"],
        world.site_a1.id,
        {"sauberkeit": 2, "boden": {}, "glas": {}},
        complete=True,
    )
    assert r.status_code == 201, r.text
    numbers = [
        (await client.get(f"{API}/tickets/{t}", headers=filler.headers)).json()["number"]
        for t in r.json()["ticket_ids"]
    ]
    assert len(set(numbers)) == 2
    text = pdf_text(await get_pdf(client, filler, r.json()["id"]))
    for number in numbers:
        assert number in text
    assert "Boden nachreinigen" in text and "Glas nachreinigen" in text


async def test_a_signature_pad_png_shows_dark_strokes_on_a_light_background(client, world, ctx):
    # Signature pads export strokes on transparent *black* pixels; flattened onto black, the
    # signature would vanish in a black box.
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [{"key": "unterschrift", "type": "signature", "label": "Unterschrift Kunde", "required": True}]
    template = await published(client, manager, template_body(elements))
    signature = await upload_id(client, filler, signature_png(), "unterschrift.png")
    r = await submit(
        client, filler, template["id"], world.site_a1.id, {"unterschrift": signature}, complete=True
    )
    assert r.status_code == 201, r.text
    data = await get_pdf(client, filler, r.json()["id"])
    (embedded,) = [image for page in pdf_reader(data).pages for image in page.images]
    gray = embedded.image.convert("L")
    histogram = gray.histogram()
    light = sum(histogram[200:]) / sum(histogram)
    dark = sum(histogram[:100]) / sum(histogram)
    # Mostly paper, a little ink.
    assert light > 0.8 and 0 < dark < 0.2, (light, dark)


async def test_a_client_that_asks_for_plain_bytes_gets_the_pdf_labelled_so(client, world, ctx):
    # Generated clients that handle downloads as bytes ask for application/octet-stream.
    filler, sub = await fill_inspection(client, world, ctx)
    url = f"{API}/form-submissions/{sub['id']}/pdf"
    plain = await client.get(url, headers={**filler.headers, "Accept": "application/octet-stream"})
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/octet-stream"
    assert plain.headers["content-disposition"].startswith("attachment;")
    assert plain.content == await get_pdf(client, filler, sub["id"])


async def test_the_pdf_names_no_ticket_the_sites_customer_users_do_not_see(client, world, portal, ctx):
    """The PDF reaches customer users (as a report, on their tickets): tickets of a type not enabled for
    their customer, and what such an element was answered with, stay out of it."""
    async with ctx.database.sessionmaker.begin() as s:
        internal = await make_ticket_type(s, tenant=world.tenant_a, name="Intern")
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    editable = {"description_editable": True, "due_date_enabled": True, "attach_pdf": True}
    elements = [
        ticket_element(world.type_a.id, key="sichtbar", title="Boden nachreinigen", **editable),
        ticket_element(internal.id, key="intern", title="GEHEIM Lohnkosten", **editable),
    ]
    template = await published(client, manager, template_body(elements))
    answers = {
        "sichtbar": {"description": "Treppenhaus bis Freitag", "due_date": "2027-01-15"},
        "intern": {"description": "Abmahnung Reinigungskraft", "due_date": "2027-01-16"},
    }
    r = await submit(client, filler, template["id"], world.site_a1.id, answers, complete=True)
    assert r.status_code == 201, r.text
    raised = {
        t["ticket_type_id"]: t
        for t in [
            (await client.get(f"{API}/tickets/{i}", headers=filler.headers)).json()
            for i in r.json()["ticket_ids"]
        ]
    }
    seen, hidden = raised[str(world.type_a.id)], raised[str(internal.id)]
    # The copy attached to the ticket the customer user sees, as it downloads it.
    r = await client.get(f"{API}/tickets/{seen['id']}/attachments", headers=world.customer_user_x.headers)
    assert r.status_code == 200, r.text
    (pdf_file,) = [a for a in r.json()["items"] if a["content_type"] == "application/pdf"]
    r = await client.get(f"{API}/attachments/{pdf_file['id']}/content", headers=world.customer_user_x.headers)
    assert r.status_code == 200
    text = pdf_text(r.content)
    assert seen["number"] in text and "Boden nachreinigen" in text
    assert "Treppenhaus bis Freitag" in text and "15.01.2027" in text
    assert hidden["number"] not in text and "GEHEIM" not in text
    assert "Abmahnung" not in text and "16.01.2027" not in text


@pytest.mark.skipif(
    pdf_module.FONT_FILES[0].name != "DejaVuSans.ttf",
    reason="the system has no DejaVu Sans (Debian: fonts-dejavu-core); Vera covers Latin-1 only",
)
async def test_names_in_every_european_script_come_out_whole(client, world, ctx):
    manager = await make_manager(ctx, world)
    filler = await make_filler(ctx, world)
    elements = [
        {"key": "name", "type": "text", "label": "Name der Reinigungskraft"},
        {"key": "ort", "type": "text", "label": "Місце"},
    ]
    template = await published(client, manager, template_body(elements))
    answers = {"name": "Łukasz Wójcik, Łódź; Řeka Čeština; Ștefan Țăran", "ort": "Уборка лестницы"}
    r = await submit(client, filler, template["id"], world.site_a1.id, answers, complete=True)
    assert r.status_code == 201, r.text
    text = pdf_text(await get_pdf(client, filler, r.json()["id"]))
    for written in (*answers.values(), "Місце"):
        assert written in text, text
