"""Mail texts, German by default and English on request; user text is escaped in HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str


def _single_line(value: str) -> str:
    # A subject is a header: CR/LF in user text must not start a new header.
    return " ".join(value.split())


def _html(paragraphs: list[str], link: str | None = None, link_label: str = "") -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if link:
        body += f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link_label)}</a></p>'
    return f"<!doctype html><html><body>{body}</body></html>"


def invitation(*, name: str, link: str, locale: str, portal: bool) -> Mail:
    if locale == "en":
        where = "the Blink customer portal" if portal else "Blink"
        lines = [f"Hello {name},", f"you have been invited to {where}.", "Set your password with this link:"]
        return Mail(
            subject=_single_line(f"Your access to {where}"),
            text="\n\n".join([*lines, link, "The link can be used once."]) + "\n",
            html=_html(lines, link, "Set password"),
        )
    where = "das Blink Kundenportal" if portal else "Blink"
    lines = [
        f"Hallo {name},",
        f"Sie wurden zu {where} eingeladen.",
        "Legen Sie Ihr Passwort über diesen Link fest:",
    ]
    return Mail(
        subject=_single_line(f"Ihr Zugang zu {where}"),
        text="\n\n".join([*lines, link, "Der Link ist einmal gültig."]) + "\n",
        html=_html(lines, link, "Passwort festlegen"),
    )
