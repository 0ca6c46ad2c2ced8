from tests.kit import API


async def test_ticket_roundtrip(client, world):
    h = world.employee_a.headers
    r = await client.post(
        f"{API}/tickets",
        headers=h,
        json={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "Fenster verschmutzt",
            "description": "Die Fenstern im 2. OG",
        },
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["number"] == "AAA-000001"
    r = await client.get(f"{API}/tickets/{t['id']}", headers=h)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers={**h, "If-Match": '"1"'}, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["closed_at"]
    r = await client.patch(
        f"{API}/tickets/{t['id']}", headers={**h, "If-Match": '"1"'}, json={"status": "open"}
    )
    assert r.status_code == 412, r.text
    r = await client.post(
        f"{API}/tickets/{t['id']}/comments", headers=h, json={"body": "Nachreinigung geplant"}
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"{API}/tickets", headers=h, params={"q": "Fenster"})
    assert [x["id"] for x in r.json()["items"]] == [t["id"]], r.text
    r = await client.get(f"{API}/tickets", headers=h, params={"q": "Nachreinigung"})
    assert len(r.json()["items"]) == 1
    r = await client.post(
        f"{API}/tickets/{t['id']}/attachments",
        headers=h,
        files=[("files", ("../../x.txt", b"hello world", "text/html"))],
    )
    assert r.status_code == 201, r.text
    a = r.json()["items"][0]
    assert a["filename"] == "x.txt" and a["content_type"] == "text/plain"
    r = await client.get(f"{API}/attachments/{a['id']}/content", headers=h)
    assert r.content == b"hello world", r.text
    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=h)
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) >= 4
    r = await client.delete(f"{API}/attachments/{a['id']}", headers=h)
    assert r.status_code == 204, r.text
