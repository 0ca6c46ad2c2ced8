"""Images made small and plain once, at upload: at most MAX_EDGE pixels on the longer side, turned
upright as the camera's EXIF orientation says, and re-encoded in their own format without metadata
(no location, no camera serial, nothing hidden behind the pixels). Everything that shows an image later
(downloads, form PDFs) reads this bounded copy, never the original."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import IO, BinaryIO

from PIL import Image, ImageOps

MAX_EDGE = 2048
JPEG_QUALITY = 85
SPOOL_BYTES = 1024 * 1024

# Pillow's format names for the image types the allow-list admits.
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# Modes each format stores as they are; anything else is converted (keeping transparency).
_KEPT_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"L", "LA", "RGB", "RGBA"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
}


class UnreadableImage(Exception):
    pass


@dataclass
class NormalisedImage:
    file: IO[bytes]
    size: int
    sha256: str
    width: int
    height: int


def _plain(image: Image.Image) -> Image.Image:
    """Palette, bilevel and 16-bit pixels become 8-bit grey or colour, so that scaling down averages
    pixels (a palette or bilevel image would only be sampled) and every encoder takes them."""
    if image.mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    if image.mode in ("P", "PA") or "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode.startswith("I"):
        # 16-bit grey (PNG): scaled to 8 bits, not clipped to white above 255.
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("1", "F"):
        return image.convert("L")
    return image.convert("RGB")


def _encodable(image: Image.Image, kind: str) -> Image.Image:
    if image.mode in _KEPT_MODES[kind]:
        return image
    if kind == "GIF":
        return image.convert("RGB").quantize(256)
    if kind == "JPEG":
        return image.convert("RGB")
    return image.convert("RGBA" if "A" in image.mode else "RGB")


def normalise(source: BinaryIO, content_type: str) -> NormalisedImage:
    """Decode once (a JPEG at a reduced scale already), bound, turn upright, re-encode. Animated images
    keep their first frame. The caller has checked the pixel count from the header beforehand."""
    kind = _FORMATS[content_type]
    source.seek(0)
    try:
        with Image.open(source, formats=[kind]) as opened:
            # Only the first frame is decoded; a JPEG already at a reduced scale (its decoder can),
            # anything else once in full, briefly, then reduced in steps.
            if kind == "JPEG":
                opened.thumbnail((MAX_EDGE, MAX_EDGE))
            image = _plain(opened)
            image.thumbnail((MAX_EDGE, MAX_EDGE))
            upright = ImageOps.exif_transpose(image) or image
            out = _encodable(upright, kind)
            options: dict[str, object] = {"quality": JPEG_QUALITY} if kind in ("JPEG", "WEBP") else {}
            if opened.info.get("icc_profile") and kind in ("JPEG", "PNG", "WEBP"):
                options["icc_profile"] = opened.info["icc_profile"]
            # Handed to the caller, who stores it; in memory unless it is large.
            target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
            try:
                out.save(target, kind, **options)
            except BaseException:
                target.close()
                raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise UnreadableImage(str(exc)) from exc
    finally:
        source.seek(0)
    size = target.tell()
    target.seek(0)
    digest = hashlib.sha256()
    while chunk := target.read(256 * 1024):
        digest.update(chunk)
    target.seek(0)
    return NormalisedImage(target, size, digest.hexdigest(), *out.size)
