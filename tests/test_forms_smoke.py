import io

from pypdf import PdfReader

from tests.kit import API


async def test_inspection_raises_ticket_with_pdf(client, world, portal, ctx):
    from tests.factories import make_employee

    async with ctx.database.sessionmaker.begin() as s:
        inspector = await make_employee(
            s, ctx, tenants=[world.tenant_a], permissions=["check:templates:manage"]
        )
    h = inspector.headers
    template = {
        "name": "Objektbegehung Qualität",
        "elements": [
            {"key": "bereich", "type": "heading", "label": "Eingangsbereich"},
            {"key": "sauberkeit", "type": "rating", "label": "Sauberkeit Böden", "required": True},
            {"key": "bemerkung", "type": "textarea", "label": "Bemerkung"},
            {
                "key": "nachreinigung",
                "type": "ticket",
                "label": "Nachreinigung anfordern",
                "visible_if": {"element": "sauberkeit", "op": "lte", "value": 2},
                "ticket_type_id": str(world.type_a.id),
                "title": "Nachreinigung Eingang",
                "title_editable": True,
                "due_date_enabled": True,
                "attach_pdf": True,
            },
        ],
    }
    r = await client.post(f"{API}/form-templates", headers=h, json=template)
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    r = await client.post(f"{API}/form-templates/{tid}/publish", headers=h)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/form-submissions",
        headers=h,
        json={
            "template_id": tid,
            "site_id": str(world.site_a1.id),
            "complete": True,
            "answers": {
                "sauberkeit": 1,
                "bemerkung": "Schmutz <font color=red>überall</font>",
                "nachreinigung": {"due_date": "2026-12-01"},
            },
        },
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "completed" and len(sub["ticket_ids"]) == 1
    t = (await client.get(f"{API}/tickets/{sub['ticket_ids'][0]}", headers=h)).json()
    assert t["title"] == "Nachreinigung Eingang" and t["due_date"] == "2026-12-01"
    atts = (await client.get(f"{API}/tickets/{t['id']}/attachments", headers=h)).json()["items"]
    assert len(atts) == 1 and atts[0]["content_type"] == "application/pdf"
    pdf = (await client.get(f"{API}/attachments/{atts[0]['id']}/content", headers=h)).content
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Sauberkeit Böden" in text and "1 / 5" in text and t["number"] in text
    assert "<font color=red>überall</font>" in text
    r = await client.post(
        f"{API}/form-submissions",
        headers=h,
        json={
            "template_id": tid,
            "site_id": str(world.site_a1.id),
            "complete": True,
            "answers": {"sauberkeit": 5, "nachreinigung": {}},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["ticket_ids"] == []
