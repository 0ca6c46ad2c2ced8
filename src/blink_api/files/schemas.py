"""Attachment bodies."""

import uuid
from datetime import datetime

from blink_api.kit.schema import ResponseModel


class AttachmentRead(ResponseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID | None
    filename: str
    content_type: str
    size: int
    created_at: datetime
    created_by: uuid.UUID


class AttachmentList(ResponseModel):
    items: list[AttachmentRead]
