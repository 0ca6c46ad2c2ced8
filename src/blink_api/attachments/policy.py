"""Who may reach and remove an attachment: the uploader rule the visibility statement is composed
from, and the delete rules, each answering None or the reason it refuses."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from blink_api.files.models import Attachment
from blink_api.identity.principals import CustomerUserPrincipal, Principal


def uploaded_by(principal: Principal) -> ColumnElement[bool]:
    """The uploader rule: an attachment on no ticket (an upload not yet attached, a form
    submission's photo or signature) is visible to the account that uploaded it. Others reach it
    only through what it belongs to."""
    return and_(Attachment.ticket_id.is_(None), Attachment.created_by == principal.id)


def why_not_delete(principal: Principal, attachment: Attachment) -> str | None:
    if isinstance(principal, CustomerUserPrincipal) and attachment.created_by != principal.id:
        return "Customer users can delete only the attachments they added."
    return None


def why_not_change_submission(submission_status: str | None) -> str | None:
    """Deleting a photo or signature of a form submission in `submission_status`; answered with 409."""
    if submission_status == "completed":
        return "The file is a photo or signature of a completed form submission, which no longer changes."
    return None


def why_not_delete_submission_file(principal: Principal, attachment: Attachment) -> str | None:
    """Deleting a photo or signature of a form submission still being filled in."""
    if attachment.created_by != principal.id:
        return "Only the person filling in the form can remove its photos and signatures."
    return None


def why_not_edit(principal: Principal, attachment: Attachment) -> str | None:
    """Renaming a file or replacing its content: its uploader only (SPEC: "its uploader may"), whoever
    else sees it, employee or not."""
    if attachment.created_by != principal.id:
        return "Only the person who added a file can rename it or replace its content."
    return None


def why_not_edit_kind(attachment: Attachment) -> str | None:
    """What kind of file can be edited at all, answered with 409 whoever asks: a ticket's attachment.
    A form's photo or signature is part of what was filled in (and never changes once the form is
    completed); a draft takes another upload instead. An upload on nothing yet is replaced by
    uploading again."""
    if attachment.form_submission_id is not None:
        return (
            "The file is a photo or signature of a form submission; upload another file and answer "
            "with it instead (a completed form no longer changes)."
        )
    if attachment.ticket_id is None:
        return "Only the attachments of a ticket can be renamed or replaced; upload another file instead."
    return None
