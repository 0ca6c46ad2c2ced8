"""The filled form as PDF (reportlab): every visible element with its answer, photos embedded, tickets listed.

User text is escaped before it reaches reportlab's paragraph markup, so markup in an answer renders
literally and can neither fetch files nor change the layout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer

FONT, FONT_BOLD = "BlinkSans", "BlinkSans-Bold"
# The font is embedded, so every viewer shows it. DejaVu Sans (Vera's successor, the same shapes)
# covers every Latin script of Europe, Greek and Cyrillic: the names of staff from Poland, Czechia or
# Ukraine come out whole. It is taken where the system has it (Debian and Ubuntu: `fonts-dejavu-core`,
# which the image installs; the other usual places besides). Without it, Bitstream Vera, which
# reportlab ships: German is whole (ä, ö, ü, ß), letters such as ź, ř or Cyrillic are left out.
_DEJAVU_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/dejavu",  # Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts/dejavu",  # FreeBSD
)


def _font_files() -> tuple[Path, Path]:
    for folder in map(Path, _DEJAVU_DIRS):
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    shipped = Path(reportlab.__file__).parent / "fonts"
    return shipped / "Vera.ttf", shipped / "VeraBd.ttf"


FONT_FILES = _font_files()
pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILES[0])))
pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_FILES[1])))

# 16 cm at about 190 dpi: sharp on paper, a few hundred kilobytes at most per picture.
MAX_IMAGE_EDGE = 1200
IMAGE_BOX = (16 * cm, 10 * cm)  # inside the 17 cm between the margins

_body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13)
_label = ParagraphStyle(
    "label", parent=_body, fontName=FONT_BOLD, keepWithNext=1
)  # never alone at a page end
_title = ParagraphStyle("title", parent=_body, fontName=FONT_BOLD, fontSize=16, leading=20, spaceAfter=6)
_heading = ParagraphStyle(
    "heading", parent=_body, fontName=FONT_BOLD, fontSize=12, leading=16, spaceBefore=10
)
_answer = ParagraphStyle("answer", parent=_body, leftIndent=0.5 * cm)
_small = ParagraphStyle("small", parent=_body, fontSize=8, leading=10, textColor=colors.grey)


def text(value: Any, style: ParagraphStyle = _body) -> Paragraph:
    """A paragraph of user text: escaped, line breaks kept."""
    return Paragraph(escape(str(value)).replace("\n", "<br/>"), style)


@dataclass
class FilledForm:
    template_name: str
    version: int
    site: str
    submitter: str
    completed_at: datetime | None
    elements: list[Any]
    answers: dict[str, Any]
    visible: set[str]
    images: dict[str, Picture | None] = field(default_factory=dict)
    tickets: list[tuple[str, str]] = field(default_factory=list)
    # The ticket types whose tickets the site's customer users see (None: no customer, every type).
    # The PDF reaches them as a report and on their tickets: what a ticket element of another type
    # was answered with stays out of it, as the tickets raised of such types do (see `tickets`).
    ticket_types_shown: frozenset[Any] | None = None


def _ticket_text(element: Any, value: Any, shown: frozenset[Any] | None) -> str:
    """A ticket element's answer: that a ticket was asked for, and what the person filling in set."""
    if value is None:
        return "-"
    lines = ["Ticket angefordert"]
    if isinstance(value, dict) and (shown is None or element.ticket_type_id in shown):
        if value.get("title"):
            lines.append(f"Titel: {value['title']}")
        if value.get("description"):
            lines.append(f"Beschreibung: {value['description']}")
        if value.get("due_date"):
            lines.append(f"Fällig am: {datetime.fromisoformat(value['due_date']):%d.%m.%Y}")
    return "\n".join(lines)


def _answer_text(element: Any, value: Any) -> str:
    if value is None:
        return "-"
    kind = element.type
    if kind == "rating":
        return f"{value} / 5"
    if kind == "yes_no":
        return "Ja" if value else "Nein"
    if kind == "multi_choice":
        return ", ".join(value)
    if kind == "number":
        return f"{value:g}" if isinstance(value, float) else str(value)
    return str(value)


@dataclass
class Picture:
    """A photo or signature as the page shows it: a small JPEG and its size in pixels."""

    jpeg: bytes
    width: int
    height: int


def picture(data: bytes) -> Picture | None:
    """Scaled down before embedding, so a large photo costs neither time nor megabytes in the PDF;
    None when the bytes are no readable image."""
    try:
        with PILImage.open(io.BytesIO(data)) as source:
            source.draft("RGB", (MAX_IMAGE_EDGE, MAX_IMAGE_EDGE))
            source.thumbnail((MAX_IMAGE_EDGE, MAX_IMAGE_EDGE))
            # Transparent pixels (a signature pad's PNG) go on white paper, not black.
            rgba = source.convert("RGBA")
            converted = PILImage.new("RGB", rgba.size, "white")
            converted.paste(rgba, mask=rgba.getchannel("A"))
            buffer = io.BytesIO()
            converted.save(buffer, "JPEG", quality=80)
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
    return Picture(buffer.getvalue(), *converted.size)


def _image(picture: Picture) -> Image:
    scale = min(IMAGE_BOX[0] / picture.width, IMAGE_BOX[1] / picture.height, 1.0)
    return Image(io.BytesIO(picture.jpeg), width=picture.width * scale, height=picture.height * scale)


def render(form: FilledForm) -> bytes:
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=form.template_name,
        author="Blink",
        subject="Formular",
    )
    completed = form.completed_at.strftime("%d.%m.%Y %H:%M UTC") if form.completed_at else "Entwurf"
    story: list[Any] = [
        text(form.template_name, _title),
        text(
            f"Version {form.version} · Objekt: {form.site} · Ausgefüllt von: {form.submitter} · {completed}",
            _small,
        ),
        Spacer(1, 0.4 * cm),
    ]
    # Label above answer, as plain flowables: a long answer flows on to the next page, where a table
    # cell could not split.
    for element in form.elements:
        if element.key not in form.visible:
            continue
        if element.type == "heading":
            story.append(text(element.label, _heading))
            continue
        story.append(text(element.label, _label))
        if element.type in ("photo", "signature") and element.key in form.images:
            shown = form.images[element.key]
            story.append(_image(shown) if shown else text("(Bild nicht lesbar)", _answer))
        elif element.type == "ticket":
            answer = _ticket_text(element, form.answers.get(element.key), form.ticket_types_shown)
            story.extend(text(line, _answer) for line in answer.split("\n"))
        else:
            story.append(text(_answer_text(element, form.answers.get(element.key)), _answer))
        story.append(Spacer(1, 0.25 * cm))
    if form.tickets:
        story.append(text("Erzeugte Tickets", _heading))
        for number, title in form.tickets:
            story.append(text(f"{number}: {title}"))
    document.build(story)
    return out.getvalue()
