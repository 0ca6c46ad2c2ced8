"""Health checks, metrics, request ids and the offline API documentation."""

import re


async def test_live_and_ready(client):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    r = await client.get("/health/ready")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_metrics_count_requests_by_route_template(client, world):
    await client.get(f"/api/v1/sites/{world.site_a1.id}", headers=world.admin.headers)
    text = (await client.get("/metrics")).text
    assert "# TYPE blink_http_requests_total counter" in text
    assert re.search(
        r'blink_http_requests_total\{method="GET",route="/api/v1/sites/\{site_id\}",status="200"\} \d', text
    )


async def test_request_id_is_echoed_or_made(client):
    r = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = (await client.get("/health/live")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    # Header injection attempts are replaced, not echoed.
    assert (await client.get("/health/live", headers={"X-Request-ID": "a b\tc"})).headers[
        "x-request-id"
    ] != "a b\tc"


async def test_swagger_ui_is_served_without_any_cdn(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500
    js = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("application/javascript")
    assert (await client.get("/docs/assets/../../etc/passwd")).status_code == 404
