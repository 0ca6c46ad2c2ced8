"""What a file really is, from its bytes: the allow-list, text detection and image size checks."""

from __future__ import annotations

import unicodedata
from typing import BinaryIO

import filetype
from PIL import Image, PngImagePlugin, UnidentifiedImageError

MAX_IMAGE_PIXELS = 50_000_000
HEAD_BYTES = 64 * 1024

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
INLINE_TYPES = IMAGE_TYPES | {"application/pdf"}
ALLOWED_TYPES = IMAGE_TYPES | {
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "text/plain",
    "text/csv",
}

# Keeps Pillow itself from decoding anything absurd should some path ever decode an upload.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# Compressed PNG chunks (text, colour profiles) inflate far beyond their size; Pillow's defaults allow
# 64 MB of them per image. Their text is never kept; a colour profile fits in far less.
PngImagePlugin.MAX_TEXT_CHUNK = 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 1024 * 1024


def sniff(head: bytes, filename: str) -> str:
    """The content type the bytes show; `application/octet-stream` when they show none we know."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if head and _looks_like_text(head):
        markup = _markup(head)
        if markup:
            return markup
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    return "application/octet-stream"


_MARKUP_STARTS = {
    b"<!doctype html": "text/html",
    b"<html": "text/html",
    b"<head": "text/html",
    b"<body": "text/html",
    b"<script": "text/html",
    b"<iframe": "text/html",
    b"<svg": "image/svg+xml",
    b"<?xml": "application/xml",
}


def _markup(head: bytes) -> str | None:
    """Text that a browser would run as a page (HTML, SVG, XML) is not plain text."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for prefix, content_type in _MARKUP_STARTS.items():
        if start.startswith(prefix):
            return content_type
    if b"<script" in head.lower() or b"<html" in head.lower():
        return "text/html"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the end of the sample is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"


def image_pixels(file: BinaryIO) -> int | None:
    """Width times height from the image header, without decoding the pixels; None if unreadable."""
    position = file.tell()
    try:
        with Image.open(file) as image:
            width, height = image.size
            return width * height
    except Image.DecompressionBombError:
        return MAX_IMAGE_PIXELS + 1
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    finally:
        file.seek(position)


def _name_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return " "
    if category[0] == "C" or ch in '<>:"|?*':
        return ""
    return ch


def display_name(name: str | None, *, path: bool = True, fallback: str = "attachment") -> str:
    """A name safe to show, to store and to put into a header: one line, no control or invisible
    format characters, none of the characters file systems refuse, at most 200 characters.

    A client's file name (`path`) is only ever a display name, never a path: its last segment is kept.
    Any other name (a form template's) keeps its words, its slashes becoming dashes."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/")
    name = name.rsplit("/", 1)[-1] if path else name.replace("/", "-")
    # Line breaks and other controls separate words; invisible format characters (bidi overrides
    # that turn "gpj.exe" around) go. Every kind of whitespace run becomes one space.
    name = "".join(_name_char(ch) for ch in name)
    name = " ".join(name.split()).lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or fallback
