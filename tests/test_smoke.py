from tests.kit import API


async def test_me_as_admin(client, world):
    r = await client.get(f"{API}/me", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["is_admin"] is True
