"""An integrator's first session with the API, through the client openapi-python-client generates.

Logs in, pages through tickets, creates a ticket with a comment and an attachment, reads a problem
document as a typed error, works with an API token and downloads a form's PDF, using only the
generated functions and models. Run by .ci/clients/run against a server with demo data
(BLINK_BASE_URL); exits non-zero on failure.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import uuid
from typing import NoReturn, TypeVar

from blink_api_client import AuthenticatedClient, Client
from blink_api_client.api.api_tokens import api_tokens_create
from blink_api_client.api.attachments import attachments_content
from blink_api_client.api.auth import auth_token
from blink_api_client.api.form_submissions import form_submissions_create, form_submissions_pdf
from blink_api_client.api.form_templates import form_templates_list
from blink_api_client.api.sites import sites_list, sites_ticket_types
from blink_api_client.api.tickets import (
    tickets_create,
    tickets_create_attachments,
    tickets_create_comment,
    tickets_list,
    tickets_read,
)
from blink_api_client.models import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenCreateScopesItem,
    AttachmentList,
    AttachmentUpload,
    CommentCreate,
    CommentRead,
    LoginForm,
    Problem,
    Rating,
    SiteReadPage,
    SubmissionCreate,
    SubmissionCreateAnswers,
    SubmissionRead,
    SubmissionReadStatus,
    TemplateReadPage,
    TemplateReadStatus,
    TicketCreate,
    TicketRead,
    TicketReadPage,
    TicketReadStatus,
    TicketTypeReadPage,
    Token,
)
from blink_api_client.types import File

BASE_URL = os.environ.get("BLINK_BASE_URL", "http://127.0.0.1:8000")
EMPLOYEE = "mia.mitarbeiter@demo.blink.test"
DEMO_PASSWORD = "blink-demo-2026"  # printed by the server for its demo logins
# A 4 x 4 red PNG, small enough to spell out here.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAFElEQVR4nGM8ISfHAANMDEgANwcANHYBDK9qubUAAAAASUVORK5CYII="
)

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    print(f"scenario.py: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: object, message: str) -> None:
    if not condition:
        fail(message)


def step(message: str) -> None:
    print(f"  ok: {message}")


def expect(result: T | Problem | None, kind: type[T], what: str) -> T:
    """The generated functions answer the documented model, a `Problem`, or None (undocumented)."""
    if isinstance(result, Problem):
        fail(f"{what}: {result.status} {result.title}: {result.detail}")
    if not isinstance(result, kind):
        fail(f"{what}: expected {kind.__name__}, got {result!r}")
    return result


def bearer(token: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE_URL, token=token, raise_on_unexpected_status=True)


def list_all_tickets(api: AuthenticatedClient, limit: int) -> tuple[list[TicketRead], int]:
    tickets: list[TicketRead] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = tickets_list.sync(client=api, limit=limit, **({"cursor": cursor} if cursor else {}))
        page = expect(page, TicketReadPage, "listing tickets")
        check(len(page.items) <= limit, f"a page of {len(page.items)} items for limit {limit}")
        tickets.extend(page.items)
        pages += 1
        check(pages < 1000, "next_cursor never ran out")
        if page.next_cursor is None:
            return tickets, pages
        cursor = page.next_cursor


def main() -> None:
    anonymous = Client(base_url=BASE_URL, raise_on_unexpected_status=True)

    # Log in with the password form.
    login = auth_token.sync(client=anonymous, body=LoginForm(username=EMPLOYEE, password=DEMO_PASSWORD))
    login = expect(login, Token, "logging in")
    check(len(login.access_token) > 20, "the access token looks too short")
    api = bearer(login.access_token)
    step("logged in with the password form")

    # A site and a ticket type enabled there.
    sites = expect(sites_list.sync(client=api, limit=100), SiteReadPage, "listing sites")
    check(sites.items, "the employee sees no site")
    site = sites.items[0]
    types = sites_ticket_types.sync(site.id, client=api)
    types = expect(types, TicketTypeReadPage, "listing the site's ticket types")
    check(types.items, f"no ticket type is enabled on site {site.name}")
    ticket_type = types.items[0]
    step(f'site "{site.name}", ticket type "{ticket_type.name}"')

    # Create a ticket, comment on it, attach a picture.
    title = f"Generated Python client {uuid.uuid4()}"
    body = TicketCreate(
        site_id=site.id, ticket_type_id=ticket_type.id, title=title, description="Made by scenario.py."
    )
    ticket = expect(tickets_create.sync(client=api, body=body), TicketRead, "creating a ticket")
    check(
        ticket.title == title and ticket.status == TicketReadStatus.OPEN,
        "the created ticket is not what was sent",
    )
    step(f"created ticket #{ticket.number}")

    comment = tickets_create_comment.sync(
        ticket.id, client=api, body=CommentCreate(body="A comment from the generated client.")
    )
    comment = expect(comment, CommentRead, "commenting")
    check(comment.body == "A comment from the generated client.", "the comment came back changed")
    step("commented")

    picture = File(payload=io.BytesIO(PNG), file_name="red.png", mime_type="image/png")
    upload = tickets_create_attachments.sync(ticket.id, client=api, body=AttachmentUpload(files=[picture]))
    upload = expect(upload, AttachmentList, "uploading an attachment")
    check(len(upload.items) == 1, f"{len(upload.items)} attachments came back for one file")
    attachment = upload.items[0]
    check(attachment.content_type == "image/png", f"the attachment is {attachment.content_type}")
    step(f"attached {attachment.filename} ({attachment.size} bytes)")

    download = expect(attachments_content.sync(attachment.id, client=api), File, "downloading the attachment")
    check(download.payload.read()[1:4] == b"PNG", "the attachment did not come back as PNG")
    step("downloaded the attachment")

    # List every ticket, a few at a time, following next_cursor to the end.
    limit = 2
    tickets, pages = list_all_tickets(api, limit)
    check(pages > 1, f"{len(tickets)} tickets fitted on one page of {limit}")
    check(len({t.id for t in tickets}) == len(tickets), "a ticket was listed twice")
    check(any(t.id == ticket.id for t in tickets), "the new ticket is missing from the list")
    step(f"listed {len(tickets)} tickets on {pages} pages of {limit}")

    # A problem document, typed: a ticket that does not exist.
    missing = tickets_read.sync_detailed(uuid.uuid4(), client=api)
    check(isinstance(missing.parsed, Problem), f"an unknown ticket answered {missing.parsed!r}")
    assert isinstance(missing.parsed, Problem)
    check(
        missing.parsed.status == 404 and missing.status_code == 404,
        f"expected 404, got {missing.parsed.status}",
    )
    check(missing.parsed.title, "the problem has no title")
    content_type = missing.headers.get("content-type", "")
    check(content_type.startswith("application/problem+json"), f"the problem came as {content_type}")
    step(f'404 problem: "{missing.parsed.title}"')

    # An API token with tickets:read: it lists tickets and may not create one.
    issued = api_tokens_create.sync(
        client=api, body=ApiTokenCreate(name="scenario.py", scopes=[ApiTokenCreateScopesItem.TICKETS_READ])
    )
    issued = expect(issued, ApiTokenCreated, "creating an API token")
    check(
        [s.value for s in issued.scopes] == ["tickets:read"], "the token's scopes are not what was asked for"
    )
    integration = bearer(issued.token)
    seen, _ = list_all_tickets(integration, 50)
    check(len(seen) == len(tickets), f"the token sees {len(seen)} tickets, its owner {len(tickets)}")
    refused = tickets_create.sync(
        client=integration,
        body=TicketCreate(site_id=site.id, ticket_type_id=ticket_type.id, title="Not allowed"),
    )
    check(
        isinstance(refused, Problem) and refused.status == 403,
        f"a read-only token created a ticket: {refused!r}",
    )
    assert isinstance(refused, Problem)
    check(
        isinstance(refused.detail, str) and "tickets:write" in refused.detail,
        "the 403 does not name the scope",
    )
    step(f"API token {issued.prefix}… lists {len(seen)} tickets and is refused tickets:write")

    # A completed form submission's PDF.
    templates = form_templates_list.sync(client=api, limit=100)
    templates = expect(templates, TemplateReadPage, "listing form templates")
    inspection = next(
        (
            t
            for t in templates.items
            if t.status == TemplateReadStatus.PUBLISHED and not t.is_public and t.subject == "site"
        ),
        None,
    )
    if inspection is None:
        fail("no published internal form template in the demo data")
    rating = next((e for e in inspection.elements if isinstance(e, Rating)), None)
    if rating is None:
        fail(f'template "{inspection.name}" has no rating element')
    answers = SubmissionCreateAnswers()
    answers[rating.key] = 4
    submission = form_submissions_create.sync(
        client=api,
        body=SubmissionCreate(template_id=inspection.id, site_id=site.id, answers=answers, complete=True),
    )
    submission = expect(submission, SubmissionRead, "submitting the form")
    check(submission.status == SubmissionReadStatus.COMPLETED, f"the submission is {submission.status}")
    pdf = expect(form_submissions_pdf.sync(submission.id, client=api), File, "downloading the PDF")
    data = pdf.payload.read()
    check(data.startswith(b"%PDF"), "the download is not a PDF")
    step(f'downloaded the PDF of "{inspection.name}" ({len(data)} bytes)')

    print("scenario.py: all steps passed")


if __name__ == "__main__":
    main()
