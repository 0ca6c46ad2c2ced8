"""Images are stored normalised: bounded, upright, re-encoded without metadata; other files as sent.
Read back from the storage itself with Pillow, as anything that shows them later would."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from blink_api.files.models import Attachment
from blink_api.kit.capacity import Gate
from tests.forms_helpers import photo_jpeg, signature_png, upload
from tests.kit import API, assert_problem

ORIENTATION, GPS_IFD = 0x0112, 0x8825


def huge_flat_png(width: int = 7070, height: int = 7070) -> bytes:
    """A real PNG of one colour, about 50 megapixels that compress to some 160 KB: the attack,
    written row by row so the test never holds the picture itself."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    deflate = zlib.compressobj(9)
    row = b"\x00" + bytes([190, 170, 140]) * width
    pixels = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_with_exif(width: int, height: int, *, orientation: int | None = None, gps: bool = False) -> bytes:
    """A camera-like JPEG: an arrow pointing up in the picture as stored, EXIF as a phone writes it."""
    image = Image.new("RGB", (width, height), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, height // 4], fill=(200, 20, 20))  # red band at the stored top
    exif = Image.Exif()
    exif[0x010F] = "Phone Maker"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (53.0, 32.0, 44.0), 3: "E", 4: (9.0, 59.0, 18.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


async def stored(ctx, attachment_id: str) -> tuple[Attachment, bytes]:
    """The row and the bytes really kept in the storage for an attachment."""
    async with ctx.database.sessionmaker() as s:
        row = (await s.scalars(select(Attachment).where(Attachment.id == attachment_id))).one()
    data = b"".join([chunk async for chunk in ctx.storage.read(row.storage_key)])
    return row, data


# The attack from the finding


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_a_50_megapixel_png_form_photo_is_stored_small(client, world, ctx):
    bomb = huge_flat_png()
    assert len(bomb) < 400_000
    r = await upload(client, world.employee_a, bomb, "grundriss.png")
    assert r.status_code == 201, r.text
    item = r.json()["items"][0]
    row, data = await stored(ctx, item["id"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and max(image.size) == 2048 and image.size == (2048, 2048)
        assert image.getpixel((1000, 1000))[:3] == (190, 170, 140)
    # What the API reports and serves is the stored copy.
    assert item["size"] == row.size == len(data) and item["content_type"] == row.content_type == "image/png"
    r = await client.get(f"{API}/attachments/{item['id']}/content", headers=world.employee_a.headers)
    assert r.status_code == 200 and r.content == data
    assert int(r.headers["content-length"]) == len(data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_ticket_photos_are_normalised_too(client, world, ctx):
    # Created together with the ticket (multipart) ...
    r = await client.post(
        f"{API}/tickets",
        headers=world.employee_a.headers,
        data={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "Wasserschaden im Keller",
        },
        files=[("files", ("schaden.png", huge_flat_png(5000, 3000), "image/png"))],
    )
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    # ... and added afterwards.
    r = await client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        headers=world.employee_a.headers,
        files=[("files", ("kamera.jpg", photo_jpeg(4000, 3000), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=world.employee_a.headers)
    items = {a["filename"]: a for a in r.json()["items"]}
    assert set(items) == {"schaden.png", "kamera.jpg"}
    for name, expected in (("schaden.png", ("PNG", (2048, 1229))), ("kamera.jpg", ("JPEG", (2048, 1536)))):
        _, data = await stored(ctx, items[name]["id"])
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == expected, name
        assert items[name]["size"] == len(data)


async def test_other_files_are_stored_exactly_as_sent(client, world, ctx):
    report = b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    r = await upload(client, world.employee_a, report, "bericht.pdf")
    assert r.status_code == 201, r.text
    _, data = await stored(ctx, r.json()["items"][0]["id"])
    assert data == report


# What normalising does to a photo


async def test_a_photo_is_turned_upright_as_its_exif_says_and_keeps_no_metadata(client, world, ctx):
    # Stored 400x200 by a phone held upright: orientation 6 says "turn 90° clockwise to show".
    sent = jpeg_with_exif(400, 200, orientation=6, gps=True)
    with Image.open(io.BytesIO(sent)) as original:
        assert original.getexif()[ORIENTATION] == 6 and GPS_IFD in original.getexif()
    r = await upload(client, world.employee_a, sent, "IMG_2001.JPG")
    assert r.status_code == 201, r.text
    _, data = await stored(ctx, r.json()["items"][0]["id"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (200, 400)
        # The red band, stored at the top, is now on the right-hand side, as the camera meant.
        red = image.convert("RGB").getpixel((190, 200))
        assert red[0] > 150 and red[1] < 80, red
        # No orientation left to apply twice, and no location, no camera make.
        assert dict(image.getexif()) == {}


async def test_a_signature_keeps_its_transparency(client, world, ctx):
    r = await upload(client, world.employee_a, signature_png(), "unterschrift.png")
    assert r.status_code == 201, r.text
    _, data = await stored(ctx, r.json()["items"][0]["id"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.size == (600, 200)
        low, high = image.getchannel("A").getextrema()
        assert (low, high) == (0, 255)


async def test_a_small_lossless_image_keeps_every_pixel(client, world, ctx):
    original = Image.effect_noise((300, 200), 60).convert("RGB")
    buffer = io.BytesIO()
    original.save(buffer, "PNG", pnginfo=None)
    r = await upload(client, world.employee_a, buffer.getvalue(), "rauschen.png")
    assert r.status_code == 201, r.text
    _, data = await stored(ctx, r.json()["items"][0]["id"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.tobytes() == original.tobytes()


async def test_an_animated_gif_keeps_its_first_frame_bounded(client, world, ctx):
    frames = [Image.new("P", (3000, 1000), colour) for colour in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    r = await upload(client, world.employee_a, buffer.getvalue(), "animation.gif")
    assert r.status_code == 201, r.text
    item = r.json()["items"][0]
    assert item["content_type"] == "image/gif"
    _, data = await stored(ctx, item["id"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "GIF" and image.size == (2048, 683)
        assert getattr(image, "n_frames", 1) == 1


async def test_a_truncated_image_is_refused_and_nothing_is_stored(client, world, ctx):
    whole = photo_jpeg(800, 600)
    r = await upload(client, world.employee_a, whole[: len(whole) // 3], "abgeschnitten.jpg")
    assert_problem(r, 415)
    async with ctx.database.sessionmaker() as s:
        assert (await s.scalars(select(Attachment))).all() == []


# Bounded work


async def test_uploads_beyond_the_render_bound_answer_503_quickly(client, world, ctx, monkeypatch):
    gate = Gate(1, 0.2, what="render")
    monkeypatch.setattr(ctx, "renders", gate)
    async with gate.turn("someone else"):
        started = time.monotonic()
        r = await upload(client, world.employee_a, photo_jpeg(640, 480), "foto.jpg")
        assert time.monotonic() - started < 2
        body = assert_problem(r, 503)
        assert r.headers["retry-after"] == "1" and body["type"] == "/problems/service-unavailable"
    async with ctx.database.sessionmaker() as s:
        assert (await s.scalars(select(Attachment))).all() == []
    # Once the slot is free, the same upload goes through.
    r = await upload(client, world.employee_a, photo_jpeg(640, 480), "foto.jpg")
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("chunks", "inflated"), [(1, 8_000_000), (8, 900_000)], ids=["one-big", "eight-small"]
)
async def test_a_png_whose_text_chunks_inflate_to_megabytes_is_refused(client, world, ctx, chunks, inflated):
    # A few KB on the wire, over 7 MB of text once inflated: more than any picture needs to carry.
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, "PNG")
    plain = buffer.getvalue()
    text = b"Comment\x00\x00" + zlib.compress(b"A" * inflated, 9)
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text))
    bomb = plain[:33] + chunk * chunks + plain[33:]  # right after the header chunk
    assert len(bomb) < 20_000
    r = await upload(client, world.employee_a, bomb, "kommentar.png")
    assert_problem(r, 415)
    async with ctx.database.sessionmaker() as s:
        assert (await s.scalars(select(Attachment))).all() == []


async def test_a_16_bit_grey_scan_keeps_its_greys(client, world, ctx):
    buffer = io.BytesIO()
    Image.new("I;16", (300, 200), 40_000).save(buffer, "PNG")  # about 61 % grey
    r = await upload(client, world.employee_a, buffer.getvalue(), "scan.png")
    assert r.status_code == 201, r.text
    _, data = await stored(ctx, r.json()["items"][0]["id"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "L" and 150 <= image.getpixel((10, 10)) <= 160
