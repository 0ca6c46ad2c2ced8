from tests.kit import API


async def test_portal_flow(client, world):
    admin = world.admin.headers
    cx = world.customer_user_x.headers
    # no enabled type: no ticket access
    r = await client.get(f"{API}/tickets", headers=cx)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=admin,
        json={
            "enabled_ticket_type_ids": [str(world.type_a.id), str(world.type_b.id)],
            "document_sources": [],
        },
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["warnings"]) == 1 and str(world.type_b.id) in r.json()["warnings"][0]
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=admin,
        json={"enabled_ticket_type_ids": [str(world.absence_a.id)]},
    )
    assert r.status_code == 422, r.text
    r = await client.get(f"{API}/sites/{world.site_a1.id}/ticket-types", headers=cx)
    assert [t["id"] for t in r.json()["items"]] == [str(world.type_a.id)], r.text
    r = await client.post(
        f"{API}/tickets",
        headers=cx,
        data={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "Reklamation Eingang",
        },
        files=[("files", ("foto.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png"))],
    )
    # The file says it is a PNG but is none: a refused file type is 415 (SPEC, Errors).
    assert r.status_code == 415, r.text
    r = await client.post(
        f"{API}/tickets",
        headers=cx,
        data={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "Reklamation Eingang",
        },
        files=[("files", ("notiz.txt", b"Bitte Eingang reinigen", "text/plain"))],
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    r = await client.patch(f"{API}/tickets/{tid}", headers=cx, json={"status": "closed"})
    assert r.status_code == 403 and "status" in r.json()["detail"]
    r = await client.get(f"{API}/tickets/{tid}/attachments", headers=cx)
    assert len(r.json()["items"]) == 1
    r = await client.get(f"{API}/tickets/{tid}", headers=world.customer_user_x2.headers)
    assert r.status_code == 404
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/evaluation-settings",
        headers=admin,
        json={"ticket_evaluation_enabled": True, "group_days": 2},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"{API}/tickets/{tid}", headers=world.employee_a.headers, json={"status": "closed"}
    )
    assert r.status_code == 200
    r = await client.get(f"{API}/sites/{world.site_a1.id}/ticket-evaluation", headers=cx)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "group_days": 2,
        "total": 1,
        "within_sla": 0,
        "median_days": 0.0,
        "buckets": [{"from_days": 0, "to_days": 1, "count": 1}],
        "satisfaction": {"count": 0, "average": None},
    }
    r = await client.get(f"{API}/ticket-evaluation", headers=cx)
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
    r = await client.get(f"{API}/customers/{world.customer_x.id}/changes", headers=admin)
    assert len(r.json()["items"]) == 2, r.text  # the refused change is not recorded
