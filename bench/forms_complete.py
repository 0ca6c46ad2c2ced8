"""Server time of completing a 40-element inspection form with 2 photos and one ticket with the PDF.

    .venv/bin/python bench/forms_complete.py [--runs 40]

Runs the real application in-process (ASGI, no network in between) on its own database: the one
`DATABASE_URL` names, else an embedded PostgreSQL under bench/.data/forms-postgres. Each run
uploads nothing new (the two photos are uploaded once per run before the timed request) and then
times one `POST /api/v1/form-submissions` with `complete: true`: answer checks, the ticket, the PDF
(photos scaled and embedded) and its storage. Prints median, p90 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from blink_api.app import create_app
from blink_api.bootstrap import create_admin
from blink_api.cli import migrate
from blink_api.customers.models import Customer, Site
from blink_api.kit.config import Settings
from blink_api.kit.db import Database, resolve_database_url
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType

DATA = Path(__file__).resolve().parent / ".data"


def photo(seed: int) -> bytes:
    """A 2000 x 1500 JPEG with some structure, about what a phone sends after resizing."""
    rng = random.Random(seed)
    image = Image.new("RGB", (2000, 1500), (200, 190, 170))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y, r = rng.randrange(2000), rng.randrange(1500), rng.randrange(5, 60)
        draw.ellipse((x, y, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def elements(ticket_type_id: str) -> list[dict]:
    kinds = ["rating", "yes_no", "text", "choice", "number", "date", "textarea", "multi_choice"]
    result: list[dict] = [{"key": "start", "type": "heading", "label": "Objektbegehung"}]
    for i in range(35):
        kind = kinds[i % len(kinds)]
        element = {"key": f"e{i}", "type": kind, "label": f"Prüfpunkt {i + 1}: Sauberkeit Böden"}
        if kind in ("choice", "multi_choice"):
            element["options"] = ["gut", "mittel", "schlecht"]
        result.append(element)
    result += [
        {"key": "foto1", "type": "photo", "label": "Foto Eingang"},
        {"key": "foto2", "type": "photo", "label": "Foto Treppenhaus"},
        {"key": "gesamt", "type": "rating", "label": "Gesamteindruck", "required": True},
        {
            "key": "nachreinigung",
            "type": "ticket",
            "label": "Nachreinigung",
            "visible_if": {"element": "gesamt", "op": "lte", "value": 2},
            "ticket_type_id": ticket_type_id,
            "title": "Nachreinigung nach Begehung",
            "attach_pdf": True,
        },
    ]
    return result


def answers(photo_ids: list[str]) -> dict:
    values = {
        "rating": 3,
        "yes_no": True,
        "text": "in Ordnung",
        "choice": "mittel",
        "number": 4.5,
        "date": "2026-11-20",
        "textarea": "Treppenhaus staubig,\nGeländer klebrig.",
        "multi_choice": ["gut"],
    }
    kinds = ["rating", "yes_no", "text", "choice", "number", "date", "textarea", "multi_choice"]
    result: dict = {f"e{i}": values[kinds[i % len(kinds)]] for i in range(35)}
    result.update({"foto1": photo_ids[0], "foto2": photo_ids[1], "gesamt": 1, "nachreinigung": {}})
    return result


async def main(runs: int) -> None:
    os.environ.setdefault("BLINK_LOG_JSON", "false")
    settings = Settings(
        _env_file=None,
        database_url=os.environ.get("DATABASE_URL"),
        data_dir=DATA / "forms",
        storage_url=f"file://{DATA / 'forms' / 'files'}",
        embedded_worker=False,
        log_level="WARNING",
    )
    if not settings.database_url:
        settings.database_url = resolve_database_url(Settings(_env_file=None, data_dir=DATA / "forms"))
    await asyncio.to_thread(migrate, settings)
    database = Database(settings.database_url)
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://b") as c,
    ):
        ctx = app.state.context
        suffix = random.randrange(10**6)
        async with database.sessionmaker.begin() as s:
            tenant = Tenant(name="Bench", code=f"B{suffix}")
            customer = Customer(name="Bench Kunde")
            s.add_all([tenant, customer])
            await s.flush()
            site = Site(tenant_id=tenant.id, customer_id=customer.id, name="Bürohaus")
            ticket_type = TicketType(tenant_id=tenant.id, name="Nachreinigung", category="standard")
            s.add_all([site, ticket_type])
            admin = await create_admin(
                s, ctx.passwords, email=f"bench{suffix}@blink.example", password="bench-pass-1"
            )
        token = ctx.tokens.issue(admin.id, admin.token_version)
        headers = {"Authorization": f"Bearer {token}"}
        r = await c.post(
            "/api/v1/form-templates",
            headers=headers,
            json={"name": "Begehung 40", "elements": elements(str(ticket_type.id))},
        )
        r.raise_for_status()
        template_id = r.json()["id"]
        (await c.post(f"/api/v1/form-templates/{template_id}/publish", headers=headers)).raise_for_status()
        pictures = [photo(1), photo(2)]
        timings = []
        for run in range(runs + 3):
            r = await c.post(
                "/api/v1/uploads",
                headers=headers,
                files=[
                    ("files", ("a.jpg", pictures[0], "image/jpeg")),
                    ("files", ("b.jpg", pictures[1], "image/jpeg")),
                ],
            )
            r.raise_for_status()
            ids = [a["id"] for a in r.json()["items"]]
            body = {
                "template_id": template_id,
                "site_id": str(site.id),
                "complete": True,
                "answers": answers(ids),
            }
            started = time.perf_counter()
            r = await c.post("/api/v1/form-submissions", headers=headers, json=body)
            elapsed = (time.perf_counter() - started) * 1000
            r.raise_for_status()
            assert len(r.json()["ticket_ids"]) == 1
            if run >= 3:  # the first runs warm caches (fonts, compiled statements)
                timings.append(elapsed)
    await database.dispose()
    timings.sort()
    print(
        f"runs {len(timings)}  median {statistics.median(timings):.1f} ms  "
        f"p90 {timings[int(len(timings) * 0.9) - 1]:.1f} ms  max {timings[-1]:.1f} ms"
        "  (target: median under 250 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(main(parser.parse_args().runs))
