"""Mail texts, German by default and English on request; user text is escaped in HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str


SUBJECT_LIMIT = 200


def _single_line(value: str) -> str:
    # A subject is a header: CR/LF in user text must not start a new header. Long ones are shortened.
    line = " ".join(value.split())
    return line if len(line) <= SUBJECT_LIMIT else line[: SUBJECT_LIMIT - 1].rstrip() + "…"


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
    to_where = "zum Blink Kundenportal" if portal else "zu Blink"
    lines = [
        f"Hallo {name},",
        f"Sie wurden {to_where} eingeladen.",
        "Legen Sie Ihr Passwort über diesen Link fest:",
    ]
    return Mail(
        subject=_single_line(f"Ihr Zugang {to_where}"),
        text="\n\n".join([*lines, link, "Der Link ist einmal gültig."]) + "\n",
        html=_html(lines, link, "Passwort festlegen"),
    )


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What a ticket mail may show: fields of the ticket customer users see (`tickets.customer_view`)."""

    number: str
    title: str
    site: str
    link: str


_TEXTS = {
    "de": {
        "customer_comment": (
            "Neuer Kommentar zu Ticket {number}: {title}",
            "zu Ihrem Ticket gibt es einen neuen Kommentar von {author}:",
        ),
        "customer_closed": ("Ticket {number} wurde geschlossen: {title}", "Ihr Ticket wurde geschlossen."),
        "employee_closed": (
            "Ticket {number} wurde geschlossen: {title}",
            "{author} hat das Ticket geschlossen.",
        ),
        "customer_status": (
            "Neuer Status von Ticket {number}: {title}",
            "der Status Ihres Tickets ist jetzt: {status}.",
        ),
        "employee_status": (
            "Neuer Status von Ticket {number}: {title}",
            "{author} hat den Status geändert: {status}.",
        ),
        "statuses": {
            "open": "Offen",
            "in_progress": "In Bearbeitung",
            "waiting": "Wartet",
            "closed": "Geschlossen",
        },
        "employee_staff_comment": (
            "Neuer Kommentar zu Ticket {number}: {title}",
            "{author} hat kommentiert:",
        ),
        "employee_attachment": (
            "Neuer Anhang an Ticket {number}: {title}",
            "{author} hat Dateien angehängt:",
        ),
        "rate": "Wie zufrieden sind Sie mit der Erledigung? Bewerten Sie das Ticket hier:",
        "rate_link": "Ticket bewerten",
        "employee_ticket": (
            "Neues Kundenticket {number}: {title}",
            "{author} hat über das Kundenportal ein Ticket erstellt:",
        ),
        "employee_comment": (
            "Kundenkommentar zu Ticket {number}: {title}",
            "{author} hat über das Kundenportal kommentiert:",
        ),
        "employee_sla_breached": (
            "Servicezeit überschritten: Ticket {number}: {title}",
            "für dieses Ticket ist eine vereinbarte Servicezeit abgelaufen:",
        ),
        "greeting": "Hallo {name},",
        "ticket": "Ticket",
        "site": "Objekt",
        "open": "Ticket öffnen",
    },
    "en": {
        "customer_comment": (
            "New comment on ticket {number}: {title}",
            "there is a new comment on your ticket from {author}:",
        ),
        "customer_closed": ("Ticket {number} was closed: {title}", "Your ticket was closed."),
        "employee_closed": (
            "Ticket {number} was closed: {title}",
            "{author} closed the ticket.",
        ),
        "customer_status": (
            "New status of ticket {number}: {title}",
            "your ticket's status is now: {status}.",
        ),
        "employee_status": (
            "New status of ticket {number}: {title}",
            "{author} changed the status to: {status}.",
        ),
        "statuses": {
            "open": "Open",
            "in_progress": "In progress",
            "waiting": "Waiting",
            "closed": "Closed",
        },
        "employee_staff_comment": (
            "New comment on ticket {number}: {title}",
            "{author} commented:",
        ),
        "employee_attachment": (
            "New attachment on ticket {number}: {title}",
            "{author} attached files:",
        ),
        "rate": "How satisfied are you with the work? Rate the ticket here:",
        "rate_link": "Rate the ticket",
        "employee_ticket": (
            "New customer ticket {number}: {title}",
            "{author} created a ticket in the customer portal:",
        ),
        "employee_comment": (
            "Customer comment on ticket {number}: {title}",
            "{author} commented in the customer portal:",
        ),
        "employee_sla_breached": (
            "Service level breached: ticket {number}: {title}",
            "a service-level target of this ticket has passed unmet:",
        ),
        "greeting": "Hello {name},",
        "ticket": "Ticket",
        "site": "Site",
        "open": "Open the ticket",
    },
}


def ticket_mail(
    kind: str,
    *,
    locale: str,
    recipient_name: str,
    facts: TicketFacts,
    author: str = "",
    text: str | None = None,
    status: str | None = None,
    ask_rating: bool = False,
) -> Mail:
    """One of the ticket mails; `kind` names both the audience (customer_…, employee_…) and the event.
    `status`: the ticket's new status (the `…_status` mails). `ask_rating` adds the request to rate the
    ticket, with its link (the closing mail to the customer user who created it)."""
    words = _TEXTS.get(locale, _TEXTS["de"])
    subject_pattern, lead_pattern = words[kind]
    subject = _single_line(subject_pattern.format(number=facts.number, title=facts.title))
    greeting = words["greeting"].format(name=recipient_name)
    lead = lead_pattern.format(author=author, status=words["statuses"].get(status or "", status or ""))
    ticket_line = f"{words['ticket']} {facts.number}: {facts.title}"
    site_line = f"{words['site']}: {facts.site}"
    plain = [greeting, lead]
    if text:
        plain.append(text)
    plain += [ticket_line, site_line]
    paragraphs = [greeting, lead, *([text] if text else []), ticket_line, site_line]
    if ask_rating:
        plain += [words["rate"], facts.link]
        body_html = _html([*paragraphs, words["rate"]], facts.link, words["rate_link"])
    else:
        plain.append(facts.link)
        body_html = _html(paragraphs, facts.link, words["open"])
    return Mail(subject=subject, text="\n\n".join(plain) + "\n", html=body_html)
