"""Shared helpers of the form tests: template bodies, realistic photos, uploads, submissions, PDF reading."""

from __future__ import annotations

import io
import math
import random
from typing import Any

import httpx
from PIL import Image, ImageDraw
from pypdf import PdfReader

from blink_api.kit.context import AppContext
from tests.factories import Actor, World, make_employee
from tests.kit import API

MANAGE = "check:templates:manage"


async def make_manager(ctx: AppContext, world: World, *, name: str = "Marta Vorlagen") -> Actor:
    """An employee of tenant A who may manage templates (and so fill forms on tenant A's sites)."""
    async with ctx.database.sessionmaker.begin() as s:
        return await make_employee(s, ctx, tenants=[world.tenant_a], permissions=[MANAGE], name=name)


async def make_filler(ctx: AppContext, world: World, *, name: str = "Jürgen Groß", tenants=None) -> Actor:
    """A plain employee (no permission) who fills in forms."""
    async with ctx.database.sessionmaker.begin() as s:
        return await make_employee(s, ctx, tenants=tenants or [world.tenant_a], name=name)


def ticket_element(ticket_type_id: Any, key: str = "nachreinigung", **overrides: Any) -> dict[str, Any]:
    element: dict[str, Any] = {
        "key": key,
        "type": "ticket",
        "label": "Nachreinigung anfordern",
        "help": "Nur bei schlechter Bewertung ausfüllen.",
        "ticket_type_id": str(ticket_type_id),
        "title": "Nachreinigung Eingangsbereich",
        "description": "Bitte Böden und Glasflächen nachreinigen.",
        "title_editable": False,
        "description_editable": False,
        "due_date_enabled": False,
        "attach_pdf": True,
    }
    element.update(overrides)
    return element


def template_body(elements: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Objektbegehung Qualität",
        "description": "Monatliche Begehung mit dem Kunden",
        "is_public": False,
        "elements": elements,
    }
    body.update(overrides)
    return body


async def create_template(client: httpx.AsyncClient, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"{API}/form-templates", headers=actor.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def publish(client: httpx.AsyncClient, actor: Actor, template_id: str) -> dict[str, Any]:
    r = await client.post(f"{API}/form-templates/{template_id}/publish", headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def published(client: httpx.AsyncClient, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    return await publish(client, actor, (await create_template(client, actor, body))["id"])


async def submit(
    client: httpx.AsyncClient,
    actor: Actor,
    template_id: str,
    site_id: Any,
    answers: dict[str, Any],
    *,
    complete: bool = False,
) -> httpx.Response:
    return await client.post(
        f"{API}/form-submissions",
        headers=actor.headers,
        json={"template_id": template_id, "site_id": str(site_id), "answers": answers, "complete": complete},
    )


def photo_jpeg(width: int = 1200, height: int = 900, seed: int = 7) -> bytes:
    """A photo-like JPEG: a gradient wall, a floor, a few stains and a door frame."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = 170 + int(60 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, shade - 10, shade - 30))
    draw.rectangle([0, int(height * 0.7), width, height], fill=(120, 90, 60))
    draw.rectangle(
        [int(width * 0.6), int(height * 0.15), int(width * 0.8), int(height * 0.7)],
        outline=(60, 40, 20),
        width=12,
    )
    for _ in range(25):
        x, y = rng.randrange(width), rng.randrange(int(height * 0.7), height)
        r = rng.randrange(10, 60)
        draw.ellipse([x - r, y - r // 2, x + r, y + r // 2], fill=(70, 60, 40))
    # Sensor-like grain, so the JPEG has the texture (and size) of a real photo.
    grain = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, grain, 0.12)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def signature_png(width: int = 600, height: int = 200) -> bytes:
    """A signature as a signature pad (HTML canvas) exports it: strokes on transparent black pixels."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    # Cursive-looking loops: a slow sweep with a faster wobble on top.
    points = []
    for step in range(400):
        t = step / 399
        x = 40 + t * (width - 140) + 22 * math.cos(t * 40)
        y = height * 0.55 - 45 * math.sin(t * 40) * (1 - t * 0.6) - 20 * math.sin(t * 5)
        points.append((x, y))
    draw.line(points, fill=(15, 25, 110, 255), width=4, joint="curve")
    draw.line([(30, height - 30), (width - 30, height - 36)], fill=(15, 25, 110, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient, actor: Actor, data: bytes, filename: str = "foto.jpg"
) -> httpx.Response:
    return await client.post(
        f"{API}/uploads",
        headers=actor.headers,
        files=[("files", (filename, data, "application/octet-stream"))],
    )


async def upload_id(client: httpx.AsyncClient, actor: Actor, data: bytes, filename: str = "foto.jpg") -> str:
    r = await upload(client, actor, data, filename)
    assert r.status_code == 201, r.text
    return r.json()["items"][0]["id"]


def pdf_reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF"), data[:20]
    return PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pdf_reader(data).pages)


def pdf_image_count(data: bytes) -> int:
    """Images drawn on the pages, counted from each page's XObject resources."""
    count = 0
    for page in pdf_reader(data).pages:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources else None
        if xobjects:
            for ref in xobjects.get_object().values():
                if ref.get_object().get("/Subtype") == "/Image":
                    count += 1
    return count
